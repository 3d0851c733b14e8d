"""Members domain: orgs and their entities, programs, customers, user groups and transactions.

Everything else (coupons, ledger, promotions, rewards) hangs off these rows, always through an org.
"""

from __future__ import annotations

import zoneinfo

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

from loyalty_site.core.models import BaseModel

CURRENCY_VALIDATOR = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, e.g. EUR.")
CODE_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*$", "Use letters, digits, dots, dashes and underscores."
)
# Mobile numbers are stored as digits with the country code, e.g. 919804542631 (contract §7).
MOBILE_VALIDATOR = RegexValidator(
    r"^[1-9][0-9]{9,14}$", "Mobile must be 10-15 digits including the country code."
)


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"Unknown time zone: {value}")


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class Org(BaseModel):
    """A brand. Child orgs of a parent form a connected-org family (contract §7)."""

    name = models.CharField(max_length=200, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    base_currency = models.CharField(max_length=3, default="USD", validators=[CURRENCY_VALIDATOR])
    week_start_day = models.PositiveSmallIntegerField(
        choices=Weekday.choices, default=Weekday.MONDAY
    )
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        help_text="Set on a child org of a connected-org family.",
    )
    contact_emails = models.TextField(
        blank=True, default="", help_text="Brand contacts for alerts, comma separated."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=models.F("id")), name="members_org_not_own_parent"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.parent_id and self.parent_id == self.pk:
            raise ValidationError({"parent": "An org cannot be its own parent."})
        if self.parent_id and self.parent and self.parent.parent_id:
            raise ValidationError(
                {"parent": "Connected orgs are one level deep: pick a parent org."}
            )

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def contact_email_list(self) -> list[str]:
        return [item.strip() for item in self.contact_emails.split(",") if item.strip()]


