"""Cart promotions (the promotion engine, CONTRACT.md §5.2): definitions, the org's ranking
settings, promo codes and their links to customers, customer activations (earns), and what an
evaluation did: the quote, the promotions it applied and the usage it holds or used.

Usage of a limited promotion lives in counters, one row per (promotion, level, scope, period,
window): `used_*` is what added bills consumed. What pending evaluations hold is the sum of their
usage rows whose `held_until` has not passed, so an abandoned cart stops holding anything when its
hold expires, without a sweep. Both change only under the counter's row lock (services lock
counters in pk order), and the database refuses a negative counter.
"""

from __future__ import annotations

import datetime
import secrets

from django.db import models
from django.db.models import Q

from loyalty_site.core.models import BaseModel

# The lifetime window of a counter without a frequency (a real date keeps the unique key simple).
LIFETIME_WINDOW = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def public_id() -> str:
    """A 24-hex id, the shape of every cart-engine id in the contract."""
    return secrets.token_hex(12)


def money_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=18, decimal_places=6, **kwargs)


class CartPromotionType(models.TextChoices):
    POS = "POS", "Point of sale (everyone)"
    CODE = "CODE", "Promo code"
    CUSTOMER = "CUSTOMER", "Identified customers"
    EARNING = "EARNING", "Earned by the customer"
    REWARD = "REWARD", "Unlocked by a reward"


class CartPromotionMode(models.TextChoices):
    DISCOUNT = "DISCOUNT", "Discount"
    PAYMENT_VOUCHER = "PAYMENT_VOUCHER", "Payment voucher"


class CartPromotion(BaseModel):
    """A cart promotion: who may get it, the condition the cart must meet, the action, and its
    restrictions. `condition`, `action` and `restrictions` hold the contract's objects as
    checked and normalised by promotions.services.cart.definitions."""

    org = models.ForeignKey("members.Org", on_delete=models.CASCADE, related_name="+")
    public_id = models.CharField(max_length=24, unique=True, default=public_id, editable=False)
    name = models.CharField(max_length=50)
    type = models.CharField(max_length=16, choices=CartPromotionType.choices)
    message_label = models.CharField(max_length=255)
    is_active = models.BooleanField(default=True)
    priority = models.IntegerField(default=0, help_text="Lower ranks first (PRIORITY ranking).")
    is_stackable = models.BooleanField(default=False)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    campaign_id = models.BigIntegerField(null=True, blank=True)
    mode = models.CharField(
        max_length=16, choices=CartPromotionMode.choices, default=CartPromotionMode.DISCOUNT
    )
    is_loyalty_only = models.BooleanField(default=False)
    customer_activation_required = models.BooleanField(default=False)
    max_issuance_per_customer = models.IntegerField(default=1, help_text="-1 means no limit.")
    earn_limited_to_specific_audience = models.BooleanField(default=False)
    custom_field_values = models.JSONField(default=dict, blank=True)
    condition = models.JSONField()
    action = models.JSONField()
    restrictions = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=128, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")
    created_by_till = models.ForeignKey(
        "members.Till", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_by_till = models.ForeignKey(
        "members.Till", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="promotions_cart_name_unique"),
            models.UniqueConstraint(
                fields=["org", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="promotions_cart_idempotency_unique",
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")),
                name="promotions_cart_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(max_issuance_per_customer__gte=-1)
                & Q(max_issuance_per_customer__lte=50),
                name="promotions_cart_max_issuance_range",
            ),
        ]
        indexes = [
            models.Index(fields=["org", "is_active", "ends_at"], name="promotions_cart_live"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.type})"


class ConditionRanking(models.TextChoices):
    CART_BASED_FIRST = "CART_BASED_FIRST", "Cart conditions first"
    LINE_ITEM_BASED_FIRST = "LINE_ITEM_BASED_FIRST", "Line-item conditions first"


class RewardRanking(models.TextChoices):
    PROMOTION_FIRST = "PROMOTION_FIRST", "Promotions before rewards"
    REWARDS_FIRST = "REWARDS_FIRST", "Rewards before promotions"


class PromotionRanking(models.TextChoices):
    EXPIRY_BASED = "EXPIRY_BASED", "Ending soonest first"
    MAX_DISCOUNT = "MAX_DISCOUNT", "Largest discount first"
    PRIORITY = "PRIORITY", "Priority (lower first)"


class CartPromotionSettings(BaseModel):
    """The org's ranking strategy (`/v1/management/promotions/settings/strategy`)."""

    org = models.OneToOneField("members.Org", on_delete=models.CASCADE, related_name="+")
    condition_based_ranking_strategy = models.CharField(
        max_length=24, choices=ConditionRanking.choices, default=ConditionRanking.CART_BASED_FIRST
    )
    reward_strategy = models.CharField(
        max_length=16, choices=RewardRanking.choices, default=RewardRanking.PROMOTION_FIRST
    )
    single_promotion_per_line_item = models.BooleanField(default=False)
    promotion_ranking_strategy = models.CharField(
        max_length=16, choices=PromotionRanking.choices, default=PromotionRanking.PRIORITY
    )
    is_active = models.BooleanField(default=True)
    max_combined_discount_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=100,
        help_text="The most all promotions together may take off a cart, in % of its amount.",
    )

    class Meta:
        verbose_name = "cart promotion settings"
        verbose_name_plural = "cart promotion settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(max_combined_discount_percent__gte=0)
                & Q(max_combined_discount_percent__lte=100),
                name="promotions_cart_settings_cap_range",
            )
        ]

    def __str__(self) -> str:
        return f"Cart promotion settings of org {self.org_id}"


