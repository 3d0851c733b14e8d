"""Factories and helpers for the ledger tests."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import factory
from django.utils import timezone

from ledger import services
from ledger.models import LedgerEntry, LedgerEvent, LotConsumption, PointsAccount, PointsLot
from ledger.selectors import ledger_verify
from members import models as members_models
from members.models import PointsCategory
from tests.members.factories import CustomerFactory, ProgramFactory


class ProgramEnrollmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = members_models.ProgramEnrollment

    customer = factory.SubFactory(CustomerFactory)
    program = factory.SubFactory(ProgramFactory, org=factory.SelfAttribute("..customer.org"))
    enrolled_at = factory.LazyFunction(timezone.now)


def key() -> str:
    return f"test-{uuid.uuid4().hex}"


def member(org, programs, **kwargs) -> members_models.Customer:
    """A customer enrolled in `programs` with an open ledger (as registration leaves it)."""
    customer = CustomerFactory(org=org, **kwargs)
    for program in programs:
        ProgramEnrollmentFactory(customer=customer, program=program)
    services.ledger_open_accounts_on_registration(customer=customer, actor=None, context={})
    return customer


def earn(owner, program, points, *, actor=None, **kwargs: Any) -> LedgerEvent:
    owner_kwargs = (
        {"customer": owner} if isinstance(owner, members_models.Customer) else {"user_group": owner}
    )
    return services.points_allocate(
        **owner_kwargs,
        program=program,
        points=points,
        event_name=kwargs.pop("event_name", "TransactionAdd"),
        actor=actor,
        idempotency_key=kwargs.pop("idempotency_key", None) or key(),
        **kwargs,
    )


def balance(owner, program, category: str = PointsCategory.REGULAR) -> Decimal:
    field = "customer" if isinstance(owner, members_models.Customer) else "user_group"
    account = PointsAccount.objects.filter(
        **{field: owner}, program=program, category=category
    ).first()
    return account.balance if account else Decimal(0)


def lots_of(owner, program, category: str = PointsCategory.REGULAR) -> list[PointsLot]:
    field = "customer" if isinstance(owner, members_models.Customer) else "user_group"
    return list(
        PointsLot.objects.filter(
            **{f"account__{field}": owner}, account__program=program, account__category=category
        ).order_by("id")
    )


def snapshot(org) -> dict[str, Any]:
    """Everything a failed write must leave as it was."""
    return {
        "events": LedgerEvent.objects.filter(org=org).count(),
        "entries": LedgerEntry.objects.filter(account__org=org).count(),
        "consumptions": LotConsumption.objects.filter(lot__account__org=org).count(),
        "balances": sorted(
            PointsAccount.objects.filter(org=org).values_list(
                "pk", "balance", "last_sequence", "allows_negative_balance"
            )
        ),
        "lots": sorted(
            PointsLot.objects.filter(account__org=org).values_list("pk", "remaining_points")
        ),
        "merged": sorted(
            members_models.Customer.objects.filter(org=org).values_list("pk", "merged_into_id")
        ),
    }


def assert_consistent(org) -> None:
    drifts = ledger_verify(org=org)
    assert drifts == [], drifts
