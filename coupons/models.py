"""Coupons domain: offers (coupon series), their coupon codes, audiences and expiry reminders.

A series (the seed's "offer") carries the discount, how codes are made, when coupons expire,
the issual rules and the redemption rules (the contract's `CouponSeriesV2`, CONTRACT.md §2.1).
A `Coupon` is one code: unissued (pre-generated or uploaded, no customer yet) or issued to a
customer. Rules live in coupons.services; the database holds the invariants that must never
break: codes unique per org, one common code per customer, the series issual limit.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.text import get_valid_filename

from loyalty_site.core.models import BaseModel
from members.models import CURRENCY_VALIDATOR


class DiscountType(models.TextChoices):
    ABSOLUTE = "ABS", "Absolute amount"
    PERCENTAGE = "PERC", "Percentage"


class DiscountOn(models.TextChoices):
    BILL = "BILL", "Bill"
    LINE_ITEM = "LINEITEM", "Line items"


class DeliveryMethod(models.TextChoices):
    PLATFORM = "PLATFORM", "Through the platform"
    THIRD_PARTY = "THIRD_PARTY", "Through a third party"


class CodeType(models.TextChoices):
    """How codes are made. The first three are the contract's `clientHandlingType` values."""

    UNIQUE = "DISC_CODE", "Automatically create unique codes"
    COMMON = "GENERIC", "One common code for everyone"
    UPLOADED = "DISC_CODE_PIN", "Upload existing coupon codes"
    # UI only (not through the API): codes of a sample's length and charset whose first half is
    # a fixed part unique in the org.
    RANDOMIZED_COMMON = "RANDOMIZED_GENERIC", "Randomized common codes"


class ExpiryStrategy(models.TextChoices):
    WITH_OFFER = "SERIES_EXPIRY", "Along with the offer"
    DAYS = "DAYS", "Days from issual"
    MONTH_ENDS = "MONTHS_END", "Month ends from issual"


class ProductType(models.TextChoices):
    SKU = "SKU", "SKU"
    CATEGORY = "CATEGORY", "Category"
    BRAND = "BRAND", "Brand"


class RedemptionEntityType(models.TextChoices):
    CONCEPT = "CONCEPT", "Concept"
    TILL = "TILL", "Till"
    ZONE = "ZONE", "Zone"
    STORE = "STORE", "Store"


class ReminderChannel(models.TextChoices):
    SMS = "SMS", "SMS"
    EMAIL = "EMAIL", "Email"


