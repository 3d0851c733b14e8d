"""What a loyalty promotion is: the promotion, its restrictions, its one ruleset with rules,
actions and filters, and the program's points award / expiry strategies the actions name."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from loyalty_site.core.models import BaseModel

NO_LIMIT_HELP = "Empty means no limit (the API shows -1)."


def points_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=18, decimal_places=3, **kwargs)


class AllocatePointsOn(models.TextChoices):
    BILL = "BILL", "The bill"
    LINEITEM = "LINEITEM", "Each line item"


class PointsOfferType(models.TextChoices):
    GENERIC = "GENERIC", "Available without issue"
    LOYALTY = "LOYALTY", "Direct issue"
    LOYALTY_EARNING = "LOYALTY_EARNING", "Enrol and issue"


class PromotionSourceType(models.TextChoices):
    PROMOTION_API = "PROMOTION_API", "Promotion API"
    CAMPAIGN = "CAMPAIGN", "Campaign"
    BADGES = "BADGES", "Badges"
    USER_CREATED = "USER_CREATED", "User created (UCC)"


class PromotionAddType(models.TextChoices):
    """The `{promotionType}` of the add path (CONTRACT.md §5.1)."""

    SIMPLE = "SIMPLE", "Simple"
    RANGE = "RANGE", "Range"
    KEYWORD = "KEYWORD", "Keyword"


class EventKind(models.TextChoices):
    """The events the earning engine listens to; anything else is a custom event."""

    TRANSACTION_ADD = "TRANSACTIONADD", "Transaction added"
    CUSTOMER_REGISTRATION = "CUSTOMERREGISTRATION", "Customer registered"
    TARGET_COMPLETED = "TARGETCOMPLETED", "Target completed"


class Promotion(BaseModel):
    """A loyalty (points-engine) promotion of one program (contract §5.1)."""

    org = models.ForeignKey("members.Org", on_delete=models.CASCADE, related_name="+")
    program = models.ForeignKey(
        "members.Program", on_delete=models.CASCADE, related_name="loyalty_promotions"
    )
    name = models.CharField(max_length=255)
    identifier = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    add_type = models.CharField(
        max_length=16, choices=PromotionAddType.choices, default=PromotionAddType.SIMPLE
    )
    promotion_type = models.CharField(
        max_length=32, blank=True, default="", help_text="The body's promotionType, e.g. BILL."
    )
    source_type = models.CharField(max_length=16, choices=PromotionSourceType.choices)
    event_name = models.CharField(max_length=64, help_text="As sent, e.g. TransactionAdd.")
    # Upper-case letters and digits of event_name: TransactionAdd and TRANSACTIONADD are one event.
    event_key = models.CharField(max_length=64, editable=False)
    allocate_points_on = models.CharField(
        max_length=8, choices=AllocatePointsOn.choices, default=AllocatePointsOn.BILL
    )
    points_offer_type = models.CharField(
        max_length=16, choices=PointsOfferType.choices, default=PointsOfferType.GENERIC
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    is_active = models.BooleanField(default=True)

    points_per_customer = points_field(null=True, blank=True, help_text=NO_LIMIT_HELP)
    times_per_customer = models.PositiveIntegerField(null=True, blank=True, help_text=NO_LIMIT_HELP)
    total_points = points_field(null=True, blank=True, help_text=NO_LIMIT_HELP)
    points_per_event = points_field(null=True, blank=True, help_text=NO_LIMIT_HELP)

    loyalty_earning_type = models.CharField(max_length=32, blank=True, default="")
    is_stackable = models.BooleanField(default=False)
    is_exclusive = models.BooleanField(default=False)
    is_considered_for_ranking = models.BooleanField(default=False)
    is_always_apply = models.BooleanField(default=False)
    priority = models.IntegerField(
        default=0, help_text="Ranking among competing promotions: lower ranks first."
    )
    target_group_ids = models.JSONField(default=list, blank=True)
    target_rule_ids = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    allocation_actions = models.JSONField(default=list, blank=True)
    # True while a promotion-wide limit exists: earning then keeps PromotionUsage under its lock.
    tracks_totals = models.BooleanField(default=False, editable=False)

    created_by_till = models.ForeignKey(
        "members.Till", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_by_till = models.ForeignKey(
        "members.Till", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["program", "name"], name="promotions_name_unique"),
            models.UniqueConstraint(
                fields=["program", "identifier"], name="promotions_identifier_unique"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")),
                name="promotions_promotion_ends_after_start",
            ),
            models.CheckConstraint(
                condition=Q(points_per_customer__isnull=True) | Q(points_per_customer__gt=0),
                name="promotions_promotion_points_per_customer_positive",
            ),
            models.CheckConstraint(
                condition=Q(total_points__isnull=True) | Q(total_points__gt=0),
                name="promotions_promotion_total_points_positive",
            ),
            models.CheckConstraint(
                condition=Q(points_per_event__isnull=True) | Q(points_per_event__gt=0),
                name="promotions_promotion_points_per_event_positive",
            ),
        ]
        indexes = [
            models.Index(fields=["org", "event_key", "is_active"], name="promotions_live_by_event"),
            models.Index(fields=["program", "-id"], name="promotions_by_program"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.identifier})"


class RestrictionFamily(models.TextChoices):
    REDEMPTION = "REDEMPTION", "Redemption"
    ISSUAL = "ISSUAL", "Issual"
    EARN = "EARN", "Earn"
    EXPIRY = "EXPIRY", "Expiry"


class RestrictionType(models.TextChoices):
    PERIOD_BASED = "PERIOD_BASED", "Per period"
    NON_PERIOD_BASED = "NON_PERIOD_BASED", "Over the whole promotion"


class PeriodType(models.TextChoices):
    MOVING_WINDOW = "MOVING_WINDOW", "Moving window (the last day / week / month)"
    FIXED_WINDOW = "FIXED_WINDOW", "Fixed window (this calendar day / week / month)"


class PeriodUnit(models.TextChoices):
    DAILY = "DAILY", "Daily"
    WEEKLY = "WEEKLY", "Weekly"
    MONTHLY = "MONTHLY", "Monthly"


class PromotionRestriction(models.Model):
    """One entry of promotionRestrictions.restrictions (its KPI name and value)."""

    promotion = models.ForeignKey(Promotion, on_delete=models.CASCADE, related_name="restrictions")
    family = models.CharField(max_length=16, choices=RestrictionFamily.choices)
    name = models.CharField(max_length=64)
    value = points_field(help_text="-1 keeps the restriction listed but not enforced.")
    # For expiry restrictions this holds the contract's `type` (e.g. PROMOTION).
    type = models.CharField(max_length=32, blank=True, default="")
    period_type = models.CharField(max_length=16, choices=PeriodType.choices, blank=True)
    period_unit = models.CharField(max_length=16, choices=PeriodUnit.choices, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["promotion", "family", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["promotion", "family", "name", "period_type", "period_unit"],
                name="promotions_restriction_unique",
            ),
            models.CheckConstraint(
                condition=Q(value__gte=-1), name="promotions_restriction_value_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.family} {self.name} = {self.value}"


class PromotionRuleset(models.Model):
    """The promotion's one ruleset (rulesetInfos[0])."""

    promotion = models.OneToOneField(Promotion, on_delete=models.CASCADE, related_name="ruleset")
    name = models.CharField(max_length=255)
    # contextID and the rest are kept as sent; the ruleset always belongs to the promotion.
    context_id = models.BigIntegerField()
    context_type = models.CharField(max_length=32, default="program")
    endpoint_name = models.CharField(max_length=64, default="POINTSENGINE_ENDPOINT")
    type = models.CharField(max_length=32, default="USER_CREATED")
    description = models.TextField(blank=True, default="")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    is_active = models.BooleanField(default=True)
    is_for_global_promotion = models.BooleanField(default=False)
    program_ids = models.JSONField(default=list, blank=True)
    capping_info = models.JSONField(default=list, blank=True)
    label = models.CharField(max_length=255, blank=True, default="")

    def __str__(self) -> str:
        return self.name


