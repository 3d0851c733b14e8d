"""The earning engine: evaluate the live promotions of the customer's programs against an event
and credit their points through the ledger, with the promotion's name, id and identifier on each
ledger event.

Pipeline steps (settings): `earning_on_transaction_add` (TRANSACTION_ADD_PIPELINE) and
`earning_on_customer_registration` (CUSTOMER_REGISTRATION_PIPELINE, after the ledger opens the
accounts). Returns need no step here: the ledger's return hook takes back the returned share of
a bill's TransactionAdd credits, promotion points included. Custom events and completed targets
come through promotions.services.events.

Cost: one query for the catalog token and one for the enrolments however many promotions are
live; rules run in memory. Only promotions that award touch the database (a few queries for all
their usage rows, then one ledger posting each).
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError
from django.db import transaction as db_transaction
from django.utils import timezone

from ledger.services import PromotionRef, points_allocate
from members.models import (
    Customer,
    Org,
    PointsCategory,
    ProgramEnrollment,
    Till,
    Transaction,
    TransactionType,
)
from promotions.models import (
    EventKind,
    PromotionCustomerUsage,
    PromotionEarn,
    PromotionIssue,
    PromotionUsage,
)
from promotions.services.awards import expiry_date
from promotions.services.catalog import CompiledPromotion, catalog_get
from promotions.services.context import (
    EarningEvent,
    base_context,
    customer_labels_loader,
    customer_root,
    program_context,
)
from promotions.services.evaluation import (
    AwardPart,
    Candidate,
    evaluate_promotion,
    passes_filters,
    resolve,
)
from promotions.services.limits import limited_parts, usage_record, usage_state_load
from promotions.services.locking import customer_lock

ZERO = Decimal(0)
POINT_TYPE_NAMES = {
    PointsCategory.REGULAR: "Main",
    PointsCategory.PROMISED: "DelayedAccrualPointCategory",
}


@dataclass
class Award:
    """One ledger credit: a candidate's parts that share a points category, maturity and expiry."""

    candidate: Candidate
    parts: list[AwardPart]
    category: str
    matures_at: datetime.datetime | None
    expires_on: datetime.date | None

    @property
    def points(self) -> Decimal:
        return sum((part.points for part in self.parts), ZERO)


# Side effects ------------------------------------------------------------------------------------
def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _awarded_on(moment: datetime.datetime, org: Org) -> str:
    local = moment.astimezone(org.tzinfo)
    day = local.day
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix} {local.strftime('%b, %Y')}"


def _raw_side_effects(
    awards: list[Award], *, event: EarningEvent, now: datetime.datetime, org: Org
) -> list[dict[str, Any]]:
    """The contract's rawSideEffects AWARD items (§11.3), one per line (or bill) and action."""
    transaction = event.transaction
    items = []
    for award in awards:
        promotion = award.candidate.promotion
        expiry_text = expiry_millis = ""
        if award.expires_on is not None:
            end = datetime.datetime.combine(award.expires_on, datetime.time.max, tzinfo=org.tzinfo)
            expiry_text = _awarded_on(end, org)
            expiry_millis = str(int(end.timestamp() * 1000))
        for part in award.parts:
            items.append(
                {
                    "awardOn": promotion.allocate_on,
                    "awardStrategyId": part.action.award_strategy_ref,
                    "awardedOn": _awarded_on(now, org),
                    "awardedOnMillis": str(int(now.timestamp() * 1000)),
                    "billNumber": transaction.number if transaction else "",
                    "evaluatedEntity": "USER",
                    "expiryDate": expiry_text,
                    "expiryDateMillis": expiry_millis,
                    "expiryStrategyId": part.action.expiry_strategy_ref,
                    "lineItemId": str(part.line_id if part.line_id is not None else -1),
                    "pointTypeId": "",
                    "pointTypeIsRedeemable": str(award.category == PointsCategory.REGULAR).lower(),
                    "pointTypeName": POINT_TYPE_NAMES.get(award.category, award.category),
                    "points": f"{part.points:.3f}",
                    "programId": str(award.candidate.program.pk),
                    "promoId": str(promotion.id),
                    "promoIdentifier": promotion.identifier,
                    "promoName": promotion.name,
                    "sourceId": str(transaction.pk if transaction else ""),
                    "sourceType": "Bill" if transaction else event.event_name,
                    "tenderCodeId": "-1",
                    "type": "AWARD",
                }
            )
    return items


def _side_effects(
    awards: list[Award], *, event: EarningEvent, now: datetime.datetime, org: Org
) -> list[dict[str, Any]]:
    if not awards:
        return []
    awarded = sum((award.points for award in awards), ZERO)
    raw = sum((part.raw for award in awards for part in award.parts), ZERO)
    effects: list[dict[str, Any]] = [
        {
            "entityType": "USER",
            "type": "points",
            "awardedPoints": _number(awarded),
            "rawAwardedPoints": _number(raw),
        }
    ]
    if event.reports_awards:
        effects.extend(_raw_side_effects(awards, event=event, now=now, org=org))
    return effects


