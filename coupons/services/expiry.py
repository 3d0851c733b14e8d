"""When an issued coupon expires (the seed's "When would a coupon expire").

- Along with the offer: at the offer's end (fixed-date offers only).
- N days from issual: at the end of the issue date + N days, in the org's time zone.
- N month ends from issual: at the end of the last day of the issue month + N months.
Both relative rules are capped at the offer's end, whichever comes first. Seed examples:
issued 12 Nov, 0 days -> 12 Nov end of day, 1 day -> 13 Nov; 0 months -> 30 Nov, 1 -> 31 Dec.
"""

from __future__ import annotations

import calendar
import datetime
import zoneinfo

from coupons.exceptions import CouponSeriesInvalidError
from coupons.models import CouponSeries, ExpiryStrategy


def end_of_day(day: datetime.date, tz: zoneinfo.ZoneInfo) -> datetime.datetime:
    """The last instant of `day` in time zone `tz`."""
    return datetime.datetime.combine(day, datetime.time.max, tzinfo=tz)


def add_month_ends(day: datetime.date, months: int) -> datetime.date:
    """The last day of the month `months` after the month of `day`."""
    month_index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(month_index, 12)
    return datetime.date(year, month + 1, calendar.monthrange(year, month + 1)[1])


def coupon_expiry_compute(
    *,
    strategy: str,
    value: int,
    issued_at: datetime.datetime,
    series_ends_at: datetime.datetime | None,
    tz: zoneinfo.ZoneInfo,
) -> datetime.datetime | None:
    """When a coupon issued at `issued_at` expires; None means never (open-ended offer).

    Raises CouponSeriesInvalidError (799) for "along with the offer" without an offer end.
    """
    if strategy == ExpiryStrategy.WITH_OFFER:
        if series_ends_at is None:
            raise CouponSeriesInvalidError(
                "Coupons can expire along with the offer only when the offer has an end date",
                field="expiry_strategy",
            )
        return series_ends_at
    issue_day = issued_at.astimezone(tz).date()
    if strategy == ExpiryStrategy.DAYS:
        expires = end_of_day(issue_day + datetime.timedelta(days=value), tz)
    elif strategy == ExpiryStrategy.MONTH_ENDS:
        expires = end_of_day(add_month_ends(issue_day, value), tz)
    else:
        raise CouponSeriesInvalidError(f"Unknown expiry strategy {strategy!r}", field="strategy")
    if series_ends_at is not None and series_ends_at < expires:
        return series_ends_at
    return expires


def coupon_expiry_for_series(
    *, series: CouponSeries, issued_at: datetime.datetime
) -> datetime.datetime | None:
    """The expiry of a coupon of `series` issued at `issued_at` (see coupon_expiry_compute)."""
    return coupon_expiry_compute(
        strategy=series.expiry_strategy,
        value=series.expiry_value,
        issued_at=issued_at,
        series_ends_at=series.valid_till,
        tz=series.org.tzinfo,
    )
