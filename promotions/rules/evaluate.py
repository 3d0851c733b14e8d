"""Checking a rule tree against the names and functions the engine knows, and compiling it into
plain Python closures that evaluate it against an event (no eval, no exec).

Names (the event as a rule sees it; docs/API.md "Rule language" lists them):

    bill.amount grossAmount discount number type source lineItemCount quantity date billedAt
         extendedFields.<key> customFields.<key>
    lineItem.sku category brand qty amount rate value discount description serial
         (allocatePointsOn LINEITEM: the line being evaluated)
    store.id code name externalId    zone.code name    concept.code name    till.id code name
    customer.id tier tierNumber labels registrationDate registeredAt source loyaltyType
         lifetimePurchases daysSinceRegistration
    program.id name    event.name source date attributes.<key>
    target.ruleId groupId name value      (TARGETCOMPLETED)

A failure while evaluating (a division by zero, comparing a text with a number) makes the rule
false for that event: RuleEvaluationError is raised and the engine treats the rule as not met.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from promotions.rules.nodes import Node, RuleSyntaxError, walk

VARIABLES: dict[str, frozenset[str]] = {
    "bill": frozenset(
        {
            "amount",
            "grossAmount",
            "discount",
            "number",
            "type",
            "source",
            "lineItemCount",
            "quantity",
            "date",
            "billedAt",
            "extendedFields",
            "customFields",
        }
    ),
    "lineItem": frozenset(
        {"sku", "category", "brand", "qty", "amount", "rate", "value", "discount", "description"}
        | {"serial"}
    ),
    "store": frozenset({"id", "code", "name", "externalId"}),
    "zone": frozenset({"code", "name"}),
    "concept": frozenset({"code", "name"}),
    "till": frozenset({"id", "code", "name"}),
    "customer": frozenset(
        {
            "id",
            "tier",
            "tierNumber",
            "labels",
            "registrationDate",
            "registeredAt",
            "source",
            "loyaltyType",
            "lifetimePurchases",
            "daysSinceRegistration",
        }
    ),
    "program": frozenset({"id", "name"}),
    "event": frozenset({"name", "source", "date", "attributes"}),
    "target": frozenset({"ruleId", "groupId", "name", "value"}),
}
# Attributes that are maps: a third name segment picks a key.
MAP_VARIABLES = {
    ("bill", "extendedFields"),
    ("bill", "customFields"),
    ("event", "attributes"),
}


class RuleEvaluationError(Exception):
    """The rule could not be evaluated against this event (it is treated as not met)."""


class RuleContext:
    """The event as rules see it: root name -> mapping, or a zero-argument loader called at most
    once (so a rule that never mentions `store` never loads the store). `lines` feeds the
    line functions; `line` is bound while a LINEITEM promotion evaluates one line."""

    __slots__ = ("_roots", "_loaded", "_line_index", "lines", "today")

    def __init__(
        self,
        roots: Mapping[str, Any],
        *,
        lines: Callable[[], list[Mapping[str, Any]]] | list[Mapping[str, Any]] | None = None,
        today: datetime.date | None = None,
    ) -> None:
        self._roots = dict(roots)
        self._loaded: dict[str, Any] = {}
        # field -> value -> lines: built once per event, shared by every rule that asks.
        self._line_index: dict[str, dict[str, list[Mapping[str, Any]]]] = {}
        self.lines = lines if lines is not None else []
        self.today = today or datetime.date.today()

    def root(self, name: str) -> Any:
        if name in self._loaded:
            return self._loaded[name]
        value = self._roots.get(name)
        if callable(value):
            value = value()
        self._loaded[name] = value
        return value

    def line_rows(self) -> list[Mapping[str, Any]]:
        if callable(self.lines):
            self.lines = self.lines()
        return self.lines

    def lines_by(self, field: str) -> dict[str, list[Mapping[str, Any]]]:
        index = self._line_index.get(field)
        if index is None:
            index = {}
            for line in self.line_rows():
                index.setdefault(str(line.get(field) or ""), []).append(line)
            self._line_index[field] = index
        return index

    def with_roots(self, **overrides: Any) -> RuleContext:
        """A child context sharing what was loaded, with some roots replaced (e.g. lineItem)."""
        child = RuleContext.__new__(RuleContext)
        child._roots = {**self._roots, **overrides}
        child._loaded = {k: v for k, v in self._loaded.items() if k not in overrides}
        child._line_index = self._line_index
        child.lines = self.lines
        child.today = self.today
        return child


# Values ------------------------------------------------------------------------------------------
def _to_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _to_date(value: Any) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return datetime.date.fromisoformat(text[:10])
        except ValueError:
            return None
    return None


def truthy(value: Any) -> bool:
    if isinstance(value, Decimal):
        return value != 0
    return bool(value)


def _coerce_pair(left: Any, right: Any) -> tuple[Any, Any]:
    """Bring two values to one comparable type: numbers with numeric text, dates with ISO text."""
    if isinstance(left, bool) or isinstance(right, bool):
        return left, right
    if isinstance(left, int | float | Decimal) or isinstance(right, int | float | Decimal):
        left_number, right_number = _to_decimal(left), _to_decimal(right)
        if left_number is not None and right_number is not None:
            return left_number, right_number
        raise RuleEvaluationError(f"Cannot compare {left!r} with {right!r}")
    if isinstance(left, datetime.date) or isinstance(right, datetime.date):
        left_date, right_date = _to_date(left), _to_date(right)
        if left_date is not None and right_date is not None:
            return left_date, right_date
        raise RuleEvaluationError(f"Cannot compare {left!r} with {right!r}")
    return left, right


def _equal(left: Any, right: Any) -> bool:
    if left is None or right is None:
        return left is None and right is None
    try:
        left, right = _coerce_pair(left, right)
    except RuleEvaluationError:
        return False
    return left == right


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "==":
        return _equal(left, right)
    if op == "!=":
        return not _equal(left, right)
    if left is None or right is None:
        return False
    left, right = _coerce_pair(left, right)
    try:
        if op == "<":
            return left < right
        if op == "<=":
            return left <= right
        if op == ">":
            return left > right
        return left >= right
    except TypeError as exc:
        raise RuleEvaluationError(f"Cannot order {left!r} and {right!r}") from exc


def _member(needle: Any, haystack: Any) -> bool:
    if haystack is None:
        return False
    if isinstance(haystack, str):
        return isinstance(needle, str) and needle in haystack
    if isinstance(haystack, list | tuple | set | frozenset):
        return any(_equal(needle, item) for item in haystack)
    raise RuleEvaluationError(f"'in' needs a list or a text, found {haystack!r}")


def _number(value: Any, what: str) -> Decimal:
    number = _to_decimal(value)
    if number is None:
        raise RuleEvaluationError(f"{what} needs a number, found {value!r}")
    return number


def _arith(op: str, left: Any, right: Any) -> Any:
    if op == "+" and isinstance(left, str) and isinstance(right, str):
        return left + right
    a, b = _number(left, op), _number(right, op)
    try:
        if op == "+":
            return a + b
        if op == "-":
            return a - b
        if op == "*":
            return a * b
        if op == "/":
            return a / b
        return a % b
    except (InvalidOperation, ZeroDivisionError) as exc:
        raise RuleEvaluationError(f"{a} {op} {b} is undefined") from exc


# Functions ---------------------------------------------------------------------------------------
def _texts(args: Iterable[Any]) -> set[str]:
    values: set[str] = set()
    for arg in args:
        if isinstance(arg, list | tuple):
            values.update(str(item) for item in arg)
        elif arg is not None:
            values.add(str(arg))
    return values


def _lines_matching(context: RuleContext, field: str, args: tuple[Any, ...]):
    index = context.lines_by(field)
    return [line for value in _texts(args) for line in index.get(value, ())]


def _line_sum(field: str, total: str) -> Callable[[RuleContext, tuple[Any, ...]], Decimal]:
    def sum_lines(context: RuleContext, args: tuple[Any, ...]) -> Decimal:
        return sum(
            (_number(line.get(total), total) for line in _lines_matching(context, field, args)),
            Decimal(0),
        )

    return sum_lines


def _line_any(field: str) -> Callable[[RuleContext, tuple[Any, ...]], bool]:
    def any_line(context: RuleContext, args: tuple[Any, ...]) -> bool:
        index = context.lines_by(field)
        return any(value in index for value in _texts(args))

    return any_line


def _has_label(context: RuleContext, args: tuple[Any, ...]) -> bool:
    customer = context.root("customer") or {}
    labels = customer.get("labels") if isinstance(customer, Mapping) else None
    return bool(_texts(args) & set(labels or []))


def _round(context: RuleContext, args: tuple[Any, ...]) -> Decimal:
    places = int(_number(args[1], "round")) if len(args) > 1 else 0
    return _number(args[0], "round").quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _days_since(context: RuleContext, args: tuple[Any, ...]) -> int:
    day = _to_date(args[0])
    if day is None:
        raise RuleEvaluationError(f"daysSince needs a date, found {args[0]!r}")
    return (context.today - day).days


def _date(context: RuleContext, args: tuple[Any, ...]) -> datetime.date:
    day = _to_date(args[0])
    if day is None:
        raise RuleEvaluationError(f"date needs YYYY-MM-DD, found {args[0]!r}")
    return day


def _length(context: RuleContext, args: tuple[Any, ...]) -> int:
    value = args[0]
    if value is None:
        return 0
    if isinstance(value, str | list | tuple | set | frozenset | dict):
        return len(value)
    raise RuleEvaluationError(f"len needs a list or a text, found {value!r}")


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise RuleEvaluationError(f"{what} needs a text, found {value!r}")
    return value


FunctionImpl = Callable[[RuleContext, tuple[Any, ...]], Any]
# name -> (minimum arguments, maximum arguments or None, implementation)
FUNCTIONS: dict[str, tuple[int, int | None, FunctionImpl]] = {
    "hasSku": (1, None, _line_any("sku")),
    "hasCategory": (1, None, _line_any("category")),
    "hasBrand": (1, None, _line_any("brand")),
    "skuAmount": (1, None, _line_sum("sku", "amount")),
    "categoryAmount": (1, None, _line_sum("category", "amount")),
    "brandAmount": (1, None, _line_sum("brand", "amount")),
    "skuQty": (1, None, _line_sum("sku", "qty")),
    "categoryQty": (1, None, _line_sum("category", "qty")),
    "brandQty": (1, None, _line_sum("brand", "qty")),
    "hasLabel": (1, None, _has_label),
    "lower": (1, 1, lambda c, a: None if a[0] is None else _text(a[0], "lower").lower()),
    "upper": (1, 1, lambda c, a: None if a[0] is None else _text(a[0], "upper").upper()),
    "len": (1, 1, _length),
    "abs": (1, 1, lambda c, a: abs(_number(a[0], "abs"))),
    "min": (1, None, lambda c, a: min(_number(x, "min") for x in a)),
    "max": (1, None, lambda c, a: max(_number(x, "max") for x in a)),
    "round": (1, 2, _round),
    "floor": (1, 1, lambda c, a: _number(a[0], "floor").to_integral_value(rounding=ROUND_FLOOR)),
    "ceil": (1, 1, lambda c, a: _number(a[0], "ceil").to_integral_value(rounding=ROUND_CEILING)),
    "date": (1, 1, _date),
    "today": (0, 0, lambda c, a: c.today),
    "daysSince": (1, 1, _days_since),
    "contains": (2, 2, lambda c, a: _member(a[1], a[0])),
    "startsWith": (
        2,
        2,
        lambda c, a: isinstance(a[0], str) and a[0].startswith(_text(a[1], "startsWith")),
    ),
}
# Functions that read the bill's lines (a rule using them loads the line items).
LINE_FUNCTIONS = frozenset(
    name for name in FUNCTIONS if name.startswith("has") and name != "hasLabel"
) | frozenset(name for name in FUNCTIONS if name.endswith(("Amount", "Qty")))


# Checking ----------------------------------------------------------------------------------------
def check(node: Node) -> frozenset[str]:
    """Check every name and call of the tree; return the root names it reads (plus "lines"
    when it reads the line items). Raises RuleSyntaxError."""
    roots: set[str] = set()
    for item in walk(node):
        if item[0] == "var":
            parts = item[1].split(".")
            root = parts[0]
            if root not in VARIABLES:
                known = ", ".join(sorted(VARIABLES))
                raise RuleSyntaxError(f"Unknown name {item[1]!r}: names start with one of {known}")
            if len(parts) < 2 or parts[1] not in VARIABLES[root]:
                raise RuleSyntaxError(f"Unknown name {item[1]!r}")
            is_map = (root, parts[1]) in MAP_VARIABLES
            if len(parts) > 3 or (len(parts) == 3 and not is_map):
                raise RuleSyntaxError(f"Unknown name {item[1]!r}")
            roots.add(root)
        elif item[0] == "call":
            name, args = item[1], item[2]
            if name not in FUNCTIONS:
                raise RuleSyntaxError(f"Unknown function {name!r}")
            minimum, maximum, _ = FUNCTIONS[name]
            if len(args) < minimum or (maximum is not None and len(args) > maximum):
                raise RuleSyntaxError(f"{name}() takes a different number of arguments")
            if name in LINE_FUNCTIONS:
                roots.add("lines")
            if name == "hasLabel":
                roots.add("customer")
    return frozenset(roots)


# Compiling ---------------------------------------------------------------------------------------
Evaluator = Callable[[RuleContext], Any]


def _compile_var(path: str) -> Evaluator:
    parts = path.split(".")
    root = parts[0]
    rest = parts[1:]

    def read(context: RuleContext) -> Any:
        value = context.root(root)
        for part in rest:
            if value is None:
                return None
            if not isinstance(value, Mapping):
                raise RuleEvaluationError(f"{path} cannot be read")
            value = value.get(part)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return Decimal(str(value))
        return value

    return read


def _compile(node: Node) -> Evaluator:
    kind = node[0]
    if kind == "lit":
        value = node[1]
        return lambda context: value
    if kind == "var":
        return _compile_var(node[1])
    if kind == "list":
        items = [_compile(item) for item in node[1]]
        return lambda context: [item(context) for item in items]
    if kind == "not":
        operand = _compile(node[1])
        return lambda context: not truthy(operand(context))
    if kind == "neg":
        operand = _compile(node[1])
        return lambda context: -_number(operand(context), "-")
    if kind == "and":
        left, right = _compile(node[1]), _compile(node[2])
        return lambda context: truthy(left(context)) and truthy(right(context))
    if kind == "or":
        left, right = _compile(node[1]), _compile(node[2])
        return lambda context: truthy(left(context)) or truthy(right(context))
    if kind == "cmp":
        op, left, right = node[1], _compile(node[2]), _compile(node[3])
        return lambda context: _compare(op, left(context), right(context))
    if kind in {"in", "notin"}:
        left, right = _compile(node[1]), _compile(node[2])
        if kind == "in":
            return lambda context: _member(left(context), right(context))
        return lambda context: not _member(left(context), right(context))
    if kind == "arith":
        op, left, right = node[1], _compile(node[2]), _compile(node[3])
        return lambda context: _arith(op, left(context), right(context))
    if kind == "call":
        implementation = FUNCTIONS[node[1]][2]
        args = [_compile(arg) for arg in node[2]]
        return lambda context: implementation(context, tuple(arg(context) for arg in args))
    raise RuleSyntaxError(f"Unknown node {kind!r}")  # pragma: no cover


@dataclass(frozen=True)
class CompiledRule:
    """A checked rule: `roots` are the names it reads; `matches` evaluates it to a boolean."""

    tree: Node
    roots: frozenset[str]
    evaluate: Evaluator

    def matches(self, context: RuleContext) -> bool:
        try:
            return truthy(self.evaluate(context))
        except RuleEvaluationError:
            raise
        except (ArithmeticError, TypeError, ValueError, RecursionError) as exc:
            raise RuleEvaluationError(str(exc)) from exc

    @property
    def reads_line_item(self) -> bool:
        return "lineItem" in self.roots


def compile_tree(node: Node) -> CompiledRule:
    """Check and compile a tree. Raises RuleSyntaxError."""
    roots = check(node)
    return CompiledRule(tree=node, roots=roots, evaluate=_compile(node))