# Steps -------------------------------------------------------------------------------------------
def _candidates(
    *,
    customer: Customer,
    event: EarningEvent,
    org: Org,
    by_program: Mapping[int, tuple[CompiledPromotion, ...]],
) -> list[Candidate]:
    enrollments = list(
        ProgramEnrollment.objects.filter(
            customer=customer, is_active=True, program_id__in=list(by_program)
        )
        .select_related("program__org", "tier")
        .order_by("program_id")
    )
    if not enrollments:
        return []
    base = base_context(customer=customer, event=event, org=org)
    labels = customer_labels_loader(customer)
    candidates = []
    for enrollment in enrollments:
        program = enrollment.program
        if not program.is_active:
            continue
        live = [
            promotion
            for promotion in by_program[program.pk]
            if promotion.is_live(event.occurred_at)
            and passes_filters(promotion, customer=customer, event=event)
        ]
        if not live:
            continue
        context = program_context(
            base,
            program=program,
            customer=customer_root(
                customer=customer, enrollment=enrollment, labels=labels, today=base.today, org=org
            ),
        )
        for promotion in live:
            parts = evaluate_promotion(promotion, context=context, program=program, event=event)
            if parts:
                candidates.append(Candidate(promotion=promotion, program=program, parts=parts))
    return candidates


def _with_issues(
    candidates: list[Candidate], *, customer: Customer, now: datetime.datetime
) -> list[Candidate]:
    """Direct-issue and enrol-and-issue promotions earn only on a live issue (locked here)."""
    needing = [c.promotion.id for c in candidates if c.promotion.needs_issue]
    if not needing:
        return candidates
    issues = {
        issue.promotion_id: issue
        for issue in PromotionIssue.objects.select_for_update()
        .filter(
            customer=customer,
            promotion_id__in=needing,
            status=PromotionIssue.Status.ACTIVE,
            expires_at__gt=now,
        )
        .order_by("pk")
    }
    kept = []
    for candidate in candidates:
        if candidate.promotion.needs_issue:
            candidate.issue = issues.get(candidate.promotion.id)
            if candidate.issue is None:
                continue
        kept.append(candidate)
    return kept


def _awards_of(candidate: Candidate, *, now: datetime.datetime, org: Org) -> list[Award]:
    groups: dict[tuple, Award] = {}
    for part in candidate.awarded:
        plan = part.action.award
        delay = plan.delay_days if plan is not None else 0
        matures_at = now + datetime.timedelta(days=delay) if delay > 0 else None
        category = PointsCategory.PROMISED if matures_at else PointsCategory.REGULAR
        expires_on = expiry_date(part.action.expiry, base=matures_at or now, org=org)
        key = (category, delay, expires_on)
        if key not in groups:
            groups[key] = Award(candidate, [], category, matures_at, expires_on)
        groups[key].parts.append(part)
    return list(groups.values())


def _post(awards: list[Award], *, customer: Customer, event: EarningEvent, actor: Any) -> None:
    """Credit each award through the ledger (idempotency key: promotion and event)."""
    counters: dict[int, int] = defaultdict(int)
    for award in awards:
        promotion = award.candidate.promotion
        index = counters[promotion.id]
        counters[promotion.id] += 1
        suffix = f":{index}" if index else ""
        points_allocate(
            customer=customer,
            program=award.candidate.program,
            points=award.points,
            event_name=event.ledger_event_name,
            actor=actor,
            idempotency_key=f"promotion:{promotion.id}:{event.source_key}{suffix}",
            transaction=event.transaction,
            promotion_ref=PromotionRef(
                id=str(promotion.id),
                identifier=promotion.identifier,
                name=promotion.name,
                description=promotion.description,
            ),
            category=award.category,
            expires_at=award.expires_on,
            matures_at=award.matures_at,
            occurred_at=event.occurred_at,
            source=event.source,
            reason=f"Promotion {promotion.name}"[:255],
            details={"promotionId": promotion.id, "eventName": event.event_name},
        )


class AlreadyEarnedError(Exception):
    """Internal: the event was processed before (the earn rows exist)."""


def _earns_insert(
    winners: list[Candidate], *, customer: Customer, event: EarningEvent, now
) -> None:
    """One row per promotion that earns; the unique (promotion, customer, event) constraint turns a
    second processing of the same event into AlreadyEarnedError before any point is credited."""
    rows = [
        PromotionEarn(
            org_id=customer.org_id,
            promotion_id=candidate.promotion.id,
            customer=customer,
            source_key=event.source_key,
            event_name=event.event_name,
            transaction=event.transaction,
            issue=candidate.issue,
            points=candidate.awarded_points,
            raw_points=sum((part.raw for part in candidate.awarded), ZERO),
            line_count=len({part.line_id for part in candidate.awarded}),
            category=(
                PointsCategory.PROMISED
                if any(p.action.award and p.action.award.delay_days for p in candidate.awarded)
                else PointsCategory.REGULAR
            ),
            earned_at=now,
        )
        for candidate in winners
    ]
    try:
        with db_transaction.atomic():
            PromotionEarn.objects.bulk_create(rows)
    except IntegrityError as exc:
        raise AlreadyEarnedError() from exc


