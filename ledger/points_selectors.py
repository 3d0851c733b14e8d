"""Reads behind the points operation APIs (§11.6-§11.9): program and redemption lookups, the
redeem / transfer checks that report every failed rule, transfer history and member-care requests.

Kept apart from ledger/selectors.py, which serves the ledger read APIs.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet

from ledger.exceptions import (
    InsufficientPointsError,
    InvalidPointsError,
    InvalidProgramIdError,
    InvalidRedemptionIdError,
    RedemptionNotFoundError,
    RedemptionUpdateFailedError,
    RequestNotFoundError,
    SameSenderReceiverError,
    TransferMergedCustomerError,
)
from ledger.models import EventName, LedgerEvent, PointsRedemption, PointsRequest
from ledger.selectors import points_available_get, points_redemption_check
from ledger.services.posting import to_points
from ledger.services.redeem import REDEMPTION_CODE_PATTERN
from ledger.services.validation_codes import (
    ValidationCodePurpose,
    points_validation_code_verify,
)
from loyalty_site.api.pagination import Page, paginate_by_start_index
from loyalty_site.core.exceptions import DomainError
from members.exceptions import CustomerMergedError
from members.models import Customer, ExchangeRate, Org, Program, Till, UserGroup

ZERO = Decimal(0)
MAX_DATABASE_ID = 2**63 - 1
Owner = Customer | UserGroup


def _owner_filter(owner: Owner) -> dict[str, Owner]:
    return {"customer": owner} if isinstance(owner, Customer) else {"user_group": owner}


# Programs -------------------------------------------------------------------------------------
def points_program_get(*, org_id: int, program_id: int | str | None = None) -> Program:
    """The org's active program with that id, or its default program (else the first active
    one) when no id is given. Raises InvalidProgramIdError (885)."""
    programs = Program.objects.filter(org_id=org_id, is_active=True).select_related("org")
    if program_id in (None, ""):
        program = programs.order_by("-is_default", "pk").first()
    else:
        text = str(program_id).strip()
        is_id = text.isdigit() and int(text) <= MAX_DATABASE_ID
        program = programs.filter(pk=int(text)).first() if is_id else None
    if program is None:
        raise InvalidProgramIdError(f"Invalid program id {program_id!r}")
    return program


def points_active_programs(*, org_id: int) -> list[Program]:
    return list(Program.objects.filter(org_id=org_id, is_active=True).order_by("pk"))


# Values ---------------------------------------------------------------------------------------
def points_currency_values(*, program: Program, points: Decimal, till: Till) -> dict[str, Decimal]:
    """What `points` are worth: in the org's base currency (points x the program's ratio) and in
    the till's store currency (converted with the org's exchange rate, when it has one)."""
    ratio = program.points_to_currency_ratio
    base_value = points * ratio
    local_value = base_value
    org = program.org
    currency = till.store.currency if till is not None and till.store_id else org.base_currency
    if currency != org.base_currency:
        rate = ExchangeRate.objects.filter(org=org, currency=currency).first()
        if rate is not None and rate.rate_to_base > 0:
            local_value = base_value / rate.rate_to_base
    return {"ratio": ratio, "base_value": base_value, "local_value": local_value}


def points_available_total(*, owner: Owner, programs: Iterable[Program]) -> Decimal:
    owner_kwargs = {"customer": owner} if isinstance(owner, Customer) else {"user_group": owner}
    return sum(
        (points_available_get(**owner_kwargs, program=program) for program in programs), ZERO
    )


# Checks ---------------------------------------------------------------------------------------
def points_group_redemption_check(
    *, customer: Customer, points: Decimal | int | str, programs: list[Program]
) -> list[DomainError]:
    """Every rule a group redemption (across `programs`) of `points` would break now: 801, 885
    (no active program), 8069 merged, 803 more than available across the programs."""
    errors: list[DomainError] = []
    try:
        amount = Decimal(str(points))
        if not amount.is_finite() or amount <= 0:
            raise ValueError
    except (ArithmeticError, ValueError):
        errors.append(InvalidPointsError(f"Invalid points {points!r}"))
        amount = None
    if not programs:
        return [*errors, InvalidProgramIdError("The org has no active program")]
    if customer.merged_into_id:
        errors.append(CustomerMergedError())
    if amount is not None:
        available = points_available_total(owner=customer, programs=programs)
        if amount > available:
            errors.append(InsufficientPointsError(f"{amount} asked, {available} available"))
    return errors


def points_redeem_check(
    *,
    customer: Customer,
    program: Program,
    points: Any,
    group_redemption: bool = False,
    validation_code: str = "",
) -> tuple[Decimal | None, list[DomainError]]:
    """Every rule a redemption of `points` (of `program`, or with `group_redemption` across the
    org's active programs) would break now: 801 (also for an amount the program's decimals or
    the ledger refuse), 885, 8069, 1218, 803, and 808 when `validation_code` is given and is
    not the live code. Returns the amount as the ledger would take it (None if invalid)."""
    try:
        amount = to_points(points, program=program)
    except (DomainError, ArithmeticError):
        amount = None
    checked = amount if amount is not None else "invalid"
    if group_redemption:
        programs = points_active_programs(org_id=customer.org_id)
        errors = points_group_redemption_check(customer=customer, points=checked, programs=programs)
    else:
        errors = points_redemption_check(customer=customer, program=program, points=checked)
    if validation_code and amount is not None:
        try:
            points_validation_code_verify(
                customer=customer,
                points=amount,
                purpose=ValidationCodePurpose.REDEMPTION,
                code=validation_code,
            )
        except DomainError as exc:
            errors.append(exc)
    return amount, errors


def points_transfer_check(
    *, sender: Owner, receiver: Owner, program: Program, points: Decimal | int | str
) -> list[DomainError]:
    """Every rule a transfer of `points` would break now: 418 same sender and receiver, 419 a
    merged customer, then the sender's redemption rules (801, 885, 1218, 803)."""
    errors: list[DomainError] = []
    if type(sender) is type(receiver) and sender.pk == receiver.pk:
        errors.append(SameSenderReceiverError())
    for owner in (sender, receiver):
        if isinstance(owner, Customer) and owner.merged_into_id:
            errors.append(TransferMergedCustomerError(f"Merged customer found (id {owner.pk})"))
    owner_kwargs = {"customer": sender} if isinstance(sender, Customer) else {"user_group": sender}
    rules = points_redemption_check(**owner_kwargs, program=program, points=points)
    errors += [error for error in rules if not isinstance(error, CustomerMergedError)]
    return errors


