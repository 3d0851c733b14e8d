"""Issuing promotions: a direct-issue (LOYALTY) promotion is issued to a customer, an enrol-and-
issue (LOYALTY_EARNING) one is issued when the customer enrols; GENERIC promotions need neither.

A customer holds at most one live issue of a promotion. The issual restriction
MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER caps how many times (per period when PERIOD_BASED); the expiry
restriction ISSUAL_PROMOTION_EXPIRY_BASED_ON ends an issue `value` days after it (end of that day,
org time zone), never after the promotion ends. Both are checked under the customer's row lock,
the same lock earning takes.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from members.exceptions import CustomerMergedError
from members.models import Customer, ProgramEnrollment, Till
from promotions.exceptions import (
    PromotionAlreadyIssuedError,
    PromotionCustomerNotEnrolledError,
    PromotionIssualLimitError,
    PromotionNotIssuableError,
)
from promotions.models import (
    PointsOfferType,
    Promotion,
    PromotionCustomerUsage,
    PromotionIssue,
    RestrictionFamily,
    RestrictionType,
)
from promotions.services.awards import period_start
from promotions.services.kpis import DISABLED
from promotions.services.locking import customer_lock

ISSUALS_PER_CUSTOMER = "MAX_NUMBER_OF_ISSUALS_PER_CUSTOMER"
ISSUE_EXPIRY = "ISSUAL_PROMOTION_EXPIRY_BASED_ON"


def _issue_expiry(promotion: Promotion, now: datetime.datetime) -> datetime.datetime:
    tz = promotion.org.tzinfo
    for restriction in promotion.restrictions.all():
        if restriction.family == RestrictionFamily.EXPIRY and restriction.name == ISSUE_EXPIRY:
            days = int(restriction.value)
            if days > 0:
                last_day = now.astimezone(tz).date() + datetime.timedelta(days=days)
                end = datetime.datetime.combine(last_day, datetime.time.max, tzinfo=tz)
                return min(end, promotion.ends_at)
    return promotion.ends_at


def _check_issual_limits(
    promotion: Promotion, customer: Customer, usage: PromotionCustomerUsage, now
) -> None:
    for restriction in promotion.restrictions.all():
        if (
            restriction.family != RestrictionFamily.ISSUAL
            or restriction.name != ISSUALS_PER_CUSTOMER
            or restriction.value == DISABLED
        ):
            continue
        if restriction.type == RestrictionType.PERIOD_BASED:
            start = period_start(
                restriction.period_type, restriction.period_unit, now=now, org=promotion.org
            )
            count = PromotionIssue.objects.filter(
                promotion=promotion, customer=customer, issued_at__gte=start
            ).count()
        else:
            count = usage.issues_count
        if count >= restriction.value:
            raise PromotionIssualLimitError(
                f"{promotion.name} was issued to this customer {count} times "
                f"({ISSUALS_PER_CUSTOMER} {int(restriction.value)})"
            )


def _issue(
    *, promotion: Promotion, customer: Customer, actor: Any, kind: str, offer_type: str
) -> PromotionIssue:
    now = timezone.now()
    verb = "enrolled in" if kind == PromotionIssue.Kind.ENROL else "issued"
    if promotion.org_id != customer.org_id:
        raise PromotionNotIssuableError("The customer belongs to another org")
    if promotion.points_offer_type != offer_type:
        raise PromotionNotIssuableError(
            f"A {promotion.points_offer_type} promotion cannot be {verb} "
            f"(only {offer_type} promotions)"
        )
    if not promotion.is_active or not (promotion.starts_at <= now <= promotion.ends_at):
        raise PromotionNotIssuableError(f"{promotion.name} is not live")
    if customer.merged_into_id:
        raise CustomerMergedError(
            f"Customer has been merged into customer {customer.merged_into_id}"
        )
    if not ProgramEnrollment.objects.filter(
        customer=customer, program_id=promotion.program_id, is_active=True
    ).exists():
        raise PromotionCustomerNotEnrolledError()

    customer_lock(customer.pk)
    PromotionIssue.objects.filter(
        promotion=promotion,
        customer=customer,
        status=PromotionIssue.Status.ACTIVE,
        expires_at__lte=now,
    ).update(status=PromotionIssue.Status.EXPIRED)
    if PromotionIssue.objects.filter(
        promotion=promotion, customer=customer, status=PromotionIssue.Status.ACTIVE
    ).exists():
        raise PromotionAlreadyIssuedError(f"{promotion.name} is already {verb} by this customer")
    usage, _ = PromotionCustomerUsage.objects.get_or_create(promotion=promotion, customer=customer)
    _check_issual_limits(promotion, customer, usage, now)
    try:
        with transaction.atomic():
            issue = PromotionIssue.objects.create(
                org_id=customer.org_id,
                promotion=promotion,
                customer=customer,
                kind=kind,
                issued_at=now,
                expires_at=_issue_expiry(promotion, now),
                points_earned=Decimal(0),
                issued_by_till=actor if isinstance(actor, Till) else None,
            )
    except IntegrityError as exc:  # pragma: no cover - the customer lock makes this unreachable
        raise PromotionAlreadyIssuedError() from exc
    PromotionCustomerUsage.objects.filter(pk=usage.pk).update(issues_count=F("issues_count") + 1)
    return issue


@transaction.atomic
def promotion_issue(*, promotion: Promotion, customer: Customer, actor: Any) -> PromotionIssue:
    """Issue a direct-issue (LOYALTY) promotion to a customer enrolled in its program.
    Raises 4090 (not a live LOYALTY promotion), 4093, 4092 (already issued), 4091 (limit)."""
    return _issue(
        promotion=promotion,
        customer=customer,
        actor=actor,
        kind=PromotionIssue.Kind.ISSUE,
        offer_type=PointsOfferType.LOYALTY,
    )


@transaction.atomic
def promotion_enrol(*, promotion: Promotion, customer: Customer, actor: Any) -> PromotionIssue:
    """Enrol a customer in an enrol-and-issue (LOYALTY_EARNING) promotion (it is issued to them).
    Raises 4090, 4093, 4092 (already enrolled), 4091 (issual limit)."""
    return _issue(
        promotion=promotion,
        customer=customer,
        actor=actor,
        kind=PromotionIssue.Kind.ENROL,
        offer_type=PointsOfferType.LOYALTY_EARNING,
    )


@transaction.atomic
def promotion_issue_revoke(*, issue: PromotionIssue, actor: Any) -> PromotionIssue:
    """End a live issue or enrolment; the customer earns nothing more from it."""
    PromotionIssue.objects.filter(pk=issue.pk, status=PromotionIssue.Status.ACTIVE).update(
        status=PromotionIssue.Status.REVOKED
    )
    issue.refresh_from_db()
    return issue
