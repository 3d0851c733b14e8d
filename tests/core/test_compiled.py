"""Querysets compiled once and run again with new values (loyalty_site.core.compiled)."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext

from coupons.models import Coupon, CouponRedemption
from loyalty_site.core.compiled import CompiledQuery, insert_parts, marker_int, marker_str
from members.models import Customer
from tests.coupons.factories import CouponFactory, CouponSeriesFactory
from tests.members.factories import CustomerFactory


def _coupon_by_code() -> CompiledQuery[Coupon]:
    return CompiledQuery(
        lambda org_id, code: (
            Coupon.objects.select_related("series", "series__org")
            .filter(org_id=org_id, code=code)
            .order_by("pk")[:1]
        ),
        org_id=marker_int(),
        code=marker_str(),
    )


@pytest.mark.django_db
def test_rows_match_the_queryset_with_related_objects_loaded(org):
    series = CouponSeriesFactory(org=org, discount_value=75)
    first = CouponFactory(series=series, code="FIRST1")
    second = CouponFactory(series=series, code="SECOND2")
    query = _coupon_by_code()

    found = query.first(org_id=org.pk, code="FIRST1")
    with CaptureQueriesContext(connection) as queries:
        again = query.first(org_id=org.pk, code="SECOND2")
        assert again.series.org.name == org.name  # loaded with the row: no more queries
        assert again.series.discount_value == 75

    assert (found.pk, again.pk) == (first.pk, second.pk)
    assert len(queries.captured_queries) == 1
    reference = Coupon.objects.get(pk=second.pk)
    for field in Coupon._meta.concrete_fields:
        assert getattr(again, field.attname) == getattr(reference, field.attname), field.name
    assert again._state.adding is False and again._state.db == "default"


@pytest.mark.django_db
def test_no_row_and_other_org_give_nothing(org, other_org):
    CouponFactory(series=CouponSeriesFactory(org=org), code="MINE01")
    query = _coupon_by_code()

    assert query.first(org_id=other_org.pk, code="MINE01") is None
    assert query.fetch(org_id=org.pk, code="NOPE00") == []


@pytest.mark.django_db
def test_compiled_once_per_thread_and_shape(org, monkeypatch):
    series = CouponSeriesFactory(org=org)
    for number in range(3):
        CouponFactory(series=series, code=f"C{number}")
    built: list[object] = []

    def build(shape, series_id):
        built.append(shape)
        order = "code" if shape == "up" else "-code"
        return Coupon.objects.filter(series_id=series_id).order_by(order)

    query = CompiledQuery(build, series_id=marker_int())
    up = [coupon.code for coupon in query.fetch(shape="up", series_id=series.pk)]
    down = [coupon.code for coupon in query.fetch(shape="down", series_id=series.pk)]
    query.fetch(shape="up", series_id=series.pk)
    query.fetch(shape="down", series_id=series.pk)

    assert up == ["C0", "C1", "C2"] and down == ["C2", "C1", "C0"]
    assert built == ["up", "down"]


@pytest.mark.django_db
def test_values_list_queries_give_tuples(org):
    CustomerFactory(org=org, first_name="Ann")
    CustomerFactory(org=org, first_name="Bob")
    query = CompiledQuery(
        lambda org_id: (
            Customer.objects.filter(org_id=org_id)
            .order_by("first_name")
            .values_list("first_name", "org_id")
        ),
        org_id=marker_int(),
    )

    assert query.fetch(org_id=org.pk) == [("Ann", org.pk), ("Bob", org.pk)]


@pytest.mark.django_db
def test_a_value_that_does_not_reach_the_parameters_is_refused(org):
    query = CompiledQuery(
        lambda code: Coupon.objects.filter(code__startswith=code), code=marker_str()
    )

    with pytest.raises(ImproperlyConfigured, match="'code'"):
        query.fetch(code="AB")


@pytest.mark.django_db
def test_insert_parts_prepare_values_as_django_does(org):
    series = CouponSeriesFactory(org=org)
    coupon = CouponFactory(series=series)
    customer = CustomerFactory(org=org)
    when = datetime.datetime(2026, 11, 1, 10, 30, tzinfo=datetime.UTC)
    redemption = CouponRedemption(
        org_id=org.pk,
        coupon=coupon,
        series=series,
        customer=customer,
        transaction_number="B-1",
        coupon_value=5,
        currency="USD",
        redeemed_at=when,
        custom_fields={"lane": 4},
        counter_shard=3,
        last_status_change_on=when,
    )

    columns, row, (values,) = insert_parts([redemption], leave_out="counter_shard")

    assert "id" not in columns and "counter_shard" not in columns
    assert len(columns) == len(values) == row.count("%s")
    assert "::" in row  # typed placeholders, usable in INSERT ... SELECT
    by_column = dict(zip(columns, values, strict=True))
    assert by_column["coupon_id"] == coupon.pk and by_column["transaction_number"] == "B-1"
    assert redemption.created_at is not None  # auto_now_add ran (pre_save)
    assert insert_parts([redemption], leave_out="counter_shard")[:2] == (columns, row)