class ExchangeRate(BaseModel):
    """How many units of the org's base currency one unit of `currency` is worth."""

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="exchange_rates")
    currency = models.CharField(max_length=3, validators=[CURRENCY_VALIDATOR])
    rate_to_base = models.DecimalField(
        max_digits=18, decimal_places=8, validators=[MinValueValidator(0)]
    )

    class Meta:
        ordering = ["org", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["org", "currency"], name="members_exchangerate_unique"),
            models.CheckConstraint(
                condition=Q(rate_to_base__gt=0), name="members_exchangerate_rate_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate_to_base} base"


class Zone(BaseModel):
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="zones")
    code = models.CharField(max_length=50, validators=[CODE_VALIDATOR])
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["org", "code"]
        constraints = [
            models.UniqueConstraint(fields=["org", "code"], name="members_zone_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Concept(BaseModel):
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="concepts")
    code = models.CharField(max_length=50, validators=[CODE_VALIDATOR])
    name = models.CharField(max_length=200)

    class Meta:
        ordering = ["org", "code"]
        constraints = [
            models.UniqueConstraint(fields=["org", "code"], name="members_concept_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Store(BaseModel):
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="stores")
    code = models.CharField(max_length=50, validators=[CODE_VALIDATOR])
    name = models.CharField(max_length=200)
    external_id = models.CharField(max_length=100, blank=True, default="")
    currency = models.CharField(max_length=3, validators=[CURRENCY_VALIDATOR])
    zone = models.ForeignKey(
        Zone, on_delete=models.SET_NULL, null=True, blank=True, related_name="stores"
    )
    concept = models.ForeignKey(
        Concept, on_delete=models.SET_NULL, null=True, blank=True, related_name="stores"
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["org", "code"]
        constraints = [
            models.UniqueConstraint(fields=["org", "code"], name="members_store_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def clean(self) -> None:
        for field in ("zone", "concept"):
            related = getattr(self, field)
            if related is not None and self.org_id and related.org_id != self.org_id:
                raise ValidationError({field: "Pick one of this org's own entries."})


class Till(BaseModel):
    """A point of sale and the API identity: Basic auth uses its code as the username."""

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="tills")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="tills")
    # Globally unique: Basic auth carries only the username, so it must name one till.
    code = models.CharField(max_length=100, unique=True, validators=[CODE_VALIDATOR])
    name = models.CharField(max_length=200, blank=True, default="")
    # Django password hash of the MD5 hex digest of the till's password (contract §8).
    password_hash = models.CharField(max_length=256, blank=True, default="")
    oauth_key = models.CharField(max_length=64, unique=True, null=True, blank=True)
    oauth_secret_hash = models.CharField(max_length=256, blank=True, default="")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["org", "code"]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        if self.store_id and self.org_id and self.store.org_id != self.org_id:
            raise ValidationError({"store": "The store belongs to another org."})


class PointsCategory(models.TextChoices):
    REGULAR = "REGULAR", "Regular"
    PROMISED = "PROMISED", "Promised (delayed accrual)"
    TRIGGER_BASED = "TRIGGER_BASED", "Trigger based"


class PointsExpiryPolicy(models.TextChoices):
    NONE = "NONE", "Never expire"
    DAYS = "DAYS", "N days after credit"
    MONTH_ENDS = "MONTH_ENDS", "N month ends after credit"


class Program(BaseModel):
    """A loyalty program of an org; an org may run several."""

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="programs")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    is_default = models.BooleanField(default=False)
    points_to_currency_ratio = models.DecimalField(
        max_digits=12,
        decimal_places=6,
        default=1,
        validators=[MinValueValidator(0)],
        help_text="Value of one point in the org's base currency.",
    )
    points_decimal_places = models.PositiveSmallIntegerField(default=0)
    expiry_policy = models.CharField(
        max_length=16, choices=PointsExpiryPolicy.choices, default=PointsExpiryPolicy.NONE
    )
    expiry_value = models.PositiveIntegerField(
        default=0, help_text="N for 'N days' or 'N month ends'; ignored when points never expire."
    )
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["org", "id"]
        constraints = [
            models.UniqueConstraint(fields=["org", "name"], name="members_program_name_unique"),
            models.UniqueConstraint(
                fields=["org"], condition=Q(is_default=True), name="members_program_one_default"
            ),
            models.CheckConstraint(
                condition=Q(expiry_policy="NONE") | Q(expiry_value__gte=0),
                name="members_program_expiry_value_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.org})"

    def clean(self) -> None:
        if self.expiry_policy == PointsExpiryPolicy.DAYS and self.expiry_value < 1:
            raise ValidationError({"expiry_value": "Points expiring after N days need N >= 1."})


class Tier(BaseModel):
    """An ordered tier (slab) of a program; number 1 is the lowest."""

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="tiers")
    number = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=255, blank=True, default="")
    upgrade_threshold = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=0,
        help_text="Cumulative purchases needed to reach this tier.",
    )

    class Meta:
        ordering = ["program", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["program", "number"], name="members_tier_number_unique"
            ),
            models.UniqueConstraint(fields=["program", "name"], name="members_tier_name_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="members_tier_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.program.name}: {self.number}. {self.name}"


class PartnerProgram(BaseModel):
    """A supplementary or external partner program linked to one of the org's programs."""

    class Kind(models.TextChoices):
        SUPPLEMENTARY = "SUPPLEMENTARY", "Supplementary"
        EXTERNAL = "EXTERNAL", "External"

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="partner_programs")
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="partner_programs")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.SUPPLEMENTARY)
    description = models.TextField(blank=True, default="")
    membership_duration_days = models.PositiveIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["org", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "name"], name="members_partnerprogram_name_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.program_id and self.org_id and self.program.org_id != self.org_id:
            raise ValidationError({"program": "The program belongs to another org."})


