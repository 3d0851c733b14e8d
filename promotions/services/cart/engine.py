"""The cart promotion engine: a pure function over (cart, candidate promotions, org settings).

No database here: the caller (promotions.services.cart.evaluation) decides which live
promotions a customer may get (codes, loyalty, activation) and how much usage their limits leave,
and passes them in as candidates. The engine then

1. drops candidates whose condition does not hold on the cart as sent;
2. ranks the rest by the org's strategy (rewards first or last, cart or line-item conditions
   first, then PRIORITY / EXPIRY_BASED / MAX_DISCOUNT, then priority and id: deterministic);
3. applies them in that order on a running state, so that stacked promotions see the amounts
   left by the earlier ones: a minimum spend is checked again on what is left, a percentage is
   taken of what is left. A promotion that does not stack applies only to a cart nothing else
   applied to, and nothing applies after it. With `single_promotion_per_line_item`, a line that
   has a discount takes no other.

Discounts are whole cents, never more than what is left of a line, within the promotion's caps
(per cart, and what its usage limits leave) and the org's combined cap (a share of the cart).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
ZERO = Decimal(0)
HUNDRED = Decimal(100)
MAX_BUNDLES = 10_000

# Reasons a candidate did not apply (promoCodeEvaluationLogs[].reason).
CONDITION_NOT_MET = "CONDITION_NOT_MET"
CONDITION_NOT_MET_AFTER_DISCOUNTS = "CONDITION_NOT_MET_AFTER_DISCOUNTS"
NOT_STACKABLE = "NOT_STACKABLE"
NO_DISCOUNT = "NO_DISCOUNT"
COMBINED_CAP_REACHED = "COMBINED_CAP_REACHED"
LIMIT_REACHED = "LIMIT_REACHED"

COMPARATORS = {
    "EQUALS": lambda left, right: left == right,
    "GREATER_THAN": lambda left, right: left > right,
    "GREATER_THAN_OR_EQUAL": lambda left, right: left >= right,
    "LESS_THAN": lambda left, right: left < right,
    "LESS_THAN_OR_EQUAL": lambda left, right: left <= right,
}


# Compiled promotions -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Criterion:
    entity: str  # SKU, CATEGORY, BRAND, TAG, ATTRIBUTE
    include: bool  # IN (True) or NOT_IN
    values: frozenset[str]  # casefolded
    attribute: str = ""

    def matches(self, line: CartLine) -> bool:
        if self.entity == "ATTRIBUTE":
            value = line.attributes.get(self.attribute)
            found = value is not None and value in self.values
        else:
            found = not self.values.isdisjoint(line.keys[self.entity])
        return found if self.include else not found


@dataclass(frozen=True, slots=True)
class ProductCondition:
    kpi: str  # AMOUNT, QUANTITY, NONE
    operator: str
    value: Decimal
    criteria: tuple[Criterion, ...]


@dataclass(frozen=True, slots=True)
class Condition:
    kind: str  # CART, PRODUCT, COMBO_PRODUCT, TENDER
    cart_kpi: str = ""
    operator: str = ""
    value: Decimal = ZERO
    products: tuple[ProductCondition, ...] = ()
    tender_identifier: str = ""  # casefolded
    tender_operator: str = ""
    tender_value: Decimal | None = None

    @property
    def is_cart_level(self) -> bool:
        return self.kind in ("CART", "TENDER")


@dataclass(frozen=True, slots=True)
class Action:
    kind: str  # FIXED_PRICE, CART_BASED, PRODUCT_BASED, FREE_PRODUCT, TENDER, PER_UNIT
    discount_type: str = ""  # PERCENTAGE / ABSOLUTE
    value: Decimal = ZERO
    from_condition: bool = True
    target: tuple[Criterion, ...] = ()


@dataclass(frozen=True, slots=True)
class CounterRestriction:
    level: str  # Code, Customer, Promotion
    kpi: str  # REDEMPTION, TRANSACTION, DISCOUNT
    limit: Decimal
    frequency: str = ""  # "", DAYS, WEEKS, MONTHS
    repeat: int = 1


@dataclass(frozen=True, slots=True)
class CompiledCartPromotion:
    id: int
    public_id: str
    name: str
    message_label: str
    type: str
    mode: str
    priority: int
    is_stackable: bool
    is_loyalty_only: bool
    needs_activation: bool
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    condition: Condition
    action: Action
    cart_max_redemptions: int | None = None
    cart_max_discount: Decimal | None = None
    counter_restrictions: tuple[CounterRestriction, ...] = ()

    def is_live(self, moment: datetime.datetime) -> bool:
        return self.starts_at <= moment <= self.ends_at


@dataclass(frozen=True, slots=True)
class RankingSettings:
    condition_ranking: str = "CART_BASED_FIRST"
    reward_strategy: str = "PROMOTION_FIRST"
    single_promotion_per_line_item: bool = False
    promotion_ranking: str = "PRIORITY"
    max_combined_discount_percent: Decimal = HUNDRED


def _criteria(raw: Iterable[Mapping[str, Any]]) -> tuple[Criterion, ...]:
    return tuple(
        Criterion(
            entity=item["entity"],
            include=item.get("operator", "IN") == "IN",
            values=frozenset(str(value).casefold() for value in item["values"]),
            attribute=str(item.get("attributeName") or "").casefold(),
        )
        for item in raw
    )


def _product_condition(raw: Mapping[str, Any]) -> ProductCondition:
    return ProductCondition(
        kpi=raw["kpi"],
        operator=raw.get("operator", "GREATER_THAN_OR_EQUAL"),
        value=Decimal(raw.get("value", "0")),
        criteria=_criteria(raw["criteriaList"]),
    )


def condition_compile(raw: Mapping[str, Any]) -> Condition:
    kind = raw["type"]
    if kind == "CART":
        cart = raw["cartCondition"]
        return Condition(
            kind=kind, cart_kpi=cart["kpi"], operator=cart["operator"], value=Decimal(cart["value"])
        )
    if kind == "PRODUCT":
        return Condition(kind=kind, products=(_product_condition(raw["productCondition"]),))
    if kind == "COMBO_PRODUCT":
        parts = raw["comboProductCondition"]["productConditions"]
        return Condition(kind=kind, products=tuple(_product_condition(part) for part in parts))
    tender = raw["tenderCondition"]
    amount = tender.get("condition") or {}
    return Condition(
        kind=kind,
        tender_identifier=str(tender["identifier"]).casefold(),
        tender_operator=amount.get("operator", ""),
        tender_value=Decimal(amount["value"]) if amount.get("value") is not None else None,
    )


def action_compile(raw: Mapping[str, Any]) -> Action:
    kind = raw["type"]
    if kind in ("CART_BASED", "TENDER"):
        body = raw["cartBasedAction" if kind == "CART_BASED" else "tenderBasedAction"]
        return Action(kind=kind, discount_type=body["type"], value=Decimal(body["value"]))
    body = raw["productBasedAction"]
    target = body.get("productBasedCondition") or {}
    return Action(
        kind=kind,
        discount_type=body.get("type", ""),
        value=Decimal(body["value"]),
        from_condition=bool(body.get("includeItemsFromConditionSet", True)),
        target=_criteria(target.get("criteriaList") or ()),
    )


# The cart ------------------------------------------------------------------------------------
@dataclass(slots=True)
class CartLine:
    index: int
    reference_id: str
    sku: str
    unit_amount: Decimal
    qty: Decimal
    keys: dict[str, frozenset[str]]
    attributes: dict[str, str]
    total: Decimal = ZERO

    def __post_init__(self) -> None:
        self.total = self.unit_amount * self.qty


def cart_line(
    *,
    index: int,
    reference_id: str,
    sku: str,
    unit_amount: Decimal,
    qty: Decimal,
    categories: Iterable[str] = (),
    brands: Iterable[str] = (),
    tags: Iterable[str] = (),
    attributes: Mapping[str, Any] | None = None,
) -> CartLine:
    return CartLine(
        index=index,
        reference_id=reference_id,
        sku=sku,
        unit_amount=unit_amount,
        qty=qty,
        keys={
            "SKU": frozenset((sku.casefold(),)),
            "CATEGORY": frozenset(str(value).casefold() for value in categories),
            "BRAND": frozenset(str(value).casefold() for value in brands),
            "TAG": frozenset(str(value).casefold() for value in tags),
        },
        attributes={
            str(key).casefold(): str(value).casefold() for key, value in (attributes or {}).items()
        },
    )


@dataclass(frozen=True, slots=True)
class CartTender:
    identifier: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Cart:
    amount: Decimal
    lines: tuple[CartLine, ...]
    tenders: tuple[CartTender, ...] = ()

    @property
    def subtotal(self) -> Decimal:
        return sum((line.total for line in self.lines), ZERO)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A promotion the customer may get, with what its usage limits leave (None: no limit)."""

    promotion: CompiledCartPromotion
    code: str = ""
    max_redemptions: int | None = None
    max_discount: Decimal | None = None