class CartCatalogState(models.Model):
    """A token that changes with every cart promotion or settings write of the org: each process
    keeps the org's compiled promotions and rebuilds them when it sees a new token."""

    org = models.OneToOneField("members.Org", on_delete=models.CASCADE, related_name="+")
    token = models.CharField(max_length=32)

    def __str__(self) -> str:
        return f"org {self.org_id}: {self.token}"


class PromoCode(models.Model):
    """A code of a CODE promotion, generated or uploaded. Unique in the org."""

    class Source(models.TextChoices):
        GENERATED = "GENERATED", "Generated"
        UPLOADED = "UPLOADED", "Uploaded"
        ADDED = "ADDED", "Added by hand"

    org = models.ForeignKey("members.Org", on_delete=models.CASCADE, related_name="+")
    promotion = models.ForeignKey(CartPromotion, on_delete=models.CASCADE, related_name="codes")
    public_id = models.CharField(max_length=24, unique=True, default=public_id, editable=False)
    code = models.CharField(max_length=64)
    source = models.CharField(max_length=16, choices=Source.choices)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The upload or generation job that wrote the code, and its row in an uploaded file: a
    # resumed upload job writes no row twice.
    job = models.ForeignKey(
        "core.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    row_number = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["promotion", "id"]
        constraints = [
            models.UniqueConstraint(fields=["org", "code"], name="promotions_promocode_unique"),
            models.UniqueConstraint(
                fields=["job", "row_number"],
                condition=Q(job__isnull=False, row_number__isnull=False),
                name="promotions_promocode_job_row_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class PromoCodeLink(models.Model):
    """A physical code turned digital for one customer: applied at their checkouts without
    being typed (`/api_gateway/v1/promotions/code/link`)."""

    org = models.ForeignKey("members.Org", on_delete=models.CASCADE, related_name="+")
    public_id = models.CharField(max_length=24, unique=True, default=public_id, editable=False)
    code = models.ForeignKey(PromoCode, on_delete=models.CASCADE, related_name="links")
    customer = models.ForeignKey(
        "members.Customer", on_delete=models.CASCADE, related_name="promo_code_links"
    )
    mode = models.CharField(max_length=16, choices=CartPromotionMode.choices)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    linked_by_till = models.ForeignKey(
        "members.Till", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["code", "customer"],
                condition=Q(is_active=True),
                name="promotions_promocodelink_one_active",
            )
        ]
        indexes = [
            models.Index(fields=["customer", "is_active"], name="promotions_codelink_customer")
        ]

    def __str__(self) -> str:
        return f"{self.code_id} -> {self.customer_id}"


class CartPromotionEarn(models.Model):
    """A customer's activation of a promotion that needs one (customerActivationRequired,
    EARNING and REWARD promotions): `/api_gateway/v1/promotions/{id}/earn`."""

    class EarnedFrom(models.TextChoices):
        ACTIVITY = "ACTIVITY", "Activity"
        MILESTONE = "MILESTONE", "Milestone"
        REWARD = "REWARD", "Reward"
        NONE = "NONE", "Issued"

    org = models.ForeignKey("members.Org", on_delete=models.CASCADE, related_name="+")
    public_id = models.CharField(max_length=24, unique=True, default=public_id, editable=False)
    promotion = models.ForeignKey(CartPromotion, on_delete=models.CASCADE, related_name="earns")
    customer = models.ForeignKey("members.Customer", on_delete=models.CASCADE, related_name="+")
    earned_from_type = models.CharField(max_length=16, choices=EarnedFrom.choices)
    earned_from_id = models.CharField(max_length=128, blank=True, default="")
    event_time = models.DateTimeField()
    valid_till = models.DateTimeField()
    is_active = models.BooleanField(default=True)
    request_id = models.CharField(max_length=128, blank=True, default="")

    class Meta:
        ordering = ["-event_time", "-id"]
        indexes = [
            models.Index(
                fields=["customer", "promotion", "valid_till"], name="promotions_cartearn_cust"
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["promotion", "customer", "request_id"],
                condition=~Q(request_id=""),
                name="promotions_cartearn_request_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.promotion_id} earned by {self.customer_id}"


class CartEvaluation(BaseModel):
    """One evaluation of a cart: a quote. It holds the usage of the limited promotions it applied
    until the bill carrying its id is added (then the usage is used), it is cancelled, or it
    expires."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending (holding usage)"
        REDEEMED = "REDEEMED", "Redeemed by a bill"
        CANCELLED = "CANCELLED", "Cancelled"
        EXPIRED = "EXPIRED", "Expired"
        RETURNED = "RETURNED", "Bill returned"

    org = models.ForeignKey("members.Org", on_delete=models.CASCADE, related_name="+")
    public_id = models.CharField(max_length=24, unique=True, default=public_id, editable=False)
    customer = models.ForeignKey(
        "members.Customer", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    till = models.ForeignKey(
        "members.Till", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    expires_at = models.DateTimeField()
    amount = money_field()
    discount = money_field(default=0)
    promo_codes = models.JSONField(default=list, blank=True)
    cart = models.JSONField(default=dict)
    result = models.JSONField(default=dict)
    idempotency_key = models.CharField(max_length=128, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")
    transaction = models.ForeignKey(
        "members.Transaction", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="promotions_cartevaluation_idempotency_unique",
            )
        ]
        indexes = [
            models.Index(fields=["customer", "status"], name="promotions_carteval_customer"),
            models.Index(fields=["status", "expires_at"], name="promotions_carteval_pending"),
        ]

    def __str__(self) -> str:
        return f"evaluation {self.public_id} ({self.status})"


class CartPromotionCounter(models.Model):
    """Usage of a limited promotion at one level (CODE: one code, CUSTOMER: one customer,
    PROMOTION: everyone) in one window of its restriction's frequency."""

    class Level(models.TextChoices):
        CODE = "CODE", "Code"
        CUSTOMER = "CUSTOMER", "Customer"
        PROMOTION = "PROMOTION", "Promotion"

    org = models.ForeignKey("members.Org", on_delete=models.CASCADE, related_name="+")
    promotion = models.ForeignKey(CartPromotion, on_delete=models.CASCADE, related_name="counters")
    level = models.CharField(max_length=16, choices=Level.choices)
    scope_key = models.CharField(max_length=32, blank=True, default="")
    # The restriction's frequency and repeat ("DAYS:7"), "" for a lifetime limit.
    period = models.CharField(max_length=16, blank=True, default="")
    window_start = models.DateTimeField(default=LIFETIME_WINDOW)
    used_redemptions = models.IntegerField(default=0)
    used_transactions = models.IntegerField(default=0)
    used_discount = money_field(default=0)

    class Meta:
        ordering = ["promotion", "level", "scope_key", "period", "window_start"]
        constraints = [
            models.UniqueConstraint(
                fields=["promotion", "level", "scope_key", "period", "window_start"],
                name="promotions_cartcounter_unique",
            ),
            models.CheckConstraint(
                condition=Q(used_redemptions__gte=0)
                & Q(used_transactions__gte=0)
                & Q(used_discount__gte=0),
                name="promotions_cartcounter_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.promotion_id} {self.level} {self.scope_key or '*'}"


class CartEvaluationPromotion(models.Model):
    """A promotion an evaluation applied (with the code that brought it, if any) and what became
    of its usage: HELD by the pending evaluation, USED by a bill, RELEASED (cancelled, expired,
    or left out of the bill) or RETURNED (the bill was returned)."""

    class State(models.TextChoices):
        HELD = "HELD", "Held"
        USED = "USED", "Used"
        RELEASED = "RELEASED", "Released"
        RETURNED = "RETURNED", "Returned"

    evaluation = models.ForeignKey(CartEvaluation, on_delete=models.CASCADE, related_name="applied")
    promotion = models.ForeignKey(CartPromotion, on_delete=models.CASCADE, related_name="+")
    code = models.ForeignKey(
        PromoCode, on_delete=models.SET_NULL, null=True, blank=True, related_name="redemptions"
    )
    customer = models.ForeignKey(
        "members.Customer", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    redemptions = models.PositiveIntegerField(default=1)
    discount = money_field()
    state = models.CharField(max_length=16, choices=State.choices, default=State.HELD)
    transaction = models.ForeignKey(
        "members.Transaction", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    used_at = models.DateTimeField(null=True, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["evaluation", "position", "id"]
        indexes = [
            models.Index(fields=["code", "state"], name="promotions_cartapplied_code"),
            models.Index(fields=["promotion", "state"], name="promotions_cartapplied_promo"),
        ]

    def __str__(self) -> str:
        return f"{self.promotion_id} in {self.evaluation_id} ({self.state})"


class CartEvaluationUsage(models.Model):
    """How much of one counter an applied promotion holds (until `held_until`) or used."""

    applied = models.ForeignKey(
        CartEvaluationPromotion, on_delete=models.CASCADE, related_name="usages"
    )
    counter = models.ForeignKey(CartPromotionCounter, on_delete=models.CASCADE, related_name="+")
    redemptions = models.PositiveIntegerField(default=0)
    transactions = models.PositiveIntegerField(default=0)
    discount = money_field(default=0)
    # Set while the usage is held by a pending evaluation; None once used or released.
    held_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["applied", "counter"]
        constraints = [
            models.UniqueConstraint(
                fields=["applied", "counter"], name="promotions_cartusage_unique"
            )
        ]
        indexes = [models.Index(fields=["counter", "held_until"], name="promotions_cartusage_held")]

    def __str__(self) -> str:
        return f"{self.applied_id} on counter {self.counter_id}"
