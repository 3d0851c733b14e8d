"""The rule language's syntax tree, shared by the `exp` parser, the `expJSON` reader and the
renderers. Nodes are plain tuples so two trees compare (and hash) by value:

    ("lit", value)              value: bool, None, Decimal or str
    ("var", "bill.amount")      a dotted name
    ("list", (node, ...))
    ("not", node) / ("neg", node)
    ("and", left, right) / ("or", left, right)
    ("cmp", op, left, right)    op: == != < <= > >=
    ("in", left, right) / ("notin", left, right)
    ("arith", op, left, right)  op: + - * / %
    ("call", name, (node, ...))
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

Node = tuple[Any, ...]

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
ARITHMETIC = ("+", "-", "*", "/", "%")
# Nesting deeper than this is refused (a rule is a condition, not a program).
MAX_DEPTH = 64
MAX_EXPRESSION_LENGTH = 20_000


class RuleSyntaxError(ValueError):
    """The rule text or tree cannot be read; the message says where and why."""


def literal(value: Any) -> Node:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return ("lit", value)
    if isinstance(value, int | Decimal):
        return ("lit", Decimal(value))
    raise RuleSyntaxError(f"Unsupported literal {value!r}")


TRUE: Node = ("lit", True)


def conjunction(parts: list[Node]) -> Node:
    """`a && b && ...` (left-nested, as the parser builds it); `true` when empty."""
    if not parts:
        return TRUE
    node = parts[0]
    for part in parts[1:]:
        node = ("and", node, part)
    return node


def flatten_and(node: Node) -> list[Node]:
    if node[0] == "and":
        return [*flatten_and(node[1]), *flatten_and(node[2])]
    return [node]


def walk(node: Node):
    """Every node of the tree, parents first."""
    yield node
    kind = node[0]
    if kind in {"lit", "var"}:
        return
    if kind == "list":
        for item in node[1]:
            yield from walk(item)
    elif kind in {"not", "neg"}:
        yield from walk(node[1])
    elif kind in {"and", "or", "in", "notin"}:
        yield from walk(node[1])
        yield from walk(node[2])
    elif kind in {"cmp", "arith"}:
        yield from walk(node[2])
        yield from walk(node[3])
    elif kind == "call":
        for argument in node[2]:
            yield from walk(argument)