class RulesetFilter(models.Model):
    """filterInfo of a ruleset: LoyaltyType or EventSource, including or excluding values."""

    class Name(models.TextChoices):
        LOYALTY_TYPE = "LoyaltyType", "Loyalty type"
        EVENT_SOURCE = "EventSource", "Event source"

    ruleset = models.ForeignKey(PromotionRuleset, on_delete=models.CASCADE, related_name="filters")
    name = models.CharField(max_length=32, choices=Name.choices)
    description = models.CharField(max_length=255, blank=True, default="")
    context_type = models.CharField(max_length=32, default="RULESET")
    is_include = models.BooleanField(default=True)
    property_to_values = models.JSONField(default=dict)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["ruleset", "position", "id"]

    def __str__(self) -> str:
        return f"{'include' if self.is_include else 'exclude'} {self.name}"


class PromotionRule(models.Model):
    """A rule: the condition (`exp` and its `expJSON` tree) and the actions per outcome."""

    ruleset = models.ForeignKey(PromotionRuleset, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    exp = models.TextField()
    exp_json = models.TextField()
    is_active = models.BooleanField(default=True)
    priority = models.IntegerField(default=-1)
    position = models.PositiveSmallIntegerField(default=0)
    exp_data_type = models.CharField(max_length=32, blank=True, default="")
    updated_via_new_ui = models.BooleanField(default=False)
    filter_info = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["ruleset", "priority", "position", "id"]

    def __str__(self) -> str:
        return f"{self.name}: {self.exp[:60]}"


class AwardStrategy(BaseModel):
    """How many points an action gives (an action's AwardStrategy names one by id)."""

    class Kind(models.TextChoices):
        FIXED = "FIXED", "Fixed points"
        PER_CURRENCY_UNIT = "PER_CURRENCY_UNIT", "Points per currency amount"
        PERCENT = "PERCENT", "Percent of the amount"

    class Rounding(models.TextChoices):
        ACTUAL = "ACTUAL", "Actual (cut to the program's decimals)"
        ROUND = "ROUND", "Round to whole points"
        FLOOR = "FLOOR", "Round down"
        CEIL = "CEIL", "Round up"

    program = models.ForeignKey(
        "members.Program", on_delete=models.CASCADE, related_name="promotion_award_strategies"
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    value = points_field(validators=[MinValueValidator(0)])
    per_amount = points_field(
        default=1, help_text="Points per currency: `value` points for every `per_amount` spent."
    )
    rounding = models.CharField(max_length=8, choices=Rounding.choices, default=Rounding.ACTUAL)
    delay_days = models.PositiveIntegerField(
        default=0, help_text="More than 0: promised points that mature this many days later."
    )

    class Meta:
        ordering = ["program", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "name"], name="promotions_awardstrategy_name_unique"
            ),
            models.CheckConstraint(
                condition=Q(value__gte=0), name="promotions_awardstrategy_value_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(per_amount__gt=0), name="promotions_awardstrategy_per_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (#{self.pk})"


class ExpiryStrategy(BaseModel):
    """When awarded points expire (an action's ExpiryStrategy names one by id)."""

    class Kind(models.TextChoices):
        PROGRAM_DEFAULT = "PROGRAM_DEFAULT", "The program's expiry policy"
        DAYS = "DAYS", "N days after credit"
        MONTH_ENDS = "MONTH_ENDS", "N month ends after credit"

    program = models.ForeignKey(
        "members.Program", on_delete=models.CASCADE, related_name="promotion_expiry_strategies"
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["program", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "name"], name="promotions_expirystrategy_name_unique"
            ),
            models.CheckConstraint(
                condition=Q(kind="PROGRAM_DEFAULT") | Q(value__gte=1),
                name="promotions_expirystrategy_value_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (#{self.pk})"


class PromotionAction(models.Model):
    """An action of a rule outcome (caseToActions[case][]) with its mandatory properties."""

    rule = models.ForeignKey(PromotionRule, on_delete=models.CASCADE, related_name="actions")
    case = models.CharField(max_length=16, default="true")
    action_name = models.CharField(max_length=100)
    properties = models.JSONField(default=dict)
    complex_properties = models.JSONField(default=dict, blank=True)
    description = models.CharField(max_length=255, blank=True, default="")
    position = models.PositiveSmallIntegerField(default=0)
    # Resolved from the AwardStrategy / ExpiryStrategy properties when they name a strategy of the
    # promotion's program; an action without an award strategy gives no points.
    award_strategy = models.ForeignKey(
        AwardStrategy, on_delete=models.PROTECT, null=True, blank=True, related_name="actions"
    )
    expiry_strategy = models.ForeignKey(
        ExpiryStrategy, on_delete=models.PROTECT, null=True, blank=True, related_name="actions"
    )

    class Meta:
        ordering = ["rule", "case", "position", "id"]

    def __str__(self) -> str:
        return self.action_name


class PromotionCatalogState(models.Model):
    """A token that changes with every promotion write of the org: the earning engine's
    in-process catalog of compiled promotions is rebuilt when it sees a new token."""

    org = models.OneToOneField("members.Org", on_delete=models.CASCADE, related_name="+")
    token = models.CharField(max_length=32)

    def __str__(self) -> str:
        return f"org {self.org_id}: {self.token}"
