"""Transaction add with earning over HTTP: the bills of transaction_add_http, for enrolled
members, while the program runs 200 live TransactionAdd promotions (promotions.services
promotion_create). Every promotion's rule is evaluated on every bill; 20 of them match (the bill's
store) and award fixed points, of which the engine's stacking rules keep the winners."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import Count
from django.utils import timezone

from bench.checks import ledger_drift_count
from bench.context import ScenarioContext
from bench.data import BenchOrg, ledger_history_create
from bench.registry import Scenario, scenario
from bench.scenarios.transaction_add_http import SIZES, bills_customers_create, bills_post
from bench.sql import insert_select, triggers_off
from members.models import ProgramEnrollment
from promotions.models import AwardStrategy, PromotionEarn
from promotions.rules import parse_exp, to_exp_json_text
from promotions.services import (
    ActionSpec,
    PromotionSpec,
    RulesetSpec,
    RuleSpec,
    promotion_create,
)

PROMOTIONS = 200
MATCHING = 20
AWARD_POINTS = 10


@scenario
class TransactionAddEarningHttp(Scenario):
    name = "transaction_add_earning_http"
    title = "Transaction add with earning against 200 promotions, HTTP, 32 clients"
    order = 46
    # The smoke run posts fewer bills: each one evaluates 200 promotions.
    sizes = {**SIZES, "small": {**SIZES["small"], "requests": 100}}

    def run(self, ctx: ScenarioContext) -> None:
        bench = ctx.org("transaction add earning")
        bills_customers_create(ctx, bench)
        with ctx.timed("members and promotions"):
            _enroll(bench)
            ledger_history_create(bench, credits_per_customer=0)
            _promotions(bench)
        ctx.result.parameters.update(promotions=PROMOTIONS, matching_promotions=MATCHING)
        result = bills_post(ctx, bench, label="bills with earning")

        sent = result.requests + result.warmup_requests
        earned = PromotionEarn.objects.filter(org=bench.org).aggregate(
            bills=Count("transaction", distinct=True)
        )["bills"]
        ctx.check("every bill earned", earned == sent, f"{earned} of {sent} bills earned")
        drift = ledger_drift_count(org_id=bench.org.pk)
        ctx.check("ledger invariants hold", drift == 0, f"{drift} accounts drift")


def _enroll(bench: BenchOrg) -> None:
    with triggers_off():
        insert_select(
            ProgramEnrollment,
            values={"customer": "c.id", "program": "%(program)s", "enrolled_at": "now()"},
            source="members_customer c WHERE c.org_id = %(org)s",
            params={"org": bench.org.pk, "program": bench.program.pk},
        )


def _promotions(bench: BenchOrg) -> None:
    program = bench.program
    award = AwardStrategy.objects.create(
        program=program,
        name="Bench fixed award",
        kind=AwardStrategy.Kind.FIXED,
        value=Decimal(AWARD_POINTS),
    )
    now = timezone.now()
    for number in range(PROMOTIONS):
        # The first MATCHING promotions name the bench store; the others a store that never bills.
        store = bench.store.code if number < MATCHING else f"elsewhere-{number}"
        exp = f'store.code == "{store}"'
        action = ActionSpec(
            action_name="AWARD_POINTS_ACTION",
            properties={
                "AwardStrategy": str(award.pk),
                "ExpiryStrategy": "PROGRAM_DEFAULT",
                "DelayStrategy": "AS_DEFINED_IN_ALLOCATION_STRATEGY",
            },
        )
        rule = RuleSpec(exp=exp, exp_json=to_exp_json_text(parse_exp(exp)), actions=[action])
        name = f"Bench promotion {number + 1}"
        promotion_create(
            program=program,
            actor=None,
            spec=PromotionSpec(
                name=name,
                identifier=f"bench_promotion_{number + 1}",
                starts_at=now - datetime.timedelta(days=1),
                ends_at=now + datetime.timedelta(days=30),
                event_name="TransactionAdd",
                source_type="PROMOTION_API",
                rulesets=[
                    RulesetSpec(
                        name=f"{name} ruleset",
                        context_id=program.pk,
                        org_id=program.org_id,
                        context_type="program",
                        starts_at=now - datetime.timedelta(days=1),
                        ends_at=now + datetime.timedelta(days=30),
                        rules=[rule],
                    )
                ],
            ),
        )
