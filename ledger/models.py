"""Points ledger: accounts, append-only events and entries, expiry lots and redemptions.

A points account belongs to one owner (a customer or a user group) for one program and one points
category. Every change of a balance is an event (what happened, where, why) grouping one or more
entries (CREDIT / DEBIT / OPENING_BALANCE on one account, with the account's closing balance
after it). Entries are never updated or deleted; a correction is a new event that points at the
one it corrects. Credits create lots with an expiry date; debits consume lots nearest-expiry first
and record what they took (LotConsumption), so partial expiry and reversals are exact.

Invariants (checked by `manage.py ledger_verify` and enforced by the constraints below where the
database can): account.balance = sum of its entries; each entry's closing balance is the running
sum; the opening balance is the first entry; the lots' remainders add up to max(balance, 0).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from loyalty_site.core.models import BaseModel
from members.models import PointsCategory

POINTS_MAX_DIGITS = 18
POINTS_DECIMAL_PLACES = 3

# The contract's names for the points categories (CONTRACT.md §4.2 entryDetails.pointsCategory).
CATEGORY_API_NAMES: dict[str, str] = {
    PointsCategory.REGULAR: "Main",
    PointsCategory.PROMISED: "DelayedAccrualPointCategory",
    PointsCategory.TRIGGER_BASED: "ExternalTriggerBasedPointCategory",
}


def points_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(
        max_digits=POINTS_MAX_DIGITS, decimal_places=POINTS_DECIMAL_PLACES, **kwargs
    )


class EntryType(models.TextChoices):
    CREDIT = "CREDIT", "Credit"
    DEBIT = "DEBIT", "Debit"
    OPENING_BALANCE = "OPENING_BALANCE", "Opening balance"


class EventName(models.TextChoices):
    """The contract's eventName values (§4.2) plus the ones this ledger writes for its own flows."""

    TRANSACTION_ADD = "TransactionAdd", "Transaction add"
    TRANSACTION_UPDATE = "TransactionUpdate", "Transaction update"
    RETURN_BILL = "ReturnBill", "Transaction return"
    TARGET_COMPLETED = "TargetCompleted", "Target completed"
    POINTS_REDEMPTION = "PointsRedemption", "Points redemption"
    VOUCHER_REDEMPTION = "VoucherRedemption", "Voucher redemption"
    DELAYED_ACCRUAL = "DelayedAccrual", "Promised points conversion"
    TRIGGER_BASED_ACCRUAL = "TriggerBasedAccrual", "Trigger-based points conversion"
    POINTS_TRANSFER = "PointsTransfer", "Points transfer"
    POINTS_REDEMPTION_REVERSAL = "PointsRedemptionReversal", "Redemption reversal"
    POINTS_EXPIRY = "PointsExpiry", "Points expiry"
    CUSTOMER_REGISTRATION = "CustomerRegistration", "Customer registration"
    CUSTOMER_UPDATE = "CustomerUpdate", "Customer update"
    GENERIC_EVENT = "GenericEvent", "Generic event"
    ALLOCATE_GOODWILL_POINTS = "AllocateGoodwillPoints", "Goodwill points"
    MANUAL_POINTS_ADJUSTMENT = "ManualPointsAdjustment", "Manual points adjustment"
    POINTS_LEDGER_BULK_JOB = "PointsLedgerBulkJob", "Ledger back-fill"
    MERGE_CUSTOMER = "MergeCustomer", "Customer merge"
    REFERRAL_AWARD = "ReferralAward", "Referral award"
    REFERRAL_RETURN = "ReferralReturn", "Referral points return"
    POINTS_IMPORT = "PointsImport", "Points import"
    BULK_POINTS_AWARD = "BulkPointsAward", "Bulk points award"


