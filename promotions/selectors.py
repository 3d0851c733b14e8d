"""Promotion reads: one promotion, the lists of the loyalty API, what a customer can do with the
promotions of their programs (seed 004), and the usage figures the admin shows."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from members.models import Customer, Program, ProgramEnrollment
from promotions.exceptions import PromotionNotFoundError, PromotionProgramNotFoundError
from promotions.models import (
    PointsOfferType,
    Promotion,
    PromotionAction,
    PromotionCustomerUsage,
    PromotionEarn,
    PromotionIssue,
    PromotionRestriction,
    PromotionRule,
    RestrictionFamily,
    RestrictionType,
)
from promotions.services.awards import period_start
from promotions.services.kpis import DISABLED, KPIS, kpi_of

ZERO = Decimal(0)


class PromotionStatus:
    UPCOMING = "UPCOMING"
    LIVE = "LIVE"
    COMPLETED = "COMPLETED"
    INACTIVE = "INACTIVE"
    ALL = (UPCOMING, LIVE, COMPLETED, INACTIVE)


class CustomerPromotionStatus:
    AVAILABLE_TO_ENROL = "AVAILABLE_TO_ENROL"
    AVAILABLE_TO_EARN = "AVAILABLE_TO_EARN"
    AVAILABLE_TO_REDEEM = "AVAILABLE_TO_REDEEM"
    EXPIRED = "EXPIRED"
    ALL = (AVAILABLE_TO_ENROL, AVAILABLE_TO_EARN, AVAILABLE_TO_REDEEM, EXPIRED)


def promotion_status(promotion: Promotion, now: datetime.datetime | None = None) -> str:
    """UPCOMING / LIVE / COMPLETED from the dates; INACTIVE when switched off."""
    now = now or timezone.now()
    if not promotion.is_active:
        return PromotionStatus.INACTIVE
    if now < promotion.starts_at:
        return PromotionStatus.UPCOMING
    if now > promotion.ends_at:
        return PromotionStatus.COMPLETED
    return PromotionStatus.LIVE


def status_q(status: str, now: datetime.datetime) -> Q:
    if status == PromotionStatus.INACTIVE:
        return Q(is_active=False)
    if status == PromotionStatus.UPCOMING:
        return Q(is_active=True, starts_at__gt=now)
    if status == PromotionStatus.COMPLETED:
        return Q(is_active=True, ends_at__lt=now)
    return Q(is_active=True, starts_at__lte=now, ends_at__gte=now)


def promotion_queryset(*, org_ids: Iterable[int]) -> QuerySet[Promotion]:
    """Promotions with everything their representation reads, in a fixed number of queries."""
    return (
        Promotion.objects.filter(org_id__in=list(org_ids))
        .select_related("program", "org", "ruleset", "updated_by_user")
        .prefetch_related(
            "restrictions",
            "ruleset__filters",
            Prefetch(
                "ruleset__rules",
                queryset=PromotionRule.objects.order_by(
                    "priority", "position", "id"
                ).prefetch_related(
                    Prefetch(
                        "actions",
                        queryset=PromotionAction.objects.order_by("case", "position", "id"),
                    )
                ),
            ),
        )
    )


def program_get(*, org_ids: Iterable[int], program_id: int) -> Program:
    """A program of the caller's orgs. Raises PromotionProgramNotFoundError (4002)."""
    program = (
        Program.objects.select_related("org")
        .filter(pk=program_id, org_id__in=list(org_ids))
        .first()
    )
    if program is None:
        raise PromotionProgramNotFoundError(f"Program {program_id} not found", field="programId")
    return program


def promotion_get(*, org_ids: Iterable[int], program_id: int, promotion_id: int) -> Promotion:
    """Raises PromotionProgramNotFoundError (4002) or PromotionNotFoundError (4001)."""
    program = program_get(org_ids=org_ids, program_id=program_id)
    promotion = promotion_queryset(org_ids=org_ids).filter(pk=promotion_id, program=program).first()
    if promotion is None:
        raise PromotionNotFoundError(f"Promotion {promotion_id} not found in program {program_id}")
    return promotion


def promotions_list(
    *,
    org_ids: Iterable[int],
    program_id: int | None = None,
    source_types: Iterable[str] | None = None,
    status: str | None = None,
    is_active: bool | None = None,
    starts_from: datetime.datetime | None = None,
    ends_until: datetime.datetime | None = None,
    name: str | None = None,
) -> QuerySet[Promotion]:
    """Promotions of the caller's orgs, newest first, narrowed by the list APIs' filters."""
    rows = promotion_queryset(org_ids=org_ids)
    if program_id is not None:
        rows = rows.filter(program_id=program_id)
    if source_types:
        rows = rows.filter(source_type__in=list(source_types))
    if status:
        rows = rows.filter(status_q(status, timezone.now()))
    if is_active is not None:
        rows = rows.filter(is_active=is_active)
    if starts_from is not None:
        rows = rows.filter(starts_at__gte=starts_from)
    if ends_until is not None:
        rows = rows.filter(ends_at__lte=ends_until)
    if name:
        rows = rows.filter(name__icontains=name)
    return rows.order_by("-id")


