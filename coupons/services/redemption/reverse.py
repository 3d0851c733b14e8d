"""Reverse a redemption: the v2 reactivate call and a returned bill reinstate the coupon.

The redemption row stays and turns inactive (the contract's `isReversed`, with
`last_status_change_on`), the coupon's count goes down and the offer's counter shard gets its
unit back, all under the coupon's row lock so a concurrent redemption sees either state whole.
A revoked coupon is never reinstated.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from coupons.exceptions import (
    CouponRedemptionNotFoundError,
    CouponRevokedError,
    RedemptionAlreadyReversedError,
)
from coupons.models import Coupon, CouponRedemption
from coupons.services.redemption.counters import counter_give_back
from members.models import Till, Transaction


@transaction.atomic
def coupon_redemption_reverse(
    *,
    org_ids: Iterable[int],
    redemption_id: int,
    actor: Till | None,
    reversing_bill: Transaction | None = None,
) -> CouponRedemption:
    """Reverse one active redemption. Raises 734 (not found), 737 (already reversed) and 749
    (the coupon was revoked since)."""
    found = (
        CouponRedemption.objects.filter(org_id__in=list(org_ids), pk=redemption_id)
        .values_list("coupon_id", flat=True)
        .first()
    )
    if found is None:
        raise CouponRedemptionNotFoundError(f"Redemption {redemption_id} not found")
    coupon = Coupon.objects.select_for_update().get(pk=found)
    redemption = CouponRedemption.objects.select_for_update().get(pk=redemption_id)
    if not redemption.is_active:
        raise RedemptionAlreadyReversedError(f"Redemption {redemption_id} is already reversed")
    if coupon.revoked_at is not None:
        raise CouponRevokedError(f"Coupon {coupon.code} was revoked: it cannot be reinstated")
    now = timezone.now()
    redemption.is_active = False
    redemption.last_status_change_on = now
    redemption.reversed_by_transaction = reversing_bill
    redemption.save(
        update_fields=[
            "is_active",
            "last_status_change_on",
            "reversed_by_transaction",
            "updated_at",
        ]
    )
    Coupon.objects.filter(pk=coupon.pk).update(redemption_count=max(0, coupon.redemption_count - 1))
    counter_give_back(series_id=redemption.series_id, shard=redemption.counter_shard)
    return redemption
