"""v2 customer APIs: register, get, lookup, update, org isolation and connected orgs (§11.1, §7)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from django.db import connection

from members.models import Customer, CustomerSourceProfile, LoyaltyType, ProgramEnrollment
from members.services.customers import customer_register
from tests.conftest import till_client
from tests.members.factories import CustomerFactory, OrgFactory, TillFactory

EXAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "contract"
PIPELINE = "tests.members.test_customers_v2.welcome_side_effects"


def welcome_side_effects(*, customer, actor, context):
    return [
        {"entityType": "USER", "awardedPoints": 75, "type": "points"},
        {"type": "coupon", "couponCode": f"WELCOME{customer.pk}", "couponType": "PE"},
    ]


def example(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text())


def register_body(*, mobile=None, email=None, external_id=None, source="INSTORE", **extra):
    identifiers = [
        {"type": kind, "value": value}
        for kind, value in (("mobile", mobile), ("email", email), ("externalId", external_id))
        if value is not None
    ]
    profile = {"firstName": "Tom", "lastName": "Sawyer", "identifiers": identifiers}
    profile["source"] = source
    profile.update(extra.pop("profile", {}))
    return {"profiles": [profile], **extra}


def post_customer(client, body, **headers):
    return client.post("/v2/customers", body, format="json", **headers)


def first_error(response) -> dict:
    return response.json()["errors"][0]


# Register ------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_register_full_fixture(api_client, org, till, program):
    # given the contract's sample with a real program id
    body = example("customers_v2_add_request.json")
    body["loyaltyProgramEnrollments"][0]["programId"] = program.pk

    # when
    response = post_customer(api_client, body)

    # then
    assert response.status_code == 200, response.content
    data = response.json()
    customer = Customer.objects.get(pk=data["createdId"])
    assert data["sideEffects"] == []
    # associatedWith names a till this org does not have: registered, with a warning
    assert [item["code"] for item in data["warnings"]] == [91021]
    assert customer.org == org
    assert customer.mobile == "919804542631"
    assert customer.email is None and customer.external_id is None  # cuid/unionId not stored
    assert (customer.first_name, customer.last_name) == ("Mark12", "Twain")
    assert customer.loyalty_type == LoyaltyType.LOYALTY
    assert customer.extended_fields == {"gender": "Male", "city": "Bangalore"}
    assert customer.custom_fields == {"employee": "true", "dateofbirth": "22-10-2000"}
    profile = customer.source_profiles.get()
    assert (profile.source, profile.account_id) == ("MOBILE_APP", "testmobilepush1")
    assert customer.enrollments.get().tier.number == 1


@pytest.mark.django_db
def test_register_minimal_fixture(api_client, org, program):
    response = post_customer(api_client, example("customers_v2_add_minimal_request.json"))

    assert response.status_code == 200, response.content
    customer = Customer.objects.get(pk=response.json()["createdId"])
    assert customer.external_id == "879577211225"
    assert customer.registration_source == "INSTORE"
    assert response.json()["warnings"] == []
    assert customer.enrollments.get().program == program


@pytest.mark.django_db
def test_register_associated_with_a_till_of_the_org(api_client, org, till):
    store_till = TillFactory(org=org, code="acme.till02")

    response = post_customer(
        api_client, register_body(mobile="919800000001", associatedWith="acme.till02")
    )

    assert response.json()["warnings"] == []
    assert Customer.objects.get().registered_till == store_till


@pytest.mark.django_db
def test_register_runs_pipeline_and_returns_its_side_effects(api_client, settings):
    settings.CUSTOMER_REGISTRATION_PIPELINE = [PIPELINE]

    response = post_customer(api_client, register_body(mobile="919800000001"))

    assert response.status_code == 200
    customer_id = response.json()["createdId"]
    assert response.json()["sideEffects"] == [
        {"entityType": "USER", "awardedPoints": 75, "type": "points"},
        {"type": "coupon", "couponCode": f"WELCOME{customer_id}", "couponType": "PE"},
    ]


@pytest.mark.django_db
def test_register_invalid_source_is_3217(api_client):
    response = post_customer(api_client, register_body(mobile="919800000001", source="MYSPACE"))

    assert response.status_code == 400
    assert first_error(response)["code"] == 3217
    assert Customer.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("identifiers", "named"),
    [
        ({"mobile": "12345"}, "mobile"),
        ({"mobile": "919800000001", "email": "tom@@example"}, "email"),
    ],
)
def test_register_bad_identifier_is_8014_naming_the_field(api_client, identifiers, named):
    response = post_customer(api_client, register_body(**identifiers))

    assert response.status_code == 400
    error = first_error(response)
    assert error["code"] == 8014
    assert named in error["message"]
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_register_unknown_identifier_type_is_8013(api_client):
    body = register_body(mobile="919800000001")
    body["profiles"][0]["identifiers"].append({"type": "passport", "value": "X1"})

    response = post_customer(api_client, body)

    assert response.status_code == 400
    assert first_error(response)["code"] == 8013
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_register_only_ignored_identifier_types_is_1015(api_client):
    body = register_body()
    body["profiles"][0]["identifiers"] = [{"type": "cuid", "value": "c1"}]

    response = post_customer(api_client, body)

    assert response.status_code == 400
    assert first_error(response)["code"] == 1015


@pytest.mark.django_db
def test_register_multi_account_source_needs_account_id(api_client):
    response = post_customer(api_client, register_body(mobile="919800000001", source="WECHAT"))

    assert first_error(response)["code"] == 8045
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_register_invalid_program_is_1213(api_client, other_org):
    from tests.members.factories import ProgramFactory

    foreign = ProgramFactory(org=other_org)
    body = register_body(
        mobile="919800000001", loyaltyProgramEnrollments=[{"programId": foreign.pk}]
    )

    response = post_customer(api_client, body)

    assert first_error(response)["code"] == 1213
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_register_malformed_body_is_a_v2_error(api_client):
    response = api_client.post("/v2/customers", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["warnings"] == []
    assert Customer.objects.count() == 0


@pytest.mark.django_db
def test_register_duplicate_same_source_is_8006(api_client):
    post_customer(api_client, register_body(mobile="919800000001"))

    response = post_customer(api_client, register_body(mobile="919800000001"))

    assert response.status_code == 400
    assert first_error(response)["code"] == 8006
    assert Customer.objects.count() == 1


@pytest.mark.django_db
def test_register_duplicate_other_source_combines_with_8050(api_client):
    # given
    first = post_customer(api_client, register_body(mobile="919800000001")).json()

    # when
    response = post_customer(api_client, register_body(mobile="919800000001", source="ECOMMERCE"))

    # then
    assert response.status_code == 200
    assert response.json() == {
        "createdId": first["createdId"],
        "warnings": [
            {
                "status": False,
                "code": 8050,
                "message": "Same Customer found in other sources,Combining",
            }
        ],
        "sideEffects": [],
    }
    assert Customer.objects.count() == 1
    assert CustomerSourceProfile.objects.count() == 2


@pytest.mark.django_db
def test_register_identifiers_of_two_customers_is_8008(api_client, org):
    CustomerFactory(org=org, mobile="919800000001", email=None)
    CustomerFactory(org=org, mobile=None, email="b@example.com")

    response = post_customer(
        api_client, register_body(mobile="919800000001", email="b@example.com")
    )

    assert first_error(response)["code"] == 8008
    assert Customer.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_concurrent_registrations_of_one_mobile_create_one_customer(postgres_only, org, till):
    # given 8 tills' worth of requests for the same new mobile, released together
    thread_count = 8
    barrier = threading.Barrier(thread_count)
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def register():
        client = till_client(till)
        try:
            barrier.wait()
            response = post_customer(client, register_body(mobile="919800000001"))
            with lock:
                results.append((response.status_code, response.json()))
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=register) for _ in range(thread_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then: one registration, the rest told the customer exists on this source
    assert Customer.objects.filter(mobile="919800000001").count() == 1
    assert sorted(status for status, _ in results) == [200] + [400] * (thread_count - 1)
    assert {body["errors"][0]["code"] for status, body in results if status == 400} == {8006}


# Get and lookup ------------------------------------------------------------------------------
@pytest.fixture
def registered(org, till, program):
    return customer_register(
        org=org,
        actor=till,
        source="INSTORE",
        mobile="919800000001",
        email="tom@example.com",
        external_id="EXT1",
        first_name="Tom",
        last_name="Sawyer",
        extended_fields={"city": "Bangalore"},
        custom_fields={"employee": "true"},
    ).customer


@pytest.mark.django_db
def test_get_by_id_shape(api_client, registered, till):
    response = api_client.get(f"/v2/customers/{registered.pk}")

    assert response.status_code == 200, response.content
    data = response.json()
    assert set(data) == {
        "id",
        "profiles",
        "loyaltyInfo",
        "fraudDetails",
        "associatedWith",
        "extendedFields",
        "warnings",
    }
    assert data["id"] == registered.pk
    profile = data["profiles"][0]
    assert profile["firstName"] == "Tom"
    assert profile["source"] == "INSTORE"
    assert profile["userId"] == registered.pk
    assert profile["accountId"] == ""
    assert profile["fields"] == {"employee": "true"}
    assert profile["identifiers"] == [
        {"type": "mobile", "value": "919800000001"},
        {"type": "email", "value": "tom@example.com"},
        {"type": "externalId", "value": "EXT1"},
    ]
    assert profile["attribution"]["createdBy"]["code"] == till.code
    assert profile["attribution"]["createdBy"]["type"] == "TILL"
    assert profile["attribution"]["createDate"].endswith("+05:30")  # the org's time zone
    assert data["loyaltyInfo"] == {"loyaltyType": "loyalty", "lifetimePurchases": 0}
    assert data["associatedWith"] == till.code
    assert data["extendedFields"] == {"city": "Bangalore"}


@pytest.mark.django_db
def test_get_with_embed_mlp_lists_program_tiers_and_points(api_client, registered, program):
    response = api_client.get(f"/v2/customers/{registered.pk}?embed=mlp")

    details = response.json()["loyaltyProgramDetails"]
    assert details == [
        {
            "programId": program.pk,
            "programTitle": "Acme Rewards",
            "programDescription": "",
            "currentSlab": "Silver",
            "slabSNo": 1,
            "nextSlab": "Gold",
            "nextSlabSerialNumber": 2,
            "nextSlabDescription": "Gold",
            "slabExpiryDate": None,
            "programPointsToCurrencyRatio": 1,
            # from the points ledger (tests/ledger/test_api_members_points.py)
            "loyaltyPoints": 0,
            "totalAvailablePoints": 0,
            "delayedPoints": 0,
        }
    ]


@pytest.mark.django_db
def test_get_unknown_id_is_8015(api_client, registered):
    response = api_client.get("/v2/customers/99999999")

    assert response.status_code == 404
    assert first_error(response)["code"] == 8015


@pytest.mark.django_db
def test_get_invalid_source_is_8003(api_client, registered):
    response = api_client.get(f"/v2/customers/{registered.pk}?source=NOPE")

    assert response.status_code == 400
    assert first_error(response)["code"] == 8003


@pytest.mark.django_db
def test_get_other_source_is_8065_and_all_is_fine(api_client, registered):
    missing = api_client.get(f"/v2/customers/{registered.pk}?source=WEBSITE")
    everything = api_client.get(f"/v2/customers/{registered.pk}?source=ALL")

    assert missing.status_code == 404
    assert first_error(missing)["code"] == 8065
    assert everything.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("mobile", "919800000001"),
        ("mobile", "+91 98000 00001"),
        ("email", "TOM@example.com"),
        ("externalId", "EXT1"),
        ("id", None),
    ],
)
def test_lookup_by_every_identifier(api_client, registered, name, value):
    value = value or str(registered.pk)

    response = api_client.get(
        "/v2/customers/lookup",
        {"source": "INSTORE", "identifierName": name, "identifierValue": value},
    )

    assert response.status_code == 200, response.content
    assert response.json() == {"entity": registered.pk, "warnings": []}


@pytest.mark.django_db
def test_lookup_customer_details_returns_get_shape(api_client, registered):
    response = api_client.get(
        "/v2/customers/lookup/customerDetails",
        {
            "source": "INSTORE",
            "identifierName": "email",
            "identifierValue": "tom@example.com",
            "embed": "mlp",
        },
    )

    assert response.status_code == 200
    data = response.json()
    assert data["id"] == registered.pk
    assert data["loyaltyProgramDetails"][0]["currentSlab"] == "Silver"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"identifierName": "mobile", "identifierValue": "919811111111"}, 404, 8015),
        ({"identifierName": "cuid", "identifierValue": "c1"}, 404, 8015),
        ({"identifierName": "passport", "identifierValue": "X"}, 400, 8013),
        ({"identifierValue": "919800000001"}, 400, 8013),
        ({"identifierName": "mobile", "identifierValue": "abc"}, 400, 8013),
        ({"identifierName": "id", "identifierValue": "x1"}, 400, 8013),
        (
            {"identifierName": "mobile", "identifierValue": "919800000001", "source": "X"},
            400,
            8003,
        ),
    ],
)
def test_lookup_errors(api_client, registered, params, status, code):
    for path in ("/v2/customers/lookup", "/v2/customers/lookup/customerDetails"):
        response = api_client.get(path, params)

        assert response.status_code == status, path
        assert first_error(response)["code"] == code, path


@pytest.mark.django_db
def test_get_and_lookup_without_credentials_is_401(registered):
    from rest_framework.test import APIClient

    response = APIClient().get(f"/v2/customers/{registered.pk}")

    assert response.status_code == 401
    assert "errors" in response.json()


# Update --------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_update_by_id_fixture(api_client, registered, program):
    # given the contract's update sample (a different mobile, a wechat id, an unknown tier of a
    # program the customer is in already)
    body = example("customers_v2_update_request.json")
    body["loyaltyProgramEnrollments"][0]["programId"] = program.pk

    # when
    response = api_client.put(f"/v2/customers/{registered.pk}", body, format="json")

    # then the profile changes, the identifiers do not
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["createdId"] == registered.pk
    assert data["sideEffects"] == []
    assert [item["code"] for item in data["warnings"]] == [91006, 91006]
    assert [item["message"].split()[0] for item in data["warnings"]] == ["mobile", "email"]
    registered.refresh_from_db()
    assert registered.mobile == "919800000001"
    assert registered.email == "tom@example.com"
    assert registered.extended_fields == {"city": "Bangalore", "gender": "MALE"}
    assert registered.custom_fields == {"employee": "true", "gender": "Male", "city": "Bangalore"}
    assert registered.enrollments.get().tier.number == 1


@pytest.mark.django_db
def test_update_by_lookup_fixture(api_client, org):
    customer = CustomerFactory(org=org, email="tom.sawyer@example.com", first_name="T")
    body = example("customers_v2_lookup_update_request.json")
    body.pop("loyaltyProgramEnrollments")

    response = api_client.put(
        "/v2/customers/lookup?identifierName=email&identifierValue=tom.sawyer@example.com"
        "&source=INSTORE",
        body,
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json() == {"createdId": customer.pk, "warnings": [], "sideEffects": []}
    customer.refresh_from_db()
    assert (customer.first_name, customer.last_name) == ("Tom", "Sawyer")


@pytest.mark.django_db
def test_update_by_lookup_with_id_is_8013(api_client, registered):
    response = api_client.put(
        f"/v2/customers/lookup?identifierName=id&identifierValue={registered.pk}",
        {"profiles": [{"firstName": "X"}]},
        format="json",
    )

    assert first_error(response)["code"] == 8013


@pytest.mark.django_db
def test_update_loyalty_to_non_loyalty_is_1046(api_client, registered):
    body = {"loyaltyInfo": {"loyaltyType": "non_loyalty"}, "profiles": [{"firstName": "New"}]}

    response = api_client.put(f"/v2/customers/{registered.pk}", body, format="json")

    assert response.status_code == 400
    assert first_error(response)["code"] == 1046
    registered.refresh_from_db()
    assert registered.first_name == "Tom"
    assert registered.loyalty_type == LoyaltyType.LOYALTY


@pytest.mark.django_db
def test_update_non_loyalty_to_loyalty_enrolls(api_client, org, program):
    customer = CustomerFactory(org=org, loyalty_type=LoyaltyType.NON_LOYALTY)

    response = api_client.put(
        f"/v2/customers/{customer.pk}", {"loyaltyInfo": {"loyaltyType": "loyalty"}}, format="json"
    )

    assert response.status_code == 200
    assert ProgramEnrollment.objects.filter(customer=customer, program=program).exists()


@pytest.mark.django_db
def test_update_bad_email_is_8014_and_changes_nothing(api_client, registered):
    body = {"profiles": [{"firstName": "New", "identifiers": [{"type": "email", "value": "x@"}]}]}

    response = api_client.put(f"/v2/customers/{registered.pk}", body, format="json")

    assert first_error(response)["code"] == 8014
    registered.refresh_from_db()
    assert registered.first_name == "Tom"


# Org isolation and connected orgs ------------------------------------------------------------
@pytest.mark.django_db
def test_other_org_cannot_read_or_update_the_customer(other_client, registered):
    by_id = other_client.get(f"/v2/customers/{registered.pk}")
    by_lookup = other_client.get(
        "/v2/customers/lookup", {"identifierName": "mobile", "identifierValue": "919800000001"}
    )
    details = other_client.get(
        "/v2/customers/lookup/customerDetails",
        {"identifierName": "id", "identifierValue": str(registered.pk)},
    )
    update = other_client.put(
        f"/v2/customers/{registered.pk}", {"profiles": [{"firstName": "Hacked"}]}, format="json"
    )

    for response in (by_id, by_lookup, details, update):
        assert response.status_code == 404
        assert first_error(response)["code"] == 8015
    registered.refresh_from_db()
    assert registered.first_name == "Tom"


@pytest.fixture
def family(db):
    parent = OrgFactory(name="Parent brand")
    child = OrgFactory(name="Child brand", parent=parent)
    parent_till = TillFactory(org=parent, code="parent.till")
    child_till = TillFactory(org=child, code="child.till")
    child_customer = CustomerFactory(org=child, mobile="919811111111")
    parent_customer = CustomerFactory(org=parent, mobile="919822222222")
    return parent, child, parent_till, child_till, child_customer, parent_customer


@pytest.mark.django_db
def test_parent_reads_child_customer_with_other_and_all(family):
    parent, child, parent_till, _, child_customer, _ = family
    client = till_client(parent_till)
    other = {"HTTP_DATA_SCOPE": "OTHER", "HTTP_DATA_SCOPE_ORG": str(child.pk)}
    everything = {"HTTP_DATA_SCOPE": "ALL"}

    by_id = client.get(f"/v2/customers/{child_customer.pk}", **other)
    by_lookup = client.get(
        "/v2/customers/lookup",
        {"identifierName": "mobile", "identifierValue": "919811111111"},
        **everything,
    )
    details = client.get(
        "/v2/customers/lookup/customerDetails",
        {"identifierName": "mobile", "identifierValue": "919811111111"},
        **everything,
    )
    own_scope = client.get(f"/v2/customers/{child_customer.pk}")

    assert by_id.status_code == 200
    assert by_id.json()["orgId"] == child.pk
    assert by_lookup.json() == {"entity": child_customer.pk, "orgId": child.pk, "warnings": []}
    assert details.json()["orgId"] == child.pk
    assert own_scope.status_code == 404
    assert "orgId" not in client.get(f"/v2/customers/{family[5].pk}").json()


@pytest.mark.django_db
def test_child_cannot_read_parent_customer(family):
    _, _, _, child_till, _, parent_customer = family
    client = till_client(child_till)

    plain = client.get(f"/v2/customers/{parent_customer.pk}")
    widened = client.get(f"/v2/customers/{parent_customer.pk}", HTTP_DATA_SCOPE="ALL")

    assert plain.status_code == 404
    assert first_error(plain)["code"] == 8015
    assert widened.status_code == 403
    assert first_error(widened)["code"] == 1064


@pytest.mark.django_db
def test_parent_registers_into_child_with_data_scope_other(family):
    _, child, parent_till, _, _, _ = family
    client = till_client(parent_till)

    response = post_customer(
        client,
        register_body(mobile="919833333333"),
        HTTP_DATA_SCOPE="OTHER",
        HTTP_DATA_SCOPE_ORG=str(child.pk),
    )

    assert response.status_code == 200, response.content
    assert Customer.objects.get(pk=response.json()["createdId"]).org == child


@pytest.mark.django_db
def test_register_with_data_scope_all_is_refused(family):
    _, _, parent_till, _, _, _ = family

    response = post_customer(
        till_client(parent_till), register_body(mobile="919833333333"), HTTP_DATA_SCOPE="ALL"
    )

    assert response.status_code == 403
    assert Customer.objects.filter(mobile="919833333333").count() == 0
