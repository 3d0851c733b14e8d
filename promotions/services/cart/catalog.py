"""The org's live cart promotions, compiled once per process and per change.

Evaluating a cart reads one token row (CartCatalogState); when it matches the compiled snapshot
the process already holds, no promotion is read. Every write of a cart promotion or of the org's
ranking settings gives the org a new token in the same transaction (`cart_catalog_changed`), so
each process rebuilds its snapshot (two queries) once the change commits.
"""

from __future__ import annotations

import datetime
import threading
import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from promotions.models import CartCatalogState, CartPromotion, CartPromotionSettings
from promotions.services.cart.engine import (
    CompiledCartPromotion,
    CounterRestriction,
    RankingSettings,
    action_compile,
    condition_compile,
)

COUNTER_LEVELS = ("Code", "Customer", "Promotion")


@dataclass(frozen=True)
class CartCatalog:
    token: str | None
    built_at: datetime.datetime
    settings: RankingSettings
    promotions: tuple[CompiledCartPromotion, ...]
    by_public_id: dict[str, CompiledCartPromotion]

    def live(self, moment: datetime.datetime) -> list[CompiledCartPromotion]:
        return [promotion for promotion in self.promotions if promotion.is_live(moment)]


_cache: dict[int, CartCatalog] = {}
_build_lock = threading.Lock()


def cart_promotion_compile(promotion: CartPromotion) -> CompiledCartPromotion:
    """The promotion as the engine runs it."""
    restrictions = promotion.restrictions or {}
    cart_max_redemptions = None
    cart_max_discount = None
    for item in restrictions.get("Cart", ()):
        if item["kpi"] == "REDEMPTION":
            cart_max_redemptions = int(item["limit"])
        elif item["kpi"] == "DISCOUNT":
            cart_max_discount = Decimal(item["limit"])
    counters = tuple(
        CounterRestriction(
            level=level,
            kpi=item["kpi"],
            limit=Decimal(item["limit"]),
            frequency=item.get("frequency", ""),
            repeat=int(item.get("minTimeBetweenRepeat", 1)),
        )
        for level in COUNTER_LEVELS
        for item in restrictions.get(level, ())
    )
    return CompiledCartPromotion(
        id=promotion.pk,
        public_id=promotion.public_id,
        name=promotion.name,
        message_label=promotion.message_label,
        type=promotion.type,
        mode=promotion.mode,
        priority=promotion.priority,
        is_stackable=promotion.is_stackable,
        is_loyalty_only=promotion.is_loyalty_only,
        needs_activation=promotion.customer_activation_required
        or promotion.type in ("EARNING", "REWARD"),
        starts_at=promotion.starts_at,
        ends_at=promotion.ends_at,
        condition=condition_compile(promotion.condition),
        action=action_compile(promotion.action),
        cart_max_redemptions=cart_max_redemptions,
        cart_max_discount=cart_max_discount,
        counter_restrictions=counters,
    )


def ranking_settings_of(settings: CartPromotionSettings | None) -> RankingSettings:
    if settings is None or not settings.is_active:
        return RankingSettings()
    return RankingSettings(
        condition_ranking=settings.condition_based_ranking_strategy,
        reward_strategy=settings.reward_strategy,
        single_promotion_per_line_item=settings.single_promotion_per_line_item,
        promotion_ranking=settings.promotion_ranking_strategy,
        max_combined_discount_percent=Decimal(settings.max_combined_discount_percent),
    )


def _build(org_id: int, token: str | None) -> CartCatalog:
    now = timezone.now()
    rows = CartPromotion.objects.filter(org_id=org_id, is_active=True, ends_at__gte=now).order_by(
        "id"
    )
    promotions = tuple(cart_promotion_compile(row) for row in rows)
    settings = CartPromotionSettings.objects.filter(org_id=org_id).first()
    return CartCatalog(
        token=token,
        built_at=now,
        settings=ranking_settings_of(settings),
        promotions=promotions,
        by_public_id={promotion.public_id: promotion for promotion in promotions},
    )


def cart_catalog_token_sql() -> str:
    """A query of the org's token (one %s: the org id), for callers that read it along with
    other rows in one round trip."""
    return f"SELECT token FROM {CartCatalogState._meta.db_table} WHERE org_id = %s"  # noqa: S608


def cart_catalog_token(org_id: int) -> str | None:
    """The org's current catalog token (None before its first cart promotion write). Plain SQL:
    every evaluation reads it, and the ORM would take several times the database's time."""
    with connection.cursor() as cursor:
        cursor.execute(cart_catalog_token_sql(), [org_id])
        row = cursor.fetchone()
    return row[0] if row else None


def cart_catalog_get(org_id: int) -> CartCatalog:
    """The org's compiled active cart promotions and ranking settings (see the module doc)."""
    return cart_catalog_of_token(org_id, cart_catalog_token(org_id))


def cart_catalog_of_token(org_id: int, token: str | None) -> CartCatalog:
    """cart_catalog_get for a caller that has just read the org's token itself (with
    cart_catalog_token_sql, along with other rows in one round trip)."""
    cached = _cache.get(org_id)
    if cached is not None and cached.token == token:
        return cached
    with _build_lock:
        cached = _cache.get(org_id)
        if cached is not None and cached.token == token:
            return cached
        catalog = _build(org_id, token)
        _cache[org_id] = catalog
    return catalog


def cart_catalog_changed(org_id: int) -> None:
    """Give the org a new catalog token in the caller's transaction."""
    token = uuid.uuid4().hex
    if CartCatalogState.objects.filter(org_id=org_id).update(token=token):
        return
    try:
        with transaction.atomic():
            CartCatalogState.objects.create(org_id=org_id, token=token)
    except IntegrityError:
        CartCatalogState.objects.filter(org_id=org_id).update(token=token)


def cart_catalog_clear() -> None:
    """Forget every compiled snapshot (tests)."""
    _cache.clear()
