"""Credits and plain debits: allocation (transaction add, registration, targets), goodwill,
referral awards and returns, imports, bulk awards and manual deductions."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction as db_transaction
from django.utils import timezone

from ledger.exceptions import InvalidLedgerRequestError
from ledger.models import EventName, LedgerEvent, PointsAccount
from ledger.services.posting import (
    AccountKey,
    CreditPart,
    EventWriter,
    Owner,
    PromotionRef,
    clean_idempotency_key,
    ensure_category,
    ensure_event_name,
    ensure_program,
    explicit_expiry,
    owner_label,
    post_event,
    program_expiry,
    request_fingerprint,
    resolve_owner,
    to_points,
)
from members.models import Customer, PointsCategory, Program, Transaction, UserGroup

# The events a plain credit may carry; transfers, reversals, returns, conversions, merges and
# expiry have their own services.
CREDIT_EVENTS = {
    EventName.TRANSACTION_ADD,
    EventName.TRANSACTION_UPDATE,
    EventName.TARGET_COMPLETED,
    EventName.VOUCHER_REDEMPTION,
    EventName.CUSTOMER_REGISTRATION,
    EventName.CUSTOMER_UPDATE,
    EventName.GENERIC_EVENT,
    EventName.ALLOCATE_GOODWILL_POINTS,
    EventName.REFERRAL_AWARD,
    EventName.POINTS_IMPORT,
    EventName.BULK_POINTS_AWARD,
}


def _check_transaction(owner: Customer | UserGroup, transaction: Transaction | None) -> None:
    if transaction is not None and transaction.org_id != owner.org_id:
        raise InvalidLedgerRequestError("The transaction belongs to another org")


@dataclass(frozen=True)
class CreditRequest:
    """One credit of points_allocate_many: points_allocate's arguments but the actor."""

    program: Program
    points: Decimal | int | str
    event_name: str
    idempotency_key: str
    customer: Customer | None = None
    user_group: UserGroup | None = None
    transaction: Transaction | None = None
    promotion_ref: PromotionRef | dict | None = None
    category: str = PointsCategory.REGULAR
    expires_at: datetime.datetime | datetime.date | None = None
    matures_at: datetime.datetime | None = None
    occurred_at: datetime.datetime | None = None
    source: str = ""
    reason: str = ""
    notes: str = ""
    triggered_by: Customer | None = None
    details: dict | None = None


@dataclass(frozen=True)
class PreparedCredit:
    """A checked credit: what post_event (one) or points_allocate_many (a batch) writes."""

    owner: Owner
    key: str
    fingerprint: str
    account_key: AccountKey
    part: CreditPart
    event_fields: dict[str, Any]
    label: str  # owner_label(owner)


class ProgramExpiries:
    """program_expiry(program, now) by program, computed once per call or batch."""

    def __init__(self, now: datetime.datetime) -> None:
        self.now = now
        self._by_program: dict[int, datetime.datetime | None] = {}

    def get(self, program: Program) -> datetime.datetime | None:
        if program.pk not in self._by_program:
            self._by_program[program.pk] = program_expiry(program, self.now)
        return self._by_program[program.pk]


def credit_prepare(request: CreditRequest, *, expiries: ProgramExpiries) -> PreparedCredit:
    """Check one credit as points_allocate does (internal to the ledger app); raises its
    errors."""
    owner = resolve_owner(customer=request.customer, user_group=request.user_group)
    key = clean_idempotency_key(request.idempotency_key)
    program = request.program
    ensure_program(owner, program)
    points = to_points(request.points, program=program)
    category = ensure_category(request.category)
    event_name = ensure_event_name(request.event_name)
    if event_name not in CREDIT_EVENTS:
        raise InvalidLedgerRequestError(f"{event_name} events are not written by points_allocate")
    transaction = request.transaction
    _check_transaction(owner, transaction)
    promotion = PromotionRef.coerce(request.promotion_ref)
    now = expiries.now
    matures_at = request.matures_at
    lot_expiry = explicit_expiry(request.expires_at, program=program)
    if category == PointsCategory.PROMISED:
        if matures_at is None or timezone.is_naive(matures_at):
            raise InvalidLedgerRequestError("Promised points need an aware maturity time")
        if lot_expiry is not None and lot_expiry <= matures_at:
            raise InvalidLedgerRequestError("Promised points must mature before they expire")
    elif matures_at is not None:
        raise InvalidLedgerRequestError("Only promised points have a maturity time")
    elif lot_expiry is None:
        lot_expiry = expiries.get(program)
    if lot_expiry is not None and lot_expiry <= now:
        raise InvalidLedgerRequestError("The expiry time is in the past")

    label = owner_label(owner)
    program_id = program.pk
    transaction_id = getattr(transaction, "pk", None)
    fingerprint = request_fingerprint(
        "points_allocate",
        owner=label,
        program=program_id,
        points=points,
        event_name=event_name,
        category=category,
        transaction=transaction_id,
        promotion=promotion,
        expires_at=request.expires_at,
        matures_at=matures_at,
        reason=request.reason,
    )
    return PreparedCredit(
        owner=owner,
        key=key,
        fingerprint=fingerprint,
        account_key=(program_id, category),
        part=CreditPart(
            points=points,
            expires_at=lot_expiry,
            matures_at=matures_at,
            transaction_id=transaction_id,
        ),
        event_fields={
            "event_name": event_name,
            "occurred_at": request.occurred_at or (transaction.billed_at if transaction else None),
            "transaction": transaction,
            "source": request.source,
            "promotion": promotion,
            "reason": request.reason[:255],
            "notes": request.notes,
            "triggered_by": request.triggered_by,
            "source_program": program,
            "details": request.details or {},
            # A credit's net is its points: the event row is written with it.
            "net_points": points,
        },
        label=label,
    )


