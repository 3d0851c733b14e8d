"""The earning engine's compiled catalog: rebuilt when promotions change, and no query per live
promotion when a bill is added (the benchmark's hot path)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from promotions.models import PromotionCatalogState
from promotions.services import promotion_set_active, strategies_changed
from promotions.services.catalog import catalog_get
from tests.promotions.factories import award_strategy, line, make_promotion, post_bill


def queries_of(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)


@pytest.mark.django_db
def test_a_promotion_write_changes_the_token_and_the_next_event_sees_it(
    api_client, org, program, customer
):
    award = award_strategy(program, "FIXED", 10)
    first = make_promotion(program, award=award)
    catalog = catalog_get(org.pk)

    assert catalog_get(org.pk) is catalog  # cached while the token stands
    promotion_set_active(promotion=first, is_active=False, actor=None)
    assert catalog_get(org.pk) is not catalog
    assert post_bill(api_client, customer, "B-1", 100).json()["sideEffects"] == []

    award.value = 15
    award.save()
    strategies_changed(org=org)
    promotion_set_active(promotion=first, is_active=True, actor=None)
    assert (
        post_bill(api_client, customer, "B-2", 100).json()["sideEffects"][0]["awardedPoints"] == 15
    )


@pytest.mark.django_db
def test_an_org_without_promotions_costs_one_query_per_bill(api_client, org, program, customer):
    assert not PromotionCatalogState.objects.filter(org=org).exists()
    from django.utils import timezone

    from promotions.services.context import EarningEvent
    from promotions.services.earning import earn_for_event

    event = EarningEvent(
        event_key="TRANSACTIONADD",
        event_name="TransactionAdd",
        ledger_event_name="TransactionAdd",
        source_key="x",
        occurred_at=timezone.now(),
        source="INSTORE",
    )

    assert queries_of(lambda: earn_for_event(customer=customer, event=event, actor=None)) <= 3


@pytest.mark.django_db
def test_the_number_of_live_promotions_does_not_change_the_queries_of_a_bill(
    api_client, org, program, customer
):
    award = award_strategy(program, "PERCENT", 1)
    make_promotion(program, name="Earns", exp='hasSku("A")', award=award, is_stackable=True)
    lines = [line(f"SKU{n}", 10) for n in range(19)] + [line("A", 10)]
    for n in range(5):
        make_promotion(
            program, name=f"Miss {n}", exp=f'hasSku("X{n}") && bill.amount > 5', award=award
        )
    post_bill(api_client, customer, "WARM", 200, lines)  # compiles the catalog

    few = queries_of(lambda: post_bill(api_client, customer, "B-1", 200, lines))
    for n in range(5, 120):
        make_promotion(
            program,
            name=f"Miss {n}",
            exp=f'hasSku("X{n}") && store.code != "none" && customer.tier == "Gold"',
            award=award,
        )
    post_bill(api_client, customer, "WARM-2", 200, lines)
    many = queries_of(lambda: post_bill(api_client, customer, "B-2", 200, lines))

    assert many == few
