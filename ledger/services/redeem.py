"""Redemptions (single program and group across programs) and their reversal."""

from __future__ import annotations

import datetime
import re
import secrets
import string
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db import IntegrityError
from django.db import transaction as db_transaction
from django.db.models import F, Q
from django.utils import timezone

from ledger.exceptions import (
    InsufficientPointsError,
    InvalidRedemptionIdError,
    NotEnrolledError,
    RedemptionAlreadyReversedError,
    RedemptionNotFoundError,
    RevertPointsMismatchError,
)
from ledger.models import (
    EntryType,
    EventName,
    LedgerEvent,
    LotConsumption,
    PointsAccount,
    PointsLot,
    PointsRedemption,
)
from ledger.services.posting import (
    ZERO,
    AccountKey,
    CreditPart,
    EventWriter,
    LotPlan,
    Owner,
    clean_idempotency_key,
    ensure_program,
    owner_filter,
    owner_label,
    post_event,
    program_expiry,
    request_fingerprint,
    resolve_owner,
    to_points,
)
from members.models import Customer, Org, PointsCategory, Program, ProgramEnrollment, UserGroup

REDEMPTION_CODE_ALPHABET = string.ascii_letters + string.digits
REDEMPTION_CODE_LENGTH = 6
REDEMPTION_CODE_PATTERN = re.compile(r"^[A-Za-z0-9]{1,16}$")
REGULAR = PointsCategory.REGULAR


def ensure_enrolled(owner: Owner, program: Program) -> None:
    """A customer spends points of a program only when enrolled in it or holding an account
    there. Raises NotEnrolledError (1218)."""
    if not isinstance(owner, Customer):
        return
    enrolled = ProgramEnrollment.objects.filter(
        customer=owner, program=program, is_active=True
    ).exists()
    if not enrolled and not PointsAccount.objects.filter(customer=owner, program=program).exists():
        raise NotEnrolledError(f"Customer {owner.pk} is not enrolled in program {program.pk}")


def _redemption_create(*, event: LedgerEvent, owner: Owner, points: Decimal, **fields: Any):
    for _ in range(8):
        code = "".join(
            secrets.choice(REDEMPTION_CODE_ALPHABET) for _ in range(REDEMPTION_CODE_LENGTH)
        )
        try:
            with db_transaction.atomic():
                return PointsRedemption.objects.create(
                    org_id=owner.org_id,
                    **owner_filter(owner),
                    code=code,
                    event=event,
                    points=points,
                    **fields,
                )
        except IntegrityError:
            continue
    raise RuntimeError("Could not allocate a unique redemption id")


def _redemption_fields(
    *,
    transaction_number: str,
    external_reference: str,
    purpose: str,
    notes: str,
    redeemed_at: datetime.datetime | None,
) -> dict[str, Any]:
    return {
        "transaction_number": (transaction_number or "")[:50],
        "external_reference": (external_reference or "")[:100],
        "purpose": (purpose or "")[:255],
        "notes": notes or "",
        "redeemed_at": redeemed_at or timezone.now(),
    }


@db_transaction.atomic
def points_redeem(
    *,
    customer: Customer | None = None,
    user_group: UserGroup | None = None,
    program: Program,
    points: Decimal | int | str,
    actor: Any,
    idempotency_key: str,
    transaction_number: str = "",
    external_reference: str = "",
    purpose: str = "",
    notes: str = "",
    redeemed_at: datetime.datetime | None = None,
    source: str = "",
    triggered_by: Customer | None = None,
) -> PointsRedemption:
    """Redeem `points` from the owner's REGULAR account of `program` (nearest expiry first,
    expired lots excluded) as one PointsRedemption event. Returns the redemption (its `code` is
    the contract's redemptionId). A replay of `idempotency_key` returns the first redemption.

    Raises InsufficientPointsError (803), InvalidPointsError (801), InvalidProgramIdError (885),
    NotEnrolledError (1218), CustomerMergedError (8069).
    """
    owner = resolve_owner(customer=customer, user_group=user_group)
    key = clean_idempotency_key(idempotency_key)
    ensure_program(owner, program)
    points = to_points(points, program=program)
    ensure_enrolled(owner, program)
    fields = _redemption_fields(
        transaction_number=transaction_number,
        external_reference=external_reference,
        purpose=purpose,
        notes=notes,
        redeemed_at=redeemed_at,
    )
    fingerprint = request_fingerprint(
        "points_redeem",
        owner=owner_label(owner),
        program=program.pk,
        points=points,
        transaction_number=fields["transaction_number"],
        external_reference=fields["external_reference"],
    )
    account_key: AccountKey = (program.pk, REGULAR)

    def write(writer: EventWriter, accounts: dict[AccountKey, PointsAccount]) -> None:
        writer.debit(accounts[account_key], points, live_only=True, error=InsufficientPointsError)
        _redemption_create(event=writer.event, owner=owner, points=points, **fields)

    event = post_event(
        owner=owner,
        keys=[account_key],
        idempotency_key=key,
        fingerprint=fingerprint,
        write=write,
        actor=actor,
        event_fields={
            "event_name": EventName.POINTS_REDEMPTION,
            "occurred_at": fields["redeemed_at"],
            "source": source,
            "notes": fields["notes"],
            "triggered_by": triggered_by,
            "source_program": program,
        },
    )
    return PointsRedemption.objects.select_related("event").get(event=event)


