"""Who a bulk issue goes to: an audience list, or a segment of the offer's org."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.db.models import Exists, OuterRef, QuerySet

from coupons.exceptions import CouponBulkIssueInvalidError
from coupons.models import CouponAudience, CouponAudienceMember, CouponSeries
from members.models import Customer, CustomerLabel, LoyaltyType


class BulkSource(models.TextChoices):
    AUDIENCE = "AUDIENCE", "Customers of an audience list"
    ALL_LOYALTY = "ALL_LOYALTY", "All loyalty customers"
    LABEL = "LABEL", "Customers with a label"
    REGISTERED = "REGISTERED", "Customers registered in a date range"


@dataclass(frozen=True)
class BulkIssueSource:
    """Who a bulk issue goes to: an audience list, or a segment of the offer's org (all loyalty
    customers, those with a label, those registered between two local dates, both included)."""

    kind: str
    audience_id: int | None = None
    label_id: int | None = None
    registered_from: datetime.date | None = None
    registered_until: datetime.date | None = None

    def to_params(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "audience_id": self.audience_id,
            "label_id": self.label_id,
            "registered_from": self.registered_from.isoformat() if self.registered_from else None,
            "registered_until": (
                self.registered_until.isoformat() if self.registered_until else None
            ),
        }

    @classmethod
    def from_params(cls, data: dict[str, Any]) -> BulkIssueSource:
        def day(value: str | None) -> datetime.date | None:
            return datetime.date.fromisoformat(value) if value else None

        return cls(
            kind=data["kind"],
            audience_id=data.get("audience_id"),
            label_id=data.get("label_id"),
            registered_from=day(data.get("registered_from")),
            registered_until=day(data.get("registered_until")),
        )


def bulk_issue_customers(
    *, org_id: int, tz: datetime.tzinfo, source: BulkIssueSource
) -> QuerySet[Customer]:
    """The customers of the source (a QuerySet). Segments leave merged-away customers out; an
    audience keeps them, so that the report names them (721)."""
    customers = Customer.objects.filter(org_id=org_id)
    if source.kind == BulkSource.AUDIENCE:
        members = CouponAudienceMember.objects.filter(
            audience_id=source.audience_id, customer_id=OuterRef("pk")
        )
        return customers.filter(Exists(members))
    customers = customers.filter(merged_into__isnull=True)
    if source.kind == BulkSource.ALL_LOYALTY:
        return customers.filter(loyalty_type=LoyaltyType.LOYALTY)
    if source.kind == BulkSource.LABEL:
        labelled = Customer.labels.through.objects.filter(
            customer_id=OuterRef("pk"), customerlabel_id=source.label_id
        )
        return customers.filter(Exists(labelled))
    if source.kind == BulkSource.REGISTERED:
        start = datetime.datetime.combine(source.registered_from, datetime.time.min, tzinfo=tz)
        end = datetime.datetime.combine(
            source.registered_until + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz
        )
        return customers.filter(registered_at__gte=start, registered_at__lt=end)
    raise CouponBulkIssueInvalidError(f"Unknown source {source.kind!r}", field="source")


def bulk_issue_source_check(series: CouponSeries, source: BulkIssueSource) -> None:
    if source.kind not in BulkSource.values:
        raise CouponBulkIssueInvalidError(
            f"source must be one of {', '.join(BulkSource.values)}", field="source"
        )
    if source.kind == BulkSource.AUDIENCE:
        if not CouponAudience.objects.filter(
            pk=source.audience_id, series__org_id=series.org_id
        ).exists():
            raise CouponBulkIssueInvalidError(
                "Audience not found in the offer's org", field="audience"
            )
    elif source.kind == BulkSource.LABEL:
        if not CustomerLabel.objects.filter(pk=source.label_id, org_id=series.org_id).exists():
            raise CouponBulkIssueInvalidError("Label not found in the offer's org", field="label")
    elif source.kind == BulkSource.REGISTERED:
        if source.registered_from is None or source.registered_until is None:
            raise CouponBulkIssueInvalidError(
                "Give both registration dates", field="registered_from"
            )
        if source.registered_from > source.registered_until:
            raise CouponBulkIssueInvalidError(
                "The first registration date is after the last one", field="registered_from"
            )
