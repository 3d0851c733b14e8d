"""Issuing one coupon to one customer, and resending an issued coupon by SMS.

`coupon_issue` enforces the offer's issual rules (seed "Configuring the Issual & Reminder
Details" and its upload validation cases), each with its own code from coupons.exceptions:
offer ended (712), issue to specific customers only (748), past-issual restriction (747), one
common code per customer (746), per-customer maximum (744) and gap (745) - where "send the
existing valid coupon" answers with that coupon instead - and the offer's issual limit (743).

Concurrency: the series row is locked first (`select_for_update`), so the checks and the writes
of one offer are serialised; the issued counter moves with a conditional UPDATE
(`num_issued < max_issuals`) and unique constraints back up codes, common codes and keys.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from coupons.exceptions import (
    CommonCouponAlreadyIssuedError,
    CouponAlreadyRedeemedError,
    CouponCodeExistsError,
    CouponCustomerNotFoundError,
    CouponExpiredError,
    CouponIdempotencyKeyReusedError,
    CouponNotIssuedToCustomerError,
    CouponRevokedError,
    CouponSeriesExpiredError,
    CouponSeriesInvalidError,
    CouponSmsFailedError,
    CustomerIssualLimitReachedError,
    CustomerNotInAudienceError,
    InvalidCustomerError,
    IssualGapNotMetError,
    PastIssualRestrictionError,
    ResendNotEnabledError,
    SeriesIssualLimitReachedError,
    UnableToIssueError,
)
from coupons.models import CodeType, Coupon, CouponAudienceMember, CouponSeries
from coupons.services.codes import (
    coupon_code_capacity_check,
    coupon_code_insert_given,
    coupon_code_insert_issued,
    validate_given_code,
)
from coupons.services.expiry import coupon_expiry_for_series
from coupons.services.messages import coupon_message_render
from loyalty_site.core.models import Job
from loyalty_site.core.notifications import notify_email, notify_sms
from loyalty_site.core.sms import SmsDeliveryError, SmsResult
from members.models import Customer, Till

logger = logging.getLogger(__name__)

IDEMPOTENCY_KEY_MAX_LENGTH = 128
# Seed: "customers who have received these coupons in the past 6 months".
PAST_ISSUAL_WINDOW = datetime.timedelta(days=183)


@dataclass(frozen=True)
class IssueProvenance:
    """What an issual was made for: a job's row (upload row number, bulk customer id) and the
    request's metadata (v2 bulk issue `metadata` and `source`)."""

    job: Job | None = None
    row: int | None = None
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True)
class IssueResult:
    """`coupon` handed to the customer; `is_new` False when an existing valid coupon was sent
    again ("send the existing valid coupon") or the call replayed an idempotency key."""

    coupon: Coupon
    is_new: bool
    is_replay: bool = False


def coupon_is_valid(coupon: Coupon, *, now: datetime.datetime | None = None) -> bool:
    """An issued coupon that is not revoked, not expired and not redeemed yet."""
    now = now or timezone.now()
    return (
        coupon.customer_id is not None
        and coupon.revoked_at is None
        and coupon.redemption_count == 0
        and (coupon.valid_till is None or coupon.valid_till > now)
    )


def _clean_key(key: str | None) -> str | None:
    if key is None:
        return None
    key = key.strip()
    if not key:
        return None
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise CouponSeriesInvalidError(
            f"The idempotency key is longer than {IDEMPOTENCY_KEY_MAX_LENGTH} characters",
            field="idempotency_key",
        )
    return key


def _replay(
    *, series: CouponSeries, customer: Customer, key: str | None, code: str | None
) -> IssueResult | None:
    if key is None:
        return None
    existing = Coupon.objects.filter(org_id=series.org_id, issue_idempotency_key=key).first()
    if existing is None:
        return None
    same = (
        existing.series_id == series.pk
        and existing.customer_id == customer.pk
        and (code is None or existing.code == code)
    )
    if not same:
        raise CouponIdempotencyKeyReusedError(
            f"Idempotency key {key!r} was used for coupon {existing.pk} of another issual"
        )
    return IssueResult(coupon=existing, is_new=False, is_replay=True)


def _check_customer(series: CouponSeries, customer: Customer) -> None:
    if customer.org_id != series.org_id:
        raise CouponCustomerNotFoundError("Customer not found in the offer's org")
    if customer.merged_into_id is not None:
        raise InvalidCustomerError("The customer was merged into another account")


