"""Staff pages of the job runner: the error report download linked from the Job admin."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET

from loyalty_site.core.jobs import job_error_report_csv
from loyalty_site.core.models import Job


# Every staff member with the view permission sees every org's jobs: staff are not scoped to
# orgs yet.
@require_GET
@staff_member_required
@permission_required("core.view_job", raise_exception=True)
def job_error_report_download(request: HttpRequest, job_id: int) -> HttpResponse:
    job = get_object_or_404(Job, pk=job_id)
    response = HttpResponse(job_error_report_csv(job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="job-{job.pk}-errors.csv"'
    return response
