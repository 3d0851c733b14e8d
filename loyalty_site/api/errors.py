"""API-level errors that are not business rules (auth, headers, paging)."""

from __future__ import annotations

from rest_framework import exceptions, status

from loyalty_site.core.exceptions import DomainError


class ApiAuthenticationError(exceptions.AuthenticationFailed):
    """401 (or the given status) with a contract code; rendered in the endpoint's envelope."""

    def __init__(self, message: str, *, code: int = 401, http_status: int = 401) -> None:
        super().__init__(detail=message)
        self.contract_code = code
        self.status_code = http_status


class InvalidParameterError(DomainError):
    """A query parameter or header that cannot be used as given."""

    http_status = status.HTTP_400_BAD_REQUEST
    code = 400


class InvalidCredentialsError(DomainError):
    """Wrong OAuth key or secret on the token endpoint (which itself needs no authentication)."""

    http_status = status.HTTP_401_UNAUTHORIZED
    code = 401
    message = "Invalid key or secret"