# The result ----------------------------------------------------------------------------------
@dataclass
class AppliedPromotion:
    candidate: Candidate
    discount: Decimal
    redemptions: int
    line_discounts: dict[int, Decimal]
    tender_identifier: str = ""

    @property
    def promotion(self) -> CompiledCartPromotion:
        return self.candidate.promotion


@dataclass(frozen=True, slots=True)
class NotApplied:
    candidate: Candidate
    reason: str
    message: str


@dataclass
class EngineResult:
    applied: list[AppliedPromotion] = field(default_factory=list)
    not_applied: list[NotApplied] = field(default_factory=list)
    line_discounts: dict[int, Decimal] = field(default_factory=dict)

    @property
    def discount(self) -> Decimal:
        return sum((item.discount for item in self.applied), ZERO)


# Money helpers -------------------------------------------------------------------------------
def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def cents_down(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_FLOOR)


def allocate(total: Decimal, weights: Sequence[tuple[int, Decimal]]) -> dict[int, Decimal]:
    """Split `total` (whole cents) over keys in proportion to their weights, in whole cents,
    none above its own weight (largest remainder; ties go to the earlier key). `total` must not
    be more than the weights' whole cents together."""
    caps = [int((weight * 100).to_integral_value(ROUND_FLOOR)) for _, weight in weights]
    wanted = int((total * 100).to_integral_value(ROUND_FLOOR))
    wanted = min(wanted, sum(caps))
    if wanted <= 0:
        return {}
    weight_total = sum(caps)
    shares = []
    given = 0
    for position, cap in enumerate(caps):
        whole, part = divmod(wanted * cap, weight_total)
        whole = min(whole, cap)
        shares.append([whole, part, position])
        given += whole
    left = wanted - given
    if left:
        for share in sorted(shares, key=lambda item: (-item[1], item[2])):
            if left == 0:
                break
            if share[0] < caps[share[2]]:
                share[0] += 1
                left -= 1
    return {weights[share[2]][0]: Decimal(share[0]) / 100 for share in shares if share[0] > 0}


