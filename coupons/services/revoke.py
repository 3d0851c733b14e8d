"""Revoke coupons (seed 001 "Revoke Coupon", CONTRACT.md §2.3): all unredeemed coupons of an offer
(issued and unissued), only the unissued ones, those of specific customers, or specific codes.

Redeemed coupons are never revoked; a revoked coupon cannot be redeemed or reinstated, and a
revoked code may be uploaded again for another customer (the seed's way to move a coupon). Each
revoke writes a CouponRevocation row (who, when, how, how many) in the same transaction as the
coupons it marks. The coupons' own row locks decide a race with a redemption: the UPDATE only
takes rows still unredeemed once the redemption has committed or rolled back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from coupons.exceptions import (
    CouponSeriesExpiredError,
    RevokeCouponNotFoundError,
    RevokeGenericCouponError,
    RevokeRedeemedCouponError,
    RevokeTargetMissingError,
    RevokeTooManyError,
)
from coupons.models import Coupon, CouponRevocation, CouponSeries
from coupons.services.codes import normalize_code
from coupons.services.uploads import CUSTOMER_FIELDS, identifier_normalized
from loyalty_site.core.exceptions import DomainError
from members.models import Customer, Till

MAX_CODES_PER_REQUEST = 50
MAX_COUPONS_PER_CUSTOMER_REQUEST = 100


@dataclass(frozen=True)
class RevokedCoupon:
    coupon_id: int
    code: str
    customer_id: int | None


@dataclass
class RevokeFailure:
    code: int
    message: str
    codes: list[str] = field(default_factory=list)


@dataclass
class RevokeResult:
    revocation: CouponRevocation
    revoked: list[RevokedCoupon] = field(default_factory=list)
    failures: list[RevokeFailure] = field(default_factory=list)
    asked: int = 0

    @property
    def revoked_count(self) -> int:
        return self.revocation.revoked_count

    @property
    def failed_count(self) -> int:
        return sum(len(failure.codes) for failure in self.failures)


def _revocable(series: CouponSeries) -> QuerySet[Coupon]:
    return Coupon.objects.filter(series=series, redemption_count=0, revoked_at__isnull=True)


def _new_revocation(
    series: CouponSeries, mode: str, user: Any, till: Till | None, details: dict[str, Any]
) -> CouponRevocation:
    return CouponRevocation.objects.create(
        org_id=series.org_id,
        series=series,
        mode=mode,
        revoked_by_user=user if getattr(user, "pk", None) else None,
        revoked_by_till=till,
        details=details,
    )


def _mark(
    coupons: QuerySet[Coupon], revocation: CouponRevocation, *, listed: bool
) -> list[RevokedCoupon]:
    """Revoke `coupons` (still unredeemed ones only) and fix the offer's unissued-upload count."""
    now = timezone.now()
    series_id = revocation.series_id
    unissued_uploads = coupons.filter(customer__isnull=True, source=Coupon.Source.UPLOADED)
    revoked: list[RevokedCoupon] = []
    if listed:
        rows = list(
            coupons.select_for_update().order_by("pk").values_list("pk", "code", "customer_id")
        )
        ids = [pk for pk, _code, _customer in rows]
        uploads = unissued_uploads.filter(pk__in=ids).count()
        count = Coupon.objects.filter(pk__in=ids, redemption_count=0).update(
            revoked_at=now, revocation=revocation
        )
        revoked = [RevokedCoupon(pk, code, customer) for pk, code, customer in rows]
    else:
        uploads = unissued_uploads.count()
        count = coupons.update(revoked_at=now, revocation=revocation)
    if uploads:
        CouponSeries.objects.filter(pk=series_id).update(
            num_uploaded_non_issued=F("num_uploaded_non_issued") - uploads
        )
    revocation.revoked_count = count
    return revoked


def series_check_revocable(series: CouponSeries) -> None:
    if series.valid_till is not None and series.valid_till < timezone.now():
        raise CouponSeriesExpiredError(f"Offer {series.pk} has ended: its coupons are expired")


@transaction.atomic
def coupons_revoke_all(
    *, series: CouponSeries, only_unissued: bool = False, user: Any = None, till: Till | None = None
) -> RevokeResult:
    """Revoke every unredeemed coupon of the offer (issued and unissued, or only unissued)."""
    CouponSeries.objects.select_for_update().filter(pk=series.pk).exists()
    mode = CouponRevocation.Mode.UNISSUED if only_unissued else CouponRevocation.Mode.ALL_UNREDEEMED
    revocation = _new_revocation(series, mode, user, till, {})
    coupons = _revocable(series)
    if only_unissued:
        coupons = coupons.filter(customer__isnull=True)
    _mark(coupons, revocation, listed=False)
    revocation.save(update_fields=["revoked_count", "updated_at"])
    return RevokeResult(revocation=revocation)


