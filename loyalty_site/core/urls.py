"""Job runner pages, included at "jobs/" by loyalty_site/urls.py."""

from django.urls import path

from loyalty_site.core import views

app_name = "core"

urlpatterns = [
    path(
        "<int:job_id>/errors.csv",
        views.job_error_report_download,
        name="job-error-report",
    ),
]
