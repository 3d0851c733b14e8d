"""Coupons reads, always scoped to the orgs the caller may see (another org's rows are 404)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, Prefetch, QuerySet

from coupons.exceptions import CouponCodeNotFoundError, CouponSeriesNotFoundError
from coupons.models import Coupon, CouponAudience, CouponExpiryReminder, CouponSeries
from coupons.services.codes import normalize_code


def coupon_series_queryset(*, org_ids: Iterable[int]) -> QuerySet[CouponSeries]:
    """Offers of the given orgs with what the series API shows prefetched."""
    audiences = CouponAudience.objects.annotate(customer_count=Count("members")).order_by("id")
    return (
        CouponSeries.objects.filter(org_id__in=list(org_ids))
        .select_related("org")
        .prefetch_related(
            Prefetch("audiences", queryset=audiences),
            Prefetch("expiry_reminders", queryset=CouponExpiryReminder.objects.order_by("id")),
        )
    )


def coupon_series_get(*, org_ids: Iterable[int], series_id: int) -> CouponSeries:
    """One offer of `org_ids`. Raises CouponSeriesNotFoundError (707, HTTP 404)."""
    series = coupon_series_queryset(org_ids=org_ids).filter(pk=series_id).first()
    if series is None:
        raise CouponSeriesNotFoundError(f"Coupon series {series_id} not found")
    return series


def coupon_series_list(*, org_ids: Iterable[int], ids: Iterable[int]) -> list[CouponSeries]:
    """The offers of `org_ids` among `ids`, in the order asked; unknown ids are left out."""
    wanted = list(dict.fromkeys(ids))
    found = {s.pk: s for s in coupon_series_queryset(org_ids=org_ids).filter(pk__in=wanted)}
    return [found[pk] for pk in wanted if pk in found]


def coupon_get(*, org_ids: Iterable[int], coupon_id: int) -> Coupon:
    """One coupon by id. Raises CouponCodeNotFoundError (719, HTTP 404)."""
    coupon = (
        Coupon.objects.filter(org_id__in=list(org_ids), pk=coupon_id)
        .select_related("series", "series__org", "customer")
        .first()
    )
    if coupon is None:
        raise CouponCodeNotFoundError(f"Coupon {coupon_id} not found")
    return coupon


def coupon_get_by_code(
    *, org_ids: Iterable[int], code: str, customer_id: int | None = None
) -> Coupon:
    """A coupon by code (any case). A common code names the holder's own coupon, so pass
    `customer_id` for those. Raises CouponCodeNotFoundError (719, HTTP 404)."""
    coupons = Coupon.objects.filter(
        org_id__in=list(org_ids), code=normalize_code(code or "")
    ).select_related("series", "series__org", "customer")
    if customer_id is not None:
        coupons = coupons.filter(customer_id=customer_id)
    coupon = coupons.order_by("is_common", "-issued_at").first()
    if coupon is None:
        raise CouponCodeNotFoundError(f"Coupon code {code} does not exist")
    return coupon


def customer_coupons(*, customer_id: int, series_id: int | None = None) -> QuerySet[Coupon]:
    """A customer's issued coupons, newest first."""
    coupons = Coupon.objects.filter(customer_id=customer_id).select_related("series")
    if series_id is not None:
        coupons = coupons.filter(series_id=series_id)
    return coupons.order_by("-issued_at", "-id")
