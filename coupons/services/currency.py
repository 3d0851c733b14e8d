"""Coupon values in the store's currency (seed: "the coupon value will be converted to the store
default currency at the time of transaction"), with the org's exchange rates.

members.ExchangeRate says how many units of the org's base currency one unit of a currency is
worth; the base currency itself is worth 1. A value moves from currency A to B through the base:
value * rate(A) / rate(B), rounded half up to cents.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from coupons.exceptions import ExchangeRateMissingError
from coupons.models import CouponSeries, DiscountType
from members.models import ExchangeRate, Org, Store

CENT = Decimal("0.01")


def _rate_to_base(*, org: Org, currency: str, rates: dict[str, Decimal] | None) -> Decimal:
    if currency == org.base_currency:
        return Decimal(1)
    if rates is not None and currency in rates:
        return rates[currency]
    rate = (
        ExchangeRate.objects.filter(org=org, currency=currency)
        .values_list("rate_to_base", flat=True)
        .first()
    )
    if rate is None:
        raise ExchangeRateMissingError(
            f"No exchange rate from {currency} to {org.base_currency} for {org.name}"
        )
    if rates is not None:
        rates[currency] = rate
    return rate


def currency_convert(
    *,
    org: Org,
    amount: Decimal,
    from_currency: str,
    to_currency: str,
    rates: dict[str, Decimal] | None = None,
) -> Decimal:
    """`amount` in `from_currency` expressed in `to_currency`, rounded half up to cents.

    `rates` is an optional cache (currency -> rate to base) shared across calls. Raises
    ExchangeRateMissingError (795) when the org has no rate for either currency.
    """
    amount = Decimal(amount)
    if from_currency == to_currency:
        return amount.quantize(CENT, rounding=ROUND_HALF_UP)
    source = _rate_to_base(org=org, currency=from_currency, rates=rates)
    target = _rate_to_base(org=org, currency=to_currency, rates=rates)
    return (amount * source / target).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class CouponValue:
    """A series' discount as a store sees it: the value (amount, or percent for PERC) and the
    cap, both in `currency`."""

    discount_type: str
    value: Decimal
    upto: Decimal | None
    currency: str


def coupon_value_for_store(*, series: CouponSeries, store: Store) -> CouponValue:
    """The discount of `series` in the default currency of `store`.

    An absolute value and a percentage's cap are converted; a percentage is not. Raises
    ExchangeRateMissingError (795).
    """
    org = series.org
    source = series.effective_currency
    target = store.currency
    rates: dict[str, Decimal] = {}
    upto = series.discount_upto
    if upto is not None and upto > 0:
        upto = currency_convert(
            org=org, amount=upto, from_currency=source, to_currency=target, rates=rates
        )
    else:
        upto = None
    if series.discount_type == DiscountType.PERCENTAGE:
        value = series.discount_value
    else:
        value = currency_convert(
            org=org,
            amount=series.discount_value,
            from_currency=source,
            to_currency=target,
            rates=rates,
        )
    return CouponValue(discount_type=series.discount_type, value=value, upto=upto, currency=target)
