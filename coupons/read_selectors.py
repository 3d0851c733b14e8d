"""Coupon reads for the APIs of contract §1.5, §1.6, §2.4 and the series filters of §2.1: coupon
lookups, a customer's coupons by status, offers by redemption place, and each coupon's
reversal state. Every function is scoped to `org_ids`; another org's rows are never returned.

Statuses (the lead's redemption service keeps the counters): a coupon is *redeemed* while it has
an active redemption (`redemption_count > 0`), *expired* once `valid_till` has passed, *active*
while `valid_till` is in the future (or unset) and it is not revoked. Reversal comes from the
coupon's `CouponRedemption` rows: `is_active` false is the contract's `isReversed`.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce

from coupons.models import Coupon, CouponRedemption, CouponSeries, RedemptionEntityType
from coupons.selectors import coupon_series_queryset
from coupons.services.codes import normalize_code
from members.models import Store, Till

# v1.1 `status` (§1.6) and v2 `status` (§2.4) values.
V11_STATUSES = ("unredeemed", "redeemed", "expired", "active")
V2_STATUSES = (
    "REDEEMED",
    "UNREDEEMED",
    "ACTIVE",
    "EXPIRED",
    "ACTIVE_REDEEMED",
    "ACTIVE_UNREDEEMED",
    "EXPIRED_REDEEMED",
    "EXPIRED_UNREDEEMED",
    "REDEEMABLE",
)
SERIES_FILTER_ENTITY_TYPES = (
    RedemptionEntityType.STORE,
    RedemptionEntityType.ZONE,
    RedemptionEntityType.CONCEPT,
)


def _redeemed() -> Q:
    return Q(redemption_count__gt=0)


def _unredeemed() -> Q:
    return Q(redemption_count=0)


def _active(now: datetime.datetime) -> Q:
    return (Q(valid_till__isnull=True) | Q(valid_till__gt=now)) & Q(revoked_at__isnull=True)


def _expired(now: datetime.datetime) -> Q:
    return Q(valid_till__lte=now)


def _redemptions_left() -> Q:
    """Unredeemed, or a multiple-use offer whose per-coupon cap (if any) is not reached."""
    multiple_use = Q(series__is_multiple_use_allowed=True) | Q(
        series__same_user_multiple_redeem=True
    )
    no_cap = Q(
        series__redemption_per_coupon_max_limit__isnull=True,
        series__max_redemptions_per_user__isnull=True,
    )
    under_cap = Q(
        redemption_count__lt=Coalesce(
            "series__redemption_per_coupon_max_limit", "series__max_redemptions_per_user"
        )
    )
    return _unredeemed() | (multiple_use & (no_cap | under_cap))


def coupon_status_q(status: str, *, now: datetime.datetime) -> Q:
    """The filter of one v1.1 (lower case) or v2 (upper case) status value, case-insensitive.

    REDEEMABLE is active and with redemptions left; rules that depend on the bill (store, bill
    amount, days and hours, per-customer caps and gaps) and the start of redemption are not
    part of it here (`redeemable_start_q` adds the start)."""
    key = status.strip().upper()
    filters = {
        "REDEEMED": _redeemed(),
        "UNREDEEMED": _unredeemed(),
        "ACTIVE": _active(now),
        "EXPIRED": _expired(now),
        "ACTIVE_REDEEMED": _active(now) & _redeemed(),
        "ACTIVE_UNREDEEMED": _active(now) & _unredeemed(),
        "EXPIRED_REDEEMED": _expired(now) & _redeemed(),
        "EXPIRED_UNREDEEMED": _expired(now) & _unredeemed(),
        "REDEEMABLE": _active(now) & _redemptions_left(),
    }
    if key not in filters:
        raise ValueError(f"Unknown coupon status {status!r}")
    return filters[key]


def _local_day_start(day: datetime.date, tz: datetime.tzinfo) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)


def redeemable_start_q(*, series: Iterable[CouponSeries], now: datetime.datetime) -> Q:
    """Coupons of `series` whose redemption has started: the offer's `redemption_valid_from` has
    passed and, with "N days after issual", the local issue date is at least N days ago (the
    seed: only the date counts, not the time of issue)."""
    blocked = Q(pk__in=[])
    for offer in series:
        if offer.redemption_valid_from is not None and offer.redemption_valid_from > now:
            blocked |= Q(series_id=offer.pk)
        elif offer.redemption_valid_after_days:
            tz = offer.org.tzinfo
            today = now.astimezone(tz).date()
            # Issued on or after (today - N + 1) local: redeemable from a later day.
            cutoff = _local_day_start(
                today - datetime.timedelta(days=offer.redemption_valid_after_days - 1), tz
            )
            blocked |= Q(series_id=offer.pk, issued_at__gte=cutoff)
    return ~blocked


def redemption_rows_prefetch() -> Prefetch:
    """Each coupon's redemptions, oldest first, with what the responses show."""
    return Prefetch(
        "redemptions",
        queryset=CouponRedemption.objects.select_related(
            "store", "till", "customer", "transaction"
        ).order_by("redeemed_at", "id"),
    )


