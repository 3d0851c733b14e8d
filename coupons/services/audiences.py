"""Audiences of "issue to specific customers only" offers: named lists of customers."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction

from coupons.exceptions import CouponSeriesInvalidError
from coupons.models import CodeType, CouponAudience, CouponAudienceMember, CouponSeries
from members.models import Customer, Till

INSERT_BATCH_SIZE = 5000


@transaction.atomic
def coupon_audience_create(
    *, series: CouponSeries, name: str, actor: Till | None = None
) -> CouponAudience:
    """A new, empty audience of `series`. Raises CouponSeriesInvalidError (799) for a blank or
    taken name, a third-party offer, or randomized common codes (no customer upload)."""
    name = (name or "").strip()
    if not name:
        raise CouponSeriesInvalidError("The audience needs a name", field="name")
    if series.is_third_party:
        raise CouponSeriesInvalidError(
            "Third-party offers have no recipient restriction", field="audience"
        )
    if series.code_type == CodeType.RANDOMIZED_COMMON:
        raise CouponSeriesInvalidError(
            "Customers cannot be uploaded for randomized common codes", field="audience"
        )
    try:
        with transaction.atomic():
            return CouponAudience.objects.create(series=series, name=name)
    except IntegrityError:
        raise CouponSeriesInvalidError(f"Audience {name!r} already exists", field="name")


@transaction.atomic
def coupon_audience_add_customers(
    *, audience: CouponAudience, customer_ids: Iterable[int], actor: Till | None = None
) -> int:
    """Add customers (ids of the offer's org; others are skipped) to `audience`, set-based.

    Returns how many were added; customers already in the audience are not counted.
    """
    org_id = audience.series.org_id
    wanted = list(dict.fromkeys(int(pk) for pk in customer_ids))
    added = 0
    for start in range(0, len(wanted), INSERT_BATCH_SIZE):
        chunk = wanted[start : start + INSERT_BATCH_SIZE]
        valid = set(
            Customer.objects.filter(org_id=org_id, pk__in=chunk).values_list("pk", flat=True)
        )
        present = set(
            CouponAudienceMember.objects.filter(
                audience=audience, customer_id__in=valid
            ).values_list("customer_id", flat=True)
        )
        rows = [
            CouponAudienceMember(audience=audience, customer_id=pk)
            for pk in chunk
            if pk in valid and pk not in present
        ]
        CouponAudienceMember.objects.bulk_create(rows, ignore_conflicts=True)
        added += len(rows)
    return added


@transaction.atomic
def coupon_audience_remove_customers(
    *, audience: CouponAudience, customer_ids: Iterable[int], actor: Till | None = None
) -> int:
    """Remove customers from `audience`; returns how many were removed."""
    deleted, _ = CouponAudienceMember.objects.filter(
        audience=audience, customer_id__in=list(customer_ids)
    ).delete()
    return deleted
