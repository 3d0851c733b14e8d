"""Reading a cart promotion body (CONTRACT.md §5.2) into checked, normalised values.

Pure functions: every rule of the contract's validation is checked here and a break raises
CartPromotionInvalidError naming the field. Amounts are kept as strings of Decimals in the stored
JSON, so the engine reads them back exactly.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from promotions.exceptions import CartPromotionInvalidError
from promotions.models import CartPromotionMode, CartPromotionType

MAX_NAME = 50
MAX_LABEL = 255
MAX_AMOUNT = Decimal("1e12")
MAX_CRITERIA_VALUES = 10_000
CONDITION_TYPES = ("CART", "PRODUCT", "COMBO_PRODUCT", "TENDER")
ACTION_TYPES = ("FIXED_PRICE", "CART_BASED", "PRODUCT_BASED", "FREE_PRODUCT", "TENDER", "PER_UNIT")
PRODUCT_ACTIONS = ("FIXED_PRICE", "PRODUCT_BASED", "FREE_PRODUCT", "PER_UNIT")
# Actions that repeat for every bundle of the condition's quantity (redemptionCount > 1).
BUNDLE_ACTIONS = ("FIXED_PRICE", "FREE_PRODUCT")
CART_KPIS = ("SUBTOTAL", "ITEMCOUNT")
PRODUCT_KPIS = ("AMOUNT", "QUANTITY", "NONE")
OPERATORS = (
    "EQUALS",
    "GREATER_THAN",
    "GREATER_THAN_OR_EQUAL",
    "LESS_THAN",
    "LESS_THAN_OR_EQUAL",
)
CRITERIA_ENTITIES = ("SKU", "CATEGORY", "BRAND", "TAG", "ATTRIBUTE")
CRITERIA_OPERATORS = ("IN", "NOT_IN")
TENDER_TYPES = ("CARD", "CASH", "PAYMENT_VOUCHER")
DISCOUNT_TYPES = ("PERCENTAGE", "ABSOLUTE")
# promotionRestrictions levels as the contract spells them, and the KPIs each may limit.
RESTRICTION_LEVELS = ("Code", "Customer", "Promotion", "Cart")
RESTRICTION_KPIS = ("REDEMPTION", "TRANSACTION", "DISCOUNT")
FREQUENCIES = {
    "DAY": "DAYS",
    "DAYS": "DAYS",
    "DAILY": "DAYS",
    "WEEK": "WEEKS",
    "WEEKS": "WEEKS",
    "WEEKLY": "WEEKS",
    "MONTH": "MONTHS",
    "MONTHS": "MONTHS",
    "MONTHLY": "MONTHS",
}
MAX_REPEAT = 366


def invalid(message: str, field_name: str) -> CartPromotionInvalidError:
    return CartPromotionInvalidError(f"{field_name}: {message}", field=field_name)


def _choice(value: Any, choices: tuple[str, ...], name: str, *, default: str | None = None):
    text = str(value or "").strip().upper()
    if not text and default is not None:
        return default
    if text not in choices:
        raise invalid(f"{value!r} is not one of {', '.join(choices)}", name)
    return text


def _bool(value: Any, name: str, *, default: bool | None = None) -> bool:
    if value is None and default is not None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    raise invalid("must be true or false", name)


def decimal_of(value: Any, name: str, *, places: int | None = None) -> Decimal:
    if isinstance(value, bool) or value is None or value == "":
        raise invalid("a number is required", name)
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise invalid(f"{value!r} is not a number", name)
    if not number.is_finite() or abs(number) > MAX_AMOUNT:
        raise invalid(f"{value!r} is out of range", name)
    if places is not None and number != number.quantize(Decimal(1).scaleb(-places)):
        raise invalid(f"at most {places} decimals", name)
    return number


def _text(number: Decimal) -> str:
    return format(number.normalize(), "f") if number else "0"


def _amount(value: Any, name: str) -> str:
    """An amount: more than 0, at most 2 decimals (the contract's rule)."""
    number = decimal_of(value, name, places=2)
    if number <= 0:
        raise invalid("must be more than 0", name)
    return _text(number)


def _percentage(value: Any, name: str) -> str:
    number = decimal_of(value, name, places=6)
    if not 0 < number <= 100:
        raise invalid("a percentage is more than 0 and at most 100", name)
    return _text(number)


def _count(value: Any, name: str, *, minimum: int = 1) -> int:
    number = decimal_of(value, name)
    if number != number.to_integral_value() or number < minimum:
        raise invalid(f"must be a whole number of at least {minimum}", name)
    return int(number)


def moment_of(value: Any, name: str) -> datetime.datetime:
    """Epoch milliseconds (a number or a numeric string, as the samples send) or ISO 8601."""
    if value is None or value == "" or isinstance(value, bool):
        raise invalid("is required", name)
    text = str(value).strip()
    if text.lstrip("-").isdigit():
        try:
            return datetime.datetime.fromtimestamp(int(text) / 1000, tz=datetime.UTC)
        except (OverflowError, OSError, ValueError):
            raise invalid(f"{value!r} is out of range", name)
    try:
        moment = parse_datetime(text)
    except ValueError:
        moment = None
    if moment is None:
        raise invalid("use epoch milliseconds or an ISO 8601 date-time", name)
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, datetime.UTC)


