"""The offer's issual rules applied to a whole chunk in SQL, the offer's limit claimed for the
chunk, and the reasons written to the error report."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce

from coupons.exceptions import (
    CommonCouponAlreadyIssuedError,
    CouponSeriesExpiredError,
    CustomerIssualLimitReachedError,
    CustomerNotInAudienceError,
    InvalidCustomerError,
    IssualGapNotMetError,
    PastIssualRestrictionError,
    SeriesIssualLimitReachedError,
    UnableToIssueError,
)
from coupons.models import (
    CodeType,
    Coupon,
    CouponAudience,
    CouponAudienceMember,
    CouponIssueChunk,
    CouponSeries,
)
from coupons.services.bulk.sources import BulkIssueSource, BulkSource, bulk_issue_customers
from coupons.services.issue import PAST_ISSUAL_WINDOW
from loyalty_site.core.models import Job

ERROR_MESSAGES = {
    InvalidCustomerError.code: "User ID is not valid or is inactive",
    CustomerNotInAudienceError.code: "The customer is not in the offer's audience",
    PastIssualRestrictionError.code: PastIssualRestrictionError.message,
    CommonCouponAlreadyIssuedError.code: "Generic coupon code has already been issued to this "
    "customer",
    CouponSeriesExpiredError.code: "The offer has ended",
    UnableToIssueError.code: "No unissued uploaded code is left",
}


@dataclass
class ChunkContext:
    """One chunk being issued: its job, the offer, who the job goes to, and the issual time."""

    job: Job
    chunk: CouponIssueChunk
    series: CouponSeries
    source: BulkIssueSource
    now: datetime.datetime


def _is_own_audience(context: ChunkContext) -> bool:
    source = context.source
    return (
        source.kind == BulkSource.AUDIENCE
        and CouponAudience.objects.filter(pk=source.audience_id, series=context.series).exists()
    )


def chunk_candidates(
    context: ChunkContext,
) -> list[tuple[int, int | None, str | None, str | None, str | None]]:
    """(customer id, reason code or None when eligible, mobile, email, external id) of every
    customer of the chunk without a coupon of this job, the issual rules evaluated in SQL in the
    order coupon_issue applies them."""
    series, chunk, job, now = context.series, context.chunk, context.job, context.now
    customers = bulk_issue_customers(
        org_id=series.org_id, tz=series.org.tzinfo, source=context.source
    ).filter(pk__gte=chunk.start_id, pk__lte=chunk.end_id)
    done = Coupon.objects.filter(issue_job_id=job.pk, issue_job_row=OuterRef("pk"))
    customers = customers.exclude(Exists(done))
    whens = [When(merged_into__isnull=False, then=Value(InvalidCustomerError.code))]
    if series.is_audience_restricted and not _is_own_audience(context):
        member = CouponAudienceMember.objects.filter(
            audience__series_id=series.pk, customer_id=OuterRef("pk")
        )
        whens.append(When(~Exists(member), then=Value(CustomerNotInAudienceError.code)))
    if series.past_issual_series_ids:
        past = Coupon.objects.filter(
            org_id=series.org_id,
            customer_id=OuterRef("pk"),
            series_id__in=series.past_issual_series_ids,
            issued_at__gte=now - PAST_ISSUAL_WINDOW,
        )
        whens.append(When(Exists(past), then=Value(PastIssualRestrictionError.code)))
    held = Coupon.objects.filter(series_id=series.pk, customer_id=OuterRef("pk"))
    if series.code_type == CodeType.COMMON:
        whens.append(When(Exists(held), then=Value(CommonCouponAlreadyIssuedError.code)))
    else:
        limit = series.per_customer_limit
        if limit == 1:
            whens.append(When(Exists(held), then=Value(CustomerIssualLimitReachedError.code)))
        elif limit is not None:
            counted = held.order_by().values("customer_id").annotate(n=Count("pk")).values("n")
            customers = customers.annotate(
                held_count=Coalesce(Subquery(counted, output_field=IntegerField()), 0)
            )
            whens.append(
                When(held_count__gte=limit, then=Value(CustomerIssualLimitReachedError.code))
            )
        gap = series.min_days_between_issuals
        if gap:
            # The gap counts local days (coupon_issue): a coupon issued on or after the start of
            # day (today - gap + 1) is too recent.
            today = now.astimezone(series.org.tzinfo).date()
            cutoff = datetime.datetime.combine(
                today - datetime.timedelta(days=gap - 1),
                datetime.time.min,
                tzinfo=series.org.tzinfo,
            )
            whens.append(
                When(
                    Exists(held.filter(issued_at__gte=cutoff)),
                    then=Value(IssualGapNotMetError.code),
                )
            )
    reason = Case(*whens, default=Value(None), output_field=IntegerField())
    return list(
        customers.annotate(reason=reason)
        .order_by("pk")
        .values_list("pk", "reason", "mobile", "email", "external_id")
    )


def claim_issuals(series: CouponSeries, wanted: int) -> int:
    """Take up to `wanted` issuals of a limited offer with one conditional UPDATE; how many were
    granted. The offer row stays locked until the chunk commits."""
    if series.max_issuals is None or wanted == 0:
        return wanted
    max_issuals, num_issued = (
        CouponSeries.objects.select_for_update(no_key=True)
        .filter(pk=series.pk)
        .values_list("max_issuals", "num_issued")
        .get()
    )
    granted = max(0, min(wanted, max_issuals - num_issued))
    if granted:
        claimed = CouponSeries.objects.filter(
            pk=series.pk, num_issued__lte=max_issuals - granted
        ).update(num_issued=F("num_issued") + granted)
        if not claimed:  # cannot happen while the row is locked; never over-issue
            return 0
    return granted


def reason_message(series: CouponSeries, code: int) -> str:
    """The error report's text for a customer left out with `code`."""
    if code == CustomerIssualLimitReachedError.code:
        return (
            f"The limit of {series.per_customer_limit} coupon(s) of this offer per customer has "
            "been exhausted"
        )
    if code == IssualGapNotMetError.code:
        return (
            f"The minimum gap of {series.min_days_between_issuals} day(s) since the customer's "
            "last coupon of this offer has not passed"
        )
    if code == SeriesIssualLimitReachedError.code:
        return (
            f"The maximum issuance limit of the offer ({series.max_issuals} coupons) has been "
            "reached"
        )
    return ERROR_MESSAGES.get(code, "Unable to issue coupon")