# The running state ---------------------------------------------------------------------------
class _State:
    __slots__ = (
        "cart",
        "remaining",
        "discounted",
        "total_discount",
        "combined_cap",
        "subtotal",
        "_matches",
        "_by_criterion",
        "_positions_by_key",
    )

    def __init__(self, cart: Cart, settings: RankingSettings) -> None:
        self.cart = cart
        self.remaining = {line.index: line.total for line in cart.lines}
        self.discounted: set[int] = set()
        self.total_discount = ZERO
        self.subtotal = cart.subtotal
        base = cart.amount if cart.amount > 0 else self.subtotal
        self.combined_cap = cents_down(base * settings.max_combined_discount_percent / HUNDRED)
        # Keyed by id() (hashing the criteria costs more than matching them); each entry keeps
        # its key object alive, so an id is never reused while it is cached.
        self._matches: dict[int, tuple[tuple[Criterion, ...], tuple[CartLine, ...]]] = {}
        self._by_criterion: dict[int, tuple[Criterion, frozenset[int]]] = {}
        # entity -> key -> positions of the lines carrying it, built on first use.
        self._positions_by_key: dict[str, dict[str, set[int]]] = {}

    def matching(self, criteria: tuple[Criterion, ...]) -> tuple[CartLine, ...]:
        """The lines meeting every criterion, in cart order. Criteria are matched through an
        index of the cart's keys, each once per cart: 250 promotions against 20 lines would
        otherwise test every line against every criterion."""
        cached = self._matches.get(id(criteria))
        if cached is not None:
            return cached[1]
        lines = self.cart.lines
        positions: frozenset[int] | None = None
        for criterion in criteria:
            matched = self._positions_of(criterion)
            positions = matched if positions is None else positions & matched
            if not positions:
                break
        if positions is None:
            found = tuple(lines)
        else:
            found = tuple(lines[position] for position in sorted(positions))
        self._matches[id(criteria)] = (criteria, found)
        return found

    def _positions_of(self, criterion: Criterion) -> frozenset[int]:
        cached = self._by_criterion.get(id(criterion))
        if cached is not None:
            return cached[1]
        lines = self.cart.lines
        if criterion.entity == "ATTRIBUTE":
            hits = {
                position
                for position, line in enumerate(lines)
                if line.attributes.get(criterion.attribute) in criterion.values
            }
        else:
            by_key = self._positions_by_key.get(criterion.entity)
            if by_key is None:
                by_key = {}
                for position, line in enumerate(lines):
                    for key in line.keys[criterion.entity]:
                        by_key.setdefault(key, set()).add(position)
                self._positions_by_key[criterion.entity] = by_key
            hits = set()
            if len(criterion.values) < len(by_key):
                for value in criterion.values:
                    if value in by_key:
                        hits |= by_key[value]
            else:
                for key, key_positions in by_key.items():
                    if key in criterion.values:
                        hits |= key_positions
        if not criterion.include:
            hits = set(range(len(lines))) - hits
        found = frozenset(hits)
        self._by_criterion[id(criterion)] = (criterion, found)
        return found

    def available(self, lines: Iterable[CartLine], single_per_line: bool) -> list[CartLine]:
        return [
            line
            for line in lines
            if self.remaining[line.index] > 0
            and not (single_per_line and line.index in self.discounted)
        ]


