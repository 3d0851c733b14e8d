"""Coupon values converted to the store's currency with the org's exchange rates."""

from __future__ import annotations

from decimal import Decimal

import pytest

from coupons.exceptions import ExchangeRateMissingError
from coupons.services.currency import coupon_value_for_store, currency_convert
from members.models import ExchangeRate
from tests.members.factories import StoreFactory


@pytest.fixture
def rates(org):
    # org base currency INR: 1 USD = 83.25 INR, 1 EUR = 90.10 INR
    ExchangeRate.objects.create(org=org, currency="USD", rate_to_base=Decimal("83.25"))
    ExchangeRate.objects.create(org=org, currency="EUR", rate_to_base=Decimal("90.10"))


@pytest.mark.django_db
def test_convert_through_the_base_currency(org, rates):
    assert currency_convert(
        org=org, amount=Decimal(10), from_currency="USD", to_currency="INR"
    ) == Decimal("832.50")
    assert currency_convert(
        org=org, amount=Decimal(1000), from_currency="INR", to_currency="USD"
    ) == Decimal("12.01")
    assert currency_convert(
        org=org, amount=Decimal(10), from_currency="USD", to_currency="EUR"
    ) == Decimal("9.24")
    assert currency_convert(
        org=org, amount=Decimal("5.5"), from_currency="EUR", to_currency="EUR"
    ) == Decimal("5.50")


@pytest.mark.django_db
def test_missing_rate_is_a_clear_error(org, rates):
    with pytest.raises(ExchangeRateMissingError) as error:
        currency_convert(org=org, amount=Decimal(1), from_currency="GBP", to_currency="INR")

    assert "GBP" in error.value.message


@pytest.mark.django_db
def test_absolute_coupon_value_in_store_currency(org, rates, make_series):
    # given a 10 USD coupon and a store in EUR
    series = make_series(discount_type="ABS", discount_value=10, currency="USD")
    store = StoreFactory(org=org, currency="EUR")

    value = coupon_value_for_store(series=series, store=store)

    assert (value.value, value.upto, value.currency) == (Decimal("9.24"), None, "EUR")


@pytest.mark.django_db
def test_percentage_keeps_its_percent_and_converts_its_cap(org, rates, make_series):
    series = make_series(discount_type="PERC", discount_value=15, discount_upto=20, currency="USD")
    store = StoreFactory(org=org, currency="INR")

    value = coupon_value_for_store(series=series, store=store)

    assert (value.value, value.upto) == (Decimal("15.00"), Decimal("1665.00"))
