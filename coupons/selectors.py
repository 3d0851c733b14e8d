"""Coupons reads, always scoped to the orgs the caller may see (another org's rows are 404)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Count, F, Max, OuterRef, Prefetch, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from coupons.exceptions import (
    CouponCodeNotFoundError,
    CouponCustomerNotFoundError,
    CouponSeriesNotFoundError,
    CouponUploadNotFoundError,
    InvalidCustomerError,
)
from coupons.models import (
    Coupon,
    CouponAudience,
    CouponExpiryReminder,
    CouponRedemptionCounter,
    CouponSeries,
    CouponUpload,
)
from coupons.services.codes import normalize_code
from coupons.services.redemption.counters import counters_used
from loyalty_site.core.exceptions import DomainError
from members.exceptions import CustomerMergedError
from members.models import Customer
from members.selectors.customers import customer_get_by_identifier

# Identifier names the coupon APIs take (v1.1 snake_case, v2 camelCase) -> the members lookup
# name. Cards are not kept by this platform, so a card identifier matches nobody.
CUSTOMER_IDENTIFIER_NAMES = {
    "id": "id",
    "user_id": "id",
    "userId": "id",
    "mobile": "mobile",
    "email": "email",
    "external_id": "external_id",
    "externalId": "external_id",
}
CARD_IDENTIFIER_NAMES = frozenset({"card_number", "card_external_id", "cardnumber"})
MAX_DATABASE_ID = 2**63 - 1


def with_redemption_totals(queryset: QuerySet[CouponSeries]) -> QuerySet[CouponSeries]:
    """Annotate each offer with `redeemed_total` and `latest_redeemed_at` (its counter shards)."""
    shards = CouponRedemptionCounter.objects.filter(series=OuterRef("pk")).values("series")
    return queryset.annotate(
        redeemed_total=Coalesce(Subquery(shards.annotate(total=Sum("used")).values("total")), 0),
        latest_redeemed_at=Subquery(
            shards.annotate(latest=Max("latest_redeemed_at")).values("latest")
        ),
    )


def series_redeemed_total(series: CouponSeries) -> int:
    """Active redemptions of an offer (the annotation when the row came with it)."""
    total = getattr(series, "redeemed_total", None)
    return int(total) if total is not None else counters_used(series=series)


def coupon_series_queryset(*, org_ids: Iterable[int]) -> QuerySet[CouponSeries]:
    """Offers of the given orgs with what the series API shows prefetched."""
    audiences = CouponAudience.objects.annotate(customer_count=Count("members")).order_by("id")
    return with_redemption_totals(
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
    # A revoked code may have been uploaded again for someone else: the live row first.
    coupon = coupons.order_by(
        F("revoked_at").asc(nulls_first=True), "is_common", "-issued_at"
    ).first()
    if coupon is None:
        raise CouponCodeNotFoundError(f"Coupon code {code} does not exist")
    return coupon


def customer_coupons(*, customer_id: int, series_id: int | None = None) -> QuerySet[Coupon]:
    """A customer's issued coupons, newest first."""
    coupons = Coupon.objects.filter(customer_id=customer_id).select_related("series")
    if series_id is not None:
        coupons = coupons.filter(series_id=series_id)
    return coupons.order_by("-issued_at", "-id")


def coupon_customer_find(*, org_ids: Iterable[int], identifiers: dict[str, object]) -> Customer:
    """The customer named by the non-empty `identifiers` ({"mobile": ..., "externalId": ...});
    several must all name the same customer.

    Raises CouponCustomerNotFoundError (701) when none is given or nobody matches, and
    InvalidCustomerError (721) for a merged customer or identifiers of different customers.
    """
    org_ids = list(org_ids)
    given = [
        (name, str(value).strip())
        for name, value in identifiers.items()
        if value is not None and str(value).strip()
    ]
    if not given:
        raise CouponCustomerNotFoundError("Give the customer's mobile, email, external id or id")
    found: dict[int, Customer] = {}
    for name, value in given:
        if name in CARD_IDENTIFIER_NAMES:
            raise CouponCustomerNotFoundError(f"No customer with {name} {value!r}")
        lookup = CUSTOMER_IDENTIFIER_NAMES.get(name)
        if lookup is None:
            raise CouponCustomerNotFoundError(f"Unknown customer identifier {name!r}")
        if lookup == "id" and (not value.isdigit() or int(value) > MAX_DATABASE_ID):
            raise CouponCustomerNotFoundError(f"No customer with id {value!r}")
        try:
            customer = customer_get_by_identifier(
                org_ids=org_ids, identifier_name=lookup, identifier_value=value
            )
        except CustomerMergedError as exc:
            raise InvalidCustomerError(exc.message) from exc
        except DomainError as exc:  # not found, or a malformed mobile / email
            raise CouponCustomerNotFoundError(f"No customer with {name} {value!r}") from exc
        found.setdefault(customer.pk, customer)
    if len(found) > 1:
        raise InvalidCustomerError("The identifiers given belong to different customers")
    return next(iter(found.values()))


UPLOAD_STATUS_LIMIT = 100


def coupon_uploads_list(*, org_ids: Iterable[int], series_id: int) -> list[CouponUpload]:
    """The offer's uploads with their jobs, newest first (the last 100). Raises
    CouponSeriesNotFoundError (707, HTTP 404) for an offer outside `org_ids`."""
    org_ids = list(org_ids)
    if not CouponSeries.objects.filter(org_id__in=org_ids, pk=series_id).exists():
        raise CouponSeriesNotFoundError(f"Coupon series {series_id} not found")
    uploads = (
        CouponUpload.objects.filter(org_id__in=org_ids, series_id=series_id)
        .select_related("job")
        .order_by("-id")
    )
    return list(uploads[:UPLOAD_STATUS_LIMIT])


def coupon_upload_get_by_job(*, org_ids: Iterable[int], job_id: int) -> CouponUpload:
    """The upload a job processes. Raises CouponUploadNotFoundError (404)."""
    upload = (
        CouponUpload.objects.filter(org_id__in=list(org_ids), job_id=job_id)
        .select_related("job")
        .first()
    )
    if upload is None:
        raise CouponUploadNotFoundError(f"Upload job {job_id} not found")
    return upload
