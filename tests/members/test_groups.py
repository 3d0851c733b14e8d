"""userGroup2: create, get, join and leave (CONTRACT.md §7), v2 envelope."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from members.models import UserGroup, UserGroupMembership
from members.services.groups import user_group_member_join
from tests.members.factories import CustomerFactory, OrgFactory, TillFactory, UserGroupFactory

URL = "/v2/userGroup2"
JOIN_URL = "/v2/userGroup2/join"
LEAVE_URL = "/v2/userGroup2/leave"

# Bodies of examples/usergroup2_create_request.json, _create_extended_fields_request.json and
# _join_request.json (the join's userId is replaced with a real customer's id in the tests).
CREATE_BODY = {"externalId": "purple_externalId", "groupName": "name_purple", "maxGroupSize": 110}
CREATE_EXTENDED_BODY = {
    "externalId": "natwest_16",
    "groupName": "natwest14",
    "maxGroupSize": 110,
    "extendedFields": {"platinum": "25"},
}
JOIN_ITEM = {
    "userId": 416066472,
    "primaryMember": False,
    "permissions": ["block_points_redemption"],
}


def error_codes(response) -> list[int]:
    return [error["code"] for error in response.json()["errors"]]


def join(client, group: UserGroup, *items: dict[str, Any], **headers: str):
    return client.post(f"{JOIN_URL}?id={group.pk}", list(items), format="json", **headers)


def leave(client, group: UserGroup, *user_ids: int):
    body = [{"userId": user_id} for user_id in user_ids]
    return client.post(f"{LEAVE_URL}?id={group.pk}", body, format="json")


def only_item(response) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["totalCount"] == 1
    return body["response"][0]


def item_error_code(response) -> int:
    item = only_item(response)
    assert response.json()["failureCount"] == 1
    assert item["result"] is None
    return item["errors"][0]["code"]


def add_member(group: UserGroup, customer, *, primary: bool = False) -> UserGroupMembership:
    return user_group_member_join(
        group=group, actor=TillFactory(org=group.org), customer_id=customer.pk, is_primary=primary
    )


def group_state(group: UserGroup) -> tuple[int, int]:
    group.refresh_from_db()
    return group.member_count, UserGroupMembership.objects.filter(group=group).count()


# Create ------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_create_group_with_the_fixture_body(api_client, org, till):
    # when
    response = api_client.post(URL, CREATE_BODY, format="json")

    # then
    assert response.status_code == 200, response.content
    group = UserGroup.objects.get()
    assert response.json() == {"entity": group.pk, "warnings": []}
    assert (group.org, group.external_id, group.name, group.max_size) == (
        org,
        "purple_externalId",
        "name_purple",
        110,
    )
    assert group.status == UserGroup.Status.ACTIVE
    assert group.created_by_till == till
    assert group.member_count == 0


@pytest.mark.django_db
def test_create_group_keeps_extended_fields(api_client):
    response = api_client.post(URL, CREATE_EXTENDED_BODY, format="json")

    assert response.status_code == 200, response.content
    group = UserGroup.objects.get(pk=response.json()["entity"])
    assert group.extended_fields == {"platinum": "25"}


@pytest.mark.django_db
def test_create_with_an_existing_external_id_is_1633(api_client, org):
    # given
    existing = UserGroupFactory(org=org, external_id="purple_externalId", max_size=5)

    # when
    response = api_client.post(URL, CREATE_BODY, format="json")

    # then
    assert response.status_code == 400
    assert error_codes(response) == [1633]
    assert list(UserGroup.objects.values_list("pk", flat=True)) == [existing.pk]
    existing.refresh_from_db()
    assert existing.max_size == 5


@pytest.mark.django_db
def test_the_same_external_id_is_free_in_another_org(api_client, other_org):
    UserGroupFactory(org=other_org, external_id="purple_externalId")

    response = api_client.post(URL, CREATE_BODY, format="json")

    assert response.status_code == 200, response.content
    assert UserGroup.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"externalId": None}, "externalId"),
        ({"externalId": ""}, "externalId"),
        ({"externalId": "x" * 51}, "externalId"),
        ({"groupName": "n" * 51}, "groupName"),
        ({"maxGroupSize": None}, "maxGroupSize"),
        ({"maxGroupSize": 0}, "maxGroupSize"),
        ({"maxGroupSize": 30001}, "maxGroupSize"),
        ({"maxGroupSize": "many"}, "maxGroupSize"),
        ({"extendedFields": ["platinum"]}, "extendedFields"),
    ],
)
def test_create_with_invalid_fields_is_1634_naming_the_field(api_client, change, field):
    # given
    body = {**CREATE_BODY, **change}
    body = {key: value for key, value in body.items() if value is not None}

    # when
    response = api_client.post(URL, body, format="json")

    # then
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [error["code"] for error in errors] == [1634]
    assert errors[0]["message"].startswith(f"{field}:")
    assert not UserGroup.objects.exists()


@pytest.mark.django_db
def test_create_accepts_the_largest_group_size(api_client):
    response = api_client.post(URL, {**CREATE_BODY, "maxGroupSize": 30000}, format="json")

    assert response.status_code == 200, response.content
    assert UserGroup.objects.get().max_size == 30000


# Get ---------------------------------------------------------------------------------------
@pytest.fixture
def family(org, till):
    """A group of `org` created by `till`, with a primary and a secondary member."""
    group = UserGroupFactory(
        org=org,
        external_id="purple_externalId1",
        name="name_purple",
        max_size=110,
        created_by_till=till,
    )
    primary = CustomerFactory(org=org)
    secondary = CustomerFactory(org=org)
    add_member(group, primary, primary=True)
    add_member(group, secondary)
    return group, primary, secondary


@pytest.mark.django_db
@pytest.mark.parametrize("identifier", ["id", "externalId", "primaryUserId"])
def test_get_group_by_each_identifier(api_client, family, till, identifier):
    # given
    group, primary, secondary = family
    value = {"id": group.pk, "externalId": group.external_id, "primaryUserId": primary.pk}

    # when
    response = api_client.get(URL, {identifier: value[identifier]})

    # then
    assert response.status_code == 200, response.content
    body = response.json()
    created_on = datetime.fromisoformat(body.pop("createdOn"))
    assert created_on.utcoffset().total_seconds() == 5.5 * 3600  # Asia/Kolkata, the org's zone
    assert created_on == group.created_at.replace(microsecond=0)
    assert body == {
        "id": group.pk,
        "externalId": "purple_externalId1",
        "groupStatus": "ACTIVE",
        "createdBy": till.pk,
        "groupName": "name_purple",
        "maxGroupSize": 110,
        "expiredPoints": [],
        "expirySchedules": [],
        "gapToUpgrade": [],
        "fleetGroupUsers": [
            {
                "userId": primary.pk,
                "groupId": group.pk,
                "permissions": [],
                "defaultGroup": True,
                "active": True,
                "primaryMember": True,
            },
            {
                "userId": secondary.pk,
                "groupId": group.pk,
                "permissions": [],
                "defaultGroup": False,
                "active": True,
                "primaryMember": False,
            },
        ],
        "warnings": [],
    }


@pytest.mark.django_db
def test_get_lists_only_live_members(api_client, family):
    group, primary, secondary = family
    leave(api_client, group, secondary.pk)

    response = api_client.get(URL, {"id": group.pk})

    assert [user["userId"] for user in response.json()["fleetGroupUsers"]] == [primary.pk]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({}, 400, 1632),
        ({"id": "1", "externalId": "purple"}, 400, 1632),
        ({"id": "abc"}, 400, 1619),
        ({"id": "999999"}, 404, 1632),
        ({"externalId": "nope"}, 404, 1632),
        ({"primaryUserId": "999999"}, 404, 1632),
    ],
)
def test_get_without_one_valid_identifier(api_client, family, params, status, code):
    response = api_client.get(URL, params)

    assert response.status_code == status
    assert error_codes(response) == [code]
    assert response.json()["warnings"] == []


@pytest.mark.django_db
def test_primary_user_id_of_a_secondary_member_names_no_group(api_client, family):
    _group, _primary, secondary = family

    response = api_client.get(URL, {"primaryUserId": secondary.pk})

    assert response.status_code == 404
    assert error_codes(response) == [1632]


# Org isolation and connected orgs ----------------------------------------------------------
@pytest.mark.django_db
def test_another_org_cannot_get_join_or_leave_the_group(other_client, other_org, family):
    # given
    group, primary, _secondary = family
    outsider = CustomerFactory(org=other_org)
    before = group_state(group)

    # when
    responses = [
        other_client.get(URL, {"id": group.pk}),
        other_client.get(URL, {"externalId": group.external_id}),
        other_client.get(URL, {"primaryUserId": primary.pk}),
        join(other_client, group, {"userId": outsider.pk}),
        leave(other_client, group, primary.pk),
    ]

    # then
    for response in responses:
        assert response.status_code == 404
        assert error_codes(response) == [1632]
    assert group_state(group) == before
    assert not UserGroupMembership.objects.filter(customer=outsider).exists()


@pytest.mark.django_db
def test_parent_org_reads_a_child_group_with_data_scope(api_client, org):
    # given
    child = OrgFactory(parent=org)
    group = UserGroupFactory(org=child)

    # when
    own_scope = api_client.get(URL, {"id": group.pk})
    all_scope = api_client.get(URL, {"id": group.pk}, HTTP_DATA_SCOPE="ALL")
    other_scope = api_client.get(
        URL, {"id": group.pk}, HTTP_DATA_SCOPE="OTHER", HTTP_DATA_SCOPE_ORG=str(child.pk)
    )

    # then
    assert own_scope.status_code == 404
    assert all_scope.status_code == 200, all_scope.content
    assert all_scope.json()["orgId"] == child.pk
    assert other_scope.json()["orgId"] == child.pk
    assert "orgId" not in api_client.get(URL, {"id": UserGroupFactory(org=org).pk}).json()


# Join --------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_join_with_the_fixture_body(api_client, org):
    # given
    group = UserGroupFactory(org=org, max_size=110)
    customer = CustomerFactory(org=org)

    # when
    response = join(api_client, group, {**JOIN_ITEM, "userId": customer.pk})

    # then
    member = {
        "userId": customer.pk,
        "groupId": group.pk,
        "permissions": ["block_points_redemption"],
        "defaultGroup": False,
        "active": True,
        "primaryMember": False,
    }
    assert response.status_code == 200, response.content
    assert response.json() == {
        "response": [{"entityId": member, "result": member, "warnings": []}],
        "totalCount": 1,
        "failureCount": 0,
    }
    membership = UserGroupMembership.objects.get(group=group)
    assert (membership.customer, membership.is_active, membership.is_primary) == (
        customer,
        True,
        False,
    )
    assert membership.permissions == ["block_points_redemption"]
    assert group_state(group) == (1, 1)


@pytest.mark.django_db
def test_join_by_external_id_and_primary_user_id(api_client, org):
    # given
    group = UserGroupFactory(org=org)
    first, second, third = CustomerFactory.create_batch(3, org=org)

    # when
    by_external_id = api_client.post(
        f"{JOIN_URL}?externalId={group.external_id}",
        [{"userId": first.pk, "primaryMember": True}],
        format="json",
    )
    by_primary = api_client.post(
        f"{JOIN_URL}?primaryUserId={first.pk}",
        [{"userId": second.pk}, {"userId": third.pk}],
        format="json",
    )

    # then
    assert by_external_id.json()["response"][0]["result"]["defaultGroup"] is True
    assert by_primary.json()["failureCount"] == 0
    assert group_state(group) == (3, 3)


@pytest.mark.django_db
def test_batch_items_are_independent(api_client, org):
    # given
    group = UserGroupFactory(org=org)
    customer = CustomerFactory(org=org)

    # when
    response = join(api_client, group, {"userId": customer.pk}, {"userId": 999999})

    # then
    body = response.json()
    assert (body["totalCount"], body["failureCount"]) == (2, 1)
    assert "errors" not in body["response"][0]
    assert body["response"][1]["errors"] == [
        {"status": False, "code": 8015, "message": body["response"][1]["errors"][0]["message"]}
    ]
    assert body["response"][1]["entityId"]["userId"] == 999999
    assert group_state(group) == (1, 1)


def _customer_of_unrelated_org(group):
    return CustomerFactory(org=OrgFactory()).pk


def _customer_of_child_org(group):
    return CustomerFactory(org=OrgFactory(parent=group.org)).pk


def _merged_customer(group):
    survivor = CustomerFactory(org=group.org)
    return CustomerFactory(org=group.org, merged_into=survivor).pk


def _member_of_this_group(group):
    customer = CustomerFactory(org=group.org)
    add_member(group, customer)
    return customer.pk


def _member_of_another_group(group):
    customer = CustomerFactory(org=group.org)
    add_member(UserGroupFactory(org=group.org), customer)
    return customer.pk


def _primary_of_another_group(group):
    customer = CustomerFactory(org=group.org)
    add_member(UserGroupFactory(org=group.org), customer, primary=True)
    return customer.pk


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("make_user_id", "code"),
    [
        (lambda group: 999999, 8015),
        (_customer_of_unrelated_org, 8015),
        (_customer_of_child_org, 1622),
        (_merged_customer, 8069),
        (_member_of_this_group, 1623),
        (_member_of_another_group, 1623),
        (_primary_of_another_group, 1642),
    ],
    ids=["unknown", "unrelated-org", "child-org", "merged", "in-this", "in-other", "primary-other"],
)
def test_join_customer_errors_write_nothing(api_client, org, make_user_id, code):
    # given
    group = UserGroupFactory(org=org)
    user_id = make_user_id(group)
    before = group_state(group)
    memberships = UserGroupMembership.objects.count()

    # when
    response = join(api_client, group, {"userId": user_id})

    # then
    assert item_error_code(response) == code
    assert group_state(group) == before
    assert UserGroupMembership.objects.count() == memberships


@pytest.mark.django_db
def test_join_a_second_primary_is_1637(api_client, org):
    # given
    group = UserGroupFactory(org=org)
    add_member(group, CustomerFactory(org=org), primary=True)
    customer = CustomerFactory(org=org)

    # when
    response = join(api_client, group, {"userId": customer.pk, "primaryMember": True})

    # then
    assert item_error_code(response) == 1637
    assert group_state(group) == (1, 1)


@pytest.mark.django_db
def test_join_a_full_group_is_1638(api_client, org):
    # given
    group = UserGroupFactory(org=org, max_size=2)
    first, second, third = CustomerFactory.create_batch(3, org=org)

    # when
    response = join(api_client, group, *({"userId": c.pk} for c in (first, second, third)))

    # then
    body = response.json()
    assert body["failureCount"] == 1
    assert body["response"][2]["errors"][0]["code"] == 1638
    assert group_state(group) == (2, 2)
    assert not UserGroupMembership.objects.filter(customer=third).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("status", [UserGroup.Status.INACTIVE, UserGroup.Status.DELETED])
def test_join_a_group_that_is_not_active_is_1639(api_client, org, status):
    group = UserGroupFactory(org=org, status=status)

    response = join(api_client, group, {"userId": CustomerFactory(org=org).pk})

    assert item_error_code(response) == 1639
    assert group_state(group) == (0, 0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "item",
    [
        {"permissions": ["block_everything"]},
        {"permissions": "block_points_redemption"},
        {"userId": None},
        {"userId": "abc"},
        {"primaryMember": "sometimes"},
    ],
)
def test_join_invalid_item_is_1634(api_client, org, item):
    # given
    group = UserGroupFactory(org=org)
    body = {"userId": CustomerFactory(org=org).pk, **item}

    # when
    response = join(api_client, group, body)

    # then
    assert item_error_code(response) == 1634
    assert group_state(group) == (0, 0)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "code"),
    [({"userId": 1}, 1634), ([], 1634), ([{"userId": 1}] * 101, 1060)],
    ids=["object", "empty", "too-many"],
)
def test_join_body_must_be_a_bounded_array(api_client, org, body, code):
    group = UserGroupFactory(org=org)

    response = api_client.post(f"{JOIN_URL}?id={group.pk}", body, format="json")

    assert response.status_code == 400
    assert error_codes(response) == [code]
    assert group_state(group) == (0, 0)


@pytest.mark.django_db
def test_join_unknown_group_is_404_1632(api_client, org):
    customer = CustomerFactory(org=org)

    response = api_client.post(f"{JOIN_URL}?id=999999", [{"userId": customer.pk}], format="json")

    assert response.status_code == 404
    assert error_codes(response) == [1632]
    assert not UserGroupMembership.objects.exists()


@pytest.mark.django_db
def test_parent_joins_a_child_group_with_data_scope_other(api_client, org):
    # given
    child = OrgFactory(parent=org)
    group = UserGroupFactory(org=child)
    child_customer = CustomerFactory(org=child)
    parent_customer = CustomerFactory(org=org)
    headers = {"HTTP_DATA_SCOPE": "OTHER", "HTTP_DATA_SCOPE_ORG": str(child.pk)}

    # when
    response = join(
        api_client, group, {"userId": child_customer.pk}, {"userId": parent_customer.pk}, **headers
    )

    # then
    items = response.json()["response"]
    assert items[0]["result"]["userId"] == child_customer.pk
    assert items[1]["errors"][0]["code"] == 1622
    assert group_state(group) == (1, 1)


# Leave -------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_secondary_member_leaves(api_client, family):
    # given
    group, _primary, secondary = family

    # when
    response = leave(api_client, group, secondary.pk)

    # then
    item = only_item(response)
    assert item["result"] == {
        "userId": secondary.pk,
        "groupId": group.pk,
        "permissions": [],
        "defaultGroup": False,
        "active": False,
        "primaryMember": False,
    }
    membership = UserGroupMembership.objects.get(customer=secondary)
    assert membership.is_active is False
    assert membership.left_at is not None
    group.refresh_from_db()
    assert group.member_count == 1


@pytest.mark.django_db
def test_leave_when_not_a_member_is_1620(api_client, org, family):
    group, _primary, _secondary = family
    stranger = CustomerFactory(org=org)
    before = group_state(group)

    response = leave(api_client, group, stranger.pk)

    assert item_error_code(response) == 1620
    assert group_state(group) == before


@pytest.mark.django_db
def test_primary_cannot_leave_while_others_remain_1640(api_client, family):
    # given
    group, primary, _secondary = family
    before = group_state(group)

    # when
    response = leave(api_client, group, primary.pk)

    # then
    assert item_error_code(response) == 1640
    assert group_state(group) == before
    assert UserGroupMembership.objects.get(customer=primary).is_active is True


@pytest.mark.django_db
def test_primary_leaves_when_alone_and_may_rejoin(api_client, family):
    # given
    group, primary, secondary = family

    # when
    response = leave(api_client, group, secondary.pk, primary.pk)
    rejoin = join(api_client, group, {"userId": primary.pk, "primaryMember": True})

    # then
    assert response.json()["failureCount"] == 0
    left = UserGroupMembership.objects.get(customer=primary, is_active=False)
    assert left.left_at is not None
    assert only_item(rejoin)["result"]["primaryMember"] is True
    assert group_state(group) == (1, 3)
