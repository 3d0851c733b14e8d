"""Writing cart promotions and the org's ranking settings (CONTRACT.md §5.2).

Every write tells the engine's catalog (cart_catalog_changed) in the same transaction. The
contract's FAQ caps an org at 250 active cart promotions; the cap is checked under a lock of the
org's catalog row, so concurrent activations cannot pass it together.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from members.models import Org, Till
from promotions.exceptions import (
    CartPromotionActiveLimitError,
    CartPromotionIdempotencyError,
    CartPromotionInvalidError,
    CartPromotionNameExistsError,
    CartPromotionPriorityExistsError,
)
from promotions.models import (
    CartCatalogState,
    CartPromotion,
    CartPromotionSettings,
    ConditionRanking,
    PromotionRanking,
    RewardRanking,
)
from promotions.services.cart.catalog import cart_catalog_changed
from promotions.services.cart.specs import CartPromotionSpec

MAX_ACTIVE_CART_PROMOTIONS = 250

SPEC_FIELDS = (
    "name",
    "type",
    "message_label",
    "is_active",
    "starts_at",
    "ends_at",
    "condition",
    "action",
    "priority",
    "is_stackable",
    "campaign_id",
    "mode",
    "is_loyalty_only",
    "customer_activation_required",
    "max_issuance_per_customer",
    "earn_limited_to_specific_audience",
    "custom_field_values",
    "restrictions",
)


def _fingerprint(spec: CartPromotionSpec) -> str:
    text = json.dumps(asdict(spec), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _lock_catalog(org_id: int) -> None:
    """Serialise the org's promotion writes on its catalog row (created on first use)."""
    cart_catalog_changed(org_id)
    list(CartCatalogState.objects.select_for_update().filter(org_id=org_id).values_list("pk"))


def cart_promotion_rules_check(
    *, org: Org, spec: CartPromotionSpec, promotion_id: int | None
) -> None:
    """The rules a promotion's row must meet in its org: 4103 name, 4104 campaign priority,
    4105 active cap (the admin form checks them before saving)."""
    others = CartPromotion.objects.filter(org=org).exclude(pk=promotion_id)
    if others.filter(name=spec.name).exists():
        raise CartPromotionNameExistsError(
            f"A cart promotion named {spec.name!r} exists", field="name"
        )
    if (
        spec.campaign_id is not None
        and others.filter(campaign_id=spec.campaign_id, priority=spec.priority).exists()
    ):
        raise CartPromotionPriorityExistsError(
            f"Campaign {spec.campaign_id} has a promotion with priority {spec.priority}",
            field="priority",
        )
    if spec.is_active and spec.ends_at > timezone.now():
        active = others.filter(is_active=True, ends_at__gt=timezone.now()).count()
        if active >= MAX_ACTIVE_CART_PROMOTIONS:
            raise CartPromotionActiveLimitError(
                f"The org has {active} active cart promotions; the maximum is "
                f"{MAX_ACTIVE_CART_PROMOTIONS}"
            )


def _save(promotion: CartPromotion) -> CartPromotion:
    try:
        with transaction.atomic():
            promotion.save()
    except IntegrityError as exc:
        raise CartPromotionNameExistsError(
            f"A cart promotion named {promotion.name!r} exists", field="name"
        ) from exc
    return promotion


@transaction.atomic
def cart_promotion_create(
    *,
    org: Org,
    spec: CartPromotionSpec,
    actor: Till | None,
    idempotency_key: str | None = None,
) -> CartPromotion:
    """Create a cart promotion. A replay of `idempotency_key` with the same body returns the
    first promotion. Raises 4103 (name), 4104 (campaign priority), 4105 (active cap), 4106 (key
    reused with another body)."""
    fingerprint = _fingerprint(spec)
    _lock_catalog(org.pk)
    if idempotency_key:
        existing = CartPromotion.objects.filter(org=org, idempotency_key=idempotency_key).first()
        if existing is not None:
            if existing.request_fingerprint != fingerprint:
                raise CartPromotionIdempotencyError(field="Idempotency-Key")
            return existing
    cart_promotion_rules_check(org=org, spec=spec, promotion_id=None)
    promotion = CartPromotion(
        org=org,
        created_by_till=actor,
        updated_by_till=actor,
        idempotency_key=idempotency_key or None,
        request_fingerprint=fingerprint,
        **{name: getattr(spec, name) for name in SPEC_FIELDS},
    )
    return _save(promotion)