# Redemptions ----------------------------------------------------------------------------------
def points_redemption_find(
    *,
    org_ids: Iterable[int],
    redemption_id: str | None = None,
    external_reference: str | None = None,
) -> PointsRedemption:
    """The redemption named by its id (code) or by its external reference number, in the given
    orgs. Raises InvalidRedemptionIdError (901), RedemptionNotFoundError (902), and
    RedemptionUpdateFailedError (750) when an external reference names several redemptions."""
    redemptions = PointsRedemption.objects.filter(org_id__in=list(org_ids)).select_related(
        "event__till", "event__source_program", "customer", "user_group", "org"
    )
    if redemption_id is not None:
        code = str(redemption_id).strip()
        if not REDEMPTION_CODE_PATTERN.match(code):
            raise InvalidRedemptionIdError(f"Invalid redemption id {redemption_id!r}")
        found = list(redemptions.filter(code=code)[:2])
    else:
        reference = str(external_reference or "").strip()
        found = list(redemptions.filter(external_reference=reference)[:2]) if reference else []
    if not found:
        raise RedemptionNotFoundError()
    if len(found) > 1:
        raise RedemptionUpdateFailedError(
            "The external reference number names more than one redemption; use redemptionId"
        )
    return found[0]


def points_redemption_program_points(*, redemption: PointsRedemption) -> list[dict]:
    """How much each program gave to a redemption (debit entries), by program."""
    rows = redemption.event.entries.filter(entry_type="DEBIT").values_list(
        "account__program_id", "points"
    )
    return [{"programId": program_id, "points": points} for program_id, points in rows]