@dataclass(frozen=True)
class PromotionUsageSummary:
    points: Decimal = ZERO
    customers: int = 0
    events: int = 0


def promotion_usage_summaries(promotion_ids: Iterable[int]) -> dict[int, PromotionUsageSummary]:
    """Points given, customers who earned and earning events per promotion (one query)."""
    rows = (
        PromotionCustomerUsage.objects.filter(promotion_id__in=list(promotion_ids))
        .values("promotion_id")
        .annotate(
            points=Sum("points_awarded"),
            customers=Count("id", filter=Q(times_awarded__gt=0)),
            events=Sum("times_awarded"),
        )
    )
    return {
        row["promotion_id"]: PromotionUsageSummary(
            row["points"] or ZERO, row["customers"] or 0, row["events"] or 0
        )
        for row in rows
    }


# A customer's promotions (seed 004) --------------------------------------------------------------
@dataclass
class RestrictionUsage:
    family: str
    kpi: str
    max_limit: Decimal
    current: Decimal
    limit_on: str
    type: str
    measure: str


@dataclass
class CustomerPromotion:
    promotion: Promotion
    points: Decimal = ZERO
    times: int = 0
    total_points: Decimal = ZERO
    issue: PromotionIssue | None = None
    restrictions: list[RestrictionUsage] = field(default_factory=list)
    statuses: set[str] = field(default_factory=set)


@dataclass
class _Usage:
    points: Decimal
    times: int
    issues: int


def _restriction_usages(
    promotion: Promotion,
    *,
    usage: _Usage,
    totals: tuple[int, Decimal],
    issue: PromotionIssue | None,
    customer_earns: list[tuple[datetime.datetime, Decimal]],
    issue_times: list[datetime.datetime],
    now: datetime.datetime,
    fetch_all: bool,
) -> list[RestrictionUsage]:
    rows: list[RestrictionUsage] = []
    configured = [r for r in promotion.restrictions.all() if r.family != RestrictionFamily.EXPIRY]
    if fetch_all:
        names = {(r.family, r.name) for r in configured}
        for family, kpis in KPIS.items():
            for name in kpis:
                if (family, name) not in names:
                    configured.append(
                        PromotionRestriction(
                            family=family,
                            name=name,
                            value=Decimal(DISABLED),
                            type=RestrictionType.NON_PERIOD_BASED,
                        )
                    )
    for restriction in configured:
        kpi = kpi_of(restriction.family, restriction.name)
        if kpi is None:
            continue
        start = None
        if restriction.type == RestrictionType.PERIOD_BASED:
            start = period_start(
                restriction.period_type, restriction.period_unit, now=now, org=promotion.org
            )
        current: Decimal | int = 0
        if kpi.measure == "issues":
            current = len([t for t in issue_times if t >= start]) if start else usage.issues
        elif kpi.scope == "ISSUE":
            current = issue.points_earned if issue is not None else ZERO
        elif kpi.scope == "CUSTOMER":
            if start:
                window = [points for at, points in customer_earns if at >= start]
                current = len(window) if kpi.measure == "times" else sum(window, ZERO)
            else:
                current = usage.times if kpi.measure == "times" else usage.points
        elif kpi.scope == "PROMOTION":
            current = totals[0] if kpi.measure == "times" else totals[1]
        rows.append(
            RestrictionUsage(
                family=restriction.family,
                kpi=restriction.name,
                max_limit=restriction.value,
                current=Decimal(current),
                limit_on=kpi.limit_on,
                type=restriction.type or RestrictionType.NON_PERIOD_BASED,
                measure=kpi.measure,
            )
        )
    return rows


def _exhausted(entry: CustomerPromotion, families: set[str]) -> bool:
    promotion = entry.promotion
    if promotion.times_per_customer is not None and entry.times >= promotion.times_per_customer:
        return True
    if promotion.points_per_customer is not None and entry.points >= promotion.points_per_customer:
        return True
    if promotion.total_points is not None and entry.total_points >= promotion.total_points:
        return True
    for usage in entry.restrictions:
        if usage.family not in families or usage.max_limit == DISABLED:
            continue
        if usage.limit_on == "EVENT" and usage.measure != "points":
            continue
        if usage.measure in {"times", "points"} and usage.limit_on != "EVENT":
            if usage.current >= usage.max_limit:
                return True
    return False


