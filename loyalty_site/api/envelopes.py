"""The response envelopes of the contract's API families (CONTRACT.md §1-§8, §11.10).

Views declare their family with `envelope = Envelope.V2` (etc.); the exception handler uses it to
render every error, so a client of one family always gets one shape back.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Any

from rest_framework.response import Response


class Envelope(enum.StrEnum):
    V11 = "v1.1"  # {"response": {"status": {success, code, message}, ...}}
    V2 = "v2"  # {"errors": [{status:false, code, message}], "warnings": []}
    LOYALTY = "loyalty"  # {"status": {code, message}, "validationErrors": [...], "data": null}
    REWARDS = "rewards"  # {"status": {success, code, message}}
    OAUTH = "oauth"  # {"data": null, "errors": [{code, message}]}
    ENGINE = "engine"  # cart promotion engine: {timestamp, errorCode, message, errorDetails}


@dataclass
class ApiErrorItem:
    code: int
    message: str
    field: str | None = None

    def as_v2(self) -> dict[str, Any]:
        return {"status": False, "code": self.code, "message": self.message}


@dataclass
class ApiErrorResponse:
    http_status: int
    errors: list[ApiErrorItem] = field(default_factory=list)

    @property
    def message(self) -> str:
        return "; ".join(item.message for item in self.errors) or "Request failed"

    @property
    def code(self) -> int:
        return self.errors[0].code if self.errors else self.http_status


def render_error(envelope: Envelope | str, error: ApiErrorResponse) -> Response:
    """Render `error` in the family's envelope."""
    envelope = Envelope(envelope)
    body: dict[str, Any]
    if envelope is Envelope.V11:
        body = {
            "response": {
                "status": {"success": "false", "code": error.code, "message": error.message}
            }
        }
    elif envelope is Envelope.LOYALTY:
        body = {
            "status": {"code": error.code, "message": error.message},
            "validationErrors": [
                {"code": item.code, "message": item.message, "field": item.field}
                for item in error.errors
            ],
            "data": None,
        }
    elif envelope is Envelope.REWARDS:
        body = {"status": {"success": False, "code": error.code, "message": error.message}}
    elif envelope is Envelope.OAUTH:
        body = {
            "data": None,
            "errors": [{"code": item.code, "message": item.message} for item in error.errors],
        }
    elif envelope is Envelope.ENGINE:
        body = {
            "timestamp": int(time.time() * 1000),
            "errorCode": error.http_status,
            "message": error.message,
            "errorDetails": [
                {"code": item.code, "message": item.message, "field": item.field}
                for item in error.errors
            ],
        }
    else:
        body = {"errors": [item.as_v2() for item in error.errors], "warnings": []}
    return Response(body, status=error.http_status)


def v11_status(
    *,
    success: bool,
    code: int,
    message: str,
    total: int | None = None,
    success_count: int | None = None,
) -> dict[str, Any]:
    """The v1.1 request-level `status` block (strings for success, as the samples show)."""
    status: dict[str, Any] = {
        "success": "true" if success else "false",
        "code": code,
        "message": message,
    }
    if total is not None:
        status["total"] = str(total)
        status["success_count"] = str(success_count if success_count is not None else 0)
    return status


def v11_item_status(
    *, success: bool, code: int, message: str, warnings: list[Any] | None = None
) -> dict[str, Any]:
    return {
        "success": "true" if success else "false",
        "code": code,
        "message": message,
        "warnings": {"warning": list(warnings or [])},
    }


def v11_batch_status(total: int, success_count: int, *, success_code: int = 200) -> dict[str, Any]:
    """Request-level status of a v1.1 batch: 200 all ok, 201 some failed, 500 all failed (§8)."""
    if success_count == total:
        return v11_status(
            success=True,
            code=success_code,
            message="Success",
            total=total,
            success_count=success_count,
        )
    if success_count == 0:
        return v11_status(
            success=False,
            code=500,
            message="All requests have failed due to errors",
            total=total,
            success_count=success_count,
        )
    return v11_status(
        success=True,
        code=201,
        message="Some requests have failed due to errors",
        total=total,
        success_count=success_count,
    )