def coupon_read_queryset(*, org_ids: Iterable[int]) -> QuerySet[Coupon]:
    """Coupons of `org_ids` with their offer, customer, issuing till and redemptions loaded."""
    return (
        Coupon.objects.filter(org_id__in=list(org_ids))
        .select_related("series", "series__org", "customer", "issued_by_till__store")
        .prefetch_related(redemption_rows_prefetch())
    )


@dataclass(frozen=True)
class ReversalState:
    """The contract's `isReversed` / `last_status_change_on` of one coupon: those of the
    redemption whose status changed last (a redemption, or its reversal). No redemption:
    not reversed, no time."""

    is_reversed: bool
    last_status_change_on: datetime.datetime | None


def coupon_reversal_state(coupon: Coupon) -> ReversalState:
    rows = list(coupon.redemptions.all())
    if not rows:
        return ReversalState(False, None)
    latest = max(rows, key=lambda row: (row.last_status_change_on, row.pk))
    return ReversalState(not latest.is_active, latest.last_status_change_on)


def coupon_shown_redemption(coupon: Coupon) -> CouponRedemption | None:
    """The redemption a single-redemption view shows: the latest active one, else the latest
    reversed one (so a reinstated coupon still shows what was reversed)."""
    rows = list(coupon.redemptions.all())
    active = [row for row in rows if row.is_active]
    pool = active or rows
    return max(pool, key=lambda row: (row.redeemed_at, row.pk)) if pool else None


def coupon_redemptions_left(coupon: Coupon, *, now: datetime.datetime) -> int:
    """-1 for no limit. A revoked or expired coupon has none left."""
    if coupon.revoked_at is not None or (
        coupon.valid_till is not None and coupon.valid_till <= now
    ):
        return 0
    series = coupon.series
    if not (series.is_multiple_use_allowed or series.same_user_multiple_redeem):
        return 0 if coupon.redemption_count else 1
    limit = series.redemption_per_coupon_max_limit or series.max_redemptions_per_user
    if limit is None:
        return -1
    return max(limit - coupon.redemption_count, 0)


# Lookups ---------------------------------------------------------------------------------------
def coupons_by_ids(*, org_ids: Iterable[int], coupon_ids: Sequence[int]) -> dict[int, Coupon]:
    """The coupons of `org_ids` among `coupon_ids`, by id (unknown ids left out)."""
    rows = coupon_read_queryset(org_ids=org_ids).filter(pk__in=list(coupon_ids))
    return {coupon.pk: coupon for coupon in rows}


MAX_CODE_HOLDERS = 100


def coupons_by_codes(
    *, org_ids: Iterable[int], codes: Sequence[str], customer_id: int | None = None
) -> dict[str, list[Coupon]]:
    """Coupons of `org_ids` by normalized code, newest first. A common code has one coupon per
    holder, so each code maps to a list: its newest MAX_CODE_HOLDERS holders, or only the
    coupon of `customer_id` when given. Unknown codes are left out."""
    base = coupon_read_queryset(org_ids=org_ids)
    if customer_id is not None:
        base = base.filter(customer_id=customer_id)
    found: dict[str, list[Coupon]] = {}
    for code in dict.fromkeys(normalize_code(code) for code in codes):
        # A revoked code may have been uploaded again for someone else: live rows first.
        rows = list(
            base.filter(code=code).order_by(
                F("revoked_at").asc(nulls_first=True), "-issued_at", "-id"
            )[:MAX_CODE_HOLDERS]
        )
        if rows:
            found[code] = rows
    return found


def coupons_issued_to(*, org_ids: Iterable[int], customer_ids: Sequence[int]) -> list[Coupon]:
    """Every coupon issued to the customers, newest first."""
    return list(
        coupon_read_queryset(org_ids=org_ids)
        .filter(customer_id__in=list(customer_ids))
        .order_by("-issued_at", "-id")
    )


# A customer's coupons --------------------------------------------------------------------------
V11_ORDER_FIELDS = {
    "created_date": "issued_at",
    "amount": "series__discount_value",
    "valid_till": "valid_till",
}


@dataclass(frozen=True)
class CustomerCouponFilters:
    statuses: tuple[str, ...] = ()
    series_id: int | None = None
    store_id: int | None = None
    start_date: datetime.date | None = None
    end_date: datetime.date | None = None
    order_by: str = "created_date"
    descending: bool = True


