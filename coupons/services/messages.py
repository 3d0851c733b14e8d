"""Coupon messages: the tags a template may use, their rendering, and the Unicode check.

Tags are written `{{tag}}`. The contract's samples use `{{voucher}}`, `{{voucher_code}}`,
`{{first_name}}`, `{{last_name}}`, `{{fullname}}`, `{{cust_name}}`, `{{offer_name}}` and
`{{valid_days_from_create}}`; the seed's resend message uses `{{coupon_code}}` and
`{{valid_till}}`. A template with an unknown tag is refused when the offer is saved.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from coupons.exceptions import CouponSeriesInvalidError
from coupons.models import Coupon, CouponSeries
from members.models import Customer

TAG_PATTERN = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
VALID_TILL_FORMAT = "%d %b %Y"

# GSM 03.38 basic character set and its extension table: what an SMS carries without Unicode.
GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "^{}\\[~]|€\f"
GSM_CHARACTERS = frozenset(GSM_BASIC + GSM_EXTENSION)


def _valid_till(coupon: Coupon, series: CouponSeries) -> str:
    if coupon.valid_till is None:
        return "no expiry"
    return coupon.valid_till.astimezone(series.org.tzinfo).strftime(VALID_TILL_FORMAT)


def _valid_days(coupon: Coupon, series: CouponSeries) -> str:
    if coupon.valid_till is None or coupon.issued_at is None:
        return ""
    tz = series.org.tzinfo
    days = (coupon.valid_till.astimezone(tz).date() - coupon.issued_at.astimezone(tz).date()).days
    return str(max(days, 0))


def _amount(value) -> str:
    return f"{value.normalize():f}" if value is not None else ""


Renderer = Callable[[Coupon, CouponSeries, Customer], str]

TAGS: dict[str, Renderer] = {
    "coupon_code": lambda coupon, series, customer: coupon.code,
    "voucher": lambda coupon, series, customer: coupon.code,
    "voucher_code": lambda coupon, series, customer: coupon.code,
    "valid_till": lambda coupon, series, customer: _valid_till(coupon, series),
    "valid_days_from_create": lambda coupon, series, customer: _valid_days(coupon, series),
    "first_name": lambda coupon, series, customer: customer.first_name,
    "last_name": lambda coupon, series, customer: customer.last_name,
    "fullname": lambda coupon, series, customer: customer.full_name,
    "cust_name": lambda coupon, series, customer: customer.full_name,
    "offer_name": lambda coupon, series, customer: series.description,
    "discount_code": lambda coupon, series, customer: series.discount_code,
    "discount_value": lambda coupon, series, customer: _amount(series.discount_value),
    "discount_type": lambda coupon, series, customer: series.discount_type,
    "currency": lambda coupon, series, customer: series.effective_currency,
    "terms_and_conditions": lambda coupon, series, customer: series.terms_and_conditions,
}


def template_tags(template: str) -> list[str]:
    return [match.group(1) for match in TAG_PATTERN.finditer(template or "")]


def is_gsm_text(text: str) -> bool:
    """True when `text` fits the GSM 7-bit alphabet (no Unicode SMS needed)."""
    return all(character in GSM_CHARACTERS for character in text)


def template_validate(*, template: str, field: str, allows_unicode: bool) -> None:
    """Refuse unknown tags, and Unicode text unless allowed. Raises CouponSeriesInvalidError."""
    unknown = sorted({tag for tag in template_tags(template) if tag not in TAGS})
    if unknown:
        raise CouponSeriesInvalidError(
            f"Unknown tag(s) {', '.join('{{' + tag + '}}' for tag in unknown)}; use "
            f"{', '.join('{{' + tag + '}}' for tag in TAGS)}",
            field=field,
        )
    if not allows_unicode and not is_gsm_text(TAG_PATTERN.sub("", template or "")):
        raise CouponSeriesInvalidError(
            "The message has Unicode characters: allow Unicode characters or remove them",
            field=field,
        )


def coupon_message_render(
    *, template: str, coupon: Coupon, series: CouponSeries, customer: Customer
) -> str:
    """`template` with every tag replaced by the coupon's, offer's or customer's value.

    Without Unicode allowed, characters outside the GSM alphabet (say, in a customer's name)
    become '?', so the message still goes out as a plain SMS.
    """

    def replace(match: re.Match[str]) -> str:
        renderer = TAGS.get(match.group(1))
        return renderer(coupon, series, customer) if renderer else match.group(0)

    text = TAG_PATTERN.sub(replace, template)
    if not series.allows_unicode_sms:
        text = "".join(ch if ch in GSM_CHARACTERS else "?" for ch in text)
    return text