@transaction.atomic
def coupons_revoke_for_customers(
    *,
    series: CouponSeries,
    customers: Sequence[Customer],
    user: Any = None,
    till: Till | None = None,
    max_coupons: int | None = None,
    unknown_identifiers: Sequence[str] = (),
) -> RevokeResult:
    """Revoke every unredeemed coupon of the offer held by `customers` (all of a customer's
    coupons of the offer when there are several). With `max_coupons` (the API's 100), more
    than that many is refused with 757 and nothing is revoked."""
    customer_ids = sorted({customer.pk for customer in customers})
    coupons = _revocable(series).filter(customer_id__in=customer_ids)
    if max_coupons is not None and coupons.count() > max_coupons:
        raise RevokeTooManyError(
            f"The customer holds more than {max_coupons} unredeemed coupons of this offer"
        )
    revocation = _new_revocation(
        series,
        CouponRevocation.Mode.CUSTOMERS,
        user,
        till,
        {
            "customer_ids": customer_ids[:1000],
            "unknown_identifiers": list(unknown_identifiers)[:1000],
        },
    )
    revoked = _mark(coupons, revocation, listed=True)
    revocation.customers_count = len(customer_ids)
    revocation.failed_count = len(unknown_identifiers)
    revocation.save(
        update_fields=["revoked_count", "customers_count", "failed_count", "updated_at"]
    )
    return RevokeResult(revocation=revocation, revoked=revoked, asked=len(customer_ids))


@transaction.atomic
def coupons_revoke_codes(
    *, series: CouponSeries, codes: Iterable[str], user: Any = None, till: Till | None = None
) -> RevokeResult:
    """Revoke specific codes of the offer; each code that can't be revoked is reported with its
    reason (682 not found, 405 redeemed, 108 common code) while the others are revoked."""
    wanted = list(dict.fromkeys(normalize_code(str(code)) for code in codes if str(code).strip()))
    if not wanted:
        raise RevokeTargetMissingError()
    if len(wanted) > MAX_CODES_PER_REQUEST:
        raise RevokeTooManyError(f"At most {MAX_CODES_PER_REQUEST} codes per request")
    series_check_revocable(series)
    # Revoked rows count as not found (a revoked code may also live again for someone else).
    found = {
        coupon.code: coupon
        for coupon in Coupon.objects.filter(series=series, code__in=wanted, revoked_at__isnull=True)
    }
    failures: dict[int, RevokeFailure] = {}

    def fail(error: type, message: str, code: str) -> None:
        failure = failures.setdefault(error.code, RevokeFailure(error.code, message))
        failure.codes.append(code)

    revocable_ids = []
    for code in wanted:
        coupon = found.get(code)
        if coupon is None:
            fail(RevokeCouponNotFoundError, "Coupon not found", code)
        elif coupon.is_common:
            fail(RevokeGenericCouponError, RevokeGenericCouponError.message, code)
        elif coupon.redemption_count:
            fail(RevokeRedeemedCouponError, RevokeRedeemedCouponError.message, code)
        else:
            revocable_ids.append(coupon.pk)
    revocation = _new_revocation(series, CouponRevocation.Mode.CODES, user, till, {"codes": wanted})
    revoked = _mark(_revocable(series).filter(pk__in=revocable_ids), revocation, listed=True)
    revoked_ids = {item.coupon_id for item in revoked}
    for coupon in found.values():
        if coupon.pk in revocable_ids and coupon.pk not in revoked_ids:  # redeemed meanwhile
            fail(RevokeRedeemedCouponError, RevokeRedeemedCouponError.message, coupon.code)
    revocation.failed_count = sum(len(failure.codes) for failure in failures.values())
    revocation.save(update_fields=["revoked_count", "failed_count", "updated_at"])
    return RevokeResult(
        revocation=revocation,
        revoked=revoked,
        failures=list(failures.values()),
        asked=len(wanted),
    )


def customers_from_identifiers(
    *, org_id: int, identifier: str, values: Iterable[str]
) -> tuple[list[Customer], list[str]]:
    """The org's customers named by `values` (one identifier type, as in the upload CSVs: MOBILE,
    EMAIL, EXTERNAL_ID, USER_ID) and the values that name nobody."""
    field_name = CUSTOMER_FIELDS[identifier]
    wanted: dict[str, Any] = {}
    unknown: list[str] = []
    for raw in values:
        value = str(raw).strip()
        if not value:
            continue
        try:
            wanted[value] = identifier_normalized(identifier, value)
        except DomainError:
            unknown.append(value)
    found = {
        getattr(customer, field_name): customer
        for customer in Customer.objects.filter(
            org_id=org_id, merged_into__isnull=True, **{f"{field_name}__in": set(wanted.values())}
        )
    }
    customers = []
    for value, key in wanted.items():
        if key in found:
            customers.append(found[key])
        else:
            unknown.append(value)
    return customers, unknown
