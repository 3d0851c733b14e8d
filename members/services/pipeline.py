"""The explicit seam where other domains plug into the members flows.

After a transaction is added (or returned) or a customer registers, the members services call each
function listed in the matching setting, in order, inside the same database transaction:

    TRANSACTION_ADD_PIPELINE     f(*, transaction, actor, context) -> list[SideEffect dict]
    TRANSACTION_RETURN_PIPELINE  f(*, transaction, actor, context) -> list[SideEffect dict]
    CUSTOMER_REGISTRATION_PIPELINE  f(*, customer, actor, context) -> list[SideEffect dict]

The earning engine (points promotions) and coupon redemption register themselves there, e.g.
`"promotions.services.earning.earning_on_transaction_add"`. A step that raises a DomainError
rolls the whole call back, so a bill is never half-processed. The side effects they return are
the contract's `sideEffects[]` items (§11.1): `{"type": "points", "awardedPoints": ...}` etc.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

SideEffect = dict[str, Any]

_cache: dict[str, Callable[..., list[SideEffect]]] = {}


def _steps(setting_name: str) -> list[Callable[..., list[SideEffect]]]:
    steps = []
    for dotted in getattr(settings, setting_name, []):
        if dotted not in _cache:
            _cache[dotted] = import_string(dotted)
        steps.append(_cache[dotted])
    return steps


def run_pipeline(setting_name: str, **kwargs: Any) -> list[SideEffect]:
    """Call every step of `setting_name` with `kwargs`; return their side effects in order."""
    side_effects: list[SideEffect] = []
    for step in _steps(setting_name):
        side_effects.extend(step(**kwargs) or [])
    return side_effects