class RegistrationSource(models.TextChoices):
    INSTORE = "INSTORE", "In store"
    ECOMMERCE = "ECOMMERCE", "E-commerce"
    WEBSITE = "WEBSITE", "Website"
    MOBILE_APP = "MOBILE_APP", "Mobile app"
    FACEBOOK = "FACEBOOK", "Facebook"
    WEB_ENGAGE = "WEB_ENGAGE", "WebEngage"
    WECHAT = "WECHAT", "WeChat"
    MARTJACK = "MARTJACK", "Martjack"
    TMALL = "TMALL", "Tmall"
    TAOBAO = "TAOBAO", "Taobao"
    JD = "JD", "JD"
    LINE = "LINE", "LINE"
    OTHERS = "OTHERS", "Others"


class LoyaltyType(models.TextChoices):
    LOYALTY = "loyalty", "Loyalty"
    NON_LOYALTY = "non_loyalty", "Non-loyalty"


class CustomerLabel(BaseModel):
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="customer_labels")
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["org", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "name"], name="members_customerlabel_name_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Customer(BaseModel):
    """A member of one org. mobile, email and external_id are each unique within the org."""

    class FraudStatus(models.TextChoices):
        NONE = "NONE", "None"
        SUSPECTED = "SUSPECTED", "Suspected"
        CONFIRMED = "CONFIRMED", "Confirmed"

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="customers")
    mobile = models.CharField(max_length=15, null=True, blank=True, validators=[MOBILE_VALIDATOR])
    email = models.EmailField(max_length=255, null=True, blank=True)
    external_id = models.CharField(max_length=100, null=True, blank=True)
    first_name = models.CharField(max_length=100, blank=True, default="")
    last_name = models.CharField(max_length=100, blank=True, default="")
    loyalty_type = models.CharField(
        max_length=16, choices=LoyaltyType.choices, default=LoyaltyType.LOYALTY
    )
    registration_source = models.CharField(
        max_length=16, choices=RegistrationSource.choices, default=RegistrationSource.INSTORE
    )
    registered_at = models.DateTimeField(db_index=True)
    registered_till = models.ForeignKey(
        Till, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    registered_store = models.ForeignKey(
        Store, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_by_till = models.ForeignKey(
        Till, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status_label = models.CharField(max_length=50, blank=True, default="Active")
    fraud_status = models.CharField(
        max_length=16, choices=FraudStatus.choices, default=FraudStatus.NONE
    )
    extended_fields = models.JSONField(default=dict, blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    lifetime_purchases = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    labels = models.ManyToManyField(CustomerLabel, blank=True, related_name="customers")
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="merged_victims"
    )

    class Meta:
        ordering = ["org", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "mobile"],
                condition=Q(mobile__isnull=False),
                name="members_customer_mobile_unique",
            ),
            models.UniqueConstraint(
                fields=["org", "email"],
                condition=Q(email__isnull=False),
                name="members_customer_email_unique",
            ),
            models.UniqueConstraint(
                fields=["org", "external_id"],
                condition=Q(external_id__isnull=False),
                name="members_customer_external_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(mobile__isnull=False)
                | Q(email__isnull=False)
                | Q(external_id__isnull=False),
                name="members_customer_has_identifier",
            ),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        ident = self.mobile or self.email or self.external_id
        return f"{name} <{ident}>" if name else f"#{self.pk} <{ident}>"

    def save(self, *args, **kwargs):
        # Empty identifiers are stored as NULL so the per-org unique constraints ignore them.
        for field in ("mobile", "email", "external_id"):
            value = getattr(self, field)
            if value is not None:
                value = value.strip()
                if field == "email":
                    value = value.lower()
            setattr(self, field, value or None)
        super().save(*args, **kwargs)

    def clean(self) -> None:
        if not (self.mobile or self.email or self.external_id):
            raise ValidationError("A customer needs a mobile, an email or an external id.")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class CustomerSourceProfile(BaseModel):
    """The sources (INSTORE, ECOMMERCE, ...) a customer is registered on (contract §11.1)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="source_profiles")
    source = models.CharField(max_length=16, choices=RegistrationSource.choices)
    account_id = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        ordering = ["customer", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "source", "account_id"], name="members_sourceprofile_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source}{'/' + self.account_id if self.account_id else ''}"


class ProgramEnrollment(BaseModel):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="enrollments")
    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="enrollments")
    tier = models.ForeignKey(
        Tier, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    enrolled_at = models.DateTimeField()
    tier_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["customer", "program"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "program"], name="members_programenrollment_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.program}"

    def clean(self) -> None:
        if self.tier_id and self.program_id and self.tier.program_id != self.program_id:
            raise ValidationError({"tier": "The tier belongs to another program."})


class PartnerProgramEnrollment(BaseModel):
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="partner_enrollments"
    )
    partner_program = models.ForeignKey(
        PartnerProgram, on_delete=models.CASCADE, related_name="enrollments"
    )
    enrolled_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "partner_program"], name="members_partnerenrollment_unique"
            )
        ]


class UserGroup(BaseModel):
    """The contract's userGroup2: a family/fleet of customers with one primary member."""

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", "Active"
        INACTIVE = "INACTIVE", "Inactive"
        DELETED = "DELETED", "Deleted"

    DEFAULT_MAX_SIZE = 30000

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="user_groups")
    external_id = models.CharField(max_length=50)
    name = models.CharField(max_length=50, blank=True, default="")
    max_size = models.PositiveIntegerField(default=DEFAULT_MAX_SIZE)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    extended_fields = models.JSONField(default=dict, blank=True)
    created_by_till = models.ForeignKey(
        Till, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Maintained under a row lock with every join/leave so capacity holds under concurrency.
    member_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["org", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "external_id"], name="members_usergroup_external_id_unique"
            ),
            models.CheckConstraint(
                condition=Q(member_count__lte=models.F("max_size")),
                name="members_usergroup_within_capacity",
            ),
            models.CheckConstraint(
                condition=Q(max_size__gte=1), name="members_usergroup_size_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.external_id} (#{self.pk})"


class UserGroupMembership(BaseModel):
    class Permission(models.TextChoices):
        BLOCK_POINTS_REDEMPTION = "block_points_redemption", "Block points redemption"

    group = models.ForeignKey(UserGroup, on_delete=models.CASCADE, related_name="memberships")
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="group_memberships"
    )
    is_primary = models.BooleanField(default=False)
    permissions = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    joined_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["group", "-is_primary", "id"]
        constraints = [
            # A customer belongs to at most one group at a time (1623 / 1642).
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(is_active=True),
                name="members_membership_one_active_group",
            ),
            models.UniqueConstraint(
                fields=["group"],
                condition=Q(is_active=True, is_primary=True),
                name="members_membership_one_primary",
            ),
        ]

    def __str__(self) -> str:
        role = "primary" if self.is_primary else "secondary"
        return f"{self.customer_id} in group {self.group_id} ({role})"


