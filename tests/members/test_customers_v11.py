"""v1.1 customer APIs: batch add, get (comma lists) and update (contract §11.2, §11.10)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from members.models import Customer, LoyaltyType
from members.services.customers import customer_register
from tests.members.factories import CustomerFactory, TillFactory

EXAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "contract"


def example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text())


def add(client, *customers):
    return client.post("/v1.1/customer/add", {"root": {"customer": list(customers)}}, format="json")


def items(response) -> list[dict]:
    return response.json()["response"]["customers"]["customer"]


def status(response) -> dict:
    return response.json()["response"]["status"]


# Add -----------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_add_fixture_registers_both_customers(api_client, org, program):
    # when
    response = api_client.post(
        "/v1.1/customer/add", example("customers_v11_add_request.json"), format="json"
    )

    # then
    assert response.status_code == 200, response.content
    assert status(response) == {
        "success": "true",
        "code": 200,
        "message": "Success",
        "total": "2",
        "success_count": "2",
    }
    tom, rita = items(response)
    assert tom["item_status"]["success"] == "true"
    assert tom["item_status"]["code"] == "1000"
    assert tom["item_status"]["message"] == "Customer registration successful"
    assert isinstance(tom["user_id"], int)
    assert tom["mobile"] == "44700900000"
    assert tom["type"] == "LOYALTY"
    assert tom["source"] == "instore"
    assert tom["current_slab"] == "Silver"
    assert tom["registered_on"] == "2012-09-11 11:11:11"  # in the org's time zone
    assert tom["lifetime_purchases"] == 0
    assert {"name": "city", "value": "Bangalore"} in tom["extended_fields"]["field"]
    assert "loyalty_points" not in tom and "lifetime_points" not in tom
    assert rita["type"] == "NON_LOYALTY"
    assert rita["source"] == "wechat"
    stored = Customer.objects.get(pk=tom["user_id"])
    assert stored.external_id == "TOM345"
    assert stored.extended_fields == {"gender": "Male", "city": "Bangalore", "dob": "1998/12/01"}
    assert stored.custom_fields["FavoriteColor"] == "Green"
    assert Customer.objects.get(pk=rita["user_id"]).loyalty_type == LoyaltyType.NON_LOYALTY


@pytest.mark.django_db
def test_add_minimal_fixture(api_client, org):
    response = api_client.post(
        "/v1.1/customer/add", example("customers_v11_add_minimal_request.json"), format="json"
    )

    assert response.status_code == 200
    (item,) = items(response)
    assert item["item_status"]["code"] == "1000"
    assert item["external_id"] == "123445901"
    # "till_name" is no till of the org: registered anyway, with warnings
    assert item["item_status"]["warnings"] == {"warning": ["91021", "91020"]}


@pytest.mark.django_db
def test_add_associated_with_known_till(api_client, org):
    store_till = TillFactory(org=org, code="acme.till02")

    response = add(api_client, {"mobile": "919800000001", "associated_with": "acme.till02"})

    assert items(response)[0]["item_status"]["warnings"] == {"warning": []}
    assert Customer.objects.get().registered_till == store_till


@pytest.mark.django_db
def test_add_items_fail_independently(api_client, org):
    # given one registered customer
    add(api_client, {"mobile": "919800000001"})

    # when
    response = add(
        api_client,
        {"mobile": "919800000002", "firstname": "Ok"},
        {"mobile": "12"},
        {"email": "not-an-email"},
        {"external_id": "x" * 101},
        {"firstname": "Nobody"},
        {"mobile": "919800000001"},
        {"mobile": "919800000003", "registered_on": "yesterday"},
        "not an object",
    )

    # then
    assert response.status_code == 200
    assert status(response)["code"] == 201
    assert status(response)["success_count"] == "1"
    assert status(response)["total"] == "8"
    codes = [item["item_status"]["code"] for item in items(response)]
    assert codes == ["1000", "1001", "1002", "1003", "1015", "1014", "400", "400"]
    assert items(response)[1]["mobile"] == "12"
    assert set(Customer.objects.values_list("mobile", flat=True)) == {
        "919800000001",
        "919800000002",
    }


@pytest.mark.django_db
def test_add_all_failed_is_500(api_client):
    response = add(api_client, {"mobile": "1"}, {"email": "x"})

    assert status(response)["code"] == 500
    assert status(response)["success"] == "false"
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_add_identifier_of_another_customer_is_1016(api_client, org):
    CustomerFactory(org=org, mobile="919800000001", email=None)
    CustomerFactory(org=org, mobile=None, email="b@example.com")

    response = add(api_client, {"mobile": "919800000001", "email": "b@example.com"})

    assert items(response)[0]["item_status"]["code"] == "1016"


@pytest.mark.django_db
def test_add_other_source_combines_with_warning(api_client, org):
    add(api_client, {"mobile": "919800000001"})

    response = add(api_client, {"mobile": "919800000001", "source": "WEBSITE"})

    assert items(response)[0]["item_status"]["code"] == "1000"
    assert items(response)[0]["item_status"]["warnings"] == {"warning": ["8050"]}
    assert Customer.objects.count() == 1


@pytest.mark.django_db
def test_add_without_root_is_a_v11_error(api_client):
    response = api_client.post("/v1.1/customer/add", {"customer": []}, format="json")

    assert response.status_code == 400
    assert response.json()["response"]["status"]["success"] == "false"


@pytest.mark.django_db
def test_add_batch_limit_is_1060(api_client):
    response = add(api_client, *[{"mobile": f"9198000{n:05d}"} for n in range(101)])

    assert response.status_code == 400
    assert response.json()["response"]["status"]["code"] == 1060
    assert Customer.objects.count() == 0


# Get -----------------------------------------------------------------------------------------
@pytest.fixture
def tom(org, till, program):
    return customer_register(
        org=org,
        actor=till,
        source="INSTORE",
        mobile="919800000001",
        email="tom@example.com",
        external_id="TS123",
        first_name="Tom",
        last_name="Sawyer",
        custom_fields={"gender": "value_308645"},
    ).customer


@pytest.mark.django_db
def test_get_by_mobile_list_reports_each_value(api_client, tom):
    response = api_client.get("/v1.1/customer/get?mobile=919800000001,919811111111")

    assert response.status_code == 200
    assert status(response)["code"] == 201
    found, missing = items(response)
    assert found["item_status"] == {
        "success": "true",
        "code": "1000",
        "message": "Customer successfully retrieved",
        "warnings": {"warning": []},
    }
    assert found["user_id"] == str(tom.pk)
    assert found["firstname"] == "Tom"
    assert found["lifetime_purchases"] == "0"
    assert found["current_slab"] == "Silver"
    assert found["registered_till"] == {"code": "acme.till01", "name": "acme.till01"}
    assert found["custom_fields"] == {"field": [{"name": "gender", "value": "value_308645"}]}
    assert "loyalty_points" not in found
    assert missing == {
        "mobile": "919811111111",
        "item_status": {
            "success": "false",
            "code": "1012",
            "message": "Customer not found",
            "warnings": {"warning": []},
        },
    }


@pytest.mark.django_db
@pytest.mark.parametrize("param", ["email", "external_id", "id"])
def test_get_by_each_identifier(api_client, tom, param):
    value = {"email": "TOM@example.com", "external_id": "TS123", "id": str(tom.pk)}[param]

    response = api_client.get("/v1.1/customer/get", {param: value})

    assert status(response)["code"] == 200
    assert items(response)[0]["user_id"] == str(tom.pk)


@pytest.mark.django_db
def test_get_with_user_group_flag(api_client, tom, org):
    from django.utils import timezone

    from members.models import UserGroupMembership
    from tests.members.factories import UserGroupFactory

    group = UserGroupFactory(org=org, external_id="fam1", name="Family")
    UserGroupMembership.objects.create(
        group=group, customer=tom, is_primary=True, joined_at=timezone.now()
    )

    response = api_client.get("/v1.1/customer/get", {"id": tom.pk, "user_group": "true"})

    assert items(response)[0]["user_group"] == {
        "id": str(group.pk),
        "external_id": "fam1",
        "name": "Family",
        "is_primary": "true",
    }


@pytest.mark.django_db
def test_get_without_identifier_is_1015(api_client):
    response = api_client.get("/v1.1/customer/get")

    assert response.status_code == 400
    assert response.json()["response"]["status"]["code"] == 1015


@pytest.mark.django_db
def test_get_customer_of_other_org_is_not_found(other_client, tom):
    response = other_client.get("/v1.1/customer/get", {"mobile": "919800000001", "id": tom.pk})

    assert status(response)["code"] == 500
    assert [item["item_status"]["code"] for item in items(response)] == ["1012", "1012"]


@pytest.mark.django_db
def test_get_malformed_values(api_client, tom):
    response = api_client.get("/v1.1/customer/get?mobile=abc&id=x")

    assert [item["item_status"]["code"] for item in items(response)] == ["1001", "1042"]


# Update --------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_update_fixture(api_client, org):
    # given the customer the sample updates
    customer = CustomerFactory(
        org=org,
        mobile="44700900011",
        email="rita.john@example.com",
        external_id="XYPZ006",
        first_name="Rita",
        last_name="John",
        extended_fields={"city": "Bangalore"},
    )

    # when
    response = api_client.post(
        "/v1.1/customer/update", example("customers_v11_update_request.json"), format="json"
    )

    # then
    assert response.status_code == 200, response.content
    assert status(response)["code"] == 200
    (item,) = items(response)
    assert item["item_status"]["code"] == "1000"
    assert item["item_status"]["message"] == "Customer successfully updated"
    assert item["user_id"] == customer.pk
    assert item["lastname"] == "James"
    assert item["email"] == "rita.john@example.com"
    customer.refresh_from_db()
    assert customer.last_name == "James"
    assert customer.extended_fields == {
        "city": "Bangalore",
        "gender": "male",
        "Nationality": "Indian",
    }


@pytest.mark.django_db
def test_update_to_non_loyalty_is_1046(api_client, org):
    customer = CustomerFactory(org=org, mobile="919800000001", first_name="Tom")

    response = api_client.post(
        "/v1.1/customer/update",
        {
            "root": {
                "customer": [{"mobile": "919800000001", "firstname": "X", "type": "NON_LOYALTY"}]
            }
        },
        format="json",
    )

    assert items(response)[0]["item_status"]["code"] == "1046"
    customer.refresh_from_db()
    assert customer.first_name == "Tom"
    assert customer.loyalty_type == LoyaltyType.LOYALTY


@pytest.mark.django_db
def test_update_unknown_or_foreign_customer_is_1012(api_client, other_org):
    CustomerFactory(org=other_org, mobile="919800000001", first_name="Theirs")

    response = api_client.post(
        "/v1.1/customer/update",
        {"root": {"customer": [{"mobile": "919800000001", "firstname": "Mine"}]}},
        format="json",
    )

    assert items(response)[0]["item_status"]["code"] == "1012"
    assert Customer.objects.get().first_name == "Theirs"
