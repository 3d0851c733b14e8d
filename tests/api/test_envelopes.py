"""One exception handler renders every error in the endpoint family's envelope."""

import pytest
from rest_framework.test import APIClient, APIRequestFactory

from loyalty_site.api.envelopes import Envelope
from tests.api.views_for_tests import make_failing_view
from tests.conftest import basic_header

factory = APIRequestFactory()


def request(till, envelope, method="get", path="/x", **kwargs):
    view = make_failing_view(envelope).as_view()
    headers = {"HTTP_AUTHORIZATION": basic_header(till.code)}
    headers.update(kwargs.pop("headers", {}))
    return view(getattr(factory, method)(path, **kwargs, **headers))


def error_code_and_message(envelope, data):
    """Where each family keeps its (code, message)."""
    if envelope is Envelope.V11:
        status = data["response"]["status"]
        assert status["success"] == "false"
        return status["code"], status["message"]
    if envelope is Envelope.LOYALTY:
        assert data["data"] is None
        assert data["validationErrors"]
        return data["status"]["code"], data["status"]["message"]
    if envelope is Envelope.REWARDS:
        assert data["status"]["success"] is False
        return data["status"]["code"], data["status"]["message"]
    if envelope is Envelope.OAUTH:
        assert data["data"] is None
        return data["errors"][0]["code"], "; ".join(e["message"] for e in data["errors"])
    if envelope is Envelope.ENGINE:
        assert {"timestamp", "errorCode", "message", "errorDetails"} <= set(data)
        return data["errorDetails"][0]["code"], data["message"]
    assert data["warnings"] == []
    assert all(error["status"] is False for error in data["errors"])
    return data["errors"][0]["code"], "; ".join(e["message"] for e in data["errors"])


families = pytest.mark.parametrize("envelope", list(Envelope), ids=[e.name for e in Envelope])


@pytest.mark.django_db
@families
def test_domain_error_keeps_its_code_and_status(till, envelope):
    response = request(till, envelope, data={"fail": "domain"})

    assert response.status_code == 400
    assert error_code_and_message(envelope, response.data) == (702, "Coupon already redeemed")


@pytest.mark.django_db
@families
def test_validation_errors_name_each_field(till, envelope):
    response = request(
        till, envelope, "post", data={"name": "too long", "items": [1, 0]}, format="json"
    )

    assert response.status_code == 400
    code, message = error_code_and_message(envelope, response.data)
    assert code == 400
    assert "name:" in message
    assert "items[1]" in message or "items.1" in message


@pytest.mark.django_db
@families
def test_malformed_json_is_a_400(till, envelope):
    response = request(till, envelope, "post", data="{bad json", content_type="application/json")

    assert response.status_code == 400
    code, message = error_code_and_message(envelope, response.data)
    assert "Malformed" in message


@pytest.mark.django_db
@families
def test_unsupported_media_type_is_a_415(till, envelope):
    response = request(till, envelope, "post", data="name=a", content_type="text/plain")

    assert response.status_code == 415
    assert error_code_and_message(envelope, response.data)[0] == 415


@pytest.mark.django_db
@families
def test_wrong_method_is_a_405(till, envelope):
    response = request(till, envelope, "delete")

    assert response.status_code == 405
    assert error_code_and_message(envelope, response.data)[0] == 405


@pytest.mark.django_db
@families
def test_unauthenticated_is_a_401(till, envelope):
    response = request(till, envelope, headers={"HTTP_AUTHORIZATION": "Basic eDp5"})

    assert response.status_code == 401
    assert error_code_and_message(envelope, response.data)[0] == 401


@pytest.mark.django_db
@families
def test_unexpected_crash_is_a_500_in_the_envelope(till, envelope):
    response = request(till, envelope, data={"fail": "crash"})

    assert response.status_code == 500
    assert error_code_and_message(envelope, response.data) == (500, "Internal error")


@pytest.mark.django_db
def test_unknown_api_path_answers_json_404():
    response = APIClient().get("/v2/no/such/thing")

    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == 404


@pytest.mark.django_db
def test_unknown_non_api_path_is_django_404():
    response = APIClient().get("/no/such/page")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
