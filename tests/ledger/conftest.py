"""Ledger fixtures: an org (Asia/Kolkata) with a default program, a till and members."""

from __future__ import annotations

import pytest

from members.models import PointsExpiryPolicy
from tests.ledger.factories import member
from tests.members.factories import ProgramFactory


@pytest.fixture
def expiring_program(org):
    return ProgramFactory(
        org=org, name="Expiring", expiry_policy=PointsExpiryPolicy.DAYS, expiry_value=30
    )


@pytest.fixture
def customer(org, program, till):
    return member(org, [program])


@pytest.fixture
def other_customer(org, program, till):
    return member(org, [program])