class LedgerOwnerMixin(models.Model):
    """Exactly one of customer / user_group owns the row (the contract's entityType)."""

    customer = models.ForeignKey(
        "members.Customer", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    user_group = models.ForeignKey(
        "members.UserGroup", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        abstract = True

    @property
    def owner(self):
        return self.customer if self.customer_id else self.user_group


ONE_OWNER = Q(customer__isnull=False, user_group__isnull=True) | Q(
    customer__isnull=True, user_group__isnull=False
)


class PointsAccount(LedgerOwnerMixin, BaseModel):
    """One owner's points in one program and category; `balance` caches the sum of its entries."""

    org = models.ForeignKey("members.Org", on_delete=models.PROTECT, related_name="+")
    program = models.ForeignKey("members.Program", on_delete=models.PROTECT, related_name="+")
    category = models.CharField(max_length=16, choices=PointsCategory.choices)
    balance = points_field(default=0)
    # Sequence number of the newest entry; entries are numbered 1 (opening balance), 2, 3...
    last_sequence = models.PositiveIntegerField(default=0)
    # Set only by the merge rule (a survivor taking over a victim's negative balance) and by a
    # back-fill that starts the account from a negative balance.
    allows_negative_balance = models.BooleanField(default=False)

    class Meta:
        ordering = ["id"]
        # Staff actions on the ledger (admin): one-off goodwill / manual adjustments, and imports.
        permissions = [
            ("can_adjust_points", "Can give goodwill points and make manual adjustments"),
            ("can_import_points", "Can import points from a file"),
        ]
        constraints = [
            models.CheckConstraint(condition=ONE_OWNER, name="ledger_account_one_owner"),
            models.UniqueConstraint(
                fields=["customer", "program", "category"],
                condition=Q(customer__isnull=False),
                name="ledger_account_customer_unique",
            ),
            models.UniqueConstraint(
                fields=["user_group", "program", "category"],
                condition=Q(user_group__isnull=False),
                name="ledger_account_group_unique",
            ),
            models.CheckConstraint(
                condition=Q(balance__gte=0) | Q(allows_negative_balance=True),
                name="ledger_account_balance_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(category__in=PointsCategory.values),
                name="ledger_account_category_valid",
            ),
        ]

    def __str__(self) -> str:
        if self.customer_id:
            owner = f"customer {self.customer_id}"
        else:
            owner = f"group {self.user_group_id}"
        return f"{owner} / program {self.program_id} / {self.category}: {self.balance}"


class LedgerEvent(LedgerOwnerMixin, BaseModel):
    """What happened (the contract's eventLogId = id); groups the entries it caused.

    `created_at` is when the ledger recorded it (ledgerCreatedDate); `occurred_at` when the
    business event happened (eventDate, e.g. the bill time).
    """

    # Every event row is written into each of its indexes: an owner or bill needs no index of
    # its own (the recent-events and transaction indexes below lead with it), and the links
    # that are mostly empty are indexed only where set.
    customer = models.ForeignKey(
        "members.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    user_group = models.ForeignKey(
        "members.UserGroup",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    org = models.ForeignKey("members.Org", on_delete=models.PROTECT, related_name="+")
    event_name = models.CharField(max_length=64, choices=EventName.choices)
    occurred_at = models.DateTimeField()
    # Net of this event's entries on the owner's accounts (netPointsOnEvent), credits positive.
    net_points = points_field(default=0)
    # The group member who triggered an event on a group ledger (customerDetails).
    triggered_by = models.ForeignKey(
        "members.Customer",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    source = models.CharField(max_length=16, blank=True, default="")
    till = models.ForeignKey(
        "members.Till",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    store = models.ForeignKey(
        "members.Store",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    transaction = models.ForeignKey(
        "members.Transaction",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="ledger_events",
        db_index=False,
    )
    # sourceProgramId: the program the event was raised for (e.g. the till's program of a group
    # redemption), shown with includeTillConceptEvents.
    source_program = models.ForeignKey(
        "members.Program", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    promotion_id = models.CharField(max_length=64, blank=True, default="")
    promotion_identifier = models.CharField(max_length=100, blank=True, default="")
    promotion_name = models.CharField(max_length=255, blank=True, default="")
    promotion_description = models.TextField(blank=True, default="")
    reason = models.CharField(max_length=255, blank=True, default="")
    notes = models.TextField(blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    # The other side of a two-ledger event (transfer, merge): each side has its own event.
    related_event = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    # The event this one corrects (a redemption reversal points at the redemption).
    corrects = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="corrections",
        db_index=False,
    )
    idempotency_key = models.CharField(max_length=128, null=True, blank=True)
    # Hash of the request that wrote the event; a replay with other content is a conflict.
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=ONE_OWNER, name="ledger_event_one_owner"),
            models.UniqueConstraint(
                fields=["org", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="ledger_event_idempotency_key_unique",
            ),
        ]
        # Each index holds only the rows whose leading link is set: a customer's event is not
        # written into the group index, a job's or import's (no till, store or bill) into none
        # of those. Lookups by a value (`customer_id = X`) still use them.
        indexes = [
            # "The newest events of one customer" (and date ranges) walk these indexes.
            models.Index(
                fields=["customer", "-created_at", "-id"],
                condition=Q(customer__isnull=False),
                name="ledger_event_customer_recent",
            ),
            models.Index(
                fields=["user_group", "-created_at", "-id"],
                condition=Q(user_group__isnull=False),
                name="ledger_event_group_recent",
            ),
            models.Index(
                fields=["transaction", "event_name"],
                condition=Q(transaction__isnull=False),
                name="ledger_event_transaction",
            ),
            *(
                models.Index(
                    fields=[link],
                    condition=Q(**{f"{link}__isnull": False}),
                    name=f"ledger_event_{link}",
                )
                for link in (
                    "triggered_by",
                    "created_by_user",
                    "related_event",
                    "corrects",
                    "till",
                    "store",
                )
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_name} #{self.pk}"


class LedgerEntry(models.Model):
    """One line of an event on one account. Append-only."""

    event = models.ForeignKey(LedgerEvent, on_delete=models.PROTECT, related_name="entries")
    # Indexed by the (account, sequence) constraint and the (account, created_at) index.
    account = models.ForeignKey(
        PointsAccount, on_delete=models.PROTECT, related_name="entries", db_index=False
    )
    entry_type = models.CharField(max_length=16, choices=EntryType.choices)
    sequence = models.PositiveIntegerField()
    points = points_field()
    closing_balance = points_field()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "sequence"], name="ledger_entry_sequence_unique"
            ),
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(entry_type=EntryType.OPENING_BALANCE),
                name="ledger_entry_one_opening_balance",
            ),
            # Nothing comes before the opening balance.
            models.CheckConstraint(
                condition=Q(entry_type=EntryType.OPENING_BALANCE, sequence=1)
                | (~Q(entry_type=EntryType.OPENING_BALANCE) & Q(sequence__gt=1)),
                name="ledger_entry_opening_balance_first",
            ),
            # Opening balances may be zero, or negative when back-filled from a negative balance.
            models.CheckConstraint(
                condition=Q(points__gt=0) | Q(entry_type=EntryType.OPENING_BALANCE),
                name="ledger_entry_points_positive",
            ),
            models.CheckConstraint(
                condition=Q(entry_type__in=EntryType.values), name="ledger_entry_type_valid"
            ),
        ]
        indexes = [models.Index(fields=["account", "created_at"], name="ledger_entry_account_time")]

    def __str__(self) -> str:
        return f"{self.entry_type} {self.points} on account {self.account_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("Ledger entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Ledger entries are append-only")

    @property
    def signed_points(self):
        return -self.points if self.entry_type == EntryType.DEBIT else self.points


class PointsLot(models.Model):
    """Points credited together and expiring (or maturing) together."""

    account = models.ForeignKey(PointsAccount, on_delete=models.PROTECT, related_name="lots")
    # The credit (or opening balance) entry that created the lot.
    source_entry = models.ForeignKey(
        LedgerEntry, on_delete=models.PROTECT, related_name="created_lots"
    )
    original_points = points_field()
    remaining_points = points_field()
    expires_at = models.DateTimeField(null=True, blank=True)
    # Promised points only: when the maturity job converts them into regular points.
    matures_at = models.DateTimeField(null=True, blank=True)
    # The bill whose points these are (kept through maturity and merges), so a return takes back
    # that bill's own points first.
    transaction = models.ForeignKey(
        "members.Transaction",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["account", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(original_points__gt=0), name="ledger_lot_original_positive"
            ),
            models.CheckConstraint(
                condition=Q(remaining_points__gte=0)
                & Q(remaining_points__lte=F("original_points")),
                name="ledger_lot_remaining_within_original",
            ),
        ]
        indexes = [
            models.Index(
                fields=["account", "expires_at", "id"],
                condition=Q(remaining_points__gt=0),
                name="ledger_lot_open_by_expiry",
            ),
            models.Index(
                fields=["expires_at"],
                condition=Q(remaining_points__gt=0, expires_at__isnull=False),
                name="ledger_lot_expiring",
            ),
            models.Index(
                fields=["matures_at"],
                condition=Q(remaining_points__gt=0, matures_at__isnull=False),
                name="ledger_lot_maturing",
            ),
            # Lots of imports and bulk awards have no bill: they stay out of this one.
            models.Index(
                fields=["transaction"],
                condition=Q(transaction__isnull=False),
                name="ledger_lot_transaction",
            ),
        ]

    def __str__(self) -> str:
        return f"lot {self.pk}: {self.remaining_points}/{self.original_points}"


class LotConsumption(models.Model):
    """Points a debit entry took from a lot (CONSUME), or a reversal gave back to it (RESTORE)."""

    class Kind(models.TextChoices):
        CONSUME = "CONSUME", "Consumed by a debit"
        RESTORE = "RESTORE", "Restored by a reversal"

    entry = models.ForeignKey(LedgerEntry, on_delete=models.PROTECT, related_name="lot_movements")
    lot = models.ForeignKey(PointsLot, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.CONSUME)
    points = points_field()

    class Meta:
        ordering = ["entry", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(points__gt=0), name="ledger_lotconsumption_points_positive"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["CONSUME", "RESTORE"]),
                name="ledger_lotconsumption_kind_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.points} of lot {self.lot_id} by entry {self.entry_id}"


class PointsRedemption(LedgerOwnerMixin, BaseModel):
    """A redemption and how much of it has been reversed; `code` is the contract's redemptionId."""

    org = models.ForeignKey("members.Org", on_delete=models.PROTECT, related_name="+")
    code = models.CharField(max_length=16)
    event = models.OneToOneField(LedgerEvent, on_delete=models.PROTECT, related_name="redemption")
    points = points_field()
    reversed_points = points_field(default=0)
    is_group_redemption = models.BooleanField(default=False)
    transaction_number = models.CharField(max_length=50, blank=True, default="")
    external_reference = models.CharField(max_length=100, blank=True, default="")
    purpose = models.CharField(max_length=255, blank=True, default="")
    notes = models.TextField(blank=True, default="")
    redeemed_at = models.DateTimeField()
    # Metadata a till may add or correct later (PUT /v2/points/updateRedemption): the bill the
    # points paid for, the validation code the redemption was approved with, custom fields.
    bill_id = models.PositiveBigIntegerField(null=True, blank=True)
    validation_code = models.CharField(max_length=16, blank=True, default="")
    custom_fields = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=ONE_OWNER, name="ledger_redemption_one_owner"),
            models.UniqueConstraint(fields=["org", "code"], name="ledger_redemption_code_unique"),
            models.CheckConstraint(
                condition=Q(points__gt=0), name="ledger_redemption_points_positive"
            ),
            models.CheckConstraint(
                condition=Q(reversed_points__gte=0) & Q(reversed_points__lte=F("points")),
                name="ledger_redemption_reversed_within_points",
            ),
        ]

    def __str__(self) -> str:
        return f"redemption {self.code}: {self.points}"

    @property
    def reversible_points(self):
        return self.points - self.reversed_points


class PointsRequest(BaseModel):
    """A member-care request (v1.1 request/add): goodwill points for a customer, or the merge of a
    victim customer into a survivor. PENDING until approved (the goodwill credit or the merge is
    then written, in the same transaction) or rejected."""

    class Type(models.TextChoices):
        GOODWILL = "GOODWILL", "Goodwill"
        CHANGE_IDENTIFIER = "CHANGE_IDENTIFIER", "Change identifier"

    class BaseType(models.TextChoices):
        POINTS = "POINTS", "Points"
        MERGE = "MERGE", "Merge"

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        APPROVED = "APPROVED", "Approved"
        REJECTED = "REJECTED", "Rejected"

    org = models.ForeignKey("members.Org", on_delete=models.PROTECT, related_name="+")
    type = models.CharField(max_length=24, choices=Type.choices)
    base_type = models.CharField(max_length=16, choices=BaseType.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # The goodwill customer, or the merge victim.
    customer = models.ForeignKey(
        "members.Customer", on_delete=models.PROTECT, related_name="points_requests"
    )
    # The merge survivor (misc_info.target_customer).
    target_customer = models.ForeignKey(
        "members.Customer", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    program = models.ForeignKey(
        "members.Program", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    points = points_field(null=True, blank=True)
    approved_points = points_field(null=True, blank=True)
    reason = models.CharField(max_length=255, blank=True, default="")
    comments = models.TextField(blank=True, default="")
    updated_comments = models.TextField(blank=True, default="")
    reference_id = models.CharField(max_length=100, blank=True, default="")
    is_auto_approved = models.BooleanField(default=False)
    is_one_step = models.BooleanField(default=False)
    requested_by_till = models.ForeignKey(
        "members.Till", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_by_till = models.ForeignKey(
        "members.Till", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # The goodwill credit, or the victim's side of the merge.
    ledger_event = models.ForeignKey(
        LedgerEvent, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    idempotency_key = models.CharField(max_length=128, null=True, blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True, default="")
    # The key the approval or rejection came with: its replay returns the decided request.
    decision_idempotency_key = models.CharField(max_length=128, null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="ledger_request_idempotency_key_unique",
            ),
            # One open merge request per victim (9018).
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(base_type="MERGE", status="PENDING"),
                name="ledger_request_one_pending_merge",
            ),
            models.CheckConstraint(
                condition=Q(type="GOODWILL", base_type="POINTS", points__gt=0)
                | Q(type="CHANGE_IDENTIFIER", base_type="MERGE", target_customer__isnull=False),
                name="ledger_request_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["PENDING", "APPROVED", "REJECTED"]),
                name="ledger_request_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(customer=F("target_customer")),
                name="ledger_request_merge_distinct",
            ),
        ]
        indexes = [
            models.Index(
                fields=["customer", "type", "-created_at"], name="ledger_request_customer"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type}/{self.base_type} request #{self.pk} ({self.status})"