# Conditions ----------------------------------------------------------------------------------
def _criteria(raw: Any, name: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise invalid("at least one criterion is required", name)
    criteria = []
    for index, item in enumerate(raw):
        where = f"{name}[{index}]"
        if not isinstance(item, Mapping):
            raise invalid("must be an object", where)
        entity = _choice(item.get("entity"), CRITERIA_ENTITIES, f"{where}.entity")
        operator = _choice(
            item.get("operator"), CRITERIA_OPERATORS, f"{where}.operator", default="IN"
        )
        values = item.get("values")
        if not isinstance(values, list) or not values or len(values) > MAX_CRITERIA_VALUES:
            raise invalid(f"1 to {MAX_CRITERIA_VALUES} values are required", f"{where}.values")
        texts = sorted({str(value).strip() for value in values if str(value).strip()})
        if not texts:
            raise invalid("values must not be blank", f"{where}.values")
        criterion: dict[str, Any] = {"entity": entity, "operator": operator, "values": texts}
        if entity == "ATTRIBUTE":
            attribute = str(item.get("attributeName") or item.get("name") or "").strip()
            if not attribute:
                raise invalid(
                    "an ATTRIBUTE criterion names its attribute", f"{where}.attributeName"
                )
            criterion["attributeName"] = attribute
        criteria.append(criterion)
    return criteria


def _comparison(raw: Mapping[str, Any], name: str, *, default_operator: str) -> dict[str, str]:
    operator = _choice(raw.get("operator"), OPERATORS, f"{name}.operator", default=default_operator)
    value = decimal_of(raw.get("value"), f"{name}.value", places=6)
    if value < 0:
        raise invalid("must not be negative", f"{name}.value")
    return {"operator": operator, "value": _text(value)}


def _product_condition(raw: Any, name: str) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise invalid("is required", name)
    kpi = _choice(raw.get("kpi"), PRODUCT_KPIS, f"{name}.kpi", default="NONE")
    condition: dict[str, Any] = {
        "kpi": kpi,
        "criteriaList": _criteria(raw.get("criteriaList"), f"{name}.criteriaList"),
    }
    if kpi != "NONE":
        condition.update(_comparison(raw, name, default_operator="GREATER_THAN_OR_EQUAL"))
    return condition


def condition_clean(raw: Any) -> dict[str, Any]:
    """The `condition` object, checked and normalised."""
    if not isinstance(raw, Mapping):
        raise invalid("is required", "condition")
    kind = _choice(raw.get("type"), CONDITION_TYPES, "condition.type")
    if kind == "CART":
        cart = raw.get("cartCondition")
        if not isinstance(cart, Mapping):
            raise invalid("is required for a CART condition", "condition.cartCondition")
        kpi = _choice(cart.get("kpi"), CART_KPIS, "condition.cartCondition.kpi")
        return {
            "type": kind,
            "cartCondition": {
                "kpi": kpi,
                **_comparison(
                    cart, "condition.cartCondition", default_operator="GREATER_THAN_OR_EQUAL"
                ),
            },
        }
    if kind == "PRODUCT":
        return {
            "type": kind,
            "productCondition": _product_condition(
                raw.get("productCondition"), "condition.productCondition"
            ),
        }
    if kind == "COMBO_PRODUCT":
        combo = raw.get("comboProductCondition")
        parts = combo.get("productConditions") if isinstance(combo, Mapping) else None
        if not isinstance(parts, list) or len(parts) < 2:
            raise invalid(
                "a combo needs at least two product conditions",
                "condition.comboProductCondition.productConditions",
            )
        return {
            "type": kind,
            "comboProductCondition": {
                "productConditions": [
                    _product_condition(
                        part, f"condition.comboProductCondition.productConditions[{index}]"
                    )
                    for index, part in enumerate(parts)
                ]
            },
        }
    tender = raw.get("tenderCondition")
    if not isinstance(tender, Mapping):
        raise invalid("is required for a TENDER condition", "condition.tenderCondition")
    identifier = str(tender.get("identifier") or "").strip()
    if not identifier:
        raise invalid("is required", "condition.tenderCondition.identifier")
    result: dict[str, Any] = {
        "type": _choice(tender.get("type"), TENDER_TYPES, "condition.tenderCondition.type"),
        "identifier": identifier,
        "condition": None,
    }
    amount_condition = tender.get("condition")
    if isinstance(amount_condition, Mapping) and amount_condition.get("value") is not None:
        result["condition"] = _comparison(
            amount_condition,
            "condition.tenderCondition.condition",
            default_operator="GREATER_THAN_OR_EQUAL",
        )
    return {"type": kind, "tenderCondition": result}


# Actions -------------------------------------------------------------------------------------
PRODUCT_ACTION_ALIASES = {
    "FIXED_PRICE": ("fixedPriceAction",),
    "FREE_PRODUCT": ("freeProductAction",),
    "PER_UNIT": ("perUnitAction",),
    "PRODUCT_BASED": (),
}


def _product_action(raw: Mapping[str, Any], kind: str, condition: Mapping[str, Any]):
    body = raw.get("productBasedAction")
    for alias in PRODUCT_ACTION_ALIASES[kind]:
        body = body or raw.get(alias)
    name = "action.productBasedAction"
    if not isinstance(body, Mapping):
        raise invalid(f"is required for a {kind} action", name)
    target = body.get("productBasedCondition")
    include = _bool(
        body.get("includeItemsFromConditionSet"),
        f"{name}.includeItemsFromConditionSet",
        default=not isinstance(target, Mapping),
    )
    action: dict[str, Any] = {"includeItemsFromConditionSet": include}
    if include:
        if condition["type"] not in ("PRODUCT", "COMBO_PRODUCT"):
            raise invalid(
                "items from the condition set need a PRODUCT or COMBO_PRODUCT condition",
                f"{name}.includeItemsFromConditionSet",
            )
        action["productBasedCondition"] = None
    else:
        if not isinstance(target, Mapping):
            raise invalid("names the items the action applies to", f"{name}.productBasedCondition")
        action["productBasedCondition"] = {
            "criteriaList": _criteria(
                target.get("criteriaList"), f"{name}.productBasedCondition.criteriaList"
            )
        }
    if kind == "PRODUCT_BASED":
        discount_type = _choice(body.get("type"), DISCOUNT_TYPES, f"{name}.type")
        action["type"] = discount_type
        action["value"] = (
            _percentage(body.get("value"), f"{name}.value")
            if discount_type == "PERCENTAGE"
            else _amount(body.get("value"), f"{name}.value")
        )
    elif kind == "FREE_PRODUCT":
        action["value"] = str(_count(body.get("value", 1), f"{name}.value"))
    else:  # FIXED_PRICE: the price of one bundle; PER_UNIT: the amount off each unit
        action["value"] = _amount(body.get("value"), f"{name}.value")
    if kind in BUNDLE_ACTIONS:
        _check_bundle(kind, action, condition, name)
    return action


def _check_bundle(kind: str, action: dict[str, Any], condition: Mapping[str, Any], name: str):
    """Bundles repeat per `value` units of the condition's QUANTITY: the condition must say how
    many units make one (FIXED_PRICE: the bundle; FREE_PRODUCT: the units bought)."""
    product = condition.get("productCondition")
    if condition["type"] != "PRODUCT" or product["kpi"] != "QUANTITY":
        raise invalid(
            f"a {kind} action needs a PRODUCT condition with kpi QUANTITY (the bundle size)",
            f"{name}",
        )
    size = Decimal(product["value"])
    if size != size.to_integral_value() or size < 1:
        raise invalid("the bundle size must be a whole number of units", "condition")
    if kind == "FREE_PRODUCT" and action["includeItemsFromConditionSet"]:
        if Decimal(action["value"]) >= size:
            raise invalid(
                "the free units come out of the condition's quantity: give fewer than it",
                f"{name}.value",
            )


def action_clean(raw: Any, *, condition: Mapping[str, Any]) -> dict[str, Any]:
    """The `action` object, checked against the (clean) condition and normalised."""
    if not isinstance(raw, Mapping):
        raise invalid("is required", "action")
    kind = _choice(raw.get("type"), ACTION_TYPES, "action.type")
    if (kind == "TENDER") != (condition["type"] == "TENDER"):
        raise invalid("a TENDER condition pairs with a TENDER action (and only with it)", "action")
    if kind in PRODUCT_ACTIONS:
        return {"type": kind, "productBasedAction": _product_action(raw, kind, condition)}
    key = "cartBasedAction" if kind == "CART_BASED" else "tenderBasedAction"
    body = raw.get(key)
    if not isinstance(body, Mapping):
        raise invalid(f"is required for a {kind} action", f"action.{key}")
    discount_type = _choice(body.get("type"), DISCOUNT_TYPES, f"action.{key}.type")
    value = (
        _percentage(body.get("value"), f"action.{key}.value")
        if discount_type == "PERCENTAGE"
        else _amount(body.get("value"), f"action.{key}.value")
    )
    return {"type": kind, key: {"type": discount_type, "value": value}}


# Restrictions --------------------------------------------------------------------------------
def restrictions_clean(raw: Any, *, promotion_type: str) -> dict[str, list[dict[str, Any]]]:
    """promotionRestrictions {Level: [{kpi, limit, frequency, minTimeBetweenRepeat}]}."""
    if raw in (None, {}, []):
        return {}
    if not isinstance(raw, Mapping):
        raise invalid("must be an object of levels", "promotionRestrictions")
    levels = {level.upper(): level for level in RESTRICTION_LEVELS}
    result: dict[str, list[dict[str, Any]]] = {}
    for key, items in raw.items():
        level = levels.get(str(key).strip().upper())
        where = f"promotionRestrictions.{key}"
        if level is None:
            raise invalid(f"unknown level: use {', '.join(RESTRICTION_LEVELS)}", where)
        if level == "Code" and promotion_type != CartPromotionType.CODE:
            raise invalid("code restrictions need a CODE promotion", where)
        if not isinstance(items, list):
            raise invalid("must be a list", where)
        seen: set[tuple[str, str, int]] = set()
        cleaned = []
        for index, item in enumerate(items):
            at = f"{where}[{index}]"
            if not isinstance(item, Mapping):
                raise invalid("must be an object", at)
            kpi = _choice(item.get("kpi"), RESTRICTION_KPIS, f"{at}.kpi")
            raw_limit = item.get("limit", item.get("maxLimit"))
            limit = (
                _amount(raw_limit, f"{at}.limit")
                if kpi == "DISCOUNT"
                else str(_count(raw_limit, f"{at}.limit"))
            )
            frequency = str(item.get("frequency") or "").strip().upper()
            repeat = 1
            if frequency in ("", "NONE", "LIFETIME"):
                frequency = ""
            elif frequency in FREQUENCIES:
                frequency = FREQUENCIES[frequency]
                if item.get("minTimeBetweenRepeat") not in (None, ""):
                    repeat = _count(item["minTimeBetweenRepeat"], f"{at}.minTimeBetweenRepeat")
                    if repeat > MAX_REPEAT:
                        raise invalid(f"at most {MAX_REPEAT}", f"{at}.minTimeBetweenRepeat")
            else:
                raise invalid("use DAYS, WEEKS or MONTHS", f"{at}.frequency")
            if level == "Cart" and frequency:
                raise invalid("a cart restriction has no frequency", f"{at}.frequency")
            key_seen = (kpi, frequency, repeat)
            if key_seen in seen:
                raise invalid("the same KPI and frequency is given twice", at)
            seen.add(key_seen)
            entry: dict[str, Any] = {"kpi": kpi, "limit": limit}
            if frequency:
                entry.update(frequency=frequency, minTimeBetweenRepeat=repeat)
            cleaned.append(entry)
        if cleaned:
            result[level] = cleaned
    return result


# The whole body ------------------------------------------------------------------------------
@dataclass
class CartPromotionSpec:
    name: str
    type: str
    message_label: str
    is_active: bool
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    condition: dict[str, Any]
    action: dict[str, Any]
    priority: int = 0
    is_stackable: bool = False
    campaign_id: int | None = None
    mode: str = CartPromotionMode.DISCOUNT
    is_loyalty_only: bool = False
    customer_activation_required: bool = False
    max_issuance_per_customer: int = 1
    earn_limited_to_specific_audience: bool = False
    custom_field_values: dict[str, Any] = field(default_factory=dict)
    restrictions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _required(body: Mapping[str, Any], key: str) -> Any:
    value = body.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise invalid("is required", key)
    return value


def cart_promotion_spec_from_body(body: Mapping[str, Any]) -> CartPromotionSpec:
    """The create / update body (§5.2), checked. Raises CartPromotionInvalidError (4102)."""
    if not isinstance(body, Mapping):
        raise invalid("the body must be a JSON object", "body")
    name = str(_required(body, "name")).strip()
    if len(name) > MAX_NAME:
        raise invalid(f"1 to {MAX_NAME} characters", "name")
    promotion_type = _choice(_required(body, "type"), tuple(CartPromotionType.values), "type")
    label = str(_required(body, "messageLabel")).strip()
    if len(label) > MAX_LABEL:
        raise invalid(f"at most {MAX_LABEL} characters", "messageLabel")
    if body.get("active") is None:
        raise invalid("is required", "active")
    starts_at = moment_of(body.get("startDate"), "startDate")
    ends_at = moment_of(body.get("endDate"), "endDate")
    if ends_at <= starts_at:
        raise invalid("must be after startDate", "endDate")
    if ends_at <= timezone.now():
        raise invalid("must be in the future", "endDate")
    priority = body.get("priority")
    priority = 0 if priority in (None, "") else int(decimal_of(priority, "priority", places=0))
    campaign = body.get("campaignId")
    campaign_id = None if campaign in (None, "") else _count(campaign, "campaignId", minimum=0)
    issuance = body.get("maxIssuancePerCustomer")
    issuance = 1 if issuance in (None, "") else int(decimal_of(issuance, "maxIssuancePerCustomer"))
    if issuance != -1 and not 1 <= issuance <= 50:
        raise invalid("-1 (no limit) or 1 to 50", "maxIssuancePerCustomer")
    custom = body.get("customFieldValues") or {}
    if not isinstance(custom, Mapping):
        raise invalid("must be an object", "customFieldValues")
    mode = _choice(
        body.get("mode"),
        tuple(CartPromotionMode.values),
        "mode",
        default=CartPromotionMode.DISCOUNT,
    )
    condition = condition_clean(body.get("condition"))
    action = action_clean(body.get("action"), condition=condition)
    return CartPromotionSpec(
        name=name,
        type=promotion_type,
        message_label=label,
        is_active=_bool(body.get("active"), "active"),
        starts_at=starts_at,
        ends_at=ends_at,
        condition=condition,
        action=action,
        priority=priority,
        is_stackable=_bool(body.get("isStackable"), "isStackable", default=False),
        campaign_id=campaign_id,
        mode=mode,
        is_loyalty_only=_bool(body.get("isLoyaltyOnly"), "isLoyaltyOnly", default=False),
        customer_activation_required=_bool(
            body.get("customerActivationRequired"), "customerActivationRequired", default=False
        ),
        max_issuance_per_customer=issuance,
        earn_limited_to_specific_audience=_bool(
            body.get("earnLimitedToSpecificAudience"),
            "earnLimitedToSpecificAudience",
            default=False,
        ),
        custom_field_values=dict(custom),
        restrictions=restrictions_clean(
            body.get("promotionRestrictions"), promotion_type=promotion_type
        ),
    )
