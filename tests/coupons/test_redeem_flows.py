"""Coupons on bills (redeem on transaction add, reinstate on return), revoke from the admin with
the seed's confirmation, and moving a coupon to another customer by revoke plus upload."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from coupons.forms import REVOKE_CONFIRMATION
from coupons.models import CodeType, Coupon, CouponRedemption, CouponRevocation
from coupons.services.codes import coupon_codes_add
from coupons.services.revoke import coupons_revoke_all, coupons_revoke_codes
from members.models import Transaction
from tests.coupons.redeem_helpers import check, codes_of, issue, redeem
from tests.coupons.test_upload import upload
from tests.members.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer(org):
    return CustomerFactory(org=org)


def _bill(number: str, amount: str = "400", **redemptions) -> dict:
    body = {
        "type": "REGULAR",
        "billNumber": number,
        "billAmount": amount,
        "billingDate": timezone.now().isoformat(),
        "lineItemsV2": [{"itemCode": "A", "qty": 1, "rate": amount, "amount": amount}],
    }
    if redemptions:
        body["redemptions"] = redemptions
    return body


def _post_bill(client, body, customer):
    url = f"/v2/transactions?identifierName=mobile&identifierValue={customer.mobile}"
    return client.post(url, body, format="json")


def test_bill_with_a_coupon_code_redeems_it(api_client, make_series, customer, till):
    coupon = issue(make_series(min_bill_amount=Decimal("100")), customer, till)
    response = _post_bill(api_client, _bill("B-1", couponRedemptions=[coupon.code]), customer)
    assert response.status_code == 200, response.json()
    redemption = CouponRedemption.objects.get()
    bill = Transaction.objects.get(pk=response.json()["createdId"])
    assert (redemption.transaction, redemption.transaction_number) == (bill, "B-1")
    assert redemption.bill_amount == Decimal("400.00")


def test_bill_with_a_coupon_that_fails_a_rule_is_rolled_back(
    api_client, make_series, customer, till
):
    coupon = issue(make_series(min_bill_amount=Decimal("1000")), customer, till)
    response = _post_bill(api_client, _bill("B-1", couponRedemptions=[coupon.code]), customer)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == 733
    assert not Transaction.objects.exists()
    assert not CouponRedemption.objects.exists()


def test_bill_ties_earlier_redemptions_by_id_and_by_number(api_client, make_series, customer, till):
    series = make_series(allows_multiple_per_customer=True, max_per_customer=5)
    by_id = redeem(issue(series, customer, till), customer, till)
    by_number = redeem(issue(series, customer, till), customer, till, transaction_number="B-9")
    body = _bill("B-9", couponRedemptions=[str(by_id.redemption.pk)])
    response = _post_bill(api_client, body, customer)
    assert response.status_code == 200, response.json()
    bill = Transaction.objects.get(pk=response.json()["createdId"])
    assert set(bill.coupon_redemptions.values_list("pk", flat=True)) == {
        by_id.redemption.pk,
        by_number.redemption.pk,
    }
    assert CouponRedemption.objects.count() == 2


def test_full_return_reinstates_the_coupons_of_the_bill(api_client, make_series, customer, till):
    coupon = issue(make_series(), customer, till)
    response = _post_bill(api_client, _bill("B-1", couponRedemptions=[coupon.code]), customer)
    assert response.status_code == 200, response.json()
    body = {
        "type": "RETURN",
        "returnType": "FULL",
        "billNumber": "B-1",
        "billingDate": timezone.now().isoformat(),
    }
    response = _post_bill(api_client, body, customer)
    assert response.status_code == 200, response.json()
    redemption = CouponRedemption.objects.get()
    assert redemption.is_active is False
    assert redemption.reversed_by_transaction_id == response.json()["createdId"]
    coupon.refresh_from_db()
    assert coupon.redemption_count == 0
    assert check(coupon, customer, till).is_redeemable


def test_partial_return_keeps_the_coupon_redeemed(api_client, make_series, customer, till):
    coupon = issue(make_series(), customer, till)
    _post_bill(api_client, _bill("B-1", couponRedemptions=[coupon.code]), customer)
    body = {
        "type": "RETURN",
        "returnType": "AMOUNT",
        "billNumber": "B-1",
        "billAmount": "100",
        "billingDate": timezone.now().isoformat(),
    }
    assert _post_bill(api_client, body, customer).status_code == 200
    assert CouponRedemption.objects.get().is_active is True


# Revoke --------------------------------------------------------------------------------------
def test_revoke_all_unredeemed_and_only_unissued(make_series, customer, till, org):
    series = make_series(code_type=CodeType.UPLOADED, expiry_strategy="DAYS", expiry_value=30)
    coupon_codes_add(series=series, codes=["U1", "U2", "U3", "U4"])
    issued = issue(series, customer, till)
    redeemed = issue(series, CustomerFactory(org=org), till)
    redeem(redeemed, redeemed.customer, till)

    result = coupons_revoke_all(series=series, only_unissued=True)
    assert result.revoked_count == 2
    issued.refresh_from_db()
    assert issued.revoked_at is None
    series.refresh_from_db()
    assert series.num_uploaded_non_issued == 0

    result = coupons_revoke_all(series=series)
    assert result.revoked_count == 1  # the issued one; the redeemed one is never revoked
    redeemed.refresh_from_db()
    assert redeemed.revoked_at is None
    assert CouponRevocation.objects.count() == 2


def test_admin_revoke_for_customers_needs_the_confirmation(admin_client, make_series, org, till):
    series = make_series(allows_multiple_per_customer=True, max_per_customer=3)
    holders = CustomerFactory.create_batch(2, org=org)
    kept = CustomerFactory(org=org)
    coupons = [issue(series, holder, till) for holder in holders for _ in range(2)]
    untouched = issue(series, kept, till)
    url = reverse("admin:coupons_couponseries_revoke", args=[series.pk])
    assert admin_client.get(url).status_code == 200
    csv = "mobile\n" + "\n".join(h.mobile for h in holders) + "\n910000000000\n"

    def customers_file():
        return SimpleUploadedFile("customers.csv", csv.encode(), content_type="text/csv")

    data = {
        "mode": "CUSTOMERS",
        "customer_identifier": "MOBILE",
        "customers_file": customers_file(),
    }
    response = admin_client.post(url, data)
    assert response.status_code == 200  # the form again: the box was not ticked
    assert REVOKE_CONFIRMATION in response.content.decode()
    assert not Coupon.objects.filter(revoked_at__isnull=False).exists()

    data = {**data, "customers_file": customers_file(), "confirm": "on"}
    response = admin_client.post(url, data)
    assert response.status_code == 302
    assert Coupon.objects.filter(revoked_at__isnull=False).count() == 4
    assert set(Coupon.objects.filter(revoked_at__isnull=False)) == set(coupons)
    untouched.refresh_from_db()
    assert untouched.revoked_at is None
    audit = CouponRevocation.objects.get()
    assert (audit.mode, audit.revoked_count, audit.customers_count, audit.failed_count) == (
        "CUSTOMERS",
        4,
        2,
        1,
    )
    assert audit.revoked_by_user.username == "admin"
    change = admin_client.get(reverse("admin:coupons_coupon_change", args=[coupons[0].pk]))
    assert change.status_code == 200


def test_coupon_moves_to_another_customer_by_revoke_and_upload(make_series, org, till):
    # given an uploaded code issued to one customer
    series = make_series(code_type=CodeType.UPLOADED, expiry_strategy="DAYS", expiry_value=30)
    first, second = CustomerFactory(org=org), CustomerFactory(org=org)
    coupon_codes_add(series=series, codes=["GIFT-0001"])
    coupon = issue(series, first, till)
    assert coupon.code == "GIFT-0001"

    # when it is revoked and the same code uploaded with the other customer
    coupons_revoke_codes(series=series, codes=["GIFT-0001"])
    job = upload(series, [[second.mobile, "GIFT-0001"]], identifier="MOBILE")
    assert job.failed == 0, list(job.row_errors.values("code", "message"))

    # then the new customer holds a live coupon with that code and can redeem it; the old row
    # stays revoked as history
    live = Coupon.objects.get(code="GIFT-0001", revoked_at__isnull=True)
    assert live.customer == second
    assert redeem("GIFT-0001", second, till).coupon.pk == live.pk
    old = Coupon.objects.get(code="GIFT-0001", revoked_at__isnull=False)
    assert old.customer == first
    assert codes_of(check(old, first, till).failures)[0] in (703, 711)


def test_member_care_finds_and_reverses_a_redemption(client, make_series, customer, till):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    outcome = redeem(issue(make_series(), customer, till), customer, till, transaction_number="B-7")
    agent = get_user_model().objects.create_user("agent", password="pw", is_staff=True)
    agent.groups.add(Group.objects.get(name="Member care agent"))
    client.force_login(agent)

    page = client.get(reverse("admin:members_customer_change", args=[customer.pk]))
    assert page.status_code == 200
    redemptions_url = reverse("admin:coupons_couponredemption_changelist")
    assert f"{redemptions_url}?customer__id__exact={customer.pk}" in page.content.decode()
    listing = client.get(f"{redemptions_url}?customer__id__exact={customer.pk}")
    assert listing.status_code == 200 and "B-7" in listing.content.decode()

    response = client.post(
        redemptions_url,
        {"action": "reverse_selected", "_selected_action": [outcome.redemption.pk]},
    )
    assert response.status_code == 302
    outcome.redemption.refresh_from_db()
    assert outcome.redemption.is_active is False
    assert check(outcome.coupon, customer, till).is_redeemable