def _check_audience(series: CouponSeries, customer: Customer) -> None:
    if not series.is_audience_restricted:
        return
    if not CouponAudienceMember.objects.filter(audience__series=series, customer=customer).exists():
        raise CustomerNotInAudienceError(
            "The offer is issued to specific customers only and this customer is not one"
        )


def _check_past_issuals(series: CouponSeries, customer: Customer, now: datetime.datetime) -> None:
    if not series.past_issual_series_ids:
        return
    if Coupon.objects.filter(
        customer=customer,
        series__org_id=series.org_id,
        series_id__in=series.past_issual_series_ids,
        issued_at__gte=now - PAST_ISSUAL_WINDOW,
    ).exists():
        raise PastIssualRestrictionError()


def _requalified(
    series: CouponSeries, held: list[Coupon], error: Exception, now: datetime.datetime
) -> IssueResult:
    """A customer qualifies again: the existing valid coupon, or `error` (send nothing)."""
    if series.resends_existing_coupon:
        for coupon in sorted(held, key=lambda item: item.issued_at, reverse=True):
            if coupon_is_valid(coupon, now=now):
                return IssueResult(coupon=coupon, is_new=False)
    raise error


def _check_per_customer(
    series: CouponSeries, customer: Customer, now: datetime.datetime
) -> IssueResult | None:
    """None when the customer may receive a new coupon; else the existing one to send again."""
    held = list(Coupon.objects.filter(series=series, customer=customer).order_by("issued_at"))
    if not held:
        return None
    if series.code_type == CodeType.COMMON:
        return _requalified(
            series,
            held,
            CommonCouponAlreadyIssuedError(
                f"The common code of offer {series.pk} was already issued to this customer"
            ),
            now,
        )
    limit = series.per_customer_limit
    if limit is not None and len(held) >= limit:
        return _requalified(
            series,
            held,
            CustomerIssualLimitReachedError(
                f"The customer already has {len(held)} coupon(s) of this offer (maximum {limit})"
            ),
            now,
        )
    gap = series.min_days_between_issuals
    if gap:
        tz = series.org.tzinfo
        last_day = held[-1].issued_at.astimezone(tz).date()
        next_day = last_day + datetime.timedelta(days=gap)
        if now.astimezone(tz).date() < next_day:
            return _requalified(
                series,
                held,
                IssualGapNotMetError(
                    f"The customer can receive the next coupon of this offer from {next_day}"
                ),
                now,
            )
    return None


def _count_issual(series: CouponSeries, now: datetime.datetime) -> None:
    """Add one to the issued counter, only while under the limit (743 otherwise)."""
    under_limit = Q(max_issuals__isnull=True) | Q(num_issued__lt=F("max_issuals"))
    counted = CouponSeries.objects.filter(under_limit, pk=series.pk).update(
        num_issued=F("num_issued") + 1, latest_issued_at=now, updated_at=now
    )
    if not counted:
        raise SeriesIssualLimitReachedError(
            f"All {series.max_issuals} coupons of offer {series.pk} have been issued"
        )
    series.num_issued += 1


def coupon_issual_threshold_notify(*, series: CouponSeries, now: datetime.datetime) -> None:
    """Email the brand contacts once (after commit) when the offer's remaining issuals fall to
    its threshold; `series.num_issued` must be current."""
    _notify_limit_threshold(series, now)


def _notify_limit_threshold(series: CouponSeries, now: datetime.datetime) -> None:
    """Email the brand contacts once when the remaining issuals fall to the threshold."""
    threshold = series.issual_limit_notify_remaining
    if threshold is None or series.max_issuals is None:
        return
    remaining = series.max_issuals - series.num_issued
    if remaining > threshold:
        return
    claimed = CouponSeries.objects.filter(
        pk=series.pk, issual_limit_notified_at__isnull=True
    ).update(issual_limit_notified_at=now)
    if not claimed:
        return
    recipients = series.org.contact_email_list
    if not recipients:
        logger.warning("Offer %s reached its issual threshold; the org has no contacts", series.pk)
        return
    subject = f"Offer '{series.description}': {remaining} coupon issuals left"
    body = (
        f"Offer '{series.description}' (#{series.pk}) of {series.org.name} has issued "
        f"{series.num_issued} of its {series.max_issuals} coupons; {remaining} remain.\n"
        "Raise the limit in the offer's issual settings if more customers should receive it."
    )

    def send() -> None:
        try:
            notify_email(to=recipients, subject=subject, body=body)
        except Exception:
            logger.exception("Issual threshold email for offer %s failed", series.pk)

    transaction.on_commit(send)


