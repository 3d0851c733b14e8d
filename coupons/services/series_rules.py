"""The rules of an offer's settings (seed "Create Coupons", CONTRACT.md §2.1), checked and
normalised in place on an unsaved CouponSeries by `series_validate`:
- percentage discounts are 0-100 and may have an "up to" cap; absolute ones have no cap;
- a coupon in another currency than the org's needs an exchange rate to be converted;
- a common-code series needs its code, unique in the org; randomized common codes come from a
  5-10 character sample that is fixed at creation; code settings are fixed once codes exist;
- "along with the offer" expiry needs an offer end date;
- third-party delivery has no issual or reminder settings and no recipient restriction: they
  are cleared (with a warning) and anyone holding a code may redeem it;
- templates use known tags only, and Unicode only when allowed.
Structured settings accept the contract's shapes (JSON strings included) and are stored clean.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from coupons.exceptions import CouponCodeInvalidError, CouponSeriesInvalidError
from coupons.models import (
    CodeType,
    Coupon,
    CouponSeries,
    DiscountType,
    ExpiryStrategy,
    ProductType,
    RedemptionEntityType,
    ReminderChannel,
)
from coupons.services.codes import (
    CODE_MAX_LENGTH,
    MAX_CODE_LENGTH,
    MIN_CODE_LENGTH,
    normalize_code,
    validate_given_code,
)
from coupons.services.messages import template_validate
from coupons.services.redemption.counters import counters_used
from members.models import ExchangeRate

# The custom property the contract's samples carry the terms in.
STANDARD_TERMS_PROPERTY = "standard_terms_and_conditions"
MAX_EXPIRY_DAYS = 3650
MAX_EXPIRY_MONTHS = 120
MAX_REMINDER_DAYS = 365
REDEMPTION_RANGE_LIMITS = {"dom": (1, 31), "dow": (1, 7), "hours": (0, 23)}
# Cleared for third-party delivery (the seed's "Issual & reminder" settings).
THIRD_PARTY_CLEARED = {
    "max_issuals": None,
    "issual_limit_notify_remaining": None,
    "allows_multiple_per_customer": True,
    "max_per_customer": None,
    "min_days_between_issuals": None,
    "resends_existing_coupon": False,
    "past_issual_series_ids": [],
    "is_audience_restricted": False,
    "sends_sms": False,
    "is_resend_enabled": False,
}
# Settings fixed once codes exist: changing them would change what the codes mean.
CODE_SETTINGS = (
    "code_type",
    "is_alphanumeric",
    "code_length",
    "code_prefix",
    "is_prefix_enabled",
    "code_suffix",
    "is_suffix_enabled",
)


@dataclass(frozen=True)
class ReminderSpec:
    """One expiry reminder: `days_before_expiry` days before, at local `send_at`, by `channel`."""

    days_before_expiry: int
    channel: str
    send_at: datetime.time
    message: str


def invalid(message: str, field_name: str) -> CouponSeriesInvalidError:
    return CouponSeriesInvalidError(message, field=field_name)


# Normalizers of the structured settings -------------------------------------------------------
def _positive_int(value: Any, field_name: str, label: str) -> int:
    if isinstance(value, bool):
        raise invalid(f"{label} must be an integer", field_name)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        raise invalid(f"{label} must be an integer", field_name)
    return value


def product_info_clean(value: Any) -> list[dict[str, Any]]:
    """[{productType, productIds}] with known types, positive ids, one entry per type."""
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise invalid("Product scope must be a list of {productType, productIds}", "product_info")
    merged: dict[str, list[int]] = {}
    for entry in value:
        if not isinstance(entry, Mapping):
            raise invalid("Each product scope entry is an object", "product_info")
        product_type = entry.get("productType")
        if product_type not in ProductType.values:
            raise invalid(
                f"productType must be one of {', '.join(ProductType.values)}", "product_info"
            )
        ids = entry.get("productIds") or []
        if not isinstance(ids, list):
            raise invalid("productIds must be a list of ids", "product_info")
        cleaned = merged.setdefault(product_type, [])
        for raw in ids:
            product_id = _positive_int(raw, "product_info", "A product id")
            if product_id < 1:
                raise invalid("Product ids are positive", "product_info")
            if product_id not in cleaned:
                cleaned.append(product_id)
    return [{"productType": kind, "productIds": ids} for kind, ids in merged.items()]


def redemption_entities_clean(value: Any) -> list[dict[str, Any]]:
    """[{redemptionOrgEntityType, orgEntityId}] without duplicates.

    Ids are not checked against the org's stores (contract §2.1: an unknown id simply matches
    nothing), so a series can name places before they exist.
    """
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise invalid(
            "Redemption places must be a list of {redemptionOrgEntityType, orgEntityId}",
            "redemption_org_entities",
        )
    cleaned: list[dict[str, Any]] = []
    for entry in value:
        if not isinstance(entry, Mapping):
            raise invalid("Each redemption place is an object", "redemption_org_entities")
        kind = entry.get("redemptionOrgEntityType")
        if kind not in RedemptionEntityType.values:
            raise invalid(
                f"redemptionOrgEntityType must be one of {', '.join(RedemptionEntityType.values)}",
                "redemption_org_entities",
            )
        entity_id = _positive_int(
            entry.get("orgEntityId"), "redemption_org_entities", "orgEntityId"
        )
        item = {"redemptionOrgEntityType": kind, "orgEntityId": entity_id}
        if item not in cleaned:
            cleaned.append(item)
    return cleaned


def redemption_range_clean(value: Any) -> dict[str, list[int]]:
    """{"dom", "dow", "hours"} lists of allowed values; [] (or the contract's -1) means any.

    Accepts the contract's JSON string form too. dow counts 1 = Sunday to 7 = Saturday.
    """
    if value in (None, "", "-1", -1):
        return {key: [] for key in REDEMPTION_RANGE_LIMITS}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise invalid("redemptionRange must be a JSON object", "redemption_range")
    if not isinstance(value, Mapping):
        raise invalid("redemptionRange must be an object", "redemption_range")
    unknown = set(value) - set(REDEMPTION_RANGE_LIMITS)
    if unknown:
        raise invalid(
            f"redemptionRange has unknown key(s) {', '.join(sorted(unknown))}: use dom, dow, hours",
            "redemption_range",
        )
    cleaned: dict[str, list[int]] = {}
    for key, (low, high) in REDEMPTION_RANGE_LIMITS.items():
        raw = value.get(key, [])
        if raw in (None, "-1", -1):
            raw = []
        if not isinstance(raw, list):
            raise invalid(f"redemptionRange.{key} must be a list", "redemption_range")
        numbers = sorted({_positive_int(item, "redemption_range", key) for item in raw})
        if numbers == [-1]:
            numbers = []
        for number in numbers:
            if not low <= number <= high:
                raise invalid(
                    f"redemptionRange.{key} values are {low} to {high} (or -1 for any)",
                    "redemption_range",
                )
        cleaned[key] = numbers
    return cleaned


def series_ids_clean(value: Any) -> list[int]:
    """Series ids from a list or the contract's string form "[10, 12]"."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise invalid(
                'mutualExclusiveSeriesIds must look like "[10, 12]"', "past_issual_series_ids"
            )
    if not isinstance(value, list):
        raise invalid("The excluded offers must be a list of ids", "past_issual_series_ids")
    ids: list[int] = []
    for raw in value:
        series_id = _positive_int(raw, "past_issual_series_ids", "An offer id")
        if series_id < 1:
            raise invalid("Offer ids are positive", "past_issual_series_ids")
        if series_id not in ids:
            ids.append(series_id)
    return ids


