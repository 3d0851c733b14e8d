"""Normalising and validating customer identifiers (mobile with country code, email)."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from members.exceptions import (
    InvalidEmailError,
    InvalidExternalIdError,
    InvalidIdentifierError,
    InvalidMobileError,
)
from members.models import MOBILE_VALIDATOR

# Identifier names as the contract spells them, mapped to Customer fields.
IDENTIFIER_FIELDS = {
    "mobile": "mobile",
    "email": "email",
    "externalid": "external_id",
    "external_id": "external_id",
    "id": "id",
    "user_id": "id",
    "userid": "id",
}

_MOBILE_SEPARATORS = re.compile(r"[\s\-().]")


def identifier_field(name: str | None) -> str:
    """Map a contract identifier name (`mobile`, `externalId`, ...) to the Customer field."""
    key = (name or "").strip().lower()
    if key not in IDENTIFIER_FIELDS:
        raise InvalidIdentifierError(
            f"Invalid identifierName {name!r}: use mobile, email, externalId or id"
        )
    return IDENTIFIER_FIELDS[key]


def normalize_mobile(value: str) -> str:
    """Digits with the country code; spaces, dashes, brackets and a leading + are dropped."""
    cleaned = _MOBILE_SEPARATORS.sub("", str(value or "").strip())
    if cleaned.startswith("+"):
        cleaned = cleaned[1:]
    if cleaned.startswith("00"):
        cleaned = cleaned[2:]
    try:
        MOBILE_VALIDATOR(cleaned)
    except ValidationError as exc:
        raise InvalidMobileError(
            f"Invalid mobile {value!r}: use 10-15 digits including the country code",
            field="mobile",
        ) from exc
    return cleaned


def normalize_email(value: str) -> str:
    cleaned = str(value or "").strip().lower()
    if len(cleaned) > 255:
        raise InvalidEmailError("Email is longer than 255 characters", field="email")
    try:
        validate_email(cleaned)
    except ValidationError as exc:
        raise InvalidEmailError(f"Invalid email {value!r}", field="email") from exc
    return cleaned


def normalize_external_id(value: str) -> str:
    cleaned = str(value or "").strip()
    if not cleaned or len(cleaned) > 100:
        raise InvalidExternalIdError("External id must be 1-100 characters", field="external_id")
    return cleaned


def normalize_identifier(field: str, value: str) -> str | int:
    """Validate `value` for the Customer `field` and return its stored form."""
    if field == "mobile":
        return normalize_mobile(value)
    if field == "email":
        return normalize_email(value)
    if field == "external_id":
        return normalize_external_id(value)
    if field == "id":
        try:
            number = int(str(value).strip())
        except ValueError as exc:
            raise InvalidIdentifierError(f"Invalid customer id {value!r}") from exc
        if number <= 0:
            raise InvalidIdentifierError(f"Invalid customer id {value!r}")
        return number
    raise InvalidIdentifierError(f"Unsupported identifier {field}")