def _take_unissued(series: CouponSeries) -> Coupon | None:
    return (
        Coupon.objects.select_for_update(skip_locked=True)
        .filter(series=series, customer__isnull=True, revoked_at__isnull=True)
        .order_by("id")
        .first()
    )


def _hand_out(
    *,
    series: CouponSeries,
    customer: Customer,
    actor: Till | None,
    key: str | None,
    code: str | None,
    now: datetime.datetime,
    provenance: IssueProvenance,
) -> Coupon:
    """Create or assign the coupon row of this issual."""
    values = {
        "customer": customer,
        "issued_at": now,
        "valid_till": coupon_expiry_for_series(series=series, issued_at=now),
        "issued_by_till": actor,
        "issue_idempotency_key": key,
        "issue_job": provenance.job,
        "issue_job_row": provenance.row,
        "issue_metadata": dict(provenance.metadata or {}),
    }
    if series.code_type == CodeType.COMMON:
        try:
            with transaction.atomic():
                return Coupon.objects.create(
                    org_id=series.org_id,
                    series=series,
                    code=series.generic_code,
                    is_common=True,
                    source=Coupon.Source.COMMON,
                    **values,
                )
        except IntegrityError:
            if Coupon.objects.filter(series=series, customer=customer, is_common=True).exists():
                raise CommonCouponAlreadyIssuedError()
            raise
    if code is not None:
        return _hand_out_given(series=series, code=code, values=values)
    coupon = _take_unissued(series)
    if coupon is not None:
        for name, value in values.items():
            setattr(coupon, name, value)
        coupon.save(update_fields=[*values, "updated_at"])
        if coupon.source == Coupon.Source.UPLOADED:
            CouponSeries.objects.filter(pk=series.pk).update(
                num_uploaded_non_issued=F("num_uploaded_non_issued") - 1
            )
        return coupon
    if series.code_type == CodeType.UPLOADED:
        raise UnableToIssueError(f"Offer {series.pk} has no unissued uploaded code left")
    shape = coupon_code_capacity_check(series=series, additional=1)
    coupon = coupon_code_insert_issued(series=series, shape=shape, values=values)
    CouponSeries.objects.filter(pk=series.pk).update(num_codes=F("num_codes") + 1)
    return coupon


def _hand_out_given(*, series: CouponSeries, code: str, values: dict) -> Coupon:
    """Issue the given code: an unissued code of this series, or a new uploaded one."""
    if series.code_type != CodeType.UPLOADED:
        raise CouponSeriesInvalidError(
            "A given code can only be issued from an offer with uploaded codes", field="code"
        )
    coupon = (
        Coupon.objects.select_for_update()
        .filter(org_id=series.org_id, is_common=False, code=code, revoked_at__isnull=True)
        .first()
    )
    if coupon is None:
        coupon = coupon_code_insert_given(
            series=series, code=code, source=Coupon.Source.UPLOADED, values=values
        )
        CouponSeries.objects.filter(pk=series.pk).update(
            num_codes=F("num_codes") + 1, num_uploaded_total=F("num_uploaded_total") + 1
        )
        return coupon
    if coupon.series_id != series.pk or coupon.customer_id is not None:
        raise CouponCodeExistsError(f"Coupon code {code} is already used in the org")
    for name, value in values.items():
        setattr(coupon, name, value)
    coupon.save(update_fields=[*values, "updated_at"])
    CouponSeries.objects.filter(pk=series.pk).update(
        num_uploaded_non_issued=F("num_uploaded_non_issued") - 1
    )
    return coupon


def _send_coupon_sms(*, coupon: Coupon, series: CouponSeries, customer: Customer) -> None:
    if not (series.sends_sms and series.sms_template.strip() and customer.mobile):
        return
    body = coupon_message_render(
        template=series.sms_template, coupon=coupon, series=series, customer=customer
    )
    mobile = customer.mobile

    def send() -> None:
        try:
            notify_sms(to=mobile, body=body)
        except SmsDeliveryError:
            logger.warning("Coupon %s issued but its SMS was not delivered", coupon.pk)

    transaction.on_commit(send)