def _usage_save(winners: list[Candidate], *, state) -> None:
    ids = {candidate.promotion.id for candidate in winners}
    PromotionCustomerUsage.objects.bulk_update(
        [row for promotion_id, row in state.customer.items() if promotion_id in ids],
        ["points_awarded", "times_awarded", "last_awarded_at"],
    )
    totals = [row for promotion_id, row in state.promotion.items() if promotion_id in ids]
    if totals:
        PromotionUsage.objects.bulk_update(totals, ["points_awarded", "times_awarded"])
    issues = [candidate.issue for candidate in winners if candidate.issue is not None]
    if issues:
        PromotionIssue.objects.bulk_update(issues, ["points_earned", "earn_count"])


def earn_for_event(*, customer: Customer, event: EarningEvent, actor: Any) -> list[dict[str, Any]]:
    """Evaluate the org's live promotions for `event` and credit what they give. Returns the
    contract's side effects (one `points` item, plus AWARD items when the event reports them).
    A promotion earns at most once per customer and event (`event.source_key`): an event seen
    before gives nothing."""
    try:
        return _earn(customer=customer, event=event, actor=actor)
    except AlreadyEarnedError:
        return []


@db_transaction.atomic
def _earn(*, customer: Customer, event: EarningEvent, actor: Any) -> list[dict[str, Any]]:
    org = customer.org
    catalog = catalog_get(org.pk)
    by_program = catalog.by_event.get(event.event_key)
    if not by_program:
        return []
    candidates = _candidates(customer=customer, event=event, org=org, by_program=by_program)
    if not candidates:
        return []

    now = timezone.now()
    # The customer's lock serialises every earning of this customer (usage rows, earn log).
    customer_lock(customer.pk)
    candidates = _with_issues(candidates, customer=customer, now=now)
    if not candidates:
        return []
    state = usage_state_load(
        customer=customer, promotions=[c.promotion for c in candidates], now=now, org=org
    )
    winners: list[Candidate] = []
    for program_candidates in _by_program(candidates).values():
        for slot in resolve(program_candidates):
            for candidate in slot:
                candidate.awarded = limited_parts(candidate, state)
                if candidate.awarded:
                    usage_record(candidate, state)
                    winners.append(candidate)
                    break
    if not winners:
        return []
    _earns_insert(winners, customer=customer, event=event, now=now)
    awards = [award for candidate in winners for award in _awards_of(candidate, now=now, org=org)]
    _post(awards, customer=customer, event=event, actor=actor)
    _usage_save(winners, state=state)
    return _side_effects(awards, event=event, now=now, org=org)


def _by_program(candidates: list[Candidate]) -> dict[int, list[Candidate]]:
    grouped: dict[int, list[Candidate]] = defaultdict(list)
    for candidate in candidates:
        grouped[candidate.program.pk].append(candidate)
    return dict(sorted(grouped.items()))


def earning_on_transaction_add(
    *, transaction: Transaction, actor: Till, context: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """TRANSACTION_ADD_PIPELINE step: points for a REGULAR bill of a customer."""
    if transaction.customer_id is None or transaction.type != TransactionType.REGULAR:
        return []
    customer = context.get("customer") or transaction.customer
    event = EarningEvent(
        event_key=EventKind.TRANSACTION_ADD,
        event_name="TransactionAdd",
        ledger_event_name="TransactionAdd",
        source_key=f"txn:{transaction.pk}",
        occurred_at=transaction.billed_at,
        source=transaction.source,
        transaction=transaction,
        till=actor if isinstance(actor, Till) else None,
        amount=transaction.bill_amount,
        reports_awards=True,
    )
    return earn_for_event(customer=customer, event=event, actor=actor)


def earning_on_customer_registration(
    *, customer: Customer, actor: Any, context: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """CUSTOMER_REGISTRATION_PIPELINE step (after the ledger's account opening): points of the
    CustomerRegistration promotions of the programs the new customer joined."""
    if customer.merged_into_id:
        return []
    event = EarningEvent(
        event_key=EventKind.CUSTOMER_REGISTRATION,
        event_name="CustomerRegistration",
        ledger_event_name="CustomerRegistration",
        source_key="registration",
        occurred_at=(context or {}).get("registered_at") or customer.registered_at,
        source=(context or {}).get("source") or customer.registration_source,
        till=actor if isinstance(actor, Till) else None,
    )
    return earn_for_event(customer=customer, event=event, actor=actor)
