"""The earning engine through the APIs: bills, registrations, custom events and completed targets
credit promotion points through the ledger; a return takes them back."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from ledger.models import EventName, LedgerEvent, PointsLot
from members.models import CustomerLabel, LoyaltyType, PointsCategory, ProgramEnrollment
from promotions.models import AwardStrategy, PromotionCustomerUsage, PromotionEarn
from promotions.services import promotion_set_active, promotion_target_completed
from promotions.services.awards import award_points
from promotions.services.catalog import AwardPlan
from tests.conftest import till_client
from tests.members.factories import ProgramFactory, StoreFactory, TillFactory, ZoneFactory
from tests.promotions.factories import (
    award_strategy,
    balance,
    contract,
    expiry_strategy,
    line,
    loyalty_filter,
    make_promotion,
    member,
    post_bill,
    promised,
    source_filter,
)


def promotion_events(customer) -> list[LedgerEvent]:
    return list(
        LedgerEvent.objects.filter(customer=customer).exclude(promotion_id="").order_by("id")
    )


# Transactions ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_bill_earns_a_percent_promotion_with_the_promotion_on_the_ledger_event(
    api_client, program, customer
):
    # given 10% of the bill
    promotion = make_promotion(
        program, name="Ten percent", award=award_strategy(program, "PERCENT", 10)
    )

    # when a bill of 400 is added
    response = post_bill(api_client, customer, "B-1", 400, query="&rawSideEffects=true")

    # then 40 points, reported as the contract's side effects
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["sideEffects"] == [
        {"entityType": "USER", "type": "points", "awardedPoints": 40, "rawAwardedPoints": 40}
    ]
    award = body["rawSideEffects"][0]
    assert award["type"] == "AWARD" and award["points"] == "40.000"
    assert (award["promoId"], award["promoName"], award["billNumber"]) == (
        str(promotion.pk),
        "Ten percent",
        "B-1",
    )
    assert balance(customer, program) == 40
    (event,) = promotion_events(customer)
    assert event.event_name == EventName.TRANSACTION_ADD
    assert event.transaction_id == body["createdId"]
    assert (event.promotion_id, event.promotion_identifier, event.promotion_name) == (
        str(promotion.pk),
        promotion.identifier,
        "Ten percent",
    )
    earn = PromotionEarn.objects.get()
    assert (earn.points, earn.source_key) == (40, f"txn:{body['createdId']}")
    assert event.idempotency_key == f"promotion:{promotion.pk}:txn:{body['createdId']}"


@pytest.mark.django_db
def test_a_bill_sent_again_does_not_earn_twice(api_client, program, customer):
    make_promotion(program, award=award_strategy(program, "FIXED", 25))

    first = post_bill(api_client, customer, "B-1", 100)
    again = post_bill(api_client, customer, "B-1", 100)

    assert first.json()["createdId"] == again.json()["createdId"]
    assert balance(customer, program) == 25
    assert PromotionEarn.objects.count() == 1


@pytest.mark.django_db
def test_line_item_promotions_earn_on_the_matching_lines_only(api_client, program, customer):
    make_promotion(
        program,
        allocate_points_on="LINEITEM",
        exp='lineItem.sku in ["A", "C"] && lineItem.qty >= 2',
        award=award_strategy(program, "PERCENT", 10),
    )
    lines = [line("A", 300, qty=3), line("B", 100, qty=2), line("C", 50, qty=1)]

    response = post_bill(api_client, customer, "B-1", 450, lines, query="&rawSideEffects=true")

    assert response.json()["sideEffects"][0]["awardedPoints"] == 30
    awards = response.json()["rawSideEffects"]
    assert [a["awardOn"] for a in awards] == ["LINEITEM"]
    assert awards[0]["lineItemId"] != "-1"


@pytest.mark.django_db
def test_rules_read_the_bill_lines_store_zone_tier_labels_and_source(
    api_client, org, program, customer, till
):
    zone = ZoneFactory(org=org, code="north")
    till.store.zone = zone
    till.store.save()
    gold = program.tiers.get(name="Gold")
    ProgramEnrollment.objects.filter(customer=customer).update(tier=gold)
    customer.labels.add(CustomerLabel.objects.create(org=org, name="VIP"))
    make_promotion(
        program,
        exp=(
            'bill.amount >= 100 && hasCategory("shoes") && zone.code == "north" && '
            f'store.code == "{till.store.code}" && customer.tier == "Gold" && '
            'hasLabel("VIP") && event.source == "INSTORE" && program.name == "Acme Rewards"'
        ),
        award=award_strategy(program, "FIXED", 7),
    )

    shoes = post_bill(api_client, customer, "B-1", 120, [line("S1", 120, category="shoes")])
    socks = post_bill(api_client, customer, "B-2", 120, [line("S2", 120, category="socks")])

    assert shoes.json()["sideEffects"][0]["awardedPoints"] == 7
    assert socks.json()["sideEffects"] == []
    assert balance(customer, program) == 7


@pytest.mark.django_db
def test_expiry_and_delay_strategies_shape_the_credit(api_client, org, program, customer):
    make_promotion(
        program,
        name="Expiring",
        award=award_strategy(program, "FIXED", 10),
        expiry=expiry_strategy(program, "DAYS", 10),
        is_stackable=True,
    )
    make_promotion(
        program,
        name="Delayed",
        award=award_strategy(program, "FIXED", 5, delay_days=7),
        is_stackable=True,
    )

    post_bill(api_client, customer, "B-1", 100)

    assert balance(customer, program) == 10
    assert promised(customer, program) == 5
    regular = PointsLot.objects.get(account__category=PointsCategory.REGULAR)
    expected_day = timezone.localdate(timezone=org.tzinfo) + datetime.timedelta(days=10)
    assert regular.expires_at.astimezone(org.tzinfo).date() == expected_day
    waiting = PointsLot.objects.get(account__category=PointsCategory.PROMISED)
    assert waiting.matures_at > timezone.now() + datetime.timedelta(days=6)


@pytest.mark.django_db
def test_only_live_active_promotions_of_the_customers_programs_earn(
    api_client, org, program, customer
):
    now = timezone.now()
    award = award_strategy(program, "FIXED", 10)
    make_promotion(
        program, name="Upcoming", award=award, starts_at=now + datetime.timedelta(days=1)
    )
    make_promotion(
        program,
        name="Over",
        award=award,
        starts_at=now - datetime.timedelta(days=9),
        ends_at=now - datetime.timedelta(days=1),
    )
    switched_off = make_promotion(program, name="Off", award=award)
    promotion_set_active(promotion=switched_off, is_active=False, actor=None)
    other_program = ProgramFactory(org=org, name="Not enrolled")
    make_promotion(other_program, name="Elsewhere", award=award_strategy(other_program))
    make_promotion(program, name="Registration", award=award, event_name="CustomerRegistration")

    response = post_bill(api_client, customer, "B-1", 100)

    assert response.json()["sideEffects"] == []
    assert balance(customer, program) == 0


@pytest.mark.django_db
def test_loyalty_type_and_event_source_filters(api_client, org, program, customer):
    award = award_strategy(program, "FIXED", 10)
    make_promotion(
        program,
        name="Loyalty only",
        award=award,
        filters=[loyalty_filter("loyalty")],
        is_stackable=True,
    )
    make_promotion(
        program,
        name="Not in store",
        award=award,
        filters=[source_filter("INSTORE", include=False)],
        is_stackable=True,
    )
    outsider = member(org, [program], loyalty_type=LoyaltyType.NON_LOYALTY)

    loyal = post_bill(api_client, customer, "B-1", 100)
    non_loyal = post_bill(api_client, outsider, "B-2", 100)

    assert loyal.json()["sideEffects"][0]["awardedPoints"] == 10
    assert non_loyal.json()["sideEffects"] == []


@pytest.mark.django_db
def test_a_bill_booked_on_a_till_of_another_store_sees_that_store(
    api_client, org, program, customer
):
    store = StoreFactory(org=org, code="mall")
    mall_till = TillFactory(org=org, store=store, code="acme.mall01")
    make_promotion(program, exp='store.code == "mall"', award=award_strategy(program))

    main = post_bill(api_client, customer, "B-1", 100)
    mall = post_bill(till_client(mall_till), customer, "B-2", 100)

    assert main.json()["sideEffects"] == []
    assert mall.json()["sideEffects"][0]["awardedPoints"] == 100


# Returns --------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_return_takes_back_the_points_its_original_earned(api_client, program, customer):
    make_promotion(program, award=award_strategy(program, "PERCENT", 10))
    post_bill(
        api_client,
        customer,
        "B-1",
        400,
        [line("A", 300, qty=3), line("B", 100, qty=2)],
    )
    assert balance(customer, program) == 40

    partial = api_client.post(
        f"/v2/transactions?identifierName=mobile&identifierValue={customer.mobile}",
        {
            "type": "RETURN",
            "returnType": "AMOUNT",
            "billNumber": "B-1",
            "billAmount": "100",
        },
        format="json",
    )

    assert partial.status_code == 200, partial.content
    assert balance(customer, program) == 30
    full = api_client.post(
        f"/v2/transactions?identifierName=mobile&identifierValue={customer.mobile}",
        {
            "type": "RETURN",
            "returnType": "LINE_ITEM",
            "billNumber": "B-1",
            "billAmount": "300",
            "lineItemsV2": [line("A", 300, qty=3)],
        },
        format="json",
    )
    assert full.status_code == 200, full.content
    assert balance(customer, program) == 0
    assert LedgerEvent.objects.filter(event_name=EventName.RETURN_BILL).count() == 2


@pytest.mark.django_db
def test_returns_do_not_earn(api_client, program, customer):
    make_promotion(program, award=award_strategy(program, "FIXED", 10))
    post_bill(api_client, customer, "B-1", 100)

    api_client.post(
        f"/v2/transactions?identifierName=mobile&identifierValue={customer.mobile}",
        {"type": "RETURN", "returnType": "FULL", "billNumber": "B-1"},
        format="json",
    )

    assert PromotionEarn.objects.count() == 1
    assert balance(customer, program) == 0


# Registration ---------------------------------------------------------------------------------
@pytest.mark.django_db
def test_registration_earns_after_the_ledger_opens_the_accounts(api_client, program):
    make_promotion(
        program,
        name="Welcome",
        event_name="CustomerRegistration",
        award=award_strategy(program, "FIXED", 50),
    )
    body = contract("customers_v2_add_minimal_request.json")

    response = api_client.post("/v2/customers", body, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["sideEffects"] == [
        {"entityType": "USER", "type": "points", "awardedPoints": 50, "rawAwardedPoints": 50}
    ]
    customer_id = response.json()["createdId"]
    events = list(LedgerEvent.objects.filter(customer_id=customer_id).order_by("id"))
    assert [e.event_name for e in events] == ["CustomerRegistration", "CustomerRegistration"]
    assert events[1].promotion_name == "Welcome" and events[1].net_points == 50
    assert PromotionEarn.objects.get().source_key == "registration"


# Targets and custom events --------------------------------------------------------------------
@pytest.mark.django_db
def test_a_completed_target_earns_the_matching_target_promotions(program, customer, till):
    award = award_strategy(program, "PER_CURRENCY_UNIT", 1, per_amount=10)
    make_promotion(
        program,
        name="Target 123",
        event_name="TARGETCOMPLETED",
        source_type="USER_CREATED",
        target_group_ids=[1234567],
        target_rule_ids=[123],
        rules=None,
        award=award,
        is_stackable=True,
    )

    other = promotion_target_completed(
        customer=customer, actor=till, idempotency_key="t-1", target_rule_id=999, value=500
    )
    hit = promotion_target_completed(
        customer=customer,
        actor=till,
        idempotency_key="t-2",
        target_rule_id=123,
        target_group_id=1234567,
        value=500,
    )
    replay = promotion_target_completed(
        customer=customer,
        actor=till,
        idempotency_key="t-2",
        target_rule_id=123,
        target_group_id=1234567,
        value=500,
    )

    assert other.side_effects == []
    assert hit.side_effects[0]["awardedPoints"] == 50
    assert replay.is_replay and replay.side_effects == hit.side_effects
    assert balance(customer, program) == 50
    (event,) = promotion_events(customer)
    assert event.event_name == EventName.TARGET_COMPLETED and event.promotion_name == "Target 123"


@pytest.mark.django_db
def test_the_seed_target_promotion_earns_once_issued_with_a_strategy(
    api_client, program, customer, till
):
    from promotions.services import promotion_issue
    from tests.promotions.factories import seed_request

    award = award_strategy(program, "FIXED", 30)
    body = seed_request(program.pk)
    promotion_body = body["promotion"]
    promotion_body["startDate"] = (timezone.now() - datetime.timedelta(days=1)).isoformat()
    promotion_body["endDate"] = (timezone.now() + datetime.timedelta(days=10)).isoformat()
    action = promotion_body["rulesetInfos"][0]["rules"][0]["caseToActions"]["true"][0]
    action["mandatoryPropertiesValues"]["AwardStrategy"] = str(award.pk)
    created = api_client.post(
        f"/api_gateway/loyalty/v1/programs/{program.pk}/promotions/add/simple", body, format="json"
    )
    from promotions.models import Promotion

    promotion = Promotion.objects.get(pk=created.json()["data"][0]["id"])

    before_issue = promotion_target_completed(
        customer=customer,
        actor=till,
        idempotency_key="a",
        target_rule_id=123,
        target_group_id=1234567,
    )
    promotion_issue(promotion=promotion, customer=customer, actor=till)
    after_issue = promotion_target_completed(
        customer=customer,
        actor=till,
        idempotency_key="b",
        target_rule_id=123,
        target_group_id=1234567,
    )

    assert before_issue.side_effects == []  # a direct-issue promotion earns once issued
    assert after_issue.side_effects[0]["awardedPoints"] == 30


@pytest.mark.django_db
def test_custom_events_through_the_api(api_client, program, customer):
    make_promotion(
        program,
        name="Store visit",
        event_name="StoreVisit",
        exp='event.attributes.floor == "2"',
        award=award_strategy(program, "PERCENT", 10),
    )
    body = {
        "eventName": "StoreVisit",
        "identifierName": "mobile",
        "identifierValue": customer.mobile,
        "eventId": "visit-1",
        "attributes": {"floor": "2", "amount": 250},
    }

    first = api_client.post("/v2/events", body, format="json")
    replay = api_client.post("/v2/events", body, format="json")
    conflict = api_client.post("/v2/events", {**body, "attributes": {"floor": "3"}}, format="json")
    other_floor = api_client.post(
        "/v2/events", {**body, "eventId": "visit-2", "attributes": {"floor": "3"}}, format="json"
    )

    assert first.status_code == 200, first.content
    assert first.json()["sideEffects"][0]["awardedPoints"] == 25
    assert replay.json() == first.json()
    assert conflict.status_code == 409 and conflict.json()["errors"][0]["code"] == 4095
    assert other_floor.json()["sideEffects"] == []
    assert balance(customer, program) == 25
    (event,) = promotion_events(customer)
    assert event.event_name == EventName.GENERIC_EVENT


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"eventName": "TransactionAdd"}, 4094),
        ({"eventName": "bad name"}, 4094),
        ({"eventName": ""}, 4094),
        ({"eventName": "Visit", "eventTime": "2999-01-01T00:00:00Z"}, 4094),
        ({"eventName": "Visit", "eventTime": "yesterday"}, 4094),
        ({"eventName": "Visit", "identifierName": "nickname"}, 8013),
        ({"eventName": "Visit", "identifierValue": "919999999999"}, 8015),
        ({"eventName": "Visit", "source": "FAX"}, 8003),
    ],
)
def test_bad_custom_events_are_refused(api_client, customer, body, code):
    request = {"identifierName": "mobile", "identifierValue": customer.mobile, **body}

    response = api_client.post("/v2/events", request, format="json")

    assert response.status_code in (400, 404), response.content
    assert response.json()["errors"][0]["code"] == code


# Points arithmetic ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "value", "per", "rounding", "source_rounding", "amount", "expected"),
    [
        ("FIXED", "12", "1", "ACTUAL", "ACTUAL", "999", "12"),
        ("PERCENT", "2.5", "1", "ACTUAL", "ACTUAL", "99", "2"),
        ("PERCENT", "2.5", "1", "ROUND", "ACTUAL", "99", "2"),
        ("PERCENT", "2.5", "1", "CEIL", "ACTUAL", "99", "3"),
        ("PER_CURRENCY_UNIT", "1", "10", "ACTUAL", "ACTUAL", "95", "9"),
        ("PER_CURRENCY_UNIT", "1", "10", "ROUND", "ACTUAL", "95", "10"),
        ("PER_CURRENCY_UNIT", "1", "10", "FLOOR", "ACTUAL", "99.9", "9"),
        ("PER_CURRENCY_UNIT", "1", "10", "ACTUAL", "CEIL", "99.2", "10"),
    ],
)
def test_award_points_and_rounding(kind, value, per, rounding, source_rounding, amount, expected):
    plan = AwardPlan(
        strategy_id=1,
        kind=kind,
        value=Decimal(value),
        per_amount=Decimal(per),
        rounding=rounding,
        source_rounding=source_rounding,
        delay_days=0,
    )

    _raw, points = award_points(plan, Decimal(amount), places=0)

    assert points == Decimal(expected)


@pytest.mark.django_db
def test_program_decimals_keep_fractional_points(api_client, org, program, customer):
    program.points_decimal_places = 2
    program.save()
    make_promotion(program, award=award_strategy(program, AwardStrategy.Kind.PERCENT, "1.5"))

    response = post_bill(api_client, customer, "B-1", Decimal("99.99"))

    assert balance(customer, program) == Decimal("1.49")
    assert response.json()["sideEffects"][0]["awardedPoints"] == 1.49


@pytest.mark.django_db
def test_an_event_processed_twice_earns_once(program, customer, till):
    from promotions.services.context import EarningEvent
    from promotions.services.earning import earn_for_event

    make_promotion(program, event_name="Visit", award=award_strategy(program, "FIXED", 10))
    event = EarningEvent(
        event_key="VISIT",
        event_name="Visit",
        ledger_event_name="GenericEvent",
        source_key="event:replayed",
        occurred_at=timezone.now(),
        source="INSTORE",
    )

    first = earn_for_event(customer=customer, event=event, actor=till)
    second = earn_for_event(customer=customer, event=event, actor=till)

    assert first[0]["awardedPoints"] == 10 and second == []
    assert balance(customer, program) == 10
    usage = PromotionCustomerUsage.objects.get()
    assert (usage.times_awarded, usage.points_awarded) == (1, 10)