@db_transaction.atomic
def points_allocate(
    *,
    customer: Customer | None = None,
    user_group: UserGroup | None = None,
    program: Program,
    points: Decimal | int | str,
    event_name: str,
    actor: Any,
    idempotency_key: str,
    transaction: Transaction | None = None,
    promotion_ref: PromotionRef | dict | None = None,
    category: str = PointsCategory.REGULAR,
    expires_at: datetime.datetime | datetime.date | None = None,
    matures_at: datetime.datetime | None = None,
    occurred_at: datetime.datetime | None = None,
    source: str = "",
    reason: str = "",
    notes: str = "",
    triggered_by: Customer | None = None,
    details: dict | None = None,
) -> LedgerEvent:
    """Credit `points` to the owner's account for `program` x `category` as one event.

    The lot expires at `expires_at` (a date = end of that day, org time zone) or by the program's
    expiry policy. PROMISED points need `matures_at`; the maturity job converts them into REGULAR.
    A replay of `idempotency_key` returns the first event (is_replay=True).
    Raises InvalidPointsError (801), InvalidProgramIdError (885), CustomerMergedError (8069),
    LedgerIdempotencyConflictError, InvalidLedgerRequestError.
    """
    credit = credit_prepare(
        CreditRequest(
            customer=customer,
            user_group=user_group,
            program=program,
            points=points,
            event_name=event_name,
            idempotency_key=idempotency_key,
            transaction=transaction,
            promotion_ref=promotion_ref,
            category=category,
            expires_at=expires_at,
            matures_at=matures_at,
            occurred_at=occurred_at,
            source=source,
            reason=reason,
            notes=notes,
            triggered_by=triggered_by,
            details=details,
        ),
        expiries=ProgramExpiries(timezone.now()),
    )

    def write(writer: EventWriter, accounts: dict[AccountKey, PointsAccount]) -> None:
        writer.credit(accounts[credit.account_key], [credit.part])

    return post_event(
        owner=credit.owner,
        keys=[credit.account_key],
        idempotency_key=credit.key,
        fingerprint=credit.fingerprint,
        write=write,
        actor=actor,
        event_fields=credit.event_fields,
    )


def points_goodwill_credit(
    *,
    customer: Customer | None = None,
    user_group: UserGroup | None = None,
    program: Program,
    points: Decimal | int | str,
    actor: Any,
    reason: str,
    idempotency_key: str,
    notes: str = "",
) -> LedgerEvent:
    """Member care's goodwill points (event AllocateGoodwillPoints). A reason is required."""
    if not (reason or "").strip():
        raise InvalidLedgerRequestError("Goodwill points need a reason", field="reason")
    return points_allocate(
        customer=customer,
        user_group=user_group,
        program=program,
        points=points,
        event_name=EventName.ALLOCATE_GOODWILL_POINTS,
        actor=actor,
        idempotency_key=idempotency_key,
        reason=reason.strip(),
        notes=notes,
    )


def points_referral_award(
    *,
    customer: Customer,
    program: Program,
    points: Decimal | int | str,
    actor: Any,
    idempotency_key: str,
    referred_customer: Customer | None = None,
    transaction: Transaction | None = None,
) -> LedgerEvent:
    """Points for the referrer when a referred customer joins or buys (event ReferralAward)."""
    return points_allocate(
        customer=customer,
        program=program,
        points=points,
        event_name=EventName.REFERRAL_AWARD,
        actor=actor,
        idempotency_key=idempotency_key,
        transaction=transaction,
        details={"referredCustomerId": referred_customer.pk} if referred_customer else {},
    )