def _compare(operator: str, left: Decimal, right: Decimal) -> bool:
    return COMPARATORS[operator](left, right)


def _product_holds(state: _State, product: ProductCondition, *, use_remaining: bool) -> bool:
    lines = state.matching(product.criteria)
    if not lines:
        return False
    if product.kpi == "NONE":
        return True
    if product.kpi == "QUANTITY":
        measured = sum((line.qty for line in lines), ZERO)
    elif use_remaining:
        measured = sum((state.remaining[line.index] for line in lines), ZERO)
    else:
        measured = sum((line.total for line in lines), ZERO)
    return _compare(product.operator, measured, product.value)


def _tender(cart: Cart, identifier: str) -> CartTender | None:
    for tender in cart.tenders:
        if tender.identifier.casefold() == identifier:
            return tender
    return None


def condition_holds(state: _State, condition: Condition, *, use_remaining: bool) -> bool:
    """Whether the cart meets the condition: on the amounts as sent, or (use_remaining) on what
    earlier promotions left, the base for stacked promotions."""
    if condition.kind == "CART":
        if condition.cart_kpi == "ITEMCOUNT":
            measured = sum((line.qty for line in state.cart.lines), ZERO)
        elif use_remaining:
            measured = sum(state.remaining.values(), ZERO)
        else:
            measured = state.subtotal
        return _compare(condition.operator, measured, condition.value)
    if condition.kind == "TENDER":
        tender = _tender(state.cart, condition.tender_identifier)
        if tender is None:
            return False
        if condition.tender_value is None:
            return True
        return _compare(condition.tender_operator, tender.amount, condition.tender_value)
    return all(
        _product_holds(state, product, use_remaining=use_remaining)
        for product in condition.products
    )


class CartProbe:
    """Checks conditions on the cart as sent (before any promotion applies), matching each
    criteria set once."""

    def __init__(self, cart: Cart, settings: RankingSettings) -> None:
        self._state = _State(cart, settings)

    def holds(self, condition: Condition) -> bool:
        return condition_holds(self._state, condition, use_remaining=False)


# Actions -------------------------------------------------------------------------------------
def _target_lines(state: _State, promotion: CompiledCartPromotion) -> tuple[CartLine, ...]:
    action = promotion.action
    if not action.from_condition:
        return state.matching(action.target)
    seen: dict[int, CartLine] = {}
    for product in promotion.condition.products:
        for line in state.matching(product.criteria):
            seen.setdefault(line.index, line)
    return tuple(sorted(seen.values(), key=lambda line: line.index))


def _amount_off(discount_type: str, value: Decimal, base: Decimal) -> Decimal:
    if discount_type == "PERCENTAGE":
        return cents(base * value / HUNDRED)
    return min(value, base)


def _units(state: _State, lines: Iterable[CartLine]) -> list[tuple[Decimal, int, int]]:
    """(unit price left, line index, whole units) groups, dearest first (then line order)."""
    groups = []
    for line in lines:
        units = int(line.qty.to_integral_value(ROUND_FLOOR))
        if units > 0:
            groups.append((state.remaining[line.index] / line.qty, line.index, units))
    groups.sort(key=lambda group: (-group[0], group[1]))
    return groups


def _take(groups: list[list[Any]], count: int, *, cheapest: bool) -> list[tuple[int, Decimal]]:
    """Take `count` units off the groups (from the dear or the cheap end): (line, price) each."""
    taken: list[tuple[int, Decimal]] = []
    order = reversed(groups) if cheapest else iter(groups)
    for group in order:
        while group[2] > 0 and len(taken) < count:
            group[2] -= 1
            taken.append((group[1], group[0]))
        if len(taken) >= count:
            break
    return taken


