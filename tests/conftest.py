"""Shared fixtures: an org with a till, and API clients authenticated as that till."""

from __future__ import annotations

import base64

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from loyalty_site.api.authentication import md5_hex
from tests.members.factories import (
    TILL_PASSWORD,
    OrgFactory,
    ProgramFactory,
    TierFactory,
    TillFactory,
)


def basic_header(username: str, password: str = TILL_PASSWORD) -> str:
    token = base64.b64encode(f"{username}:{md5_hex(password)}".encode()).decode()
    return f"Basic {token}"


def till_client(till, password: str = TILL_PASSWORD) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=basic_header(till.code, password))
    return client


@pytest.fixture(autouse=True, scope="session")
def _celery_eager():
    """Tests run Celery tasks in-process even when REDIS_URL (the broker) is set, as in CI."""
    from loyalty_site.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Tests hash with MD5 so that creating tills and users stays fast; never in production."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    ]


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def org(db):
    return OrgFactory(name="Acme Retail")


@pytest.fixture
def till(org):
    return TillFactory(org=org, code="acme.till01")


@pytest.fixture
def program(org):
    program = ProgramFactory(org=org, name="Acme Rewards", is_default=True)
    for number, name in ((1, "Silver"), (2, "Gold"), (3, "Platinum")):
        TierFactory(program=program, number=number, name=name)
    return program


@pytest.fixture
def api_client(till) -> APIClient:
    return till_client(till)


@pytest.fixture
def other_org(db):
    return OrgFactory(name="Other Brand")


@pytest.fixture
def other_till(other_org):
    return TillFactory(org=other_org, code="other.till01")


@pytest.fixture
def other_client(other_till) -> APIClient:
    return till_client(other_till)


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.fixture
def postgres_only():
    """Skip a concurrency test on SQLite, which serialises writers and has no row locks."""
    if not is_postgres():
        pytest.skip("needs PostgreSQL row locks; run with DATABASE_URL=postgres://...")
