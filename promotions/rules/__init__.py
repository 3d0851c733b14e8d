"""The promotions' rule language: a safe interpreter over the `exp` string and the `expJSON` tree.

`rule_compile(exp=..., exp_json=...)` reads both, checks that they say the same thing and that every
name and function is known, and returns a CompiledRule whose `matches(context)` evaluates it.
Nothing here uses Python's eval or exec: the parser builds a tree of tuples and the compiler turns
it into closures over a fixed set of operators and functions.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from promotions.rules.evaluate import (
    FUNCTIONS,
    VARIABLES,
    CompiledRule,
    RuleContext,
    RuleEvaluationError,
    compile_tree,
)
from promotions.rules.jsontree import parse_exp_json, to_exp_json, to_exp_json_text
from promotions.rules.nodes import TRUE, Node, RuleSyntaxError, conjunction, flatten_and, literal
from promotions.rules.parser import parse_exp
from promotions.rules.render import to_exp

__all__ = [
    "FUNCTIONS",
    "TRUE",
    "VARIABLES",
    "CompiledRule",
    "Node",
    "RuleContext",
    "RuleEvaluationError",
    "RuleSyntaxError",
    "compile_tree",
    "conjunction",
    "flatten_and",
    "literal",
    "parse_exp",
    "parse_exp_json",
    "rule_compile",
    "same_tree",
    "to_exp",
    "to_exp_json",
    "to_exp_json_text",
]


def _typed(node: Any) -> Any:
    """The tree with literals tagged by type, so `true` never equals `1`."""
    if isinstance(node, tuple):
        if node and node[0] == "lit":
            value = node[1]
            tag = "bool" if isinstance(value, bool) else type(value).__name__
            return ("lit", tag, value)
        return tuple(_typed(item) for item in node)
    return node


def same_tree(left: Node, right: Node) -> bool:
    return _typed(left) == _typed(right)


def rule_compile(*, exp: str | None, exp_json: str | dict | None) -> CompiledRule:
    """Read a rule given as `exp` and/or `expJSON`; when both are given they must describe the same
    rule. Raises RuleSyntaxError."""
    has_exp = isinstance(exp, str) and exp.strip() != ""
    has_json = exp_json not in (None, "") and not (
        isinstance(exp_json, str) and not exp_json.strip()
    )
    if not has_exp and not has_json:
        raise RuleSyntaxError("The rule has neither exp nor expJSON")
    tree_from_exp = parse_exp(exp) if has_exp else None
    tree_from_json = parse_exp_json(exp_json) if has_json else None
    if tree_from_exp is not None and tree_from_json is not None:
        if not same_tree(tree_from_exp, tree_from_json):
            raise RuleSyntaxError(
                f"exp and expJSON describe different rules (exp reads {to_exp(tree_from_json)!r} "
                "from expJSON)"
            )
    tree = tree_from_exp if tree_from_exp is not None else tree_from_json
    return compile_tree(tree)


def decimal_literal(value: Decimal | int | str) -> Node:
    return literal(Decimal(str(value)))
