"""Customer activation of cart promotions that need it (customerActivationRequired, EARNING and
REWARD promotions): `POST /api_gateway/v1/promotions/{promotionId}/earn`."""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from members.models import Customer, Till
from promotions.exceptions import CartPromotionEarnError
from promotions.models import CartPromotion, CartPromotionEarn
from promotions.services.locking import customer_lock


@transaction.atomic
def cart_promotion_earn(
    *,
    promotion: CartPromotion,
    customer: Customer,
    earned_from_type: str = CartPromotionEarn.EarnedFrom.ACTIVITY,
    earned_from_id: str = "",
    event_time: datetime.datetime | None = None,
    valid_till: datetime.datetime | None = None,
    request_id: str = "",
    actor: Till | None = None,
) -> CartPromotionEarn:
    """Unlock the promotion for the customer until `valid_till` (at most the promotion's end).
    The same request id answers the first earn. Raises CartPromotionEarnError (4130) when the
    promotion needs no activation, is not live, or maxIssuancePerCustomer is reached."""
    now = timezone.now()
    needs = promotion.customer_activation_required or promotion.type in ("EARNING", "REWARD")
    if not needs:
        raise CartPromotionEarnError(
            f"Promotion {promotion.name!r} needs no activation", field="promotionId"
        )
    if not promotion.is_active or promotion.ends_at <= now:
        raise CartPromotionEarnError(
            f"Promotion {promotion.name!r} has ended or is inactive", field="promotionId"
        )
    # The customer's lock serialises their earns, so the count below stays true.
    customer_lock(customer.pk)
    if request_id:
        existing = CartPromotionEarn.objects.filter(
            promotion=promotion, customer=customer, request_id=request_id
        ).first()
        if existing is not None:
            return existing
    if promotion.max_issuance_per_customer != -1:
        earned = CartPromotionEarn.objects.filter(
            promotion=promotion, customer=customer, is_active=True
        ).count()
        if earned >= promotion.max_issuance_per_customer:
            raise CartPromotionEarnError(
                f"The customer has earned the promotion {earned} time(s), the maximum"
            )
    moment = event_time or now
    until = min(valid_till or promotion.ends_at, promotion.ends_at)
    if until <= moment:
        raise CartPromotionEarnError("validTill must be after eventTime", field="validTill")
    try:
        with transaction.atomic():
            return CartPromotionEarn.objects.create(
                org_id=promotion.org_id,
                promotion=promotion,
                customer=customer,
                earned_from_type=earned_from_type,
                earned_from_id=earned_from_id,
                event_time=moment,
                valid_till=until,
                request_id=request_id,
            )
    except IntegrityError:
        return CartPromotionEarn.objects.get(
            promotion=promotion, customer=customer, request_id=request_id
        )
