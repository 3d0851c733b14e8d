"""What promotions did: issues and enrolments, earns (one row per event that credited points),
usage counters per customer and per promotion, and the custom events received."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from promotions.models.definitions import Promotion, points_field


class PromotionIssue(models.Model):
    """A LOYALTY promotion issued to a customer, or a LOYALTY_EARNING one the customer enrolled
    in. At most one live (ACTIVE) issue per promotion and customer."""

    class Kind(models.TextChoices):
        ISSUE = "ISSUE", "Issued"
        ENROL = "ENROL", "Enrolled"

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", "Active"
        EXPIRED = "EXPIRED", "Expired"
        REVOKED = "REVOKED", "Revoked"

    org = models.ForeignKey("members.Org", on_delete=models.CASCADE, related_name="+")
    promotion = models.ForeignKey(Promotion, on_delete=models.CASCADE, related_name="issues")
    customer = models.ForeignKey(
        "members.Customer", on_delete=models.CASCADE, related_name="promotion_issues"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    points_earned = points_field(default=0)
    earn_count = models.PositiveIntegerField(default=0)
    issued_by_till = models.ForeignKey(
        "members.Till", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["promotion", "customer"],
                condition=Q(status="ACTIVE"),
                name="promotions_issue_one_active",
            ),
            models.CheckConstraint(
                condition=Q(points_earned__gte=0), name="promotions_issue_points_non_negative"
            ),
        ]
        indexes = [
            models.Index(
                fields=["customer", "promotion", "-issued_at"], name="promotions_issue_cust"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} of {self.promotion_id} to {self.customer_id} ({self.status})"


class PromotionCustomerUsage(models.Model):
    """A customer's running totals in a promotion, locked with the customer's earning."""

    promotion = models.ForeignKey(
        Promotion, on_delete=models.CASCADE, related_name="customer_usage"
    )
    customer = models.ForeignKey(
        "members.Customer", on_delete=models.CASCADE, related_name="promotion_usage"
    )
    points_awarded = points_field(default=0)
    times_awarded = models.PositiveIntegerField(default=0)
    issues_count = models.PositiveIntegerField(default=0)
    last_awarded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["promotion", "customer"]
        constraints = [
            models.UniqueConstraint(
                fields=["promotion", "customer"], name="promotions_customer_usage_unique"
            ),
            models.CheckConstraint(
                condition=Q(points_awarded__gte=0),
                name="promotions_customer_usage_points_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} in {self.promotion_id}: {self.points_awarded}"


class PromotionUsage(models.Model):
    """Promotion-wide totals, kept (under a row lock) while the promotion has a promotion-wide
    limit; reports add the customer rows up instead."""

    promotion = models.OneToOneField(Promotion, on_delete=models.CASCADE, related_name="usage")
    points_awarded = points_field(default=0)
    times_awarded = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(points_awarded__gte=0), name="promotions_usage_points_non_negative"
            )
        ]

    def __str__(self) -> str:
        return f"{self.promotion_id}: {self.points_awarded}"


class PromotionEarn(models.Model):
    """One event that credited a promotion's points to a customer (the ledger holds the points).

    `source_key` names the event (txn:<id>, registration, event:<id>, ...): a promotion earns at
    most once per customer and event.
    """

    org = models.ForeignKey("members.Org", on_delete=models.CASCADE, related_name="+")
    promotion = models.ForeignKey(Promotion, on_delete=models.CASCADE, related_name="earns")
    customer = models.ForeignKey("members.Customer", on_delete=models.CASCADE, related_name="+")
    source_key = models.CharField(max_length=64)
    event_name = models.CharField(max_length=64)
    transaction = models.ForeignKey(
        "members.Transaction", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    issue = models.ForeignKey(
        PromotionIssue, on_delete=models.SET_NULL, null=True, blank=True, related_name="earns"
    )
    points = points_field()
    raw_points = points_field()
    line_count = models.PositiveIntegerField(default=0)
    category = models.CharField(max_length=16)
    # The ledger event holds the points; its idempotency key is promotion:<id>:<source_key>.
    earned_at = models.DateTimeField()

    class Meta:
        ordering = ["-earned_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["promotion", "customer", "source_key"], name="promotions_earn_once"
            ),
            models.CheckConstraint(condition=Q(points__gt=0), name="promotions_earn_positive"),
        ]
        indexes = [
            models.Index(
                fields=["customer", "promotion", "earned_at"], name="promotions_earn_cust"
            ),
            models.Index(fields=["promotion", "earned_at"], name="promotions_earn_promo"),
        ]

    def __str__(self) -> str:
        return f"{self.points} from {self.promotion_id} to {self.customer_id}"


class PromotionEvent(models.Model):
    """A custom event (or target completion) received for a customer; `event_id` makes a resend
    answer the first result."""

    org = models.ForeignKey("members.Org", on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey("members.Customer", on_delete=models.CASCADE, related_name="+")
    event_name = models.CharField(max_length=64)
    event_key = models.CharField(max_length=64)
    event_id = models.CharField(max_length=128)
    request_fingerprint = models.CharField(max_length=64)
    source = models.CharField(max_length=16, blank=True, default="")
    attributes = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    till = models.ForeignKey(
        "members.Till", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    side_effects = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["org", "event_id"], name="promotions_event_id_unique")
        ]

    def __str__(self) -> str:
        return f"{self.event_name} for {self.customer_id}"
