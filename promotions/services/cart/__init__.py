"""Cart promotions (the promotion engine, CONTRACT.md §5.2).

specs.py        the create / update body, checked and normalised
definitions.py  create, update, activate / deactivate, the org's ranking settings
catalog.py      the org's live promotions, compiled once per process and change
engine.py       the pure evaluation of a cart against candidate promotions
usage.py        usage limits: counters, holds, windows
evaluation.py   cart_evaluate (the quote, with holds) and cancel
bills.py        the bill seams: a bill uses its evaluation's holds, a return gives them back
codes.py        promo codes: generate, add, upload, link
"""

from promotions.services.cart.activations import cart_promotion_earn
from promotions.services.cart.bills import (
    cart_promotions_on_transaction_add,
    cart_promotions_on_transaction_return,
)
from promotions.services.cart.catalog import cart_catalog_changed, cart_catalog_clear
from promotions.services.cart.codes import (
    promo_code_add,
    promo_code_link,
    promo_codes_add,
    promo_codes_generate,
    promo_codes_generate_start,
    promo_codes_upload_start,
)
from promotions.services.cart.definitions import (
    MAX_ACTIVE_CART_PROMOTIONS,
    cart_promotion_create,
    cart_promotion_set_active,
    cart_promotion_settings_save,
    cart_promotion_update,
)
from promotions.services.cart.evaluation import (
    CartInput,
    CartItemInput,
    CartTenderInput,
    cart_evaluate,
    cart_evaluation_cancel,
)
from promotions.services.cart.specs import CartPromotionSpec, cart_promotion_spec_from_body

__all__ = [
    "MAX_ACTIVE_CART_PROMOTIONS",
    "CartInput",
    "CartItemInput",
    "CartPromotionSpec",
    "CartTenderInput",
    "cart_catalog_changed",
    "cart_catalog_clear",
    "cart_evaluate",
    "cart_evaluation_cancel",
    "cart_promotion_create",
    "cart_promotion_earn",
    "cart_promotion_set_active",
    "cart_promotion_settings_save",
    "cart_promotion_spec_from_body",
    "cart_promotion_update",
    "cart_promotions_on_transaction_add",
    "cart_promotions_on_transaction_return",
    "promo_code_add",
    "promo_code_link",
    "promo_codes_add",
    "promo_codes_generate",
    "promo_codes_generate_start",
    "promo_codes_upload_start",
]