def _statuses(entry: CustomerPromotion, now: datetime.datetime) -> set[str]:
    promotion = entry.promotion
    statuses: set[str] = set()
    if now > promotion.ends_at:
        return {CustomerPromotionStatus.EXPIRED}
    live = promotion.is_active and promotion.starts_at <= now
    if not live:
        return statuses
    has_issue = entry.issue is not None
    offer = promotion.points_offer_type
    if offer == PointsOfferType.LOYALTY_EARNING and not has_issue:
        issual = [u for u in entry.restrictions if u.kpi == "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER"]
        if not any(u.max_limit != DISABLED and u.current >= u.max_limit for u in issual):
            statuses.add(CustomerPromotionStatus.AVAILABLE_TO_ENROL)
    if offer in {PointsOfferType.LOYALTY, PointsOfferType.LOYALTY_EARNING} and has_issue:
        if not _exhausted(entry, {RestrictionFamily.EARN, RestrictionFamily.ISSUAL}):
            statuses.add(CustomerPromotionStatus.AVAILABLE_TO_EARN)
    if offer == PointsOfferType.GENERIC or has_issue:
        if not _exhausted(entry, {RestrictionFamily.REDEMPTION}):
            statuses.add(CustomerPromotionStatus.AVAILABLE_TO_REDEEM)
    return statuses


def customer_promotions(
    *,
    customer: Customer,
    status: str | None = None,
    offer_types: Iterable[str] | None = None,
    source_types: Iterable[str] | None = None,
    program_ids: Iterable[int] | None = None,
    fetch_all_usage: bool = False,
) -> list[CustomerPromotion]:
    """The promotions of the programs the customer is enrolled in, newest first, with the
    customer's usage, restriction usage and what they can do (AVAILABLE_TO_ENROL / _EARN /
    _REDEEM, EXPIRED). A bounded number of queries whatever the number of promotions."""
    now = timezone.now()
    programs = ProgramEnrollment.objects.filter(customer=customer, is_active=True).values_list(
        "program_id", flat=True
    )
    rows = (
        Promotion.objects.filter(org_id=customer.org_id, program_id__in=list(programs))
        .select_related("org")
        .prefetch_related("restrictions")
        .order_by("-id")
    )
    if offer_types:
        rows = rows.filter(points_offer_type__in=list(offer_types))
    if source_types:
        rows = rows.filter(source_type__in=list(source_types))
    if program_ids:
        rows = rows.filter(program_id__in=list(program_ids))
    if status == CustomerPromotionStatus.EXPIRED:
        rows = rows.filter(ends_at__lt=now)
    promotions = list(rows)
    ids = [promotion.pk for promotion in promotions]
    usage = {
        row.promotion_id: _Usage(row.points_awarded, row.times_awarded, row.issues_count)
        for row in PromotionCustomerUsage.objects.filter(customer=customer, promotion_id__in=ids)
    }
    totals = {
        row["promotion_id"]: (row["times"] or 0, row["points"] or ZERO)
        for row in PromotionCustomerUsage.objects.filter(promotion_id__in=ids)
        .values("promotion_id")
        .annotate(times=Sum("times_awarded"), points=Sum("points_awarded"))
    }
    issues = {
        issue.promotion_id: issue
        for issue in PromotionIssue.objects.filter(
            customer=customer,
            promotion_id__in=ids,
            status=PromotionIssue.Status.ACTIVE,
            expires_at__gt=now,
        )
    }
    periodic = [
        p.pk
        for p in promotions
        if any(r.type == RestrictionType.PERIOD_BASED for r in p.restrictions.all())
    ]
    earns: dict[int, list[tuple[datetime.datetime, Decimal]]] = defaultdict(list)
    issue_times: dict[int, list[datetime.datetime]] = defaultdict(list)
    if periodic:
        since = now - datetime.timedelta(days=32)
        for promotion_id, earned_at, points in PromotionEarn.objects.filter(
            customer=customer, promotion_id__in=periodic, earned_at__gte=since
        ).values_list("promotion_id", "earned_at", "points"):
            earns[promotion_id].append((earned_at, points))
        for promotion_id, issued_at in PromotionIssue.objects.filter(
            customer=customer, promotion_id__in=periodic, issued_at__gte=since
        ).values_list("promotion_id", "issued_at"):
            issue_times[promotion_id].append(issued_at)
    result = []
    for promotion in promotions:
        own = usage.get(promotion.pk, _Usage(ZERO, 0, 0))
        entry = CustomerPromotion(
            promotion=promotion,
            points=own.points,
            times=own.times,
            total_points=totals.get(promotion.pk, (0, ZERO))[1],
            issue=issues.get(promotion.pk),
        )
        entry.restrictions = _restriction_usages(
            promotion,
            usage=own,
            totals=totals.get(promotion.pk, (0, ZERO)),
            issue=entry.issue,
            customer_earns=earns.get(promotion.pk, []),
            issue_times=issue_times.get(promotion.pk, []),
            now=now,
            fetch_all=fetch_all_usage,
        )
        entry.statuses = _statuses(entry, now)
        if status and status not in entry.statuses:
            continue
        result.append(entry)
    return result