# Validation -----------------------------------------------------------------------------------
def _check_model_fields(series: CouponSeries) -> None:
    try:
        series.clean_fields(exclude=["org", "created_by_till", "series_code"])
    except ValidationError as exc:
        name, messages = next(iter(exc.message_dict.items()))
        label = CouponSeries._meta.get_field(name).verbose_name
        raise invalid(f"{label}: {' '.join(messages)}", name)


def _check_discount(series: CouponSeries) -> None:
    value = Decimal(series.discount_value)
    if series.discount_type == DiscountType.PERCENTAGE:
        if not Decimal(0) < value <= Decimal(100):
            raise invalid("A percentage discount is more than 0 and at most 100", "discount_value")
    elif value < 0:
        raise invalid("The discount value cannot be negative", "discount_value")
    if series.discount_upto is not None and series.discount_upto <= 0:
        series.discount_upto = None  # the contract's 0 means "no cap"
    if series.discount_upto is not None and series.discount_type != DiscountType.PERCENTAGE:
        raise invalid("Only a percentage discount has an 'up to' cap", "discount_upto")
    if series.currency == series.org.base_currency:
        series.currency = ""
    if (
        series.currency
        and not ExchangeRate.objects.filter(org=series.org, currency=series.currency).exists()
    ):
        raise invalid(
            f"Add an exchange rate for {series.currency} to the org first: coupon values are "
            "converted to the store's currency at redemption",
            "currency",
        )
    series.product_info = product_info_clean(series.product_info)


