"""One exception handler for every API: domain errors, DRF errors, 404s and crashes alike."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions, status

from loyalty_site.api.envelopes import ApiErrorItem, ApiErrorResponse, Envelope, render_error
from loyalty_site.api.errors import ApiAuthenticationError
from loyalty_site.core.exceptions import DomainError

logger = logging.getLogger(__name__)

GENERIC_CODES = {
    status.HTTP_400_BAD_REQUEST: 400,
    status.HTTP_401_UNAUTHORIZED: 401,
    status.HTTP_403_FORBIDDEN: 403,
    status.HTTP_404_NOT_FOUND: 404,
    status.HTTP_405_METHOD_NOT_ALLOWED: 405,
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: 415,
    status.HTTP_429_TOO_MANY_REQUESTS: 429,
}


def flatten_validation_errors(detail: Any, prefix: str = "") -> list[ApiErrorItem]:
    """Turn DRF's nested error dict into one item per failing field, with a dotted path."""
    items: list[ApiErrorItem] = []
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = str(key)
            path = name if not prefix else f"{prefix}.{name}"
            if name in {"non_field_errors", "__all__"}:
                path = prefix
            items.extend(flatten_validation_errors(value, path))
    elif isinstance(detail, list):
        if all(not isinstance(value, (dict, list)) for value in detail):
            for value in detail:
                items.append(_validation_item(value, prefix))
        else:
            for index, value in enumerate(detail):
                if value in ({}, [], None):
                    continue
                items.extend(flatten_validation_errors(value, f"{prefix}[{index}]"))
    else:
        items.append(_validation_item(detail, prefix))
    return items


def _validation_item(value: Any, path: str) -> ApiErrorItem:
    code = getattr(value, "code", None)
    contract_code = int(code) if isinstance(code, str) and code.isdigit() else 400
    text = str(value)
    message = f"{path}: {text}" if path else text
    return ApiErrorItem(code=contract_code, message=message, field=path or None)


def error_response_for(exc: Exception) -> ApiErrorResponse | None:
    """Map any exception raised by an API view to an ApiErrorResponse, or None to re-raise."""
    if isinstance(exc, DomainError):
        first = ApiErrorItem(exc.code, exc.message, exc.field)
        # An error that carries every failed rule (coupon redemption) lists the others after it.
        others = [
            ApiErrorItem(failure.code, failure.message, failure.field)
            for failure in getattr(exc, "failures", None) or []
            if failure.code != exc.code
        ]
        return ApiErrorResponse(exc.http_status, [first, *others])
    if isinstance(exc, Http404):
        return ApiErrorResponse(404, [ApiErrorItem(404, "Not found")])
    if isinstance(exc, DjangoPermissionDenied):
        return ApiErrorResponse(403, [ApiErrorItem(403, "Access denied")])
    if isinstance(exc, ApiAuthenticationError):
        return ApiErrorResponse(exc.status_code, [ApiErrorItem(exc.contract_code, str(exc.detail))])
    if isinstance(exc, exceptions.ValidationError):
        items = flatten_validation_errors(exc.detail) or [ApiErrorItem(400, "Invalid input")]
        return ApiErrorResponse(400, items)
    if isinstance(exc, exceptions.ParseError):
        return ApiErrorResponse(400, [ApiErrorItem(400, f"Malformed request body: {exc.detail}")])
    if isinstance(exc, exceptions.APIException):
        http_status = exc.status_code
        code = GENERIC_CODES.get(http_status, http_status)
        return ApiErrorResponse(http_status, [ApiErrorItem(code, str(exc.detail))])
    return None


def envelope_for_view(view: Any) -> Envelope:
    return Envelope(getattr(view, "envelope", Envelope.V2))


def api_exception_handler(exc: Exception, context: dict[str, Any]):
    view = context.get("view")
    error = error_response_for(exc)
    if error is None:
        logger.exception("Unhandled API error in %s", type(view).__name__ if view else "?")
        error = ApiErrorResponse(500, [ApiErrorItem(500, "Internal error")])
    response = render_error(envelope_for_view(view), error)
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        request = context.get("request")
        if request is not None and view is not None:
            header = view.get_authenticate_header(request)
            if header:
                response["WWW-Authenticate"] = header
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        response["Retry-After"] = str(int(exc.wait))
    return response