@db_transaction.atomic
def points_group_redeem(
    *,
    customer: Customer | None = None,
    user_group: UserGroup | None = None,
    points: Decimal | int | str,
    actor: Any,
    idempotency_key: str,
    programs: list[Program] | None = None,
    source_program: Program | None = None,
    transaction_number: str = "",
    external_reference: str = "",
    purpose: str = "",
    notes: str = "",
    redeemed_at: datetime.datetime | None = None,
    source: str = "",
    triggered_by: Customer | None = None,
) -> PointsRedemption:
    """Group redemption: `points` taken across the owner's programs (default: all active ones of
    the org), earliest expiry first over all of them, as one event with a debit entry per program
    touched; the event's net points carry the total. `source_program` is the till's program
    (sourceProgramId, for includeTillConceptEvents).

    Raises InsufficientPointsError (803) and the errors of points_redeem.
    """
    owner = resolve_owner(customer=customer, user_group=user_group)
    key = clean_idempotency_key(idempotency_key)
    if programs is None:
        programs = list(Program.objects.filter(org_id=owner.org_id, is_active=True).order_by("pk"))
    programs = sorted({program.pk: program for program in programs}.values(), key=lambda p: p.pk)
    if not programs:
        raise InsufficientPointsError("The org has no active program to redeem from")
    for program in programs:
        ensure_program(owner, program)
    if source_program is not None:
        ensure_program(owner, source_program)
    for program in programs:
        # Every program the points may come from must allow the amount's decimals.
        points = to_points(points, program=program)
    fields = _redemption_fields(
        transaction_number=transaction_number,
        external_reference=external_reference,
        purpose=purpose,
        notes=notes,
        redeemed_at=redeemed_at,
    )
    fingerprint = request_fingerprint(
        "points_group_redeem",
        owner=owner_label(owner),
        programs=[program.pk for program in programs],
        points=points,
        transaction_number=fields["transaction_number"],
        external_reference=fields["external_reference"],
    )
    keys: list[AccountKey] = [(program.pk, REGULAR) for program in programs]

    def write(writer: EventWriter, accounts: dict[AccountKey, PointsAccount]) -> None:
        by_account = {account.pk: account for account in accounts.values()}
        # One pool over every program: earliest expiry first, then the oldest award.
        lots = (
            PointsLot.objects.filter(account_id__in=by_account, remaining_points__gt=0)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=writer.now))
            .order_by(F("expires_at").asc(nulls_last=True), "created_at", "id")
        )
        plans: dict[int, LotPlan] = defaultdict(list)
        left = points
        for lot in lots:
            if left <= 0:
                break
            taken = min(left, lot.remaining_points)
            plans[lot.account_id].append((lot, taken))
            left -= taken
        if left > 0:
            raise InsufficientPointsError(
                f"{points} points asked, {points - left} available across the programs"
            )
        for account_id in sorted(plans, key=lambda pk: (by_account[pk].program_id, pk)):
            plan = plans[account_id]
            amount = sum((taken for _, taken in plan), ZERO)
            writer.debit(by_account[account_id], amount, plan=plan, error=InsufficientPointsError)
        _redemption_create(
            event=writer.event, owner=owner, points=points, is_group_redemption=True, **fields
        )

    event = post_event(
        owner=owner,
        keys=keys,
        idempotency_key=key,
        fingerprint=fingerprint,
        write=write,
        actor=actor,
        event_fields={
            "event_name": EventName.POINTS_REDEMPTION,
            "occurred_at": fields["redeemed_at"],
            "source": source,
            "notes": fields["notes"],
            "triggered_by": triggered_by,
            "source_program": source_program,
            "details": {"groupRedemption": True},
        },
    )
    return PointsRedemption.objects.select_related("event").get(event=event)


# Reversal -----------------------------------------------------------------------------------
def redemption_lookup(
    *, org: Org, redemption_id: Any, owner: Owner | None = None
) -> PointsRedemption:
    """The org's redemption with that id (for `owner` when given). Raises 901 / 902."""
    code = str(redemption_id or "").strip()
    if not REDEMPTION_CODE_PATTERN.match(code):
        raise InvalidRedemptionIdError(f"Invalid redemption id {redemption_id!r}")
    redemption = (
        PointsRedemption.objects.filter(org=org, code=code)
        .select_related("event", "customer", "user_group")
        .first()
    )
    if redemption is None:
        raise RedemptionNotFoundError(f"Redemption {code} not found")
    if owner is not None and owner_label(redemption.owner) != owner_label(owner):
        raise RedemptionNotFoundError(f"Redemption {code} does not belong to this customer")
    return redemption


