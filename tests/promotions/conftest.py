"""Promotions fixtures: a member of the default program (lowest tier) and a fresh catalog."""

from __future__ import annotations

import pytest

from members.models import ProgramEnrollment
from promotions.services.catalog import catalog_clear
from tests.promotions.factories import member


@pytest.fixture(autouse=True)
def _fresh_catalog():
    catalog_clear()
    yield
    catalog_clear()


@pytest.fixture
def customer(org, program, till):
    customer = member(org, [program])
    ProgramEnrollment.objects.filter(customer=customer, program=program).update(
        tier=program.tiers.get(number=1)
    )
    return customer
