"""Writing a syntax tree back as an `exp` string (parenthesised only where precedence needs it)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from promotions.rules.nodes import Node

# Higher binds tighter; mirrors the parser's grammar.
PRECEDENCE = {"or": 1, "and": 2, "not": 3, "cmp": 4, "in": 4, "notin": 4, "add": 5, "mul": 6}


def _string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    escaped = escaped.replace("\t", "\\t")
    return f'"{escaped}"'


def _literal(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, Decimal):
        return format(value, "f")
    return _string(str(value))


def _level(node: Node) -> int:
    kind = node[0]
    if kind == "arith":
        return PRECEDENCE["add"] if node[1] in {"+", "-"} else PRECEDENCE["mul"]
    if kind == "lit" and isinstance(node[1], Decimal) and node[1] < 0:
        return PRECEDENCE["mul"]
    return PRECEDENCE.get(kind, 9)


def _wrap(node: Node, minimum: int) -> str:
    text = to_exp(node)
    return f"({text})" if _level(node) < minimum else text


def to_exp(node: Node) -> str:
    """The tree as an `exp` string that parses back to the same tree."""
    kind = node[0]
    if kind == "lit":
        return _literal(node[1])
    if kind == "var":
        return node[1]
    if kind == "list":
        return "[" + ", ".join(to_exp(item) for item in node[1]) + "]"
    if kind == "call":
        return f"{node[1]}(" + ", ".join(to_exp(item) for item in node[2]) + ")"
    if kind == "not":
        return "!" + _wrap(node[1], 9)
    if kind == "neg":
        return "-" + _wrap(node[1], 9)
    if kind in {"and", "or"}:
        level = PRECEDENCE[kind]
        op = "&&" if kind == "and" else "||"
        # Left-nested chains read without brackets; a same-level right side keeps them.
        return f"{_wrap(node[1], level)} {op} {_wrap(node[2], level + 1)}"
    if kind in {"cmp", "in", "notin"}:
        op = {"in": "in", "notin": "not in"}.get(kind, node[1] if kind == "cmp" else "")
        left, right = (node[2], node[3]) if kind == "cmp" else (node[1], node[2])
        level = PRECEDENCE["cmp"]
        return f"{_wrap(left, level + 1)} {op} {_wrap(right, level + 1)}"
    if kind == "arith":
        level = _level(node)
        return f"{_wrap(node[2], level)} {node[1]} {_wrap(node[3], level + 1)}"
    raise ValueError(f"Unknown node {kind!r}")  # pragma: no cover
