"""The redemption rules of an offer (seed 001 "Configuring the Redemption settings"), as one pure
check over a coupon, the redemption asked for and the usage it depends on.

`redemption_failures` returns every rule that fails, in a fixed order, so "is redeemable" can
report all of them; a redeem refuses with the first. The usage (how often the customer and the
offer have redeemed) is read by the caller: under row locks when redeeming, plainly for a check.

Readings (docs/API.md "Coupon redemption"):
- A coupon is redeemed once unless the offer allows a coupon to be redeemed more than once
  (`isMultipleUseAllowed`); then a customer redeems the same code again only with
  `sameUserMultipleRedeem` (706 otherwise), `redemptionPerCouponMaxLimit` caps the code across
  customers (736) and `maxRedemptionsInSeriesPerUser` caps the customer across the offer (728).
- The gap between a customer's redemptions (738) counts whole days in the org's time zone and
  does not apply to coupons redeemable only once, as the seed says.
- "N days after issual" compares dates only (issued today, 1 day: redeemable from tomorrow);
  "from a specific date" combines with it (both must hold).
- `mutualExclusiveSeriesIds` also keeps the coupons of those offers off the same bill (741).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from coupons.exceptions import (
    CodeRedemptionLimitReachedError,
    CouponAlreadyRedeemedError,
    CouponBillAmountError,
    CouponExpiredError,
    CouponNewCustomerTransactionsError,
    CouponNotIssuedToCustomerError,
    CouponNotRedeemableByCustomerError,
    CouponNotRedeemableError,
    CouponRedemptionRuleError,
    CouponRedemptionStoreError,
    CouponRevokedError,
    CouponSeriesExpiredError,
    CustomerRedemptionLimitReachedError,
    MutuallyExclusiveCouponError,
    OfferRedemptionLimitReachedError,
    RedemptionGapNotMetError,
    RedemptionNotStartedError,
    RedemptionTimeNotAllowedError,
)
from coupons.models import Coupon, CouponSeries, RedemptionEntityType
from members.models import Customer, Store, Till


@dataclass(frozen=True)
class RedemptionAsk:
    """What a till asks: redeem (or check) for this customer, at this till, on this bill."""

    customer: Customer
    till: Till | None
    at: datetime.datetime
    bill_amount: Decimal | None = None
    transaction_number: str = ""
    is_check: bool = False  # "is redeemable": nothing is redeemed


@dataclass
class RedemptionUsage:
    """What the rules need to know about earlier redemptions (active ones only)."""

    offer_used: int = 0  # the offer's redemptions (only read when it has a total limit)
    customer_in_offer: int = 0  # this customer's redemptions of the offer
    customer_of_coupon: int = 0  # this customer's redemptions of this very code
    customer_last_redeemed_at: datetime.datetime | None = None
    customer_transactions: int = 0  # only read for "new customers only"
    # Offers on the same bill (redeemed already, or asked for in the same request) that are
    # mutually exclusive with this coupon's offer, either way round.
    exclusive_offers_on_bill: frozenset[int] = field(default_factory=frozenset)


def needs_customer_usage(series: CouponSeries) -> bool:
    """Whether the offer has rules about the customer's own earlier redemptions."""
    return bool(
        series.max_redemptions_per_user is not None
        or (series.is_multiple_use_allowed and series.min_days_between_redemptions)
        or (series.is_multiple_use_allowed and not series.same_user_multiple_redeem)
    )


def needs_transaction_count(series: CouponSeries) -> bool:
    return series.target_max_transactions is not None


def _local(at: datetime.datetime, series: CouponSeries) -> datetime.datetime:
    return at.astimezone(series.org.tzinfo)


def store_matches(series: CouponSeries, till: Till | None, store: Store | None) -> bool:
    """Whether the offer may be redeemed at this till / store (anywhere when unrestricted)."""
    entities = series.redemption_org_entities or []
    if not entities:
        return True
    for entity in entities:
        kind, entity_id = entity.get("redemptionOrgEntityType"), entity.get("orgEntityId")
        if kind == RedemptionEntityType.TILL and till is not None and till.pk == entity_id:
            return True
        if store is None:
            continue
        if kind == RedemptionEntityType.STORE and store.pk == entity_id:
            return True
        if kind == RedemptionEntityType.ZONE and store.zone_id == entity_id:
            return True
        if kind == RedemptionEntityType.CONCEPT and store.concept_id == entity_id:
            return True
    return False


def redemption_start(coupon: Coupon, series: CouponSeries) -> datetime.datetime | None:
    """When the coupon becomes redeemable (None: right away)."""
    starts: list[datetime.datetime] = []
    if series.redemption_valid_from is not None:
        starts.append(series.redemption_valid_from)
    if series.redemption_valid_after_days and coupon.issued_at is not None:
        tz = series.org.tzinfo
        day = coupon.issued_at.astimezone(tz).date() + datetime.timedelta(
            days=series.redemption_valid_after_days
        )
        starts.append(datetime.datetime.combine(day, datetime.time.min, tzinfo=tz))
    return max(starts) if starts else None


def _in_redemption_range(series: CouponSeries, at: datetime.datetime) -> bool:
    ranges = series.redemption_range or {}
    local = _local(at, series)
    # dow: 1 = Sunday ... 7 = Saturday (the contract's convention); Python: Monday = 0.
    dow = (local.weekday() + 1) % 7 + 1
    checks = (("dom", local.day), ("dow", dow), ("hours", local.hour))
    return all(not ranges.get(name) or value in ranges[name] for name, value in checks)


def _gap_days(series: CouponSeries, last: datetime.datetime, at: datetime.datetime) -> int:
    return (_local(at, series).date() - _local(last, series).date()).days


