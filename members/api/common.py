"""Pieces the members APIs share: v1.1 batch handling (§8, §11.2, §11.4).

A v1.1 batch answers every item on its own: each one is validated, handed to one service call
and reported with its own `item_status`; one item failing never fails the others. The views
supply what differs (the item handler, the echo of a failed item, the error-code mapping).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rest_framework import serializers

from loyalty_site.api.envelopes import v11_batch_status, v11_item_status
from loyalty_site.api.exceptions import flatten_validation_errors
from loyalty_site.core.exceptions import DomainError


# v1.1 batches ---------------------------------------------------------------------------------
class V11ItemError(Exception):
    """One batch item cannot reach its service (not an object, invalid fields)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class V11ItemResult:
    """One answered batch item: `entity_id` is the saved entity's id, None when it failed."""

    item: dict[str, Any] = field(default_factory=dict)
    entity_id: int | None = None


def v11_item_status_of(
    success: bool, code: int, message: str, warnings: Iterable[Any] | None = None
) -> dict[str, Any]:
    """An item's `item_status`; v1.1 lists warnings by code, as strings (`["91017"]`)."""
    return v11_item_status(
        success=success,
        code=code,
        message=message,
        warnings=[str(item.get("code")) for item in warnings or [] if isinstance(item, dict)],
    )


def v11_item_input(
    raw: Any, serializer_class: type[serializers.Serializer], *, not_object_message: str
) -> dict[str, Any]:
    """The validated fields of one batch item; raises V11ItemError (400, or the first field
    error's contract code with every field's message)."""
    if not isinstance(raw, dict):
        raise V11ItemError(400, not_object_message)
    serializer = serializer_class(data=raw)
    if not serializer.is_valid():
        errors = flatten_validation_errors(serializer.errors)
        raise V11ItemError(errors[0].code, "; ".join(item.message for item in errors))
    return dict(serializer.validated_data)


def _domain_error_code(exc: DomainError) -> int:
    return exc.code


def v11_batch_run(
    raw_items: Iterable[Any],
    handle: Callable[[Any], V11ItemResult],
    *,
    echo: Callable[[Any], Mapping[str, Any]],
    error_code: Callable[[DomainError], int] = _domain_error_code,
) -> list[V11ItemResult]:
    """`handle` every item in order. An item that raises V11ItemError or a DomainError (its
    service rolled back to its own savepoint) is answered with `echo(raw)` and a failed
    item_status (the DomainError's code through `error_code`)."""
    results = []
    for raw in raw_items:
        try:
            results.append(handle(raw))
        except V11ItemError as exc:
            results.append(_v11_failure(raw, echo=echo, code=exc.code, message=exc.message))
        except DomainError as exc:
            results.append(_v11_failure(raw, echo=echo, code=error_code(exc), message=exc.message))
    return results


def _v11_failure(
    raw: Any, *, echo: Callable[[Any], Mapping[str, Any]], code: int, message: str
) -> V11ItemResult:
    return V11ItemResult(
        item={**echo(raw), "item_status": v11_item_status_of(False, code, message)}
    )


def v11_batch_body(
    results: list[V11ItemResult],
    *,
    collection: str,
    member: str,
    render: Callable[[V11ItemResult], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """`{"response": {"status", collection: {member: [...]}}}`: status 200 when every item
    succeeded, 201 when some failed, 500 when all did. `render` builds each item's output
    (default: the item as handled)."""
    success_count = sum(1 for result in results if result.entity_id is not None)
    return {
        "response": {
            "status": v11_batch_status(len(results), success_count, success_code=200),
            collection: {member: [(render or _item)(result) for result in results]},
        }
    }


def _item(result: V11ItemResult) -> dict[str, Any]:
    return result.item