def _check_codes(series: CouponSeries, previous: CouponSeries | None) -> None:
    series.code_prefix = normalize_code(series.code_prefix or "")
    series.code_suffix = normalize_code(series.code_suffix or "")
    series.generic_code = normalize_code(series.generic_code or "")
    randomized = CodeType.RANDOMIZED_COMMON
    if previous is not None and randomized in (previous.code_type, series.code_type):
        if previous.code_type != series.code_type:
            raise invalid(
                "Randomized common codes are chosen when the offer is created and stay",
                "code_type",
            )
    if series.code_type == randomized:
        if not series.random_code_sample:
            raise invalid("Randomized common codes need a sample code", "random_code_sample")
        # The sample fixes length and charset for good (seed: it cannot be changed later).
        sample = series.random_code_sample
        series.code_length = len(sample) - len(sample) // 2
        series.is_alphanumeric = not sample.isdigit()
        if series.is_audience_restricted:
            raise invalid(
                "Customers cannot be uploaded for randomized common codes",
                "is_audience_restricted",
            )
    if series.code_type == CodeType.UNIQUE:
        if not MIN_CODE_LENGTH <= series.code_length <= MAX_CODE_LENGTH:
            raise invalid(
                f"Generated codes have {MIN_CODE_LENGTH} to {MAX_CODE_LENGTH} random characters",
                "code_length",
            )
        for name, enabled in (
            ("code_prefix", series.is_prefix_enabled),
            ("code_suffix", series.is_suffix_enabled),
        ):
            affix = getattr(series, name)
            if enabled and not affix:
                raise invalid(f"Enter the {name.split('_')[1]} or disable it", name)
            if affix and not (affix.isascii() and affix.isalnum()):
                raise invalid(f"The {name.split('_')[1]} may only have letters and digits", name)
        total = series.code_length + len(series.code_prefix) + len(series.code_suffix)
        if total > CODE_MAX_LENGTH:
            raise invalid(f"Codes are at most {CODE_MAX_LENGTH} characters long", "code_length")
    if series.code_type == CodeType.COMMON:
        if not series.generic_code:
            raise invalid("A common-code offer needs the common code (genericCode)", "generic_code")
        try:
            validate_given_code(series.generic_code)
        except CouponCodeInvalidError as exc:
            raise invalid(exc.message, "generic_code")
        changed = previous is None or previous.generic_code != series.generic_code
        if changed and previous is not None and previous.num_issued:
            raise invalid("The common code cannot change after coupons were issued", "generic_code")
        if changed and generic_code_taken(series):
            raise invalid(f"Code {series.generic_code} is already used in this org", "generic_code")
    elif series.generic_code:
        raise invalid("Only a common-code offer has a common code", "generic_code")
    if previous is not None and (previous.num_codes or previous.num_issued):
        for name in CODE_SETTINGS:
            if getattr(previous, name) != getattr(series, name):
                label = CouponSeries._meta.get_field(name).verbose_name
                raise invalid(f"{label} cannot change once the offer has codes", name)