def points_import_credit(
    *,
    customer: Customer | None = None,
    user_group: UserGroup | None = None,
    program: Program,
    points: Decimal | int | str,
    actor: Any,
    idempotency_key: str,
    expires_at: datetime.datetime | datetime.date | None = None,
    transaction: Transaction | None = None,
    promotion_ref: PromotionRef | dict | None = None,
    reason: str = "",
) -> LedgerEvent:
    """Points loaded by a data import (event PointsImport)."""
    return points_allocate(
        customer=customer,
        user_group=user_group,
        program=program,
        points=points,
        event_name=EventName.POINTS_IMPORT,
        actor=actor,
        idempotency_key=idempotency_key,
        expires_at=expires_at,
        transaction=transaction,
        promotion_ref=promotion_ref,
        reason=reason,
    )


def points_bulk_award(
    *,
    customer: Customer | None = None,
    user_group: UserGroup | None = None,
    program: Program,
    points: Decimal | int | str,
    actor: Any,
    idempotency_key: str,
    campaign: PromotionRef | dict | None = None,
    expires_at: datetime.datetime | datetime.date | None = None,
) -> LedgerEvent:
    """One owner's share of a bulk award, e.g. a campaign (event BulkPointsAward)."""
    return points_allocate(
        customer=customer,
        user_group=user_group,
        program=program,
        points=points,
        event_name=EventName.BULK_POINTS_AWARD,
        actor=actor,
        idempotency_key=idempotency_key,
        promotion_ref=campaign,
        expires_at=expires_at,
    )


# Plain debits -------------------------------------------------------------------------------
DEBIT_EVENTS = {
    EventName.MANUAL_POINTS_ADJUSTMENT,
    EventName.POINTS_IMPORT,
    EventName.REFERRAL_RETURN,
    EventName.GENERIC_EVENT,
}


@db_transaction.atomic
def points_deduct(
    *,
    customer: Customer | None = None,
    user_group: UserGroup | None = None,
    program: Program,
    points: Decimal | int | str,
    actor: Any,
    idempotency_key: str,
    event_name: str = EventName.MANUAL_POINTS_ADJUSTMENT,
    category: str = PointsCategory.REGULAR,
    reason: str = "",
    transaction: Transaction | None = None,
    details: dict | None = None,
) -> LedgerEvent:
    """Debit `points` (nearest expiry first) as one event: manual adjustment, import of a
    redemption or expiry, referral return.

    Raises InsufficientCurrentPointsError (804) when the account holds less, InvalidPointsError
    (801), InvalidProgramIdError (885), CustomerMergedError (8069).
    """
    owner = resolve_owner(customer=customer, user_group=user_group)
    key = clean_idempotency_key(idempotency_key)
    ensure_program(owner, program)
    points = to_points(points, program=program)
    category = ensure_category(category)
    if event_name not in DEBIT_EVENTS:
        raise InvalidLedgerRequestError(f"{event_name} is not a deduction event")
    _check_transaction(owner, transaction)
    fingerprint = request_fingerprint(
        "points_deduct",
        owner=owner_label(owner),
        program=program.pk,
        points=points,
        event_name=event_name,
        category=category,
        reason=reason,
        transaction=getattr(transaction, "pk", None),
    )
    account_key: AccountKey = (program.pk, category)

    def write(writer: EventWriter, accounts: dict[AccountKey, PointsAccount]) -> None:
        writer.debit(
            accounts[account_key],
            points,
            preferred_transaction_id=getattr(transaction, "pk", None),
        )

    return post_event(
        owner=owner,
        keys=[account_key],
        idempotency_key=key,
        fingerprint=fingerprint,
        write=write,
        actor=actor,
        event_fields={
            "event_name": event_name,
            "transaction": transaction,
            "reason": reason[:255],
            "source_program": program,
            "details": details or {},
        },
    )


def points_referral_return(
    *,
    customer: Customer,
    program: Program,
    points: Decimal | int | str,
    actor: Any,
    idempotency_key: str,
    reason: str = "",
) -> LedgerEvent:
    """Take back referral points (event ReferralReturn). Raises 804 when fewer are left."""
    return points_deduct(
        customer=customer,
        program=program,
        points=points,
        actor=actor,
        idempotency_key=idempotency_key,
        event_name=EventName.REFERRAL_RETURN,
        reason=reason,
    )


def points_import_debit(
    *,
    customer: Customer | None = None,
    user_group: UserGroup | None = None,
    program: Program,
    points: Decimal | int | str,
    actor: Any,
    idempotency_key: str,
    reason: str = "",
) -> LedgerEvent:
    """An imported redemption or expiry (event PointsImport, a debit)."""
    return points_deduct(
        customer=customer,
        user_group=user_group,
        program=program,
        points=points,
        actor=actor,
        idempotency_key=idempotency_key,
        event_name=EventName.POINTS_IMPORT,
        reason=reason,
    )
