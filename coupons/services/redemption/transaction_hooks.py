"""The coupons steps of the bill pipelines (settings.TRANSACTION_ADD_PIPELINE and
TRANSACTION_RETURN_PIPELINE), inside the bill's database transaction.

On a sale, each coupon reference the bill carries (v2 `redemptions.couponRedemptions`, v1.1
`coupon_redemptions`) is either the id of an earlier redemption of this customer, which is tied
to the bill, or a coupon code, which is redeemed on the bill through coupon_redeem (all of them
or none: a failed rule rolls the bill back with the rule's error). Earlier redemptions made
through the coupon APIs with this bill's number are tied to it too.

On a full return (or cancellation) every active redemption of the returned bill is reversed, so
its coupons can be used again; a partial return keeps them (docs/API.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Q

from coupons.exceptions import CouponRedemptionRuleError, CouponRevokedError
from coupons.models import CouponRedemption
from coupons.services.redemption.redeem import RedemptionTarget, coupon_redeem
from coupons.services.redemption.reverse import coupon_redemption_reverse
from members.models import ReturnType, Transaction, TransactionType

FULL_RETURNS = {ReturnType.FULL, ReturnType.CANCELLED}


def _references(txn: Transaction) -> list[str]:
    return [str(item).strip() for item in txn.coupon_codes or [] if str(item).strip()]


def coupons_on_transaction_add(
    *, transaction: Transaction, actor: Any, context: Mapping[str, Any]
) -> list[dict[str, Any]]:
    if transaction.type != TransactionType.REGULAR or transaction.customer_id is None:
        return []
    customer = context.get("customer") or transaction.customer
    references = _references(transaction)
    earlier_ids = [int(ref) for ref in references if ref.isdigit() and len(ref) < 19]
    tied = set(
        CouponRedemption.objects.filter(
            org_id=transaction.org_id,
            customer_id=customer.pk,
            is_active=True,
            pk__in=earlier_ids,
        ).values_list("pk", flat=True)
    )
    CouponRedemption.objects.filter(
        Q(pk__in=tied)
        | Q(transaction_number=transaction.number, transaction__isnull=True, is_active=True),
        org_id=transaction.org_id,
        customer_id=customer.pk,
    ).update(transaction=transaction)
    codes = [ref for ref in references if not (ref.isdigit() and int(ref) in tied)]
    if not codes:
        return []
    try:
        coupon_redeem(
            org_ids=[transaction.org_id],
            targets=[RedemptionTarget(code=code) for code in codes],
            customer=customer,
            actor=actor if hasattr(actor, "store") else transaction.till,
            bill_amount=transaction.bill_amount,
            transaction_number=transaction.number,
            redeemed_at=transaction.billed_at,
            bill=transaction,
        )
    except CouponRedemptionRuleError as exc:
        exc.message = f"Coupon redemption on the bill failed: {exc.message}"
        raise
    return []


def coupons_on_transaction_return(
    *, transaction: Transaction, actor: Any, context: Mapping[str, Any]
) -> list[dict[str, Any]]:
    original = context.get("original") or transaction.original
    if original is None or transaction.return_type not in FULL_RETURNS:
        return []
    redemptions = CouponRedemption.objects.filter(transaction=original, is_active=True).order_by(
        "pk"
    )
    for redemption_id in redemptions.values_list("pk", flat=True):
        try:
            coupon_redemption_reverse(
                org_ids=[original.org_id],
                redemption_id=redemption_id,
                actor=actor if hasattr(actor, "store") else None,
                reversing_bill=transaction,
            )
        except CouponRevokedError:
            continue  # a revoked coupon stays revoked; the return goes through
    return []
