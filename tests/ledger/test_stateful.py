"""Random sequences of ledger operations keep every invariant (Hypothesis stateful test).

After each step: balances equal the sums of their entries, closing balances are a running sum
from an opening balance, lot remainders add up to the balance, and no balance is negative
unless the merge rule (or a negative back-fill) flagged the account. A step that fails with a
DomainError must have changed nothing.
"""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ledger import services
from ledger.models import PointsAccount
from ledger.selectors import ledger_verify
from ledger.services import ReturnLine
from loyalty_site.core.exceptions import DomainError
from members.models import PointsCategory, PointsExpiryPolicy, ReturnType, TransactionType
from tests.ledger.factories import ProgramEnrollmentFactory, member, snapshot
from tests.members.factories import (
    CustomerFactory,
    OrgFactory,
    ProgramFactory,
    TillFactory,
    TransactionFactory,
)

CATEGORIES = [PointsCategory.REGULAR, PointsCategory.PROMISED, PointsCategory.TRIGGER_BASED]
earn_points = st.integers(min_value=20, max_value=300)
points_strategy = st.integers(min_value=1, max_value=60)
index = st.integers(min_value=0, max_value=50)


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.org = OrgFactory()
        self.till = TillFactory(org=self.org)
        self.programs = [
            ProgramFactory(org=self.org, expiry_policy=PointsExpiryPolicy.DAYS, expiry_value=30),
            ProgramFactory(org=self.org),
        ]
        self.customers = [member(self.org, self.programs) for _ in range(3)]
        # one customer back-filled from a negative legacy balance
        debtor = CustomerFactory(org=self.org)
        for program in self.programs:
            ProgramEnrollmentFactory(customer=debtor, program=program)
        services.ledger_backfill_owner(
            customer=debtor, balances={(self.programs[0].pk, PointsCategory.REGULAR): -30}
        )
        self.customers.append(debtor)
        self.bills: list[tuple] = []
        self.redemptions: list[str] = []
        self.keys = itertools.count()
        self.merges = 0

    def key(self) -> str:
        return f"step-{next(self.keys)}"

    def pick(self, items, position):
        return items[position % len(items)]

    def attempt(self, call) -> None:
        """Run one operation; a domain error must leave everything as it was."""
        before = snapshot(self.org)
        try:
            call()
        except DomainError:
            assert snapshot(self.org) == before

    @initialize()
    def seed_points(self):
        """Start most ledgers with some points in every category, part of them on bills."""
        for number, customer in enumerate(self.customers[:-1]):
            program = self.programs[number % 2]
            for category, points in zip(CATEGORIES, (200, 50, 30), strict=True):
                bill = TransactionFactory(org=self.org, customer=customer, till=self.till)
                self._credit(customer, program, points, category, bill=bill)

    def _credit(self, customer, program, points, category, bill=None, days=10):
        services.points_allocate(
            customer=customer,
            program=program,
            points=points,
            event_name="TransactionAdd",
            actor=self.till,
            idempotency_key=self.key(),
            transaction=bill,
            category=category,
            matures_at=(
                timezone.now() + datetime.timedelta(days=days)
                if category == PointsCategory.PROMISED
                else None
            ),
        )
        if bill is not None:
            self.bills.append((bill, customer, program, points, category))

    @rule(
        who=index,
        which=index,
        points=earn_points,
        category=st.sampled_from(CATEGORIES),
        days=st.integers(min_value=1, max_value=60),
        with_bill=st.booleans(),
    )
    def earn(self, who, which, points, category, days, with_bill):
        customer, program = self.pick(self.customers, who), self.pick(self.programs, which)
        bill = (
            TransactionFactory(org=self.org, customer=customer, till=self.till)
            if with_bill
            else None
        )
        self.attempt(lambda: self._credit(customer, program, points, category, bill, days))

    @rule(who=index, which=index, points=points_strategy)
    def redeem(self, who, which, points):
        customer, program = self.pick(self.customers, who), self.pick(self.programs, which)

        def call():
            redemption = services.points_redeem(
                customer=customer,
                program=program,
                points=points,
                actor=self.till,
                idempotency_key=self.key(),
            )
            self.redemptions.append(redemption.code)

        self.attempt(call)

    @rule(who=index, points=points_strategy)
    def group_redeem(self, who, points):
        customer = self.pick(self.customers, who)

        def call():
            redemption = services.points_group_redeem(
                customer=customer, points=points, actor=self.till, idempotency_key=self.key()
            )
            self.redemptions.append(redemption.code)

        self.attempt(call)

    @rule(which=index, points=st.one_of(st.none(), st.integers(min_value=1, max_value=20)))
    def reverse(self, which, points):
        if not self.redemptions:
            return
        code = self.pick(self.redemptions, which)
        self.attempt(
            lambda: services.points_redemption_reverse(
                org=self.org,
                redemption_id=code,
                points=points,
                actor=self.till,
                idempotency_key=self.key(),
            )
        )

    @rule(sender=index, receiver=index, which=index, points=points_strategy)
    def transfer(self, sender, receiver, which, points):
        self.attempt(
            lambda: services.points_transfer(
                sender=self.pick(self.customers, sender),
                receiver=self.pick(self.customers, receiver),
                program=self.pick(self.programs, which),
                points=points,
                actor=self.till,
                idempotency_key=self.key(),
            )
        )

    @rule(
        which=index,
        share=st.sampled_from([Decimal("0.5"), Decimal(1)]),
        cap=st.booleans(),
        with_redemption=st.booleans(),
    )
    def return_bill(self, which, share, cap, with_redemption):
        if not self.bills:
            return
        bill, customer, program, points, category = self.pick(self.bills, which)
        returned = (Decimal(points) * share).quantize(Decimal(1))
        return_transaction = TransactionFactory(
            org=self.org,
            customer=customer,
            till=self.till,
            number=bill.number,
            type=TransactionType.RETURN,
            return_type=ReturnType.AMOUNT,
            original=bill,
        )
        redemption_ids = self.redemptions[-1:] if with_redemption else []
        self.attempt(
            lambda: services.points_transaction_return(
                return_transaction=return_transaction,
                actor=self.till,
                idempotency_key=self.key(),
                lines=[ReturnLine(program=program, points=max(returned, 1), category=category)],
                redemption_ids=redemption_ids,
                cap_at_available=cap,
            )
        )

    @rule(days=st.integers(min_value=0, max_value=120))
    def expire(self, days):
        as_of = timezone.localtime(timezone.now(), self.org.tzinfo).date()
        for customer in self.customers:
            services.points_expire(customer=customer, as_of=as_of + datetime.timedelta(days=days))

    @rule(days=st.integers(min_value=0, max_value=60))
    def convert_promised(self, days):
        as_of = timezone.now() + datetime.timedelta(days=days)
        for customer in self.customers:
            services.points_promised_mature(customer=customer, as_of=as_of)

    @rule(who=index, which=index, points=st.one_of(st.none(), points_strategy))
    def convert_trigger_based(self, who, which, points):
        self.attempt(
            lambda: services.points_trigger_convert(
                customer=self.pick(self.customers, who),
                program=self.pick(self.programs, which),
                points=points,
                actor=self.till,
                idempotency_key=self.key(),
            )
        )

    @precondition(lambda self: self.merges < 2)
    @rule(victim=index, survivor=index)
    def merge(self, victim, survivor):
        self.merges += 1
        self.attempt(
            lambda: services.ledger_customer_merge(
                victim=self.pick(self.customers, victim),
                survivor=self.pick(self.customers, survivor),
                actor=self.till,
                idempotency_key=self.key(),
            )
        )
        for customer in self.customers:
            customer.refresh_from_db()

    @invariant()
    def ledger_is_consistent(self):
        assert ledger_verify(org=self.org) == []
        negative = PointsAccount.objects.filter(
            org=self.org, balance__lt=0, allows_negative_balance=False
        )
        assert not negative.exists()
        victims = PointsAccount.objects.filter(org=self.org, customer__merged_into__isnull=False)
        assert not victims.exclude(balance=0).exists()


@pytest.mark.django_db
def test_random_operation_sequences_keep_the_invariants():
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=20,
            stateful_step_count=20,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