def coupon_issue(
    *,
    series: CouponSeries,
    customer: Customer,
    actor: Till | None,
    idempotency_key: str | None = None,
    code: str | None = None,
    notify: bool = True,
    provenance: IssueProvenance | None = None,
) -> IssueResult:
    """Issue one coupon of `series` to `customer`, enforcing every issual rule of the offer.

    Hands out the next unissued pre-generated or uploaded code, a freshly generated code (auto
    and randomized offers), the common code, or - for offers with uploaded codes - the given
    `code` (an upload with customers). With `notify`, the coupon SMS goes out after commit.
    A replayed `idempotency_key` returns the first result. `provenance` records the job row or
    the request metadata the coupon was issued for.

    Raises CouponCustomerNotFoundError (701), InvalidCustomerError (721),
    CouponSeriesExpiredError (712), CustomerNotInAudienceError (748),
    PastIssualRestrictionError (747), CommonCouponAlreadyIssuedError (746),
    CustomerIssualLimitReachedError (744), IssualGapNotMetError (745),
    SeriesIssualLimitReachedError (743), UnableToIssueError (722), CouponCodeExistsError (796),
    CouponCodeInvalidError (702), CodeCapacityExceededError (798),
    CouponIdempotencyKeyReusedError (409).
    """
    key = _clean_key(idempotency_key)
    given = validate_given_code(code) if code is not None else None
    _check_customer(series, customer)
    if replay := _replay(series=series, customer=customer, key=key, code=given):
        return replay
    try:
        with transaction.atomic():
            result = _issue_locked(
                series=series,
                customer=customer,
                actor=actor,
                key=key,
                code=given,
                notify=notify,
                provenance=provenance or IssueProvenance(),
            )
    except IntegrityError:
        # The same key committed by a concurrent request between our check and our insert.
        if replay := _replay(series=series, customer=customer, key=key, code=given):
            return replay
        raise
    return result


def _issue_locked(
    *,
    series: CouponSeries,
    customer: Customer,
    actor: Till | None,
    key: str | None,
    code: str | None,
    notify: bool,
    provenance: IssueProvenance,
) -> IssueResult:
    # Lock order: the series row first, always; every issual of the offer queues here.
    series = CouponSeries.objects.select_for_update().select_related("org").get(pk=series.pk)
    if key is not None and (
        replay := _replay(series=series, customer=customer, key=key, code=code)
    ):
        return replay
    now = timezone.now()
    if series.valid_till is not None and series.valid_till <= now:
        raise CouponSeriesExpiredError(f"Offer {series.pk} ended on {series.valid_till:%Y-%m-%d}")
    _check_audience(series, customer)
    _check_past_issuals(series, customer, now)
    if existing := _check_per_customer(series, customer, now):
        if notify and not series.is_third_party:
            _send_coupon_sms(coupon=existing.coupon, series=series, customer=customer)
        return existing
    _count_issual(series, now)
    coupon = _hand_out(
        series=series,
        customer=customer,
        actor=actor,
        key=key,
        code=code,
        now=now,
        provenance=provenance,
    )
    _notify_limit_threshold(series, now)
    if notify and not series.is_third_party:
        _send_coupon_sms(coupon=coupon, series=series, customer=customer)
    return IssueResult(coupon=coupon, is_new=True)


def coupon_resend(*, coupon: Coupon, customer: Customer, actor: Till | None) -> SmsResult:
    """Send an issued, still valid coupon to its customer again by SMS, with the offer's
    resend content and its tags rendered; the code and validity are not changed.

    Raises CouponNotIssuedToCustomerError (703), ResendNotEnabledError (788),
    CouponRevokedError (749), CouponAlreadyRedeemedError (711), CouponExpiredError (713) and
    CouponSmsFailedError (704) when the customer has no mobile or the gateway refuses it.
    """
    if coupon.customer_id is None or coupon.customer_id != customer.pk:
        raise CouponNotIssuedToCustomerError(f"Coupon {coupon.code} is not this customer's")
    series = coupon.series
    if not series.is_resend_enabled or not series.sms_template.strip():
        raise ResendNotEnabledError(f"Offer {series.pk} does not allow resending its coupons")
    if coupon.revoked_at is not None:
        raise CouponRevokedError(f"Coupon {coupon.code} was revoked")
    if coupon.redemption_count and not series.is_multiple_use_allowed:
        raise CouponAlreadyRedeemedError(f"Coupon {coupon.code} was already redeemed")
    if coupon.valid_till is not None and coupon.valid_till <= timezone.now():
        raise CouponExpiredError(f"Coupon {coupon.code} expired")
    if not customer.mobile:
        raise CouponSmsFailedError("The customer has no mobile number to send the coupon to")
    body = coupon_message_render(
        template=series.sms_template, coupon=coupon, series=series, customer=customer
    )
    try:
        return notify_sms(to=customer.mobile, body=body)
    except SmsDeliveryError as exc:
        raise CouponSmsFailedError(f"The coupon SMS was not delivered: {exc.reason}")
