"""Validation codes (OTPs) that approve a points redemption or transfer.

Codes live in the Django cache (Redis in production, REDIS_URL), not in a table: the contract wants
the same code back when one is asked for again inside its validity window, so the code itself must
stay readable, which a stored hash would not allow. Each entry is keyed by org + customer +
purpose + points, expires with the code (the cache TTL is the validity window) and is deleted when
a redemption or transfer uses it. The local-memory cache of development is per process; run
production with Redis so every web worker sees the same codes.
"""

from __future__ import annotations

import enum
import logging
import secrets
import string
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction as db_transaction

from ledger.exceptions import (
    InvalidPointsError,
    InvalidValidationCodeError,
    ValidationCodeIssueError,
)
from ledger.services.posting import to_points
from loyalty_site.core.notifications import notify_email, notify_sms
from loyalty_site.core.sms import SmsDeliveryError
from members.models import Customer

logger = logging.getLogger(__name__)

VALIDATION_CODE_ALPHABET = string.ascii_uppercase + string.digits
VALIDATION_CODE_LENGTH = 6
DEFAULT_TTL_SECONDS = 15 * 60


class ValidationCodePurpose(enum.StrEnum):
    REDEMPTION = "redeem"
    TRANSFER = "transfer"


@dataclass(frozen=True)
class ValidationCodeIssue:
    code: str
    channel: str  # "SMS" or "EMAIL"
    points: Decimal


def validation_code_ttl_seconds() -> int:
    return int(getattr(settings, "POINTS_VALIDATION_CODE_TTL_SECONDS", DEFAULT_TTL_SECONDS))


def _cache_key(*, customer: Customer, purpose: ValidationCodePurpose, points: Decimal) -> str:
    return f"ledger:validation-code:{purpose}:{customer.org_id}:{customer.pk}:{points}"


def _new_code() -> str:
    return "".join(secrets.choice(VALIDATION_CODE_ALPHABET) for _ in range(VALIDATION_CODE_LENGTH))


def _send(*, customer: Customer, code: str, points: Decimal, purpose: str) -> str:
    minutes = max(1, validation_code_ttl_seconds() // 60)
    action = "transfer" if purpose == ValidationCodePurpose.TRANSFER else "redeem"
    body = (
        f"Your validation code is {code} to {action} {points.normalize():f} points. "
        f"It is valid for {minutes} minutes."
    )
    try:
        if customer.mobile:
            notify_sms(to=customer.mobile, body=body)
            return "SMS"
        if customer.email:
            notify_email(to=[customer.email], subject="Your validation code", body=body)
            return "EMAIL"
    except (SmsDeliveryError, OSError, ValueError) as exc:
        logger.warning("Validation code for customer %s not sent: %s", customer.pk, exc)
        raise ValidationCodeIssueError(f"Validation code could not be sent: {exc}") from exc
    raise ValidationCodeIssueError("The customer has neither a mobile number nor an email")


def points_validation_code_issue(
    *,
    customer: Customer,
    points: Decimal | int | str,
    purpose: ValidationCodePurpose = ValidationCodePurpose.REDEMPTION,
    actor: Any = None,
) -> ValidationCodeIssue:
    """Issue a validation code for `points` and send it (SMS to the mobile, else email). Asked
    again inside the validity window, the same code is sent again.

    Raises InvalidPointsError (801), ValidationCodeIssueError (860).
    """
    try:
        amount = to_points(points)
    except ArithmeticError as exc:  # beyond the decimal context: far too many points
        raise InvalidPointsError(f"Invalid points {points!r}") from exc
    key = _cache_key(customer=customer, purpose=purpose, points=amount)
    code = _new_code()
    ttl = validation_code_ttl_seconds()
    # add() is atomic: when two requests race, both end up with the code that won.
    if not cache.add(key, code, timeout=ttl):
        existing = cache.get(key)
        if existing:
            code = existing
        else:  # expired between add() and get()
            cache.set(key, code, timeout=ttl)
    channel = _send(customer=customer, code=code, points=amount, purpose=purpose)
    return ValidationCodeIssue(code=code, channel=channel, points=amount)


def points_validation_code_pending(
    *, customer: Customer, points: Decimal, purpose: ValidationCodePurpose
) -> bool:
    """True while a code issued for this customer, purpose and amount is still valid."""
    return cache.get(_cache_key(customer=customer, purpose=purpose, points=points)) is not None


def points_validation_code_verify(
    *, customer: Customer, points: Decimal, purpose: ValidationCodePurpose, code: str | None
) -> None:
    """Raises InvalidValidationCodeError (808) unless `code` is the live code for this customer,
    purpose and amount (letter case does not matter)."""
    expected = cache.get(_cache_key(customer=customer, purpose=purpose, points=points))
    given = (code or "").strip().upper()
    if not given:
        raise InvalidValidationCodeError("A validation code is required")
    if expected is None or not secrets.compare_digest(str(expected).upper(), given):
        raise InvalidValidationCodeError()


def points_validation_code_consume(
    *, customer: Customer, points: Decimal, purpose: ValidationCodePurpose
) -> None:
    """Forget the code once the surrounding transaction commits (a code approves one write)."""
    key = _cache_key(customer=customer, purpose=purpose, points=points)
    db_transaction.on_commit(lambda: cache.delete(key))
