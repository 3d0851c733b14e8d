"""Basic and OAuth authentication of tills (contract §8)."""

import base64

import pytest
from django.core import signing
from rest_framework.test import APIClient, APIRequestFactory

from loyalty_site.api.authentication import OAUTH_SALT, md5_hex, oauth_token_issue
from tests.api.views_for_tests import WhoAmIApi
from tests.conftest import basic_header
from tests.members.factories import TILL_OAUTH_SECRET, TillFactory

factory = APIRequestFactory()
view = WhoAmIApi.as_view()


def call(**headers):
    return view(factory.get("/whoami", **headers))


@pytest.mark.django_db
def test_basic_auth_with_md5_password_identifies_the_till(till):
    response = call(HTTP_AUTHORIZATION=basic_header(till.code))

    assert response.status_code == 200
    assert response.data == {
        "till": till.code,
        "authTill": till.code,
        "org": till.org_id,
        "method": "basic",
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header",
    [
        None,
        "Basic " + base64.b64encode(b"acme.till01:" + md5_hex("wrong").encode()).decode(),
        "Basic " + base64.b64encode(b"nobody:" + md5_hex("till-secret-1").encode()).decode(),
        "Basic !!!notbase64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic a b",
    ],
    ids=["missing", "wrong-password", "unknown-till", "bad-base64", "no-colon", "extra-parts"],
)
def test_bad_basic_credentials_get_401_in_the_v2_envelope(till, header):
    headers = {"HTTP_AUTHORIZATION": header} if header else {}

    response = call(**headers)

    assert response.status_code == 401
    assert response.data["errors"][0]["status"] is False
    assert response.data["errors"][0]["code"] in (401,)
    assert "WWW-Authenticate" in response


@pytest.mark.django_db
def test_inactive_till_cannot_authenticate(till):
    till.is_active = False
    till.save()

    assert call(HTTP_AUTHORIZATION=basic_header(till.code)).status_code == 401


@pytest.mark.django_db
def test_password_change_invalidates_the_cached_check(till):
    from django.contrib.auth.hashers import make_password

    assert call(HTTP_AUTHORIZATION=basic_header(till.code)).status_code == 200
    till.password_hash = make_password(md5_hex("new-password"), hasher="md5")
    till.save()

    assert call(HTTP_AUTHORIZATION=basic_header(till.code)).status_code == 401
    assert call(HTTP_AUTHORIZATION=basic_header(till.code, "new-password")).status_code == 200


@pytest.mark.django_db
def test_oauth_token_generate_and_use(till):
    client = APIClient()

    generated = client.post(
        "/v3/oauth/token/generate",
        {"key": till.oauth_key, "secret": TILL_OAUTH_SECRET},
        format="json",
    )

    assert generated.status_code == 200
    body = generated.json()
    assert body["errors"] is None
    assert body["data"]["ttlSeconds"] == 300
    response = call(HTTP_X_CAP_API_OAUTH_TOKEN=body["data"]["accessToken"])
    assert response.status_code == 200
    assert response.data["method"] == "oauth"
    assert response.data["till"] == till.code


@pytest.mark.django_db
@pytest.mark.parametrize(
    "payload",
    [
        {"key": "key-unknown", "secret": TILL_OAUTH_SECRET},
        {"key": "__TILL__", "secret": "wrong"},
        {"key": "__TILL__"},
        {},
    ],
    ids=["unknown-key", "wrong-secret", "missing-secret", "empty"],
)
def test_oauth_token_generate_rejects_bad_credentials(till, payload):
    payload = {k: (till.oauth_key if v == "__TILL__" else v) for k, v in payload.items()}

    response = APIClient().post("/v3/oauth/token/generate", payload, format="json")

    body = response.json()
    assert response.status_code in (400, 401)
    assert body["data"] is None
    assert body["errors"] and all({"code", "message"} <= set(e) for e in body["errors"])


@pytest.mark.django_db
def test_oauth_generate_with_malformed_json_is_a_400_in_the_oauth_envelope(till):
    response = APIClient().post(
        "/v3/oauth/token/generate", data="{not json", content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["data"] is None


@pytest.mark.django_db
def test_expired_oauth_token_gets_401_with_code_1529(till, settings):
    token, _ = oauth_token_issue(till=till)
    settings.OAUTH_TOKEN_TTL_SECONDS = -1

    response = call(HTTP_X_CAP_API_OAUTH_TOKEN=token)

    assert response.status_code == 401
    assert response.data["errors"][0]["code"] == 1529


@pytest.mark.django_db
def test_tampered_or_foreign_oauth_token_is_rejected(till, other_till):
    token, _ = oauth_token_issue(till=till)
    forged = signing.dumps({"till": other_till.pk, "org": till.org_id}, salt=OAUTH_SALT)

    assert call(HTTP_X_CAP_API_OAUTH_TOKEN=token + "x").status_code == 401
    assert call(HTTP_X_CAP_API_OAUTH_TOKEN=forged).status_code == 401


@pytest.mark.django_db
def test_attribution_headers_book_the_call_on_another_till_of_the_same_org(till, other_till):
    second = TillFactory(org=till.org, code="acme.till02")
    auth = basic_header(till.code)

    same_org = call(
        HTTP_AUTHORIZATION=auth,
        HTTP_X_CAP_API_ATTRIBUTION_LOOKUP_TYPE="TILL",
        HTTP_X_CAP_API_ATTRIBUTION_LOOKUP=second.code,
    )
    foreign = call(
        HTTP_AUTHORIZATION=auth,
        HTTP_X_CAP_API_ATTRIBUTION_LOOKUP_TYPE="TILL",
        HTTP_X_CAP_API_ATTRIBUTION_LOOKUP=other_till.code,
    )
    half = call(HTTP_AUTHORIZATION=auth, HTTP_X_CAP_API_ATTRIBUTION_LOOKUP_TYPE="TILL")

    assert same_org.status_code == 200
    assert same_org.data["till"] == second.code
    assert same_org.data["authTill"] == till.code
    assert foreign.status_code == 400
    assert foreign.data["errors"][0]["code"] == 1062
    assert half.status_code == 400
    assert half.data["errors"][0]["code"] == 1061