def redemption_account_keys(redemption: PointsRedemption) -> list[AccountKey]:
    return [
        (program_id, category)
        for program_id, category in redemption.event.entries.filter(
            entry_type=EntryType.DEBIT
        ).values_list("account__program_id", "account__category")
    ]


def reverse_into(
    writer: EventWriter,
    accounts_by_id: dict[int, PointsAccount],
    *,
    redemption_id: int,
    points: Decimal | None,
) -> Decimal:
    """Append the credits reversing `points` (None = all that is left) of a redemption: back into
    the lots it consumed where they are still live, as new lots otherwise. The redemption row is
    locked here. Returns the points reversed. Raises 3802 / 810."""
    redemption = PointsRedemption.objects.select_for_update().get(pk=redemption_id)
    reversible = redemption.reversible_points
    if reversible <= 0:
        raise RedemptionAlreadyReversedError(f"Redemption {redemption.code} is already reversed")
    if points is None:
        points = reversible
    if points > reversible:
        raise RevertPointsMismatchError(
            f"Only {reversible} points of redemption {redemption.code} are left to reverse"
        )
    # One fixed order (last consumption first), so partial reversals never overlap: the earlier
    # ones used the first `reversed_points` of it.
    skip = redemption.reversed_points
    left = points
    parts: dict[int, list[CreditPart]] = defaultdict(list)
    movements = (
        LotConsumption.objects.filter(
            entry__event_id=redemption.event_id,
            entry__entry_type=EntryType.DEBIT,
            kind=LotConsumption.Kind.CONSUME,
        )
        .select_related("lot", "entry__account__program__org")
        .order_by("-entry_id", "-id")
    )
    for movement in movements:
        if left <= 0:
            break
        amount = movement.points
        skipped = min(skip, amount)
        skip -= skipped
        amount -= skipped
        if amount <= 0:
            continue
        taken = min(amount, left)
        left -= taken
        account = movement.entry.account
        parts[account.pk].append(
            CreditPart(
                points=taken,
                expires_at=program_expiry(account.program, writer.now),
                transaction_id=movement.lot.transaction_id,
                restore_lot_id=movement.lot_id,
            )
        )
    if left > 0:
        raise RevertPointsMismatchError(f"Redemption {redemption.code} cannot be reversed")
    for account_id in sorted(parts):
        writer.credit(accounts_by_id[account_id], parts[account_id])
    PointsRedemption.objects.filter(pk=redemption.pk).update(
        reversed_points=F("reversed_points") + points, updated_at=timezone.now()
    )
    return points


@db_transaction.atomic
def points_redemption_reverse(
    *,
    org: Org,
    redemption_id: str,
    actor: Any,
    idempotency_key: str,
    points: Decimal | int | str | None = None,
    customer: Customer | None = None,
    user_group: UserGroup | None = None,
    notes: str = "",
) -> LedgerEvent:
    """Reverse `points` (default: all that is left) of a redemption as one
    PointsRedemptionReversal event that corrects the redemption: a credit into the account the
    points came from. `customer`/`user_group`, when given, must be the redemption's owner.

    Raises InvalidRedemptionIdError (901), RedemptionNotFoundError (902),
    RedemptionAlreadyReversedError (3802), RevertPointsMismatchError (810), InvalidPointsError
    (801), CustomerMergedError (8069).
    """
    owner_given = None
    if customer is not None or user_group is not None:
        owner_given = resolve_owner(customer=customer, user_group=user_group)
    key = clean_idempotency_key(idempotency_key)
    redemption = redemption_lookup(org=org, redemption_id=redemption_id, owner=owner_given)
    owner = redemption.owner
    amount = None if points is None else to_points(points)
    fingerprint = request_fingerprint(
        "points_redemption_reverse", redemption=redemption.pk, points=amount
    )

    def write(writer: EventWriter, accounts: dict[AccountKey, PointsAccount]) -> None:
        reverse_into(
            writer,
            {account.pk: account for account in accounts.values()},
            redemption_id=redemption.pk,
            points=amount,
        )

    return post_event(
        owner=owner,
        keys=redemption_account_keys(redemption),
        idempotency_key=key,
        fingerprint=fingerprint,
        write=write,
        actor=actor,
        event_fields={
            "event_name": EventName.POINTS_REDEMPTION_REVERSAL,
            "corrects": redemption.event,
            "notes": notes,
            "source_program": redemption.event.source_program,
            "details": {"redemptionId": redemption.code},
        },
    )