# Transfers ------------------------------------------------------------------------------------
def points_transfer_events(
    *, owner: Owner, program_id: int | None = None, offset: int = 0, limit: int = 100
) -> Page[LedgerEvent]:
    """The owner's side of its points transfers, newest first (the sender side has
    details.transferredTo, the receiver side details.transferredFrom), with the other side;
    `offset` is the first row's index."""
    events = (
        LedgerEvent.objects.filter(**_owner_filter(owner), event_name=EventName.POINTS_TRANSFER)
        .select_related(
            "source_program",
            "customer",
            "user_group__org",
            "related_event__customer",
            "related_event__user_group__org",
        )
        .order_by("-created_at", "-id")
    )
    if program_id is not None:
        events = events.filter(source_program_id=program_id)
    return paginate_by_start_index(events, start_index=offset, page_size=limit)


def points_transfer_event_get(*, event_id: int) -> LedgerEvent:
    """A transfer event with both sides' owners and the program loaded."""
    return LedgerEvent.objects.select_related(
        "source_program",
        "customer",
        "user_group__org",
        "related_event__customer",
        "related_event__user_group__org",
    ).get(pk=event_id)


def points_transfer_sender_balances(*, event: LedgerEvent) -> list[dict]:
    """Per program, the points a transfer took from the sender and the account's balance
    right after it (pointsTransferBreakupByEarningPrograms)."""
    return [
        {"programId": program_id, "deductedPoints": points, "programCurrentPoints": closing}
        for program_id, points, closing in event.entries.filter(entry_type="DEBIT")
        .order_by("account__program_id")
        .values_list("account__program_id", "points", "closing_balance")
    ]


# Requests -------------------------------------------------------------------------------------
def points_request_get(*, org_ids: Iterable[int], request_id: int | str | None) -> PointsRequest:
    """The request with that id in the given orgs. Raises RequestNotFoundError (9013)."""
    text = str(request_id or "").strip()
    request = None
    if text.isdigit() and int(text) < 2**63:
        request = (
            PointsRequest.objects.filter(org_id__in=list(org_ids), pk=int(text))
            .select_related("customer", "target_customer", "program")
            .first()
        )
    if request is None:
        raise RequestNotFoundError(f"Request {request_id!r} not found")
    return request


def points_requests_list(
    *,
    customer: Customer,
    type: str = PointsRequest.Type.GOODWILL,
    request_id: int | None = None,
    program_id: int | None = None,
    is_auto_approved: bool | None = None,
    is_one_step: bool | None = None,
    offset: int = 0,
    limit: int = 10,
) -> Page[PointsRequest]:
    """The customer's requests of one type, newest first; `offset` is the first row's index."""
    requests: QuerySet[PointsRequest] = PointsRequest.objects.filter(
        customer=customer, type=type
    ).select_related("requested_by_till", "updated_by_till", "program")
    conditions = Q()
    if request_id is not None:
        conditions &= Q(pk=request_id)
    if program_id is not None:
        conditions &= Q(program_id=program_id)
    if is_auto_approved is not None:
        conditions &= Q(is_auto_approved=is_auto_approved)
    if is_one_step is not None:
        conditions &= Q(is_one_step=is_one_step)
    requests = requests.filter(conditions).order_by("-created_at", "-id")
    return paginate_by_start_index(requests, start_index=offset, page_size=limit)


def org_get(*, org_id: int) -> Org:
    return Org.objects.get(pk=org_id)
