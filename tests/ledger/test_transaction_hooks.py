"""A return posted through the transactions API takes the bill's points back through the ledger."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger import services
from ledger.models import EntryType, EventName, LedgerEvent
from tests.ledger.factories import balance, earn, key

ADD_URL = "/v2/transactions?source=INSTORE&identifierName=mobile&identifierValue={mobile}"


def post_bill(api_client, customer, **body):
    payload = {"type": "REGULAR", "billNumber": "H-1", "billAmount": "400", **body}
    response = api_client.post(ADD_URL.format(mobile=customer.mobile), payload, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def post_return(api_client, customer, return_type, amount="100"):
    payload = {
        "type": "RETURN",
        "billNumber": "H-1",
        "returnType": return_type,
        "billAmount": amount,
    }
    response = api_client.post(ADD_URL.format(mobile=customer.mobile), payload, format="json")
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def earned_bill(api_client, customer, program, till):
    from members.models import Transaction

    created = post_bill(api_client, customer)
    bill = Transaction.objects.get(pk=created["createdId"])
    # the earning engine's credit for the bill (what promotions will post through the ledger)
    earn(customer, program, 200, actor=till, transaction=bill)
    return bill


@pytest.mark.django_db
def test_amount_return_takes_back_the_returned_share(api_client, customer, program, earned_bill):
    # when a quarter of the bill comes back
    body = post_return(api_client, customer, "AMOUNT", amount="100")

    # then a quarter of its points leave the ledger, on one ReturnBill event carrying the return
    assert balance(customer, program) == Decimal("150")
    event = LedgerEvent.objects.get(event_name=EventName.RETURN_BILL)
    assert event.transaction_id == body["createdId"]
    assert event.net_points == Decimal("-50")
    assert body["sideEffects"][0]["type"] == "points"
    assert Decimal(body["sideEffects"][0]["awardedPoints"]) == Decimal("-50")


@pytest.mark.django_db
def test_partial_returns_never_take_back_more_than_earned(
    api_client, customer, program, earned_bill
):
    for _ in range(3):
        post_return(api_client, customer, "AMOUNT", amount="133")

    # 3 x floor(200 * 133 / 400) = 3 x 66
    assert balance(customer, program) == Decimal("2")


@pytest.mark.django_db
def test_full_return_takes_everything_back_and_reverses_the_bill_redemptions(
    api_client, customer, program, till, earned_bill
):
    # given 50 of the points redeemed and that redemption tied to the bill
    redemption = services.points_redeem(
        customer=customer, program=program, points=50, actor=till, idempotency_key=key()
    )
    earned_bill.points_redemption_ids = [redemption.code]
    earned_bill.save(update_fields=["points_redemption_ids"])

    post_return(api_client, customer, "FULL", amount="400")

    # the 50 redeemed come back (credit) and the 200 earned go (debit) in the same event
    event = LedgerEvent.objects.get(event_name=EventName.RETURN_BILL)
    kinds = sorted(entry.entry_type for entry in event.entries.all())
    assert kinds == [EntryType.CREDIT, EntryType.DEBIT]
    assert event.net_points == Decimal("-150")
    assert balance(customer, program) == Decimal("0")


@pytest.mark.django_db
def test_return_of_a_bill_without_points_posts_nothing(api_client, customer, program):
    post_bill(api_client, customer)

    body = post_return(api_client, customer, "FULL", amount="400")

    assert body["sideEffects"] == []
    assert not LedgerEvent.objects.filter(event_name=EventName.RETURN_BILL).exists()
