"""Offer (coupon series) writes: create and update, with every rule of
coupons.services.series_rules checked first.

Callers pass model field values (`values`, keys from SERIES_FIELDS); the API and the admin form
translate their own names. A create may carry an idempotency key; replaying it with the same
settings returns the offer it created.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction

from coupons.exceptions import CouponIdempotencyKeyReusedError
from coupons.models import CodeType, CouponExpiryReminder, CouponSeries
from coupons.services.codes import (
    ALPHANUMERIC_ALPHABET,
    random_strings,
    randomized_fixed_part_choose,
    randomized_sample_clean,
)
from coupons.services.redemption.counters import counters_rebalance
from coupons.services.redemption.redeem import exclusive_offers_forget
from coupons.services.series_rules import (
    ReminderSpec,
    generic_code_taken,
    invalid,
    series_validate,
)
from members.models import Org, Till

__all__ = [
    "SERIES_FIELDS",
    "CouponSeriesResult",
    "ReminderSpec",
    "coupon_series_check",
    "coupon_series_create",
    "coupon_series_update",
]

SERIES_CODE_LENGTH = 10
IDEMPOTENCY_KEY_MAX_LENGTH = 128
# Every field a caller may set; counters, the series code and the randomized parts are not.
SERIES_FIELDS = frozenset(
    f.name
    for f in CouponSeries._meta.concrete_fields
    if f.editable and f.name not in {"id", "org", "created_at", "updated_at", "created_by_till"}
)


@dataclass
class CouponSeriesResult:
    series: CouponSeries
    warnings: list[str] = field(default_factory=list)


def _apply(series: CouponSeries, values: Mapping[str, Any]) -> None:
    unknown = set(values) - SERIES_FIELDS
    if unknown:
        raise ValueError(f"Not series settings: {sorted(unknown)}")
    for name, value in values.items():
        setattr(series, name, value)


def _new_series(
    *, org: Org, values: Mapping[str, Any], random_code_sample: str | None
) -> CouponSeries:
    series = CouponSeries(org=org)
    _apply(series, values)
    if series.code_type == CodeType.RANDOMIZED_COMMON:
        sample, is_alphanumeric = randomized_sample_clean(random_code_sample or "")
        series.random_code_sample = sample
        series.is_alphanumeric = is_alphanumeric
        series.code_length = len(sample) - len(sample) // 2
    elif random_code_sample:
        raise invalid("Only randomized common codes take a sample code", "random_code_sample")
    return series


def coupon_series_check(
    *,
    org: Org,
    values: Mapping[str, Any],
    series: CouponSeries | None = None,
    reminders: Sequence[ReminderSpec] | None = None,
    random_code_sample: str | None = None,
) -> list[str]:
    """Validate a create (`series` None) or an update without saving; returns warnings.

    For forms, so that errors show on the form. Raises CouponSeriesInvalidError (799).
    """
    if series is None:
        candidate = _new_series(org=org, values=values, random_code_sample=random_code_sample)
        return series_validate(candidate, previous=None, reminders=reminders)
    previous = CouponSeries.objects.select_related("org").get(pk=series.pk)
    candidate = CouponSeries.objects.select_related("org").get(pk=series.pk)
    _apply(candidate, values)
    return series_validate(candidate, previous=previous, reminders=reminders)


def _replace_reminders(series: CouponSeries, reminders: Sequence[ReminderSpec]) -> None:
    series.expiry_reminders.all().delete()
    CouponExpiryReminder.objects.bulk_create(
        CouponExpiryReminder(
            series=series,
            days_before_expiry=reminder.days_before_expiry,
            channel=reminder.channel,
            send_at=reminder.send_at,
            message=reminder.message,
        )
        for reminder in reminders
    )


def _fingerprint(
    values: Mapping[str, Any],
    reminders: Sequence[ReminderSpec] | None,
    random_code_sample: str | None,
) -> str:
    payload = {
        "values": dict(values),
        "reminders": [dataclasses.astuple(reminder) for reminder in reminders or []],
        "sample": random_code_sample or "",
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _replay(*, org: Org, key: str, fingerprint: str) -> CouponSeriesResult | None:
    existing = CouponSeries.objects.filter(org=org, idempotency_key=key).first()
    if existing is None:
        return None
    if existing.idempotency_fingerprint != fingerprint:
        raise CouponIdempotencyKeyReusedError(
            f"Idempotency key {key!r} created offer {existing.pk} with other settings"
        )
    return CouponSeriesResult(series=existing)


@transaction.atomic
def coupon_series_create(
    *,
    org: Org,
    actor: Till | None,
    values: Mapping[str, Any],
    reminders: Sequence[ReminderSpec] | None = None,
    random_code_sample: str | None = None,
    idempotency_key: str | None = None,
) -> CouponSeriesResult:
    """Create an offer in `org` from model field `values` (and its expiry reminders).

    `random_code_sample` (5-10 letters/digits) is required for randomized common codes and
    fixed for good. A replayed `idempotency_key` with the same settings returns the offer it
    created. Raises CouponSeriesInvalidError (799) naming the setting,
    RandomizedFixedPartUnavailableError (797) and CouponIdempotencyKeyReusedError (409).
    """
    key = (idempotency_key or "").strip() or None
    if key is not None and len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise invalid(
            f"The idempotency key is longer than {IDEMPOTENCY_KEY_MAX_LENGTH} characters",
            "idempotency_key",
        )
    fingerprint = _fingerprint(values, reminders, random_code_sample)
    if key is not None and (replay := _replay(org=org, key=key, fingerprint=fingerprint)):
        return replay
    series = _new_series(org=org, values=values, random_code_sample=random_code_sample)
    series.created_by_till = actor
    series.idempotency_key = key
    series.idempotency_fingerprint = fingerprint if key else ""
    warnings = series_validate(series, previous=None, reminders=reminders)
    if series.code_type == CodeType.RANDOMIZED_COMMON:
        series.random_fixed_part = randomized_fixed_part_choose(
            org_id=org.pk,
            sample=series.random_code_sample,
            is_alphanumeric=series.is_alphanumeric,
        )
    for _attempt in range(5):
        (series.series_code,) = random_strings(
            alphabet=ALPHANUMERIC_ALPHABET, length=SERIES_CODE_LENGTH, count=1
        )
        try:
            with transaction.atomic():
                series.save()
            break
        except IntegrityError:
            if key is not None and (replay := _replay(org=org, key=key, fingerprint=fingerprint)):
                return replay
            if series.generic_code and generic_code_taken(series):
                raise invalid(
                    f"Code {series.generic_code} is already used in this org", "generic_code"
                )
            if (
                series.random_fixed_part
                and CouponSeries.objects.filter(
                    org=org, random_fixed_part=series.random_fixed_part
                ).exists()
            ):
                series.random_fixed_part = randomized_fixed_part_choose(
                    org_id=org.pk,
                    sample=series.random_code_sample,
                    is_alphanumeric=series.is_alphanumeric,
                )
            series.pk = None
    else:
        raise invalid("Could not allocate a series code; try again", "series_code")
    if reminders:
        _replace_reminders(series, reminders)
    exclusive_offers_forget(org_id=series.org_id)
    return CouponSeriesResult(series=series, warnings=warnings)


@transaction.atomic
def coupon_series_update(
    *,
    series: CouponSeries,
    actor: Till | None,
    values: Mapping[str, Any],
    reminders: Sequence[ReminderSpec] | None = None,
) -> CouponSeriesResult:
    """Change settings of an offer; `reminders` (when not None) replaces its reminders.

    Code settings are fixed once it has codes, the common code once coupons are issued, the
    randomized sample always. Raises CouponSeriesInvalidError (799).
    """
    previous = CouponSeries.objects.select_for_update().select_related("org").get(pk=series.pk)
    locked = CouponSeries.objects.select_related("org").get(pk=series.pk)
    _apply(locked, values)
    warnings = series_validate(locked, previous=previous, reminders=reminders)
    if (locked.max_issuals, locked.issual_limit_notify_remaining) != (
        previous.max_issuals,
        previous.issual_limit_notify_remaining,
    ):
        locked.issual_limit_notified_at = None  # a new threshold may notify again
    try:
        with transaction.atomic():
            locked.save()
    except IntegrityError:
        if locked.generic_code and generic_code_taken(locked):
            raise invalid(f"Code {locked.generic_code} is already used in this org", "generic_code")
        raise
    if reminders is not None:
        _replace_reminders(locked, reminders)
    if locked.max_redemptions != previous.max_redemptions:
        counters_rebalance(series=locked)
    exclusive_offers_forget(org_id=locked.org_id)
    return CouponSeriesResult(series=locked, warnings=warnings)