class TransactionType(models.TextChoices):
    REGULAR = "REGULAR", "Regular"
    RETURN = "RETURN", "Return"
    NOT_INTERESTED = "NOT_INTERESTED", "Not interested"
    NOT_INTERESTED_RETURN = "NOT_INTERESTED_RETURN", "Not interested return"


class ReturnType(models.TextChoices):
    FULL = "FULL", "Full"
    LINE_ITEM = "LINE_ITEM", "Line items"
    AMOUNT = "AMOUNT", "Amount"
    CANCELLED = "CANCELLED", "Cancelled"


class Transaction(BaseModel):
    """A bill sent by a till. REGULAR bills are unique per store and number."""

    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="transactions")
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="transactions"
    )
    user_group = models.ForeignKey(
        UserGroup, on_delete=models.SET_NULL, null=True, blank=True, related_name="transactions"
    )
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="transactions")
    till = models.ForeignKey(Till, on_delete=models.PROTECT, related_name="transactions")
    number = models.CharField(max_length=50)
    type = models.CharField(max_length=24, choices=TransactionType.choices)
    return_type = models.CharField(
        max_length=16, choices=ReturnType.choices, blank=True, default=""
    )
    original = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="returns"
    )
    bill_amount = models.DecimalField(max_digits=16, decimal_places=3)
    gross_amount = models.DecimalField(max_digits=16, decimal_places=3, null=True, blank=True)
    discount = models.DecimalField(max_digits=16, decimal_places=3, default=0)
    currency_code = models.CharField(max_length=3, blank=True, default="")
    billed_at = models.DateTimeField(db_index=True)
    purchased_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(
        max_length=16, choices=RegistrationSource.choices, default=RegistrationSource.INSTORE
    )
    notes = models.TextField(blank=True, default="")
    delivery_status = models.CharField(max_length=16, blank=True, default="")
    outlier_status = models.CharField(max_length=16, blank=True, default="NORMAL")
    payment_modes = models.JSONField(default=list, blank=True)
    extended_fields = models.JSONField(default=dict, blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    promotion_evaluation_id = models.CharField(max_length=64, blank=True, default="")
    applied_promotion_identifiers = models.JSONField(default=list, blank=True)
    loyalty_promotion_identifiers = models.JSONField(default=list, blank=True)
    coupon_codes = models.JSONField(default=list, blank=True)
    points_redemption_ids = models.JSONField(default=list, blank=True)
    # Hash of the normalised request; a replay with the same number and body returns this row,
    # the same number with a different body is a conflict (604).
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")
    idempotency_key = models.CharField(max_length=128, null=True, blank=True)

    class Meta:
        ordering = ["-billed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "number"],
                condition=Q(type__in=["REGULAR", "NOT_INTERESTED"]),
                name="members_transaction_bill_number_unique",
            ),
            models.UniqueConstraint(
                fields=["till", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="members_transaction_idempotency_unique",
            ),
            models.CheckConstraint(
                condition=Q(bill_amount__gte=0), name="members_transaction_amount_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(type__in=["REGULAR", "NOT_INTERESTED"]) | Q(original__isnull=False),
                name="members_transaction_return_has_original",
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "-billed_at"], name="members_txn_customer_billed"),
            models.Index(fields=["org", "number"], name="members_txn_org_number"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.number}"


class TransactionLineItem(models.Model):
    class Type(models.TextChoices):
        REGULAR = "REGULAR", "Regular"
        RETURN = "RETURN", "Return"

    transaction = models.ForeignKey(
        Transaction, on_delete=models.CASCADE, related_name="line_items"
    )
    serial = models.PositiveIntegerField(default=0)
    type = models.CharField(max_length=8, choices=Type.choices, default=Type.REGULAR)
    sku = models.CharField(max_length=100)
    description = models.CharField(max_length=255, blank=True, default="")
    qty = models.DecimalField(max_digits=14, decimal_places=3)
    rate = models.DecimalField(max_digits=16, decimal_places=3, default=0)
    value = models.DecimalField(max_digits=16, decimal_places=3, default=0)
    discount = models.DecimalField(max_digits=16, decimal_places=3, default=0)
    amount = models.DecimalField(max_digits=16, decimal_places=3, default=0)
    category = models.CharField(max_length=100, blank=True, default="")
    brand = models.CharField(max_length=100, blank=True, default="")
    attributes = models.JSONField(default=dict, blank=True)
    extended_fields = models.JSONField(default=dict, blank=True)
    # On a return line: the line of the original bill it gives back.
    original_line = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="return_lines"
    )

    class Meta:
        ordering = ["transaction", "serial", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(qty__gt=0), name="members_lineitem_qty_positive"),
            models.CheckConstraint(
                condition=Q(amount__gte=0), name="members_lineitem_amount_non_negative"
            ),
        ]
        indexes = [models.Index(fields=["sku"], name="members_lineitem_sku")]

    def __str__(self) -> str:
        return f"{self.sku} x {self.qty}"
