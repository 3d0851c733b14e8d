from rest_framework.permissions import BasePermission

from loyalty_site.api.principal import ApiPrincipal


class IsTill(BasePermission):
    """Every API call is made by an authenticated till (Basic or OAuth)."""

    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, ApiPrincipal)