def customer_coupons_list(
    *,
    org_ids: Iterable[int],
    customer_id: int,
    filters: CustomerCouponFilters,
    now: datetime.datetime,
    tz: datetime.tzinfo,
) -> QuerySet[Coupon]:
    """A customer's coupons under `filters`, sorted; page it with a slice.

    Several statuses combine with OR. `store_id` keeps active coupons redeemable at that store;
    `start_date` / `end_date` (local dates, inclusive) keep coupons issued or redeemed in the
    window."""
    org_ids = list(org_ids)
    coupons = coupon_read_queryset(org_ids=org_ids).filter(customer_id=customer_id)
    if filters.statuses:
        combined = Q(pk__in=[])
        for status in filters.statuses:
            combined |= coupon_status_q(status, now=now)
        coupons = coupons.filter(combined)
        if any(status.upper() == "REDEEMABLE" for status in filters.statuses):
            offers = CouponSeries.objects.filter(pk__in=coupons.values("series_id")).select_related(
                "org"
            )
            coupons = coupons.filter(redeemable_start_q(series=offers, now=now))
    if filters.series_id is not None:
        coupons = coupons.filter(series_id=filters.series_id)
    if filters.store_id is not None:
        store = Store.objects.filter(org_id__in=org_ids, pk=filters.store_id).first()
        series_ids = series_redeemable_at_store_ids(org_ids=org_ids, store=store) if store else []
        coupons = coupons.filter(_active(now), series_id__in=series_ids)
    if filters.start_date is not None or filters.end_date is not None:
        coupons = coupons.filter(_issued_or_redeemed_between(filters, tz))
    field = V11_ORDER_FIELDS.get(filters.order_by, "issued_at")
    prefix = "-" if filters.descending else ""
    return coupons.order_by(f"{prefix}{field}", f"{prefix}id")


def _issued_or_redeemed_between(filters: CustomerCouponFilters, tz: datetime.tzinfo) -> Q:
    issued = Q()
    redeemed = Q()
    if filters.start_date is not None:
        start = _local_day_start(filters.start_date, tz)
        issued &= Q(issued_at__gte=start)
        redeemed &= Q(redeemed_at__gte=start)
    if filters.end_date is not None:
        end = _local_day_start(filters.end_date + datetime.timedelta(days=1), tz)
        issued &= Q(issued_at__lt=end)
        redeemed &= Q(redeemed_at__lt=end)
    redemptions = CouponRedemption.objects.filter(redeemed, coupon=OuterRef("pk"))
    return issued | Q(Exists(redemptions))


# Offers by redemption place --------------------------------------------------------------------
def _entity_pairs(series_entities: list) -> set[tuple[str, int]]:
    pairs = set()
    for entry in series_entities or []:
        try:
            pairs.add((str(entry["redemptionOrgEntityType"]), int(entry["orgEntityId"])))
        except (KeyError, TypeError, ValueError):
            continue
    return pairs


def _offers_with_places(org_ids: Iterable[int]) -> list[tuple[int, set[tuple[str, int]]]]:
    # Two columns of the org's offers, matched in Python: JSON containment is PostgreSQL-only
    # and an org's offers are few next to its coupons.
    rows = CouponSeries.objects.filter(org_id__in=list(org_ids)).values_list(
        "pk", "redemption_org_entities"
    )
    return [(pk, _entity_pairs(entities)) for pk, entities in rows]


def series_ids_for_org_entities(
    *, org_ids: Iterable[int], entity_type: str, entity_ids: Sequence[int]
) -> list[int]:
    """Offers tagged to one of `entity_ids` of `entity_type` (STORE, ZONE or CONCEPT) exactly:
    a zone matches offers tagged to the zone, not to its stores (seed, "Coupon APIs"). Ids are
    not validated; an unknown id matches nothing. Newest offer first."""
    wanted = {(entity_type, entity_id) for entity_id in entity_ids}
    matches = [pk for pk, places in _offers_with_places(org_ids) if places & wanted]
    return sorted(matches, reverse=True)


def series_redeemable_at_store_ids(*, org_ids: Iterable[int], store: Store) -> list[int]:
    """Offers a coupon of which can be redeemed at `store`: no places (anywhere), or the store,
    one of its tills, its zone or its concept among the offer's places."""
    store_places = {(RedemptionEntityType.STORE.value, store.pk)}
    store_places |= {
        (RedemptionEntityType.TILL.value, till_id)
        for till_id in Till.objects.filter(store=store).values_list("pk", flat=True)
    }
    if store.zone_id:
        store_places.add((RedemptionEntityType.ZONE.value, store.zone_id))
    if store.concept_id:
        store_places.add((RedemptionEntityType.CONCEPT.value, store.concept_id))
    return [
        pk for pk, places in _offers_with_places(org_ids) if not places or places & store_places
    ]


def series_v11_list(
    *,
    org_ids: Iterable[int],
    series_ids: Sequence[int],
    include_expired: bool,
    now: datetime.datetime,
) -> QuerySet[CouponSeries]:
    """Offers for v1.1 `coupon/series`: the ids asked (whether ended or not), or every offer of
    the orgs, the ended ones only with `include_expired`. Newest first."""
    offers = coupon_series_queryset(org_ids=org_ids)
    if series_ids:
        offers = offers.filter(pk__in=list(series_ids))
    elif not include_expired:
        offers = offers.filter(Q(valid_till__isnull=True) | Q(valid_till__gt=now))
    return offers.order_by("-id")
