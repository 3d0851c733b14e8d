"""Till API credentials: the Basic-auth password and the OAuth key/secret pair (contract §8).

Only hashes are stored. The Basic password is kept as a Django hash of its MD5 hex digest, because
tills send `md5(password)`; the OAuth secret is hashed as given.
"""

from __future__ import annotations

import secrets

from django.contrib.auth.hashers import BasePasswordHasher, check_password, make_password
from django.db import transaction

from loyalty_site.api.authentication import md5_hex
from members.exceptions import TillCredentialError
from members.models import Till

OAUTH_KEY_BYTES = 16
OAUTH_SECRET_BYTES = 32

Hasher = str | BasePasswordHasher


@transaction.atomic
def till_set_password(*, till: Till, password: str, hasher: Hasher = "default") -> Till:
    """Store `password` as the till's Basic-auth password. Raises TillCredentialError if empty."""
    if not password:
        raise TillCredentialError("The till password cannot be empty.", field="password")
    till.password_hash = make_password(md5_hex(password), hasher=hasher)
    till.save(update_fields=["password_hash", "updated_at"])
    return till


@transaction.atomic
def till_oauth_credentials_set(
    *, till: Till, key: str, secret: str, hasher: Hasher = "default"
) -> Till:
    """Give the till this OAuth key and secret. Raises TillCredentialError on an empty/taken key."""
    if not key or not secret:
        raise TillCredentialError("The OAuth key and secret cannot be empty.")
    if len(key) > Till._meta.get_field("oauth_key").max_length:
        raise TillCredentialError("The OAuth key is too long.", field="oauth_key")
    if Till.objects.filter(oauth_key=key).exclude(pk=till.pk).exists():
        raise TillCredentialError("The OAuth key belongs to another till.", field="oauth_key")
    till.oauth_key = key
    till.oauth_secret_hash = make_password(secret, hasher=hasher)
    till.save(update_fields=["oauth_key", "oauth_secret_hash", "updated_at"])
    return till


def till_oauth_credentials_generate(*, till: Till) -> tuple[str, str]:
    """Replace the till's OAuth key and secret with random ones; return them (shown once)."""
    key = secrets.token_hex(OAUTH_KEY_BYTES)
    secret = secrets.token_urlsafe(OAUTH_SECRET_BYTES)
    till_oauth_credentials_set(till=till, key=key, secret=secret)
    return key, secret


def till_oauth_secret_matches(*, till: Till, key: str, secret: str) -> bool:
    """True when the till has exactly this OAuth key and secret."""
    return bool(
        till.oauth_key == key
        and till.oauth_secret_hash
        and check_password(secret, till.oauth_secret_hash)
    )
