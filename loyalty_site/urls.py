"""URL map: admin, the contract's API paths, and the OpenAPI schema with Swagger UI."""

from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from loyalty_site.api.oauth import OAuthTokenGenerateApi

admin.site.site_header = "Loyalty platform"
admin.site.site_title = "Loyalty admin"
admin.site.index_title = "Offers, members and jobs"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("jobs/", include("loyalty_site.core.urls")),
    path("v3/oauth/token/generate", OAuthTokenGenerateApi.as_view(), name="oauth-token-generate"),
    path("", include("members.api.urls")),
    path("", include("ledger.api.urls")),
    path("", include("coupons.api.urls")),
    path("", include("promotions.api.urls")),
]

API_PREFIXES = (
    "/v1/",
    "/v1.1/",
    "/v2/",
    "/v2.1/",
    "/v3/",
    "/api_gateway/",
    "/coupon/api/",
    "/api/",
)


def handler404(request, exception=None):
    """Unknown API paths answer JSON in the v2 error shape; other paths get Django's page."""
    if request.path.startswith(API_PREFIXES):
        return JsonResponse(
            {"errors": [{"status": False, "code": 404, "message": "Not found"}], "warnings": []},
            status=404,
        )
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    if request.path.startswith(API_PREFIXES):
        return JsonResponse(
            {
                "errors": [{"status": False, "code": 500, "message": "Internal error"}],
                "warnings": [],
            },
            status=500,
        )
    from django.views.defaults import server_error

    return server_error(request)