def generic_code_taken(series: CouponSeries) -> bool:
    """True when another offer's common code or any coupon code of the org is this code."""
    others = CouponSeries.objects.filter(org_id=series.org_id, generic_code=series.generic_code)
    if series.pk:
        others = others.exclude(pk=series.pk)
    return (
        others.exists()
        or Coupon.objects.filter(
            org_id=series.org_id, is_common=False, code=series.generic_code
        ).exists()
    )


def _check_expiry(series: CouponSeries) -> None:
    if series.expiry_strategy == ExpiryStrategy.WITH_OFFER:
        if series.valid_till is None:
            raise invalid(
                "Coupons can expire along with the offer only when the offer has an end date",
                "valid_till",
            )
        series.expiry_value = 1
    elif series.expiry_strategy == ExpiryStrategy.DAYS and series.expiry_value > MAX_EXPIRY_DAYS:
        raise invalid(f"Days from issual are at most {MAX_EXPIRY_DAYS}", "expiry_value")
    elif (
        series.expiry_strategy == ExpiryStrategy.MONTH_ENDS
        and series.expiry_value > MAX_EXPIRY_MONTHS
    ):
        raise invalid(f"Month ends from issual are at most {MAX_EXPIRY_MONTHS}", "expiry_value")


def _check_issual(series: CouponSeries, warnings: list[str]) -> None:
    if series.is_third_party:
        cleared = [
            name
            for name, value in THIRD_PARTY_CLEARED.items()
            if getattr(series, name) != value
            and not (name == "allows_multiple_per_customer" and series.max_per_customer is None)
        ]
        for name, value in THIRD_PARTY_CLEARED.items():
            setattr(series, name, value)
        series.any_user = True
        if cleared:
            warnings.append(
                "Third-party delivery has no issual or reminder settings; ignored: "
                + ", ".join(cleared)
            )
    if series.max_per_customer is not None and series.max_per_customer < 1:
        raise invalid("At least one coupon per customer", "max_per_customer")
    if series.max_issuals is not None and series.max_issuals < series.num_issued:
        raise invalid(
            f"{series.num_issued} coupons are already issued: the limit cannot be lower",
            "max_issuals",
        )
    if series.issual_limit_notify_remaining is not None:
        if series.max_issuals is None:
            raise invalid(
                "A notification for the issual limit needs a limit on total issuals",
                "issual_limit_notify_remaining",
            )
        if series.issual_limit_notify_remaining >= series.max_issuals:
            raise invalid(
                "Notify at fewer remaining issuals than the limit itself",
                "issual_limit_notify_remaining",
            )
    series.past_issual_series_ids = series_ids_clean(series.past_issual_series_ids)
    if series.pk and series.pk in series.past_issual_series_ids:
        raise invalid("An offer cannot exclude its own recipients", "past_issual_series_ids")
    if series.past_issual_series_ids:
        known = set(
            CouponSeries.objects.filter(
                org=series.org, pk__in=series.past_issual_series_ids
            ).values_list("pk", flat=True)
        )
        unknown = [str(pk) for pk in series.past_issual_series_ids if pk not in known]
        if unknown:
            warnings.append(
                f"Excluded offer(s) {', '.join(unknown)} are not offers of this org; they match "
                "no customer"
            )
    if series.valid_till is not None and series.valid_till <= timezone.now():
        warnings.append("The offer has already ended: no coupon can be issued from it")


