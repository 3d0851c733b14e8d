import pytest


@pytest.mark.django_db
def test_oauth_token_roundtrip(till, api_client):
    from rest_framework.test import APIClient

    from tests.members.factories import TILL_OAUTH_SECRET

    client = APIClient()
    response = client.post(
        "/v3/oauth/token/generate",
        {"key": till.oauth_key, "secret": TILL_OAUTH_SECRET},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["data"]["ttlSeconds"] == 300
