"""The OpenAPI schema builds without warnings and lists every API route."""

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient


@pytest.mark.django_db
def test_schema_builds_without_warnings(tmp_path):
    target = tmp_path / "openapi.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    assert target.read_text().startswith("openapi: 3")


def api_routes():
    from drf_spectacular.generators import EndpointEnumerator

    endpoints = EndpointEnumerator().get_api_endpoints()
    return {entry[0] for entry in endpoints if not entry[0].startswith("/api/")}


@pytest.mark.django_db
def test_every_api_route_is_in_the_schema():
    schema = APIClient().get("/api/schema/?format=json").json()

    documented = set(schema["paths"])
    routes = api_routes()
    assert routes, "no API routes found"
    assert routes <= documented, routes - documented
    assert "/v3/oauth/token/generate" in documented


@pytest.mark.django_db
def test_swagger_page_is_served():
    response = APIClient().get("/api/docs/")

    assert response.status_code == 200
    assert b"swagger" in response.content.lower()
