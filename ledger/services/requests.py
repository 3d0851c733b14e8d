"""Member-care requests (v1.1 request/add, approve, reject): goodwill points and customer merges.

A request is PENDING until approved or rejected. Approval writes the ledger change in the same
transaction (points_goodwill_credit / ledger_customer_merge, keyed by the request, so it happens
once) and marks the request APPROVED.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import IntegrityError
from django.db import transaction as db_transaction
from django.utils import timezone

from ledger.exceptions import (
    InvalidLedgerRequestError,
    LedgerIdempotencyConflictError,
    RequestBaseTypeInvalidError,
    RequestMergePendingError,
    RequestMergeSameCustomerError,
    RequestMergeTargetInvalidError,
    RequestStatusError,
    RequestSurvivorMergedError,
    RequestTypeInvalidError,
    RequestVictimMergedError,
)
from ledger.models import PointsRequest
from ledger.services.earn import points_goodwill_credit
from ledger.services.merge import ledger_customer_merge
from ledger.services.posting import (
    clean_idempotency_key,
    ensure_not_merged,
    ensure_program,
    request_fingerprint,
    to_points,
)
from members.models import Customer, Org, Program, Till

AUTO_APPROVED = "AUTO_APPROVED"
SUPPORTED_KINDS = {
    PointsRequest.Type.GOODWILL: PointsRequest.BaseType.POINTS,
    PointsRequest.Type.CHANGE_IDENTIFIER: PointsRequest.BaseType.MERGE,
}


def _till(actor: Any) -> Till | None:
    return actor if isinstance(actor, Till) else None


def points_request_kind(type: str, base_type: str) -> tuple[str, str]:
    """The (type, base_type) of a request in upper case. Raises 9006 / 9008."""
    type = (type or "").strip().upper()
    base_type = (base_type or "").strip().upper()
    if type not in SUPPORTED_KINDS:
        raise RequestTypeInvalidError(
            f"Request type {type or '(empty)'!r} is invalid: use GOODWILL or CHANGE_IDENTIFIER"
        )
    if base_type != SUPPORTED_KINDS[type]:
        raise RequestBaseTypeInvalidError(
            f"Base type {base_type or '(empty)'!r} is not supported for {type} requests: use "
            f"{SUPPORTED_KINDS[type]}"
        )
    return type, base_type


def _replay(*, org: Org, key: str, fingerprint: str) -> PointsRequest | None:
    existing = PointsRequest.objects.filter(org=org, idempotency_key=key).first()
    if existing is None:
        return None
    if existing.request_fingerprint != fingerprint:
        raise LedgerIdempotencyConflictError(
            f"Request key {key!r} was already used for a different request"
        )
    existing.is_replay = True
    return existing


@db_transaction.atomic
def points_request_add(
    *,
    org: Org,
    type: str,
    base_type: str,
    customer: Customer,
    actor: Any,
    idempotency_key: str | None = None,
    reference_id: str = "",
    program: Program | None = None,
    points: Decimal | int | str | None = None,
    target_customer: Customer | None = None,
    reason: str = "",
    comments: str = "",
    auto_approve: bool = False,
    one_step: bool = False,
) -> PointsRequest:
    """Add a GOODWILL/POINTS request (customer, program, points) or a CHANGE_IDENTIFIER/MERGE
    request (customer = victim, target_customer = survivor). With `auto_approve` it is approved
    at once. A replay of `idempotency_key` returns the first request (is_replay=True).

    Raises RequestTypeInvalidError (9006), RequestBaseTypeInvalidError (9008), InvalidPointsError
    (801), InvalidProgramIdError (885), CustomerMergedError (8069), RequestMergeTargetInvalidError
    (9007), RequestMergeSameCustomerError (9029), RequestVictimMergedError (9027),
    RequestSurvivorMergedError (9023), RequestMergePendingError (9018),
    LedgerIdempotencyConflictError (409), and with auto_approve the errors of
    points_request_approve.
    """
    type, base_type = points_request_kind(type, base_type)
    key = clean_idempotency_key(idempotency_key) if idempotency_key else None
    if customer.org_id != org.pk:
        raise InvalidLedgerRequestError("The customer belongs to another org")
    fields: dict[str, Any] = {
        "org": org,
        "type": type,
        "base_type": base_type,
        "customer": customer,
        "reason": (reason or "").strip()[:255],
        "comments": comments or "",
        "reference_id": (reference_id or "")[:100],
        "is_one_step": one_step,
        "requested_by_till": _till(actor),
    }
    if type == PointsRequest.Type.GOODWILL:
        ensure_program(customer, program)
        ensure_not_merged(customer)
        fields.update(program=program, points=to_points(points, program=program))
        if not (fields["reason"] or fields["comments"].strip()):
            raise InvalidLedgerRequestError("Goodwill points need a reason", field="reason")
    else:
        if target_customer is None or target_customer.org_id != org.pk:
            raise RequestMergeTargetInvalidError()
        if target_customer.pk == customer.pk:
            raise RequestMergeSameCustomerError()
        if customer.merged_into_id:
            raise RequestVictimMergedError()
        if target_customer.merged_into_id:
            raise RequestSurvivorMergedError()
        fields["target_customer"] = target_customer
    fingerprint = request_fingerprint(
        "points_request_add",
        type=type,
        base_type=base_type,
        customer=customer.pk,
        target=getattr(target_customer, "pk", None),
        program=getattr(program, "pk", None),
        points=fields.get("points"),
        reason=fields["reason"],
        comments=fields["comments"],
        auto_approve=auto_approve,
    )
    if key is not None:
        replay = _replay(org=org, key=key, fingerprint=fingerprint)
        if replay is not None:
            return replay
    try:
        with db_transaction.atomic():
            request = PointsRequest.objects.create(
                **fields, idempotency_key=key, request_fingerprint=fingerprint
            )
    except IntegrityError:
        # A concurrent call won the key, or the victim already has a pending merge request.
        if key is not None:
            replay = _replay(org=org, key=key, fingerprint=fingerprint)
            if replay is not None:
                return replay
        if base_type != PointsRequest.BaseType.MERGE:
            raise
        raise RequestMergePendingError()
    if auto_approve:
        request = points_request_approve(request=request, actor=actor, is_auto_approved=True)
    request.is_replay = False
    return request


@db_transaction.atomic
def points_request_approve(
    *,
    request: PointsRequest,
    actor: Any,
    points: Decimal | int | str | None = None,
    updated_comments: str = "",
    idempotency_key: str | None = None,
    is_auto_approved: bool = False,
) -> PointsRequest:
    """Approve a PENDING request: goodwill credits the points (`points`, when given, is the
    amount approved instead of the one asked for); a merge moves the victim's balances to the
    survivor and marks the victim merged. A replay of `idempotency_key` returns the request.

    Raises RequestStatusError (9052) when the request is no longer pending, and the errors of
    points_goodwill_credit / ledger_customer_merge (801, 885, 8069, 8053, 8067).
    """
    key = clean_idempotency_key(idempotency_key) if idempotency_key else None
    locked = (
        PointsRequest.objects.select_for_update(of=("self",))
        .select_related("customer", "target_customer", "program")
        .get(pk=request.pk)
    )
    if key is not None and locked.decision_idempotency_key == key:
        if locked.status != PointsRequest.Status.APPROVED:
            raise LedgerIdempotencyConflictError("The key was used to reject this request")
        locked.is_replay = True
        return locked
    if locked.status != PointsRequest.Status.PENDING:
        raise RequestStatusError(f"Request {locked.pk} is already {locked.status}")
    if locked.base_type == PointsRequest.BaseType.POINTS:
        amount = locked.points if points is None else to_points(points, program=locked.program)
        locked.ledger_event = points_goodwill_credit(
            customer=locked.customer,
            program=locked.program,
            points=amount,
            actor=actor,
            reason=locked.reason or locked.comments.strip()[:255],
            notes=locked.comments,
            idempotency_key=f"request:{locked.pk}:goodwill",
        )
        locked.approved_points = amount
    else:
        if locked.target_customer.merged_into_id:
            raise RequestSurvivorMergedError()
        if locked.customer.merged_into_id:
            raise RequestVictimMergedError()
        result = ledger_customer_merge(
            victim=locked.customer,
            survivor=locked.target_customer,
            actor=actor,
            idempotency_key=f"request:{locked.pk}:merge",
        )
        locked.ledger_event = result.victim_event
    if is_auto_approved:
        updated_comments = "; ".join(part for part in (locked.comments, AUTO_APPROVED) if part)
    locked.status = PointsRequest.Status.APPROVED
    locked.is_auto_approved = is_auto_approved
    _decide(locked, actor=actor, updated_comments=updated_comments, key=key)
    locked.is_replay = False
    return locked


@db_transaction.atomic
def points_request_reject(
    *,
    request: PointsRequest,
    actor: Any,
    updated_comments: str = "",
    idempotency_key: str | None = None,
) -> PointsRequest:
    """Reject a PENDING request (nothing is written to the ledger). A replay of
    `idempotency_key` returns the request. Raises RequestStatusError (9052)."""
    key = clean_idempotency_key(idempotency_key) if idempotency_key else None
    locked = PointsRequest.objects.select_for_update(of=("self",)).get(pk=request.pk)
    if key is not None and locked.decision_idempotency_key == key:
        if locked.status != PointsRequest.Status.REJECTED:
            raise LedgerIdempotencyConflictError("The key was used to approve this request")
        locked.is_replay = True
        return locked
    if locked.status != PointsRequest.Status.PENDING:
        raise RequestStatusError(f"Request {locked.pk} is already {locked.status}")
    locked.status = PointsRequest.Status.REJECTED
    _decide(locked, actor=actor, updated_comments=updated_comments, key=key)
    locked.is_replay = False
    return locked


def _decide(request: PointsRequest, *, actor: Any, updated_comments: str, key: str | None) -> None:
    request.updated_comments = updated_comments or ""
    request.updated_by_till = _till(actor)
    request.decided_at = timezone.now()
    request.decision_idempotency_key = key
    request.save(
        update_fields=[
            "status",
            "approved_points",
            "is_auto_approved",
            "ledger_event",
            "updated_comments",
            "updated_by_till",
            "decided_at",
            "decision_idempotency_key",
            "updated_at",
        ]
    )
