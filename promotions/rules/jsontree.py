"""The `expJSON` tree: reading it into the shared syntax tree and writing a tree out as JSON.

The contract's sample is a top-down-operator-precedence tree:
`{"arity": "literal", "value": "true", "type": "boolean:primitive"}`. Nodes read here:

    {"arity": "literal", "value": v, "type": "boolean:primitive" | "number:primitive" | ...}
    {"arity": "name", "value": "bill.amount"}
    {"arity": "binary", "value": op, "first": node, "second": node}
        op: && || and or == != < <= > >= + - * / % in "not in"; "." (member access, the second
        side a name); "(" (a call: first the function name, second the list of arguments)
    {"arity": "unary", "value": "!" | "not" | "-", "first": node}
    {"arity": "unary", "value": "[", "first": [node, ...]}   or  {"arity": "list", "value": [...]}
    {"arity": "function", "value": name, "args": [node, ...]}

Anything else is refused with a message naming the node.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import Any

from promotions.rules.nodes import (
    ARITHMETIC,
    COMPARISONS,
    MAX_DEPTH,
    MAX_EXPRESSION_LENGTH,
    Node,
    RuleSyntaxError,
)

BOOLEAN_TYPE = "boolean:primitive"
NUMBER_TYPE = "number:primitive"
STRING_TYPE = "string:primitive"
NULL_TYPE = "null"
OPERATOR_ALIASES = {"and": "&&", "or": "||", "=": "==", "<>": "!="}


def _literal(raw: dict[str, Any]) -> Node:
    value = raw.get("value")
    type_name = str(raw.get("type") or "").lower()
    if type_name.startswith("boolean"):
        if isinstance(value, bool):
            return ("lit", value)
        if str(value).strip().lower() in {"true", "false"}:
            return ("lit", str(value).strip().lower() == "true")
        raise RuleSyntaxError(f"Boolean literal with value {value!r}")
    if type_name.startswith(("number", "integer", "long", "double", "float", "decimal")):
        if isinstance(value, bool):
            raise RuleSyntaxError(f"Number literal with value {value!r}")
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise RuleSyntaxError(f"Number literal with value {value!r}") from exc
        if not number.is_finite():
            raise RuleSyntaxError(f"Number literal with value {value!r}")
        return ("lit", number)
    if type_name.startswith("string"):
        if value is None or isinstance(value, dict | list):
            raise RuleSyntaxError(f"String literal with value {value!r}")
        return ("lit", str(value))
    if type_name == NULL_TYPE or (value is None and not type_name):
        return ("lit", None)
    if type_name:
        raise RuleSyntaxError(f"Unknown literal type {raw.get('type')!r}")
    # No type: take the JSON value as it is.
    if isinstance(value, bool) or isinstance(value, str):
        return ("lit", value)
    if isinstance(value, int | float):
        return ("lit", Decimal(str(value)))
    raise RuleSyntaxError(f"Unsupported literal value {value!r}")


def _name_of(raw: Any) -> str:
    if isinstance(raw, dict) and raw.get("arity") in {"name", "literal"}:
        value = raw.get("value")
        if isinstance(value, str) and value.strip():
            return value.strip()
    raise RuleSyntaxError(f"Expected a name node, found {str(raw)[:80]!r}")


def _items(raw: Any, depth: int) -> tuple[Node, ...]:
    if not isinstance(raw, list):
        raise RuleSyntaxError(f"Expected a list of nodes, found {str(raw)[:80]!r}")
    return tuple(_read(item, depth + 1) for item in raw)


def _read(raw: Any, depth: int) -> Node:
    if depth > MAX_DEPTH:
        raise RuleSyntaxError(f"The expression nests deeper than {MAX_DEPTH} levels")
    if not isinstance(raw, dict):
        raise RuleSyntaxError(f"Expected a node object, found {str(raw)[:80]!r}")
    arity = str(raw.get("arity") or "").strip().lower()
    value = raw.get("value")
    if arity == "literal":
        return _literal(raw)
    if arity == "name":
        name = _name_of(raw)
        return ("var", name)
    if arity in {"list", "array"}:
        return ("list", _items(value, depth))
    if arity == "function":
        name = _name_of({"arity": "name", "value": value})
        return ("call", name, _items(raw.get("args", raw.get("first", [])), depth))
    if arity == "unary":
        op = OPERATOR_ALIASES.get(str(value).strip().lower(), str(value).strip().lower())
        if op == "[":
            return ("list", _items(raw.get("first"), depth))
        operand = _read(raw.get("first"), depth + 1)
        if op in {"!", "not"}:
            return ("not", operand)
        if op == "-":
            if operand[0] == "lit" and isinstance(operand[1], Decimal):
                return ("lit", -operand[1])
            return ("neg", operand)
        raise RuleSyntaxError(f"Unknown unary operator {value!r}")
    if arity == "binary":
        op = str(value).strip()
        op = OPERATOR_ALIASES.get(op.lower(), op)
        if op == ".":
            base = _read(raw.get("first"), depth + 1)
            if base[0] != "var":
                raise RuleSyntaxError("Member access needs a name on its left")
            return ("var", f"{base[1]}.{_name_of(raw.get('second'))}")
        if op == "(":
            name = _name_of(raw.get("first"))
            return ("call", name, _items(raw.get("second"), depth))
        left = _read(raw.get("first"), depth + 1)
        right = _read(raw.get("second"), depth + 1)
        if op == "&&":
            return ("and", left, right)
        if op == "||":
            return ("or", left, right)
        if op in COMPARISONS:
            return ("cmp", op, left, right)
        if op in ARITHMETIC:
            return ("arith", op, left, right)
        if op.lower() == "in":
            return ("in", left, right)
        if op.lower() in {"not in", "notin"}:
            return ("notin", left, right)
        raise RuleSyntaxError(f"Unknown binary operator {value!r}")
    raise RuleSyntaxError(f"Unknown node arity {raw.get('arity')!r}")


def parse_exp_json(source: str | dict[str, Any]) -> Node:
    """Read an `expJSON` value (JSON text or an already decoded object). Raises RuleSyntaxError."""
    if isinstance(source, str):
        if len(source) > MAX_EXPRESSION_LENGTH * 4:
            raise RuleSyntaxError("expJSON is too long")
        if not source.strip():
            raise RuleSyntaxError("expJSON is empty")
        try:
            data = json.loads(source, parse_float=Decimal)
        except (ValueError, RecursionError) as exc:
            raise RuleSyntaxError(f"expJSON is not valid JSON: {exc}") from exc
    else:
        data = source
    return _read(data, 0)


# Writing -----------------------------------------------------------------------------------------
def _literal_json(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"arity": "literal", "value": "true" if value else "false", "type": BOOLEAN_TYPE}
    if value is None:
        return {"arity": "literal", "value": None, "type": NULL_TYPE}
    if isinstance(value, Decimal):
        return {"arity": "literal", "value": format(value, "f"), "type": NUMBER_TYPE}
    return {"arity": "literal", "value": value, "type": STRING_TYPE}


def to_exp_json(node: Node) -> dict[str, Any]:
    """The tree as an `expJSON` object (the shape `parse_exp_json` reads)."""
    kind = node[0]
    if kind == "lit":
        return _literal_json(node[1])
    if kind == "var":
        return {"arity": "name", "value": node[1]}
    if kind == "list":
        return {"arity": "list", "value": [to_exp_json(item) for item in node[1]]}
    if kind == "not":
        return {"arity": "unary", "value": "!", "first": to_exp_json(node[1])}
    if kind == "neg":
        return {"arity": "unary", "value": "-", "first": to_exp_json(node[1])}
    if kind in {"and", "or", "in", "notin"}:
        op = {"and": "&&", "or": "||", "in": "in", "notin": "not in"}[kind]
        return {
            "arity": "binary",
            "value": op,
            "first": to_exp_json(node[1]),
            "second": to_exp_json(node[2]),
        }
    if kind in {"cmp", "arith"}:
        return {
            "arity": "binary",
            "value": node[1],
            "first": to_exp_json(node[2]),
            "second": to_exp_json(node[3]),
        }
    if kind == "call":
        return {"arity": "function", "value": node[1], "args": [to_exp_json(a) for a in node[2]]}
    raise RuleSyntaxError(f"Unknown node {kind!r}")  # pragma: no cover


def to_exp_json_text(node: Node) -> str:
    return json.dumps(to_exp_json(node), separators=(", ", ": "))
