"""Helpers for the promotions tests: strategies, promotions written through the service, members
with open ledgers, and bills posted through the v2 transaction API."""

from __future__ import annotations

import copy
import datetime
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.utils import timezone

from members.models import PointsCategory
from promotions.models import AwardStrategy, ExpiryStrategy, Promotion
from promotions.rules import parse_exp, to_exp_json_text
from promotions.services import (
    ActionSpec,
    FilterSpec,
    PromotionSpec,
    RestrictionSpec,
    RulesetSpec,
    RuleSpec,
    promotion_create,
)
from tests.ledger.factories import balance, member  # noqa: F401 (re-exported)

CONTRACT = Path(__file__).resolve().parent.parent / "fixtures" / "contract"


def contract(name: str) -> Any:
    return json.loads((CONTRACT / name).read_text())


def seed_request(program_id: int) -> dict[str, Any]:
    """The seed's sample add body (seed 002) with a real program id."""
    body = copy.deepcopy(contract("promotions_create_ucc_response.json"))
    body["promotion"]["programId"] = program_id
    return body


def award_strategy(program, kind="FIXED", value=100, **fields) -> AwardStrategy:
    return AwardStrategy.objects.create(
        program=program,
        name=fields.pop("name", f"{kind} {value} #{AwardStrategy.objects.count() + 1}"),
        kind=kind,
        value=Decimal(str(value)),
        **fields,
    )


def expiry_strategy(program, kind="DAYS", value=30) -> ExpiryStrategy:
    return ExpiryStrategy.objects.create(
        program=program,
        name=f"{kind} {value} #{ExpiryStrategy.objects.count() + 1}",
        kind=kind,
        value=value,
    )


def action(
    award: AwardStrategy | None, expiry: ExpiryStrategy | None = None, **extra
) -> ActionSpec:
    properties = {
        "AwardStrategy": str(award.pk) if award else "0",
        "ExpiryStrategy": str(expiry.pk) if expiry else "PROGRAM_DEFAULT",
        "DelayStrategy": "AS_DEFINED_IN_ALLOCATION_STRATEGY",
        **extra.pop("properties", {}),
    }
    return ActionSpec(
        action_name=extra.pop("action_name", "AWARD_POINTS_ACTION"),
        properties=properties,
        case=extra.pop("case", "true"),
    )


def rule(exp: str = "true", actions=(), **fields) -> RuleSpec:
    return RuleSpec(
        exp=exp, exp_json=to_exp_json_text(parse_exp(exp)), actions=list(actions), **fields
    )


def spec(
    program,
    *,
    name: str | None = None,
    identifier: str | None = None,
    exp: str = "true",
    award: AwardStrategy | None = None,
    expiry: ExpiryStrategy | None = None,
    rules=None,
    event_name: str = "TransactionAdd",
    starts_at: datetime.datetime | None = None,
    ends_at: datetime.datetime | None = None,
    restrictions=(),
    filters=(),
    **fields: Any,
) -> PromotionSpec:
    count = Promotion.objects.count() + 1
    name = name or f"Promotion {count}"
    now = timezone.now()
    starts_at = starts_at or now - datetime.timedelta(days=1)
    ends_at = ends_at or now + datetime.timedelta(days=30)
    if rules is None:
        rules = [rule(exp, [action(award, expiry)] if award else [])]
    return PromotionSpec(
        name=name,
        identifier=identifier or name.lower().replace(" ", "_"),
        starts_at=starts_at,
        ends_at=ends_at,
        event_name=event_name,
        source_type=fields.pop("source_type", "PROMOTION_API"),
        rulesets=[
            RulesetSpec(
                name=f"{name} ruleset",
                context_id=program.pk,
                org_id=program.org_id,
                context_type="program",
                starts_at=now - datetime.timedelta(days=3650),
                ends_at=now + datetime.timedelta(days=3650),
                rules=rules,
                filters=list(filters),
            )
        ],
        restrictions=[
            r if isinstance(r, RestrictionSpec) else RestrictionSpec(**r) for r in restrictions
        ],
        **fields,
    )


def make_promotion(program, **kwargs: Any) -> Promotion:
    return promotion_create(program=program, spec=spec(program, **kwargs), actor=None)


def loyalty_filter(*values: str, include: bool = True) -> FilterSpec:
    return FilterSpec(
        name="LoyaltyType", property_to_values={"loyaltyType": list(values)}, is_include=include
    )


def source_filter(*values: str, include: bool = True) -> FilterSpec:
    return FilterSpec(
        name="EventSource", property_to_values={"eventSource": list(values)}, is_include=include
    )


def restriction(family: str, name: str, value, **fields) -> RestrictionSpec:
    return RestrictionSpec(family=family, name=name, value=value, **fields)


def line(sku: str, amount, qty=1, **fields) -> dict[str, Any]:
    return {"itemCode": sku, "qty": qty, "rate": amount / qty, "amount": amount, **fields}


def bill_body(number: str, amount, lines=None, **extra) -> dict[str, Any]:
    body = {
        "type": "REGULAR",
        "billNumber": number,
        "billAmount": str(amount),
        "lineItemsV2": lines if lines is not None else [line("ITEM", amount)],
    }
    body.update(extra)
    return body


def post_bill(client, customer, number: str, amount, lines=None, query: str = "", **extra):
    url = f"/v2/transactions?identifierName=mobile&identifierValue={customer.mobile}{query}"
    return client.post(url, bill_body(number, amount, lines, **extra), format="json")


def promised(customer, program) -> Decimal:
    return balance(customer, program, PointsCategory.PROMISED)