def redemptions_left(coupon: Coupon, series: CouponSeries, usage: RedemptionUsage) -> int:
    """How many more times this customer may redeem this code; -1 means no limit."""
    limits: list[int] = []
    if not series.is_multiple_use_allowed:
        limits.append(max(0, 1 - coupon.redemption_count))
    else:
        if series.redemption_per_coupon_max_limit is not None:
            limits.append(max(0, series.redemption_per_coupon_max_limit - coupon.redemption_count))
        if not series.same_user_multiple_redeem:
            limits.append(max(0, 1 - usage.customer_of_coupon))
    if series.max_redemptions_per_user is not None:
        limits.append(max(0, series.max_redemptions_per_user - usage.customer_in_offer))
    if series.max_redemptions is not None:
        limits.append(max(0, series.max_redemptions - usage.offer_used))
    return min(limits) if limits else -1


def redemption_failures(
    *,
    coupon: Coupon,
    ask: RedemptionAsk,
    usage: RedemptionUsage,
    check_offer_limit: bool = True,
) -> list[CouponRedemptionRuleError]:
    """Every rule the redemption breaks, in a fixed order (empty: redeemable). A check without
    a bill amount (`ask.bill_amount` None and `ask.is_check`) skips the bill-amount rule."""
    series = coupon.series
    at = ask.at
    failures: list[CouponRedemptionRuleError] = []

    def fail(error: type[CouponRedemptionRuleError], message: str | None = None) -> None:
        failures.append(error(message))

    if coupon.revoked_at is not None:
        fail(CouponRevokedError)
    if series.valid_till is not None and series.valid_till < at:
        fail(CouponSeriesExpiredError)
    if coupon.valid_till is not None and coupon.valid_till < at:
        fail(CouponExpiredError)
    if coupon.customer_id is not None and coupon.customer_id != ask.customer.pk:
        if not series.any_user:
            fail(CouponNotIssuedToCustomerError)
    elif coupon.customer_id is None and not series.any_user:
        fail(CouponNotIssuedToCustomerError, "Coupon has not been issued to anyone")

    if not series.is_multiple_use_allowed:
        if coupon.redemption_count >= 1:
            fail(CouponAlreadyRedeemedError)
    else:
        if not series.same_user_multiple_redeem and usage.customer_of_coupon >= 1:
            fail(CouponNotRedeemableError)
        limit = series.redemption_per_coupon_max_limit
        if limit is not None and coupon.redemption_count >= limit:
            fail(
                CodeRedemptionLimitReachedError,
                f"The coupon code has been redeemed its maximum of {limit} times",
            )
    per_user = series.max_redemptions_per_user
    if per_user is not None and usage.customer_in_offer >= per_user:
        fail(
            CustomerRedemptionLimitReachedError,
            f"The customer has redeemed this offer's maximum of {per_user} times",
        )
    if check_offer_limit and series.max_redemptions is not None:
        if usage.offer_used >= series.max_redemptions:
            fail(OfferRedemptionLimitReachedError)

    start = redemption_start(coupon, series)
    if start is not None and at < start:
        local_start = _local(start, series)
        fail(
            RedemptionNotStartedError,
            f"The coupon can be redeemed from {local_start:%Y-%m-%d %H:%M} "
            f"({series.org.time_zone})",
        )
    if not _in_redemption_range(series, at):
        fail(RedemptionTimeNotAllowedError)

    gap = series.min_days_between_redemptions
    if (
        gap
        and series.is_multiple_use_allowed
        and usage.customer_last_redeemed_at is not None
        and _gap_days(series, usage.customer_last_redeemed_at, at) < gap
    ):
        wait = gap - _gap_days(series, usage.customer_last_redeemed_at, at)
        fail(RedemptionGapNotMetError, f"Wait {wait} more day(s) before redeeming again")

    store = ask.till.store if ask.till is not None else None
    if not store_matches(series, ask.till, store):
        fail(CouponRedemptionStoreError)

    amount = ask.bill_amount
    if amount is None and ask.is_check:
        pass  # "is redeemable" before the bill is known
    elif series.min_bill_amount and (amount is None or amount < series.min_bill_amount):
        fail(
            CouponBillAmountError,
            f"The bill amount must be at least {series.min_bill_amount.normalize():f}",
        )
    if (
        series.max_bill_amount is not None
        and amount is not None
        and amount > series.max_bill_amount
    ):
        fail(
            CouponBillAmountError,
            f"The bill amount must be at most {series.max_bill_amount.normalize():f}",
        )

    registered = ask.customer.registered_at
    window_from, window_until = series.target_registered_from, series.target_registered_until
    if (window_from is not None and registered < window_from) or (
        window_until is not None and registered > window_until
    ):
        fail(
            CouponNotRedeemableByCustomerError,
            "The offer is for customers who registered in its window",
        )
    if (
        series.target_max_transactions is not None
        and usage.customer_transactions > series.target_max_transactions
    ):
        fail(
            CouponNewCustomerTransactionsError,
            f"The offer is for customers with at most {series.target_max_transactions} "
            "transaction(s)",
        )

    if usage.exclusive_offers_on_bill:
        fail(MutuallyExclusiveCouponError)
    return failures


def clashing_offers(series: CouponSeries, others: Mapping[int, Sequence[int]]) -> frozenset[int]:
    """Which of `others` ({offer id: its mutually exclusive offer ids}) clash with `series`."""
    own = set(series.past_issual_series_ids or [])
    return frozenset(
        other
        for other, exclusive in others.items()
        if other != series.pk and (other in own or series.pk in (exclusive or ()))
    )