def _bundle_discounts(
    state: _State,
    promotion: CompiledCartPromotion,
    lines: Sequence[CartLine],
    max_bundles: int,
) -> tuple[dict[int, Decimal], int]:
    """FIXED_PRICE and FREE_PRODUCT: per-line discounts and how many bundles got one."""
    action = promotion.action
    size = int(promotion.condition.products[0].value)
    per_line: dict[int, Decimal] = {}
    bundles_done = 0
    if action.kind == "FREE_PRODUCT" and not action.from_condition:
        # Buy `size` of the condition's items, get `value` of the target items free.
        bought = sum(
            (line.qty for line in state.matching(promotion.condition.products[0].criteria)), ZERO
        )
        bundles = min(int(bought // size), max_bundles)
        free = int(action.value)
        groups = [list(group) for group in _units(state, lines)]
        for _ in range(bundles):
            taken = _take(groups, free, cheapest=True)
            if not taken:
                break
            bundles_done += 1
            for index, price in taken:
                per_line[index] = per_line.get(index, ZERO) + price
        return {index: cents_down(value) for index, value in per_line.items()}, bundles_done
    groups = [list(group) for group in _units(state, lines)]
    total_units = sum(group[2] for group in groups)
    bundles = min(total_units // size, max_bundles)
    for _ in range(bundles):
        bundle = _take(groups, size, cheapest=False)
        if len(bundle) < size:
            break
        if action.kind == "FREE_PRODUCT":
            # The cheapest `value` units of each bundle are free.
            free_units = bundle[-int(action.value) :]
            for index, price in free_units:
                per_line[index] = per_line.get(index, ZERO) + price
            bundles_done += 1
            continue
        value = sum((price for _, price in bundle), ZERO)
        off = cents_down(value - action.value)
        if off <= 0:
            break  # later bundles are cheaper still
        shares = allocate(off, [(position, price) for position, (_, price) in enumerate(bundle)])
        for position, amount in shares.items():
            index = bundle[position][0]
            per_line[index] = per_line.get(index, ZERO) + amount
        bundles_done += 1
    return {index: cents_down(value) for index, value in per_line.items()}, bundles_done


def _action_discounts(
    state: _State, candidate: Candidate, settings: RankingSettings
) -> tuple[dict[int, Decimal], int, str]:
    """(line index -> discount, redemptions, tender identifier) before caps."""
    promotion = candidate.promotion
    action = promotion.action
    single = settings.single_promotion_per_line_item
    if action.kind in ("CART_BASED", "TENDER"):
        lines = state.available(state.cart.lines, single)
        base = sum((state.remaining[line.index] for line in lines), ZERO)
        tender_identifier = ""
        if action.kind == "TENDER":
            tender = _tender(state.cart, promotion.condition.tender_identifier)
            if tender is None:
                return {}, 0, ""
            tender_identifier = tender.identifier
            base = min(base, tender.amount)
        off = _amount_off(action.discount_type, action.value, base)
        weights = [(line.index, state.remaining[line.index]) for line in lines]
        return allocate(off, weights), 1, tender_identifier
    lines = state.available(_target_lines(state, promotion), single)
    if not lines:
        return {}, 0, ""
    if action.kind == "PRODUCT_BASED":
        base = sum((state.remaining[line.index] for line in lines), ZERO)
        off = _amount_off(action.discount_type, action.value, base)
        return allocate(off, [(line.index, state.remaining[line.index]) for line in lines]), 1, ""
    if action.kind == "PER_UNIT":
        per_line = {
            line.index: min(cents(action.value * line.qty), cents_down(state.remaining[line.index]))
            for line in lines
        }
        return {index: value for index, value in per_line.items() if value > 0}, 1, ""
    max_bundles = MAX_BUNDLES
    for limit in (promotion.cart_max_redemptions, candidate.max_redemptions):
        if limit is not None:
            max_bundles = min(max_bundles, limit)
    per_line, bundles = _bundle_discounts(state, promotion, lines, max_bundles)
    return per_line, bundles, ""


def _cap(per_line: dict[int, Decimal], cap: Decimal) -> dict[int, Decimal]:
    total = sum(per_line.values(), ZERO)
    if total <= cap:
        return per_line
    return allocate(cents_down(cap), sorted(per_line.items()))


# Ranking -------------------------------------------------------------------------------------
def _standalone_discount(cart: Cart, candidate: Candidate, settings: RankingSettings) -> Decimal:
    per_line, _, _ = _action_discounts(_State(cart, settings), candidate, settings)
    return sum(per_line.values(), ZERO)


def rank(cart: Cart, candidates: Sequence[Candidate], settings: RankingSettings) -> list[Candidate]:
    """The order the engine tries candidates in (see the module docstring)."""
    rewards_first = settings.reward_strategy == "REWARDS_FIRST"
    cart_first = settings.condition_ranking == "CART_BASED_FIRST"
    standalone: dict[int, Decimal] = {}
    if settings.promotion_ranking == "MAX_DISCOUNT":
        standalone = {
            candidate.promotion.id: _standalone_discount(cart, candidate, settings)
            for candidate in candidates
        }

    def key(candidate: Candidate) -> tuple[Any, ...]:
        promotion = candidate.promotion
        is_reward = promotion.type == "REWARD"
        reward_group = 0 if is_reward == rewards_first else 1
        condition_group = 0 if promotion.condition.is_cart_level == cart_first else 1
        if settings.promotion_ranking == "MAX_DISCOUNT":
            strategy: Any = -standalone[promotion.id]
        elif settings.promotion_ranking == "EXPIRY_BASED":
            strategy = promotion.ends_at
        else:
            strategy = promotion.priority
        return (reward_group, condition_group, strategy, promotion.priority, promotion.id)

    return sorted(candidates, key=key)


# The engine ----------------------------------------------------------------------------------
def cart_promotions_apply(
    *, cart: Cart, candidates: Sequence[Candidate], settings: RankingSettings
) -> EngineResult:
    """Apply the candidates to the cart (see the module docstring). Pure and deterministic."""
    result = EngineResult()
    state = _State(cart, settings)
    eligible = []
    for candidate in candidates:
        if condition_holds(state, candidate.promotion.condition, use_remaining=False):
            eligible.append(candidate)
        else:
            result.not_applied.append(
                NotApplied(candidate, CONDITION_NOT_MET, "The cart does not meet the condition")
            )
    exclusive: AppliedPromotion | None = None
    for candidate in rank(cart, eligible, settings):
        promotion = candidate.promotion
        if exclusive is not None or (result.applied and not promotion.is_stackable):
            other = exclusive or result.applied[0]
            result.not_applied.append(
                NotApplied(
                    candidate,
                    NOT_STACKABLE,
                    f"Promotion {other.promotion.name!r} applied and the two do not stack",
                )
            )
            continue
        if result.applied and not condition_holds(state, promotion.condition, use_remaining=True):
            result.not_applied.append(
                NotApplied(
                    candidate,
                    CONDITION_NOT_MET_AFTER_DISCOUNTS,
                    "The cart no longer meets the condition after the promotions applied before",
                )
            )
            continue
        per_line, redemptions, tender_identifier = _action_discounts(state, candidate, settings)
        caps = [
            cap for cap in (promotion.cart_max_discount, candidate.max_discount) if cap is not None
        ]
        for cap in caps:
            per_line = _cap(per_line, cap)
        room = state.combined_cap - state.total_discount
        capped_by_org = sum(per_line.values(), ZERO) > room
        per_line = _cap(per_line, max(room, ZERO))
        discount = sum(per_line.values(), ZERO)
        if discount <= 0 or redemptions <= 0:
            reason, message = (
                (COMBINED_CAP_REACHED, "The cart's combined discount cap is reached")
                if capped_by_org
                else (NO_DISCOUNT, "Nothing left in the cart for this promotion to discount")
            )
            result.not_applied.append(NotApplied(candidate, reason, message))
            continue
        if promotion.cart_max_redemptions is not None:
            redemptions = min(redemptions, promotion.cart_max_redemptions)
        if candidate.max_redemptions is not None:
            redemptions = min(redemptions, candidate.max_redemptions)
        applied = AppliedPromotion(
            candidate=candidate,
            discount=discount,
            redemptions=redemptions,
            line_discounts=per_line,
            tender_identifier=tender_identifier,
        )
        result.applied.append(applied)
        for index, amount in per_line.items():
            state.remaining[index] -= amount
            state.discounted.add(index)
            result.line_discounts[index] = result.line_discounts.get(index, ZERO) + amount
        state.total_discount += discount
        if not promotion.is_stackable:
            exclusive = applied
    return result
