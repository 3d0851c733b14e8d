"""Promotions write services: definitions (add / update), issue and enrol, the earning engine's
pipeline steps, and custom events / completed targets."""

from promotions.services.definitions import (
    catalog_changed,
    promotion_create,
    promotion_save,
    promotion_set_active,
    promotion_spec_check,
    promotion_spec_of,
    promotion_update,
    strategies_changed,
)
from promotions.services.earning import (
    earn_for_event,
    earning_on_customer_registration,
    earning_on_transaction_add,
)
from promotions.services.events import promotion_event_fire, promotion_target_completed
from promotions.services.issues import promotion_enrol, promotion_issue, promotion_issue_revoke
from promotions.services.specs import (
    ActionSpec,
    FilterSpec,
    PromotionSpec,
    RestrictionSpec,
    RulesetSpec,
    RuleSpec,
)

__all__ = [
    "ActionSpec",
    "FilterSpec",
    "PromotionSpec",
    "RestrictionSpec",
    "RuleSpec",
    "RulesetSpec",
    "catalog_changed",
    "earn_for_event",
    "earning_on_customer_registration",
    "earning_on_transaction_add",
    "promotion_create",
    "promotion_enrol",
    "promotion_event_fire",
    "promotion_issue",
    "promotion_issue_revoke",
    "promotion_save",
    "promotion_set_active",
    "promotion_spec_check",
    "promotion_spec_of",
    "promotion_target_completed",
    "promotion_update",
    "strategies_changed",
]
