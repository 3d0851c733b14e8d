"""Member-care requests (v1.1 request/add): goodwill points and customer merges."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("ledger", "0003_points_redemption_details"),
        ("members", "0002_staff_roles"),
    ]

    operations = [
        migrations.CreateModel(
            name="PointsRequest",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "type",
                    models.CharField(
                        choices=[
                            ("GOODWILL", "Goodwill"),
                            ("CHANGE_IDENTIFIER", "Change identifier"),
                        ],
                        max_length=24,
                    ),
                ),
                (
                    "base_type",
                    models.CharField(
                        choices=[("POINTS", "Points"), ("MERGE", "Merge")], max_length=16
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("PENDING", "Pending"),
                            ("APPROVED", "Approved"),
                            ("REJECTED", "Rejected"),
                        ],
                        default="PENDING",
                        max_length=16,
                    ),
                ),
                (
                    "points",
                    models.DecimalField(blank=True, decimal_places=3, max_digits=18, null=True),
                ),
                (
                    "approved_points",
                    models.DecimalField(blank=True, decimal_places=3, max_digits=18, null=True),
                ),
                ("reason", models.CharField(blank=True, default="", max_length=255)),
                ("comments", models.TextField(blank=True, default="")),
                ("updated_comments", models.TextField(blank=True, default="")),
                ("reference_id", models.CharField(blank=True, default="", max_length=100)),
                ("is_auto_approved", models.BooleanField(default=False)),
                ("is_one_step", models.BooleanField(default=False)),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                ("idempotency_key", models.CharField(blank=True, max_length=128, null=True)),
                ("request_fingerprint", models.CharField(blank=True, default="", max_length=64)),
                (
                    "decision_idempotency_key",
                    models.CharField(blank=True, max_length=128, null=True),
                ),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="points_requests",
                        to="members.customer",
                    ),
                ),
                (
                    "ledger_event",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="ledger.ledgerevent",
                    ),
                ),
                (
                    "org",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="members.org",
                    ),
                ),
                (
                    "program",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="members.program",
                    ),
                ),
                (
                    "requested_by_till",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="members.till",
                    ),
                ),
                (
                    "target_customer",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="members.customer",
                    ),
                ),
                (
                    "updated_by_till",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="members.till",
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-id"],
                "indexes": [
                    models.Index(
                        fields=["customer", "type", "-created_at"], name="ledger_request_customer"
                    )
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("idempotency_key__isnull", False)),
                        fields=("org", "idempotency_key"),
                        name="ledger_request_idempotency_key_unique",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("base_type", "MERGE"), ("status", "PENDING")),
                        fields=("customer",),
                        name="ledger_request_one_pending_merge",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("base_type", "POINTS"), ("points__gt", 0), ("type", "GOODWILL")
                            ),
                            models.Q(
                                ("base_type", "MERGE"),
                                ("target_customer__isnull", False),
                                ("type", "CHANGE_IDENTIFIER"),
                            ),
                            _connector="OR",
                        ),
                        name="ledger_request_kind_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("status__in", ["PENDING", "APPROVED", "REJECTED"])),
                        name="ledger_request_status_valid",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("customer", models.F("target_customer")), _negated=True
                        ),
                        name="ledger_request_merge_distinct",
                    ),
                ],
            },
        ),
    ]
