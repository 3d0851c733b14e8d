"""Domain errors: every business-rule failure raises one of these with a stable code.

The API exception handler renders them in the envelope of the endpoint family; admin forms show
their message. `code` is the contract's numeric code where it has one.
"""

from __future__ import annotations


class DomainError(Exception):
    code: int = 400
    http_status: int = 400
    message: str = "Invalid request"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: int | None = None,
        http_status: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message or self.message
        if code is not None:
            self.code = code
        if http_status is not None:
            self.http_status = http_status
        self.field = field
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class NotFoundError(DomainError):
    http_status = 404
    code = 404
    message = "Not found"


class ConflictError(DomainError):
    http_status = 409
    code = 409
    message = "Conflict"


class PermissionDeniedError(DomainError):
    http_status = 403
    code = 403
    message = "Access denied"
