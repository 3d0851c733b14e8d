"""Points arithmetic of the earning engine: what an action gives for an amount (with rounding),
when the points expire or mature, and where a restriction's period starts."""

from __future__ import annotations

import datetime
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from members.models import Org
from promotions.models import AwardStrategy, ExpiryStrategy, PeriodType, PeriodUnit
from promotions.services.catalog import AwardPlan, ExpiryPlan

HUNDRED = Decimal(100)
# No single award goes above this (the ledger refuses amounts of 10^15 and more).
MAX_AWARD = Decimal("1e12")
ZERO = Decimal(0)
WHOLE = Decimal(1)


def _round(value: Decimal, rounding: str, places: int) -> Decimal:
    if rounding == "ROUND":
        return value.quantize(WHOLE, rounding=ROUND_HALF_UP)
    if rounding == "FLOOR":
        return value.quantize(WHOLE, rounding=ROUND_FLOOR)
    if rounding == "CEIL":
        return value.quantize(WHOLE, rounding=ROUND_CEILING)
    # ACTUAL: as computed, cut to the decimals the program's points may have.
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)


def award_points(plan: AwardPlan, amount: Decimal, *, places: int) -> tuple[Decimal, Decimal]:
    """(raw, awarded) points of one action on `amount` (the bill or line amount, or the event's
    value). FIXED ignores the amount."""
    if plan.kind == AwardStrategy.Kind.FIXED:
        raw = plan.value
    else:
        source = amount if amount > 0 else ZERO
        if plan.source_rounding != "ACTUAL":
            source = _round(source, plan.source_rounding, 0)
        if plan.kind == AwardStrategy.Kind.PERCENT:
            raw = source * plan.value / HUNDRED
        else:
            raw = source / plan.per_amount * plan.value
    raw = min(raw, MAX_AWARD)
    awarded = _round(raw, plan.rounding, places)
    return raw, max(awarded, ZERO)


def cut_to_places(points: Decimal, places: int) -> Decimal:
    return points.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)


def _month_end(day: datetime.date, months_ahead: int) -> datetime.date:
    index = day.year * 12 + day.month - 1 + months_ahead
    year, month = divmod(index + 1, 12)
    return datetime.date(year, month + 1, 1) - datetime.timedelta(days=1)


def expiry_date(
    plan: ExpiryPlan | None, *, base: datetime.datetime, org: Org
) -> datetime.date | None:
    """The last day (org time zone) the points live, or None for the program's policy."""
    if plan is None:
        return None
    local_day = base.astimezone(org.tzinfo).date()
    if plan.kind == ExpiryStrategy.Kind.DAYS:
        return local_day + datetime.timedelta(days=plan.value)
    if plan.kind == ExpiryStrategy.Kind.MONTH_ENDS:
        return _month_end(local_day, max(plan.value, 1) - 1)
    return None


def _month_back(moment: datetime.datetime) -> datetime.datetime:
    year, month = (moment.year, moment.month - 1) if moment.month > 1 else (moment.year - 1, 12)
    for day in range(moment.day, 0, -1):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def period_start(
    period_type: str, period_unit: str, *, now: datetime.datetime, org: Org
) -> datetime.datetime:
    """Where the current window of a PERIOD_BASED restriction starts.

    FIXED_WINDOW: this calendar day / week (from the org's first weekday) / month, org time zone.
    MOVING_WINDOW: the last 24 hours / 7 days / calendar month up to now.
    """
    if period_type == PeriodType.MOVING_WINDOW:
        if period_unit == PeriodUnit.DAILY:
            return now - datetime.timedelta(days=1)
        if period_unit == PeriodUnit.WEEKLY:
            return now - datetime.timedelta(days=7)
        return _month_back(now.astimezone(org.tzinfo))
    local = now.astimezone(org.tzinfo)
    day = local.date()
    if period_unit == PeriodUnit.WEEKLY:
        day -= datetime.timedelta(days=(day.weekday() - org.week_start_day) % 7)
    elif period_unit == PeriodUnit.MONTHLY:
        day = day.replace(day=1)
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=org.tzinfo)
