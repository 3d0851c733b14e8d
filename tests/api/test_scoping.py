"""Connected-org data scopes: each combination of DATA-SCOPE and DATA-SCOPE-ORG (contract §7)."""

import pytest
from rest_framework.test import APIRequestFactory

from tests.api.views_for_tests import ScopeApi
from tests.conftest import basic_header
from tests.members.factories import OrgFactory, TillFactory

factory = APIRequestFactory()
view = ScopeApi.as_view()


@pytest.fixture
def family(db):
    parent = OrgFactory(name="Parent")
    children = [OrgFactory(name=f"Child {i}", parent=parent) for i in range(2)]
    till = TillFactory(org=parent, code="parent.till")
    child_till = TillFactory(org=children[0], code="child.till")
    stranger = OrgFactory(name="Stranger")
    return parent, children, till, child_till, stranger


def get(till, **headers):
    return view(factory.get("/scope", HTTP_AUTHORIZATION=basic_header(till.code), **headers))


def post(till, **headers):
    request = factory.post(
        "/scope", {}, format="json", HTTP_AUTHORIZATION=basic_header(till.code), **headers
    )
    return view(request)


def test_self_is_the_default(family):
    parent, _, till, _, _ = family

    response = get(till)

    assert response.data == {"mode": "SELF", "orgIds": [parent.id]}


def test_explicit_self_with_scope_org_is_refused(family):
    _, children, till, _, _ = family

    response = get(till, HTTP_DATA_SCOPE="SELF", HTTP_DATA_SCOPE_ORG=str(children[0].id))

    assert response.status_code == 400
    assert response.data["errors"][0]["code"] == 1064


def test_other_reads_named_children(family):
    _, children, till, _, _ = family
    ids = f"{children[0].id},{children[1].id}"

    one = get(till, HTTP_DATA_SCOPE="OTHER", HTTP_DATA_SCOPE_ORG=str(children[1].id))
    two = get(till, HTTP_DATA_SCOPE="other", HTTP_DATA_SCOPE_ORGS=ids)

    assert one.data == {"mode": "OTHER", "orgIds": [children[1].id]}
    assert two.data == {"mode": "OTHER", "orgIds": [children[0].id, children[1].id]}


def test_other_without_org_or_with_a_non_child_is_refused(family):
    parent, children, till, _, stranger = family

    missing = get(till, HTTP_DATA_SCOPE="OTHER")
    foreign = get(till, HTTP_DATA_SCOPE="OTHER", HTTP_DATA_SCOPE_ORG=str(stranger.id))
    itself = get(till, HTTP_DATA_SCOPE="OTHER", HTTP_DATA_SCOPE_ORG=str(parent.id))
    garbage = get(till, HTTP_DATA_SCOPE="OTHER", HTTP_DATA_SCOPE_ORG="abc")

    assert missing.status_code == 400 and missing.data["errors"][0]["code"] == 1064
    assert foreign.status_code == 403 and foreign.data["errors"][0]["code"] == 1064
    assert itself.status_code == 403
    assert garbage.status_code == 400


def test_more_than_two_orgs_is_refused(family):
    parent, children, till, _, _ = family
    third = OrgFactory(name="Child 3", parent=parent)
    ids = ",".join(str(org.id) for org in [*children, third])

    response = get(till, HTTP_DATA_SCOPE="OTHER", HTTP_DATA_SCOPE_ORG=ids)

    assert response.status_code == 400
    assert response.data["errors"][0]["code"] == 1064


def test_all_reads_parent_and_children_on_get_only(family):
    parent, children, till, _, _ = family

    read = get(till, HTTP_DATA_SCOPE="ALL")
    write = post(till, HTTP_DATA_SCOPE="ALL")

    assert read.data == {"mode": "ALL", "orgIds": [parent.id, children[0].id, children[1].id]}
    assert write.status_code == 403


def test_all_with_more_than_two_children_needs_a_choice(family):
    parent, children, till, _, _ = family
    OrgFactory(name="Child 3", parent=parent)

    unnamed = get(till, HTTP_DATA_SCOPE="ALL")
    named = get(till, HTTP_DATA_SCOPE="ALL", HTTP_DATA_SCOPE_ORG=str(children[1].id))

    assert unnamed.status_code == 400
    assert named.data == {"mode": "ALL", "orgIds": [parent.id, children[1].id]}


def test_post_goes_from_parent_to_exactly_one_child(family):
    parent, children, till, _, _ = family
    both = f"{children[0].id},{children[1].id}"

    own = post(till)
    to_child = post(till, HTTP_DATA_SCOPE="OTHER", HTTP_DATA_SCOPE_ORG=str(children[0].id))
    to_two = post(till, HTTP_DATA_SCOPE="OTHER", HTTP_DATA_SCOPE_ORG=both)

    assert own.data == {"mode": "SELF", "writeOrgId": parent.id}
    assert to_child.data == {"mode": "OTHER", "writeOrgId": children[0].id}
    assert to_two.status_code == 400


def test_child_cannot_reach_parent_or_siblings(family):
    parent, children, _, child_till, _ = family

    up = get(child_till, HTTP_DATA_SCOPE="OTHER", HTTP_DATA_SCOPE_ORG=str(parent.id))
    everything = get(child_till, HTTP_DATA_SCOPE="ALL")
    sibling = post(child_till, HTTP_DATA_SCOPE="OTHER", HTTP_DATA_SCOPE_ORG=str(children[1].id))

    assert up.status_code == 403
    assert everything.status_code == 403
    assert sibling.status_code == 403


def test_unknown_scope_value_is_refused(family):
    _, _, till, _, _ = family

    response = get(till, HTTP_DATA_SCOPE="EVERYTHING")

    assert response.status_code == 400
    assert "SELF, OTHER or ALL" in response.data["errors"][0]["message"]