def _check_messages(series: CouponSeries, reminders: Sequence[ReminderSpec] | None) -> None:
    for name in ("sms_template", "short_sms_template"):
        template_validate(
            template=getattr(series, name), field=name, allows_unicode=series.allows_unicode_sms
        )
    if series.is_resend_enabled and not series.sms_template.strip():
        raise invalid("Enter the SMS content used to resend the coupon", "sms_template")
    if not reminders:
        return
    if series.is_third_party:
        raise invalid("Third-party offers send no expiry reminders", "expiry_reminders")
    if series.expiry_strategy == ExpiryStrategy.WITH_OFFER and series.valid_till is None:
        raise invalid("Reminders need coupons that expire", "expiry_reminders")
    seen: set[tuple[int, str]] = set()
    for reminder in reminders:
        if not 0 <= reminder.days_before_expiry <= MAX_REMINDER_DAYS:
            raise invalid(
                f"Reminders go 0 to {MAX_REMINDER_DAYS} days before expiry", "expiry_reminders"
            )
        if reminder.channel not in ReminderChannel.values:
            raise invalid("A reminder goes by SMS or EMAIL", "expiry_reminders")
        key = (reminder.days_before_expiry, reminder.channel)
        if key in seen:
            raise invalid(
                "Two reminders on the same day and channel: merge them", "expiry_reminders"
            )
        seen.add(key)
        if not reminder.message.strip():
            raise invalid("A reminder needs its message", "expiry_reminders")
        template_validate(
            template=reminder.message,
            field="expiry_reminders",
            allows_unicode=series.allows_unicode_sms or reminder.channel == ReminderChannel.EMAIL,
        )


def _check_redemption(series: CouponSeries) -> None:
    series.redemption_range = redemption_range_clean(series.redemption_range)
    series.redemption_org_entities = redemption_entities_clean(series.redemption_org_entities)
    if series.min_bill_amount < 0:
        raise invalid("The minimum bill amount cannot be negative", "min_bill_amount")
    if series.max_bill_amount is not None and series.max_bill_amount < series.min_bill_amount:
        raise invalid("The maximum bill amount is below the minimum", "max_bill_amount")
    if series.redemption_per_coupon_max_limit is not None:
        if not series.any_user:
            raise invalid(
                "A per-code redemption limit applies only when anyone may redeem the code",
                "redemption_per_coupon_max_limit",
            )
        if series.code_type == CodeType.COMMON:
            raise invalid(
                "A per-code redemption limit does not apply to a common code",
                "redemption_per_coupon_max_limit",
            )
        if series.redemption_per_coupon_max_limit < 1:
            raise invalid("The per-code limit is at least 1", "redemption_per_coupon_max_limit")
    if series.pk and series.max_redemptions is not None:
        used = counters_used(series=series)
        if series.max_redemptions < used:
            raise invalid(
                f"{used} coupons are already redeemed: the limit cannot be lower",
                "max_redemptions",
            )
    if (
        series.target_registered_from
        and series.target_registered_until
        and series.target_registered_from > series.target_registered_until
    ):
        raise invalid("The registration window ends before it starts", "target_registered_until")


def series_validate(
    series: CouponSeries,
    *,
    previous: CouponSeries | None,
    reminders: Sequence[ReminderSpec] | None,
) -> list[str]:
    """Normalize `series` in place and check every rule against `previous` (its saved state,
    None for a new offer); returns warnings. Raises CouponSeriesInvalidError (799)."""
    warnings: list[str] = []
    if not (series.description or "").strip():
        raise invalid("The offer needs a name (description)", "description")
    series.description = series.description.strip()
    if series.custom_properties is None:
        series.custom_properties = {}
    if not isinstance(series.custom_properties, Mapping):
        raise invalid("Custom properties are an object of names and values", "custom_properties")
    standard_terms = series.custom_properties.get(STANDARD_TERMS_PROPERTY)
    if not (series.terms_and_conditions or "").strip() and isinstance(standard_terms, str):
        series.terms_and_conditions = standard_terms
    _check_model_fields(series)
    _check_discount(series)
    _check_codes(series, previous)
    _check_expiry(series)
    _check_issual(series, warnings)
    _check_messages(series, reminders)
    _check_redemption(series)
    return warnings