@transaction.atomic
def cart_promotion_update(
    *, promotion: CartPromotion, spec: CartPromotionSpec, actor: Till | None
) -> CartPromotion:
    """Replace the promotion's definition (PUT is a full replace). A CODE promotion keeps its
    type while it has codes. Raises 4102, 4103, 4104, 4105."""
    _lock_catalog(promotion.org_id)
    promotion = CartPromotion.objects.select_for_update().get(pk=promotion.pk)
    if promotion.type != spec.type and promotion.codes.exists():
        raise CartPromotionInvalidError(
            "type: a promotion with promo codes stays a CODE promotion", field="type"
        )
    cart_promotion_rules_check(org=promotion.org, spec=spec, promotion_id=promotion.pk)
    for name in SPEC_FIELDS:
        setattr(promotion, name, getattr(spec, name))
    promotion.updated_by_till = actor
    return _save(promotion)


@transaction.atomic
def cart_promotion_set_active(
    *, promotion: CartPromotion, is_active: bool, actor: Till | None
) -> CartPromotion:
    """Activate or deactivate (idempotent). Raises 4105 when activation passes the org's cap."""
    _lock_catalog(promotion.org_id)
    promotion = CartPromotion.objects.select_for_update().get(pk=promotion.pk)
    if promotion.is_active == is_active:
        return promotion
    if is_active and promotion.ends_at > timezone.now():
        active = (
            CartPromotion.objects.filter(
                org_id=promotion.org_id, is_active=True, ends_at__gt=timezone.now()
            )
            .exclude(pk=promotion.pk)
            .count()
        )
        if active >= MAX_ACTIVE_CART_PROMOTIONS:
            raise CartPromotionActiveLimitError(
                f"The org has {active} active cart promotions; the maximum is "
                f"{MAX_ACTIVE_CART_PROMOTIONS}"
            )
    promotion.is_active = is_active
    promotion.updated_by_till = actor
    promotion.save(update_fields=["is_active", "updated_by_till", "updated_at"])
    return promotion


def _setting_choice(value: Any, choices: list[str], field: str, current: str) -> str:
    if value is None or value == "":
        return current
    text = str(value).strip().upper()
    if text not in choices:
        raise CartPromotionInvalidError(
            f"{field}: {value!r} is not one of {', '.join(choices)}", field=field
        )
    return text


def _setting_bool(value: Any, field: str, current: bool) -> bool:
    if value is None:
        return current
    if isinstance(value, bool):
        return value
    raise CartPromotionInvalidError(f"{field}: must be true or false", field=field)


@transaction.atomic
def cart_promotion_settings_save(*, org: Org, values: dict[str, Any]) -> CartPromotionSettings:
    """Set the org's ranking strategy; fields left out keep their values. Raises 4102."""
    settings, _ = CartPromotionSettings.objects.select_for_update().get_or_create(org=org)
    settings.condition_based_ranking_strategy = _setting_choice(
        values.get("conditionBasedRankingStrategy"),
        ConditionRanking.values,
        "conditionBasedRankingStrategy",
        settings.condition_based_ranking_strategy,
    )
    settings.reward_strategy = _setting_choice(
        values.get("rewardStrategy"),
        RewardRanking.values,
        "rewardStrategy",
        settings.reward_strategy,
    )
    settings.promotion_ranking_strategy = _setting_choice(
        values.get("promotionRankingStrategy"),
        PromotionRanking.values,
        "promotionRankingStrategy",
        settings.promotion_ranking_strategy,
    )
    settings.single_promotion_per_line_item = _setting_bool(
        values.get("singlePromotionPerLineitem"),
        "singlePromotionPerLineitem",
        settings.single_promotion_per_line_item,
    )
    settings.is_active = _setting_bool(values.get("isActive"), "isActive", settings.is_active)
    cap = values.get("maxCombinedDiscountPercentage")
    if cap is not None:
        try:
            number = Decimal(str(cap))
        except Exception:
            number = Decimal(-1)
        if not number.is_finite() or not 0 <= number <= 100 or number != round(number, 2):
            raise CartPromotionInvalidError(
                "maxCombinedDiscountPercentage: 0 to 100 with at most 2 decimals",
                field="maxCombinedDiscountPercentage",
            )
        settings.max_combined_discount_percent = number
    settings.save()
    cart_catalog_changed(org.pk)
    return settings