class CouponSeries(BaseModel):
    """An offer: the template every coupon of the series is issued from."""

    org = models.ForeignKey("members.Org", on_delete=models.CASCADE, related_name="coupon_series")
    series_code = models.CharField(max_length=20, editable=False)
    description = models.CharField("offer name", max_length=200)
    discount_code = models.CharField(
        max_length=100, blank=True, default="", help_text="Identifier the POS knows the offer by."
    )
    info = models.TextField(blank=True, default="")
    terms_and_conditions = models.TextField(blank=True, default="")
    custom_properties = models.JSONField(default=dict, blank=True)
    tag = models.CharField(max_length=200, blank=True, default="")
    priority = models.IntegerField(default=0)

    # Discount -------------------------------------------------------------------------------
    discount_type = models.CharField(
        max_length=4, choices=DiscountType.choices, default=DiscountType.ABSOLUTE
    )
    discount_value = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    discount_upto = models.DecimalField(
        "up to (cap)",
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text="Largest discount of a percentage coupon, in the offer's currency.",
    )
    discount_on = models.CharField(
        max_length=8, choices=DiscountOn.choices, default=DiscountOn.BILL
    )
    currency = models.CharField(
        max_length=3,
        blank=True,
        default="",
        validators=[CURRENCY_VALIDATOR],
        help_text="Currency of the coupon value; empty means the org's base currency. Converted "
        "to the store's currency at redemption.",
    )
    # [{"productType": "SKU"|"CATEGORY"|"BRAND", "productIds": [int, ...]}]
    product_info = models.JSONField(default=list, blank=True)
    is_valid_with_discounted_item = models.BooleanField(default=False)

    # Delivery and codes ----------------------------------------------------------------------
    delivery_method = models.CharField(
        max_length=12, choices=DeliveryMethod.choices, default=DeliveryMethod.PLATFORM
    )
    code_type = models.CharField(max_length=20, choices=CodeType.choices, default=CodeType.UNIQUE)
    is_alphanumeric = models.BooleanField(default=True)
    code_length = models.PositiveSmallIntegerField(
        default=8, help_text="Length of the random part of generated codes."
    )
    short_code_length = models.PositiveSmallIntegerField(default=0)
    code_prefix = models.CharField(max_length=20, blank=True, default="")
    is_prefix_enabled = models.BooleanField(default=False)
    prefix_overrides_org = models.BooleanField(default=False)
    code_suffix = models.CharField(max_length=20, blank=True, default="")
    is_suffix_enabled = models.BooleanField(default=False)
    suffix_overrides_org = models.BooleanField(default=False)
    generic_code = models.CharField("common code", max_length=64, blank=True, default="")
    random_code_sample = models.CharField(max_length=10, blank=True, default="", editable=False)
    random_fixed_part = models.CharField(max_length=5, blank=True, default="", editable=False)

    # Expiry ----------------------------------------------------------------------------------
    valid_till = models.DateTimeField("offer ends", null=True, blank=True)
    expiry_strategy = models.CharField(
        max_length=16, choices=ExpiryStrategy.choices, default=ExpiryStrategy.WITH_OFFER
    )
    expiry_value = models.PositiveIntegerField(
        default=1, help_text="N days or N month ends; ignored for 'along with the offer'."
    )

    # Issual ----------------------------------------------------------------------------------
    max_issuals = models.PositiveIntegerField(
        "limit total issuals", null=True, blank=True, help_text="Empty means no limit."
    )
    issual_limit_notify_remaining = models.PositiveIntegerField(
        "notify when remaining issuals reach",
        null=True,
        blank=True,
        help_text="Email the brand contacts once when this many issuals are left.",
    )
    issual_limit_notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    allows_multiple_per_customer = models.BooleanField(default=False)
    max_per_customer = models.PositiveIntegerField(
        "maximum issuals per customer",
        null=True,
        blank=True,
        help_text="With multiple coupons per customer; empty means no limit.",
    )
    min_days_between_issuals = models.PositiveIntegerField(null=True, blank=True)
    resends_existing_coupon = models.BooleanField(
        "send the existing valid coupon when a customer qualifies again",
        default=False,
        help_text="Off: send nothing (the contract's doNotResendExistingVoucher).",
    )
    # Ids of series whose recipients of the past 6 months are skipped (mutualExclusiveSeriesIds).
    past_issual_series_ids = models.JSONField(default=list, blank=True)
    is_audience_restricted = models.BooleanField("issue to specific customers only", default=False)
    issue_to_loyalty = models.BooleanField(default=False)
    is_referral_existing_users_allowed = models.BooleanField(default=False)
    max_referrals_per_referee = models.PositiveIntegerField(null=True, blank=True)

    # Messages --------------------------------------------------------------------------------
    sms_template = models.TextField(blank=True, default="")
    short_sms_template = models.TextField(blank=True, default="")
    sends_sms = models.BooleanField("send the coupon by SMS on issual", default=True)
    is_resend_enabled = models.BooleanField("SMS content for resending the coupon", default=False)
    allows_unicode_sms = models.BooleanField("allow Unicode characters", default=False)

    # Redemption (rules enforced by the redemption services) ----------------------------------
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    any_user = models.BooleanField("allow anyone to redeem", default=False)
    redemption_per_coupon_max_limit = models.PositiveIntegerField(null=True, blank=True)
    same_user_multiple_redeem = models.BooleanField(default=False)
    is_multiple_use_allowed = models.BooleanField(default=False)
    max_redemptions_per_user = models.PositiveIntegerField(null=True, blank=True)
    min_days_between_redemptions = models.PositiveIntegerField(null=True, blank=True)
    redemption_valid_from = models.DateTimeField(null=True, blank=True)
    redemption_valid_after_days = models.PositiveIntegerField(default=0)
    # {"dom": [1..31], "dow": [1..7, 1 = Sunday], "hours": [0..23]}; an empty list means any.
    redemption_range = models.JSONField(default=dict, blank=True)
    min_bill_amount = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    max_bill_amount = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    # [{"redemptionOrgEntityType": "STORE"|..., "orgEntityId": int}]; empty means anywhere.
    redemption_org_entities = models.JSONField(default=list, blank=True)
    target_max_transactions = models.PositiveIntegerField(null=True, blank=True)
    target_registered_from = models.DateTimeField(null=True, blank=True)
    target_registered_until = models.DateTimeField(null=True, blank=True)

    # Counters --------------------------------------------------------------------------------
    num_issued = models.PositiveBigIntegerField(default=0, editable=False)
    # Redemptions are counted in CouponRedemptionCounter shards (a hot offer never serialises on
    # this row); coupons.selectors.series_redemption_totals sums them.
    num_codes = models.PositiveBigIntegerField(default=0, editable=False)
    num_uploaded_total = models.PositiveBigIntegerField(default=0, editable=False)
    num_uploaded_non_issued = models.PositiveBigIntegerField(default=0, editable=False)
    latest_issued_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by_till = models.ForeignKey(
        "members.Till", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Idempotency-Key of the create request and a digest of its settings (replays must match).
    idempotency_key = models.CharField(max_length=128, null=True, blank=True, editable=False)
    idempotency_fingerprint = models.CharField(
        max_length=64, blank=True, default="", editable=False
    )

    class Meta:
        ordering = ["org", "-id"]
        verbose_name = "offer (coupon series)"
        verbose_name_plural = "offers (coupon series)"
        constraints = [
            models.UniqueConstraint(
                fields=["org", "series_code"], name="coupons_couponseries_code_unique"
            ),
            models.UniqueConstraint(
                fields=["org", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="coupons_couponseries_idempotency_key_unique",
            ),
            models.UniqueConstraint(
                fields=["org", "generic_code"],
                condition=~Q(generic_code=""),
                name="coupons_couponseries_generic_code_unique",
            ),
            models.UniqueConstraint(
                fields=["org", "random_fixed_part"],
                condition=~Q(random_fixed_part=""),
                name="coupons_couponseries_fixed_part_unique",
            ),
            models.CheckConstraint(
                condition=Q(max_issuals__isnull=True) | Q(num_issued__lte=F("max_issuals")),
                name="coupons_couponseries_issued_within_limit",
            ),
            models.CheckConstraint(
                condition=Q(discount_value__gte=0)
                & (~Q(discount_type="PERC") | Q(discount_value__lte=100)),
                name="coupons_couponseries_discount_value_valid",
            ),
            models.CheckConstraint(
                condition=Q(num_uploaded_non_issued__lte=F("num_uploaded_total")),
                name="coupons_couponseries_uploaded_counts_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.description} (#{self.pk})" if self.pk else self.description

    @property
    def is_third_party(self) -> bool:
        return self.delivery_method == DeliveryMethod.THIRD_PARTY

    @property
    def effective_currency(self) -> str:
        return self.currency or self.org.base_currency

    @property
    def per_customer_limit(self) -> int | None:
        """Most coupons one customer may receive; None means no limit."""
        if not self.allows_multiple_per_customer:
            return 1
        return self.max_per_customer


class Coupon(BaseModel):
    """One coupon code. Unissued codes have no customer; common codes exist once per customer."""

    class Source(models.TextChoices):
        GENERATED = "GENERATED", "Generated"
        UPLOADED = "UPLOADED", "Uploaded"
        COMMON = "COMMON", "Common code"

    org = models.ForeignKey("members.Org", on_delete=models.CASCADE, related_name="+")
    # No single-column indexes on series and customer: the (series, customer, issued_at) and
    # (customer, issued_at) indexes below serve those lookups, and every index costs bulk issues.
    series = models.ForeignKey(
        CouponSeries, on_delete=models.CASCADE, related_name="coupons", db_index=False
    )
    code = models.CharField(max_length=64)
    is_common = models.BooleanField(default=False)
    source = models.CharField(max_length=10, choices=Source.choices)
    customer = models.ForeignKey(
        "members.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="coupons",
        db_index=False,
    )
    issued_at = models.DateTimeField(null=True, blank=True)
    valid_till = models.DateTimeField(null=True, blank=True)
    issued_by_till = models.ForeignKey(
        "members.Till", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    issue_idempotency_key = models.CharField(max_length=128, null=True, blank=True)
    # Set when a job issued the coupon (an upload or a bulk issue), with the job's row: the file's
    # row number for uploads, the customer id for bulk issues. The pair is unique, so a job run
    # again after a crash never issues one row twice.
    # A provenance reference without a database constraint: jobs may be pruned, and a foreign key
    # check per row would be a quarter of a bulk issue's insert cost.
    issue_job = models.ForeignKey(
        "core.Job",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # the (issue_job, issue_job_row) unique index serves lookups by job
        db_constraint=False,
    )
    issue_job_row = models.PositiveBigIntegerField(null=True, blank=True)
    # Where an issual came from, as the v2 bulk issue sends it (source, sourceType, notes, ...).
    issue_metadata = models.JSONField(default=dict, blank=True)
    # Maintained by the redemption and revocation services: active (not reversed) redemptions.
    redemption_count = models.PositiveIntegerField(default=0)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revocation = models.ForeignKey(
        "CouponRevocation", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["series", "id"]
        constraints = [
            models.UniqueConstraint(
                # A revoked code may be uploaded again for another customer (the seed's
                # "transfer": revoke, then upload); the revoked row stays as history.
                fields=["org", "code"],
                condition=Q(is_common=False, revoked_at__isnull=True),
                name="coupons_coupon_code_unique_per_org",
            ),
            models.UniqueConstraint(
                fields=["series", "customer"],
                condition=Q(is_common=True),
                name="coupons_coupon_one_common_per_customer",
            ),
            models.UniqueConstraint(
                fields=["org", "issue_idempotency_key"],
                condition=Q(issue_idempotency_key__isnull=False),
                name="coupons_coupon_idempotency_key_unique",
            ),
            models.UniqueConstraint(
                fields=["issue_job", "issue_job_row"],
                condition=Q(issue_job__isnull=False),
                name="coupons_coupon_job_row_unique",
            ),
            models.CheckConstraint(
                condition=Q(customer__isnull=True, issued_at__isnull=True)
                | Q(customer__isnull=False, issued_at__isnull=False),
                name="coupons_coupon_issued_with_customer",
            ),
            models.CheckConstraint(
                condition=Q(is_common=False) | Q(customer__isnull=False),
                name="coupons_coupon_common_only_when_issued",
            ),
        ]
        indexes = [
            models.Index(
                fields=["series", "customer", "issued_at"], name="coupons_series_customer"
            ),
            models.Index(fields=["customer", "issued_at"], name="coupons_customer_issued"),
            models.Index(
                fields=["series", "id"],
                condition=Q(customer__isnull=True),
                name="coupons_series_unissued",
            ),
            # Revoked codes, found by code to say so (live codes have the unique index).
            models.Index(
                fields=["org", "code"],
                condition=Q(revoked_at__isnull=False),
                name="coupons_coupon_revoked_code",
            ),
        ]

    def __str__(self) -> str:
        return self.code


class CouponAudience(BaseModel):
    """A list of customers a series may be issued to ("issue to specific customers only")."""

    series = models.ForeignKey(CouponSeries, on_delete=models.CASCADE, related_name="audiences")
    name = models.CharField(max_length=200)
    customers = models.ManyToManyField(
        "members.Customer", through="CouponAudienceMember", related_name="+"
    )

    class Meta:
        ordering = ["series", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "name"], name="coupons_couponaudience_name_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


class CouponAudienceMember(models.Model):
    audience = models.ForeignKey(CouponAudience, on_delete=models.CASCADE, related_name="members")
    customer = models.ForeignKey("members.Customer", on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["audience", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["audience", "customer"], name="coupons_couponaudiencemember_unique"
            )
        ]
        indexes = [models.Index(fields=["customer"], name="coupons_audience_customer")]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.audience_id}"


class CouponExpiryReminder(BaseModel):
    """A message sent to holders of unredeemed coupons N days before they expire."""

    series = models.ForeignKey(
        CouponSeries, on_delete=models.CASCADE, related_name="expiry_reminders"
    )
    days_before_expiry = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=8, choices=ReminderChannel.choices)
    send_at = models.TimeField(help_text="Local time of day (the org's time zone).")
    message = models.TextField()

    class Meta:
        ordering = ["series", "days_before_expiry", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "days_before_expiry", "channel"],
                name="coupons_couponexpiryreminder_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.days_before_expiry} days before expiry"


def coupon_upload_path(upload: CouponUpload, filename: str) -> str:
    """Where an uploaded file is kept: MEDIA_ROOT/uploads/coupons/<org>/<name>_<ms>_<offer>.csv
    (the contract's `uploadedFileUrl` shape, e.g. couponCode_1601835836573_123.csv)."""
    try:
        stem = get_valid_filename(Path(filename).stem)[:80]
    except SuspiciousFileOperation:  # a name with nothing usable in it
        stem = "upload"
    millis = int(time.time() * 1000)
    return f"uploads/coupons/{upload.org_id}/{stem}_{millis}_{upload.series_id}.csv"


class CouponUpload(BaseModel):
    """One CSV uploaded for an offer (contract §3, the seed's "Upload customers" and "Upload
    existing coupon codes") and the job that processes it row by row."""

    class Kind(models.TextChoices):
        CODES = "CODES", "Coupon codes only"
        CODES_WITH_CUSTOMERS = "CODES_WITH_CUSTOMERS", "Coupon codes with their customers"
        CUSTOMERS = "CUSTOMERS", "Customers to issue coupons to"

    class CustomerIdentifier(models.TextChoices):
        MOBILE = "MOBILE", "Mobile"
        EXTERNAL_ID = "EXTERNAL_ID", "External id"
        EMAIL = "EMAIL", "Email"
        USER_ID = "USER_ID", "User id"
        NOT_TAGGED = "NOT_TAGGED", "No customer (codes only)"

    org = models.ForeignKey("members.Org", on_delete=models.CASCADE, related_name="+")
    series = models.ForeignKey(CouponSeries, on_delete=models.CASCADE, related_name="uploads")
    job = models.OneToOneField("core.Job", on_delete=models.CASCADE, related_name="coupon_upload")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    customer_identifier = models.CharField(max_length=12, choices=CustomerIdentifier.choices)
    identifier_column = models.PositiveSmallIntegerField(default=0)
    code_column = models.PositiveSmallIntegerField(null=True, blank=True)
    file = models.FileField(upload_to=coupon_upload_path, max_length=255)
    file_name = models.CharField("uploaded file name", max_length=255)
    # The audience the uploaded customers joined (offers issued to specific customers only).
    audience = models.ForeignKey(
        CouponAudience, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    uploaded_by_till = models.ForeignKey(
        "members.Till", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["series", "-id"]
        indexes = [models.Index(fields=["series", "-id"], name="coupons_upload_series")]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_kind_display()})"

    @property
    def stored_name(self) -> str:
        return Path(self.file.name).name if self.file else ""


class CouponIssueChunk(BaseModel):
    """A customer-id range of a bulk issue job. Workers claim chunks with SELECT ... FOR UPDATE
    SKIP LOCKED and issue a chunk in one transaction, so any number of workers share a job and a
    chunk is either done (with its counts) or untouched."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        DONE = "DONE", "Done"

    job = models.ForeignKey(
        "core.Job", on_delete=models.CASCADE, related_name="coupon_issue_chunks"
    )
    sequence = models.PositiveIntegerField()
    start_id = models.PositiveBigIntegerField()
    end_id = models.PositiveBigIntegerField()
    size = models.PositiveIntegerField(help_text="Customers in the range when it was planned.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    issued = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=255, blank=True, default="")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "sequence"], name="coupons_couponissuechunk_sequence_unique"
            ),
            models.CheckConstraint(
                condition=Q(start_id__lte=F("end_id")),
                name="coupons_couponissuechunk_range_valid",
            ),
        ]
        indexes = [models.Index(fields=["job", "status"], name="coupons_chunk_job_status")]

    def __str__(self) -> str:
        return f"chunk {self.sequence} [{self.start_id}..{self.end_id}] of job {self.job_id}"


class CouponRedemption(BaseModel):
    """One redemption of a coupon on a bill. Reversal (a returned bill, v2 reactivate) keeps the
    row and marks it inactive: `is_active` false is the contract's `isReversed`."""

    org = models.ForeignKey("members.Org", on_delete=models.CASCADE, related_name="+")
    coupon = models.ForeignKey(Coupon, on_delete=models.CASCADE, related_name="redemptions")
    series = models.ForeignKey(
        CouponSeries, on_delete=models.CASCADE, related_name="redemptions", db_index=False
    )
    customer = models.ForeignKey(
        "members.Customer",
        on_delete=models.PROTECT,
        related_name="coupon_redemptions",
        db_index=False,
    )
    till = models.ForeignKey(
        "members.Till", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    store = models.ForeignKey(
        "members.Store", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    transaction_number = models.CharField(max_length=100, blank=True, default="")
    transaction = models.ForeignKey(
        "members.Transaction",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="coupon_redemptions",
    )
    bill_amount = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    # The coupon's value at the till, in the store's currency (coupon_value_for_store).
    coupon_value = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    currency = models.CharField(max_length=3, blank=True, default="")
    redeemed_at = models.DateTimeField()
    custom_fields = models.JSONField(default=dict, blank=True)
    # The series counter shard this redemption was counted in (given back on reversal).
    counter_shard = models.PositiveSmallIntegerField()
    is_active = models.BooleanField(default=True)
    last_status_change_on = models.DateTimeField()
    reversed_by_transaction = models.ForeignKey(
        "members.Transaction", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    idempotency_key = models.CharField(max_length=128, null=True, blank=True)

    class Meta:
        ordering = ["-redeemed_at", "-id"]
        constraints = [
            # A retry of the same redemption (same code and bill) finds the first one.
            models.UniqueConstraint(
                fields=["coupon", "transaction_number"],
                condition=Q(is_active=True) & ~Q(transaction_number=""),
                name="coupons_couponredemption_once_per_bill",
            ),
            models.UniqueConstraint(
                fields=["org", "idempotency_key", "coupon"],
                condition=Q(idempotency_key__isnull=False),
                name="coupons_couponredemption_idempotency_key_unique",
            ),
        ]
        indexes = [
            models.Index(
                fields=["series", "customer", "redeemed_at"], name="coupons_red_series_cust"
            ),
            models.Index(fields=["customer", "redeemed_at"], name="coupons_red_customer"),
            models.Index(fields=["series", "redeemed_at"], name="coupons_red_series"),
        ]

    def __str__(self) -> str:
        return f"redemption {self.pk} of {self.coupon_id}"


class CouponRedemptionCounter(models.Model):
    """One shard of an offer's redemption count. With a total limit, the limit is split into the
    shards' quotas (they always add up to the limit), a redemption takes one unit from a shard
    with `UPDATE ... WHERE used < quota`, trying the next shard when one is full, so the limit is
    exact while concurrent redemptions rarely wait on the same row."""

    series = models.ForeignKey(
        CouponSeries, on_delete=models.CASCADE, related_name="redemption_counters"
    )
    shard = models.PositiveSmallIntegerField()
    used = models.PositiveBigIntegerField(default=0)
    quota = models.PositiveBigIntegerField(null=True, blank=True, help_text="Empty: no limit.")
    latest_redeemed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["series", "shard"]
        constraints = [
            models.UniqueConstraint(
                fields=["series", "shard"], name="coupons_couponredemptioncounter_shard_unique"
            ),
            models.CheckConstraint(
                condition=Q(quota__isnull=True) | Q(used__lte=F("quota")),
                name="coupons_couponredemptioncounter_within_quota",
            ),
        ]

    def __str__(self) -> str:
        return f"series {self.series_id} shard {self.shard}: {self.used}/{self.quota}"


class CouponCustomerUsage(models.Model):
    """The row a redemption locks when its offer has rules about the customer's own earlier
    redemptions (per-customer cap, gap, same code again): concurrent redemptions by one customer
    of one offer are then decided one at a time, each counting the committed redemptions."""

    series = models.ForeignKey(CouponSeries, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey("members.Customer", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["series", "customer"], name="coupons_couponcustomerusage_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} on {self.series_id}"


class CouponRevocation(BaseModel):
    """One revoke (audit): who, when, how, and how many coupons it revoked."""

    class Mode(models.TextChoices):
        ALL_UNREDEEMED = "ALL_UNREDEEMED", "All unredeemed coupons (issued and unissued)"
        UNISSUED = "UNISSUED", "Only unissued coupons"
        CUSTOMERS = "CUSTOMERS", "For specific customers"
        CODES = "CODES", "Specific coupon codes"

    org = models.ForeignKey("members.Org", on_delete=models.CASCADE, related_name="+")
    series = models.ForeignKey(CouponSeries, on_delete=models.CASCADE, related_name="revocations")
    mode = models.CharField(max_length=16, choices=Mode.choices)
    revoked_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoked_by_till = models.ForeignKey(
        "members.Till", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_count = models.PositiveIntegerField(default=0)
    customers_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.get_mode_display()}: {self.revoked_count} revoked"


class CouponReminderDelivery(BaseModel):
    """One expiry reminder sent (or tried) for one coupon: the job's once-per-coupon record, and
    what member care sees."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Sending"
        SENT = "SENT", "Sent"
        FAILED = "FAILED", "Failed"
        SKIPPED = "SKIPPED", "Skipped (no contact)"

    reminder = models.ForeignKey(
        CouponExpiryReminder, on_delete=models.CASCADE, related_name="deliveries"
    )
    coupon = models.ForeignKey(Coupon, on_delete=models.CASCADE, related_name="reminder_deliveries")
    channel = models.CharField(max_length=8, choices=ReminderChannel.choices)
    recipient = models.CharField(max_length=254, blank=True, default="")
    message = models.TextField(blank=True, default="")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True, default="")
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["reminder", "coupon"], name="coupons_couponreminderdelivery_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel} reminder for {self.coupon_id}: {self.status}"
