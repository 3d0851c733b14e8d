"""manage.py ledger_verify: clean ledgers pass; drift is printed and fails the command."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from ledger import services
from ledger.models import PointsAccount, PointsLot
from members.models import PointsCategory
from tests.ledger.factories import earn, key, member


@pytest.fixture
def busy_ledger(org, program, till):
    customer, friend = member(org, [program]), member(org, [program])
    earn(customer, program, 100, actor=till)
    earn(friend, program, 40, actor=till)
    redemption = services.points_redeem(
        customer=customer, program=program, points=30, actor=till, idempotency_key=key()
    )
    services.points_redemption_reverse(
        org=org, redemption_id=redemption.code, points=10, actor=till, idempotency_key=key()
    )
    services.points_transfer(
        sender=customer,
        receiver=friend,
        program=program,
        points=20,
        actor=till,
        idempotency_key=key(),
    )
    services.ledger_customer_merge(
        victim=friend, survivor=customer, actor=till, idempotency_key=key()
    )
    return customer


def run(*args) -> str:
    out = StringIO()
    call_command("ledger_verify", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_a_clean_ledger_verifies(org, busy_ledger):
    assert "no drift" in run()
    assert "no drift" in run("--org", str(org.pk))


@pytest.mark.django_db
def test_balance_drift_fails(org, program, busy_ledger):
    account = PointsAccount.objects.get(
        customer=busy_ledger, program=program, category=PointsCategory.REGULAR
    )
    PointsAccount.objects.filter(pk=account.pk).update(balance=account.balance + 1)

    out = StringIO()
    with pytest.raises(CommandError) as error:
        call_command("ledger_verify", stdout=out)

    assert error.value.returncode == 1
    assert f"account {account.pk}" in out.getvalue()
    assert "[balance]" in out.getvalue()


@pytest.mark.django_db
def test_lot_drift_fails(org, program, busy_ledger):
    lot = PointsLot.objects.filter(account__customer=busy_ledger, remaining_points__gt=0).first()
    PointsLot.objects.filter(pk=lot.pk).update(remaining_points=lot.remaining_points - 1)

    out = StringIO()
    with pytest.raises(CommandError):
        call_command("ledger_verify", stdout=out)

    assert "[lots]" in out.getvalue() and "[lot]" in out.getvalue()


@pytest.mark.django_db
def test_unknown_org(org):
    with pytest.raises(CommandError):
        run("--org", "999999")
