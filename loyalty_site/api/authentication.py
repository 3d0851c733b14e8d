"""Till authentication: HTTP Basic with the MD5 of the password, and short-lived OAuth tokens.

Basic (contract §8): `Authorization: Basic base64(<till code>:<md5 hex of password>)`. Tills store a
Django password hash of that MD5 digest. Verifying PBKDF2 on every call would cost ~100 ms, so a
successful check is remembered in the cache for a few minutes under a key derived from the stored
hash and the presented secret (a password change invalidates it).

OAuth: `/v3/oauth/token/generate` exchanges the till's key and secret for a signed token sent back
in `X-CAP-API-OAUTH-TOKEN`; it expires after OAUTH_TOKEN_TTL_SECONDS.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core import signing
from django.core.cache import cache
from rest_framework import authentication

from loyalty_site.api.errors import ApiAuthenticationError
from loyalty_site.api.principal import ApiPrincipal
from loyalty_site.core.compiled import CompiledQuery, marker_str
from members.models import Till

OAUTH_HEADER = "HTTP_X_CAP_API_OAUTH_TOKEN"
OAUTH_SALT = "loyalty.oauth.token"
BASIC_CACHE_SECONDS = 300

TOKEN_EXPIRED_CODE = 1529
BAD_CREDENTIALS_CODE = 401
ATTRIBUTION_HEADER_MISSING_CODE = 1061
ATTRIBUTION_NOT_FOUND_CODE = 1062


def _till_queryset():
    return Till.objects.select_related("org", "store")


# Every Basic-authenticated call looks its till up by code: compiled once, not per call.
_TILL_BY_CODE: CompiledQuery[Till] = CompiledQuery(
    lambda code: _till_queryset().filter(code=code).order_by("pk")[:1], code=marker_str()
)


def _basic_cache_key(till: Till, secret: str) -> str:
    digest = hmac.new(
        settings.SECRET_KEY.encode(),
        f"{till.pk}:{till.password_hash}:{secret}".encode(),
        hashlib.sha256,
    ).hexdigest()
    return f"apiauth:basic:{digest}"


# Checks this process already made, by cache key, with when they lapse: a till's every call
# would otherwise ask the shared cache first. The key holds the stored hash, so a new password
# misses at once; a deactivated till is refused by `authenticate` before the check.
_VERIFIED_HERE: dict[str, float] = {}
VERIFIED_HERE_MAX = 4096


def till_check_secret(*, till: Till, secret: str) -> bool:
    """True when `secret` (the MD5 hex of the till password) matches the stored hash."""
    if not till.password_hash:
        return False
    key = _basic_cache_key(till, secret)
    now = time.monotonic()
    if _VERIFIED_HERE.get(key, 0.0) > now:
        return True
    if not cache.get(key):
        if not check_password(secret.lower(), till.password_hash):
            return False
        cache.set(key, True, BASIC_CACHE_SECONDS)
    if len(_VERIFIED_HERE) >= VERIFIED_HERE_MAX:
        _VERIFIED_HERE.clear()
    _VERIFIED_HERE[key] = now + BASIC_CACHE_SECONDS
    return True


def oauth_token_issue(*, till: Till) -> tuple[str, int]:
    """Return a signed access token for `till` and its lifetime in seconds."""
    ttl = settings.OAUTH_TOKEN_TTL_SECONDS
    token = signing.dumps({"till": till.pk, "org": till.org_id}, salt=OAUTH_SALT, compress=True)
    return token, ttl


def _resolve_attribution(request, till: Till) -> Till:
    """Book the call on another till of the same org when attribution headers ask for it."""
    meta = request.META
    lookup_type = meta.get("HTTP_X_CAP_API_ATTRIBUTION_LOOKUP_TYPE") or meta.get(
        "HTTP_X_CAP_API_ATTRIBUTION_ENTITY_TYPE"
    )
    lookup_value = meta.get("HTTP_X_CAP_API_ATTRIBUTION_LOOKUP") or meta.get(
        "HTTP_X_CAP_API_ATTRIBUTION_ENTITY_CODE"
    )
    if not lookup_type and not lookup_value:
        return till
    if not lookup_type or not lookup_value:
        raise ApiAuthenticationError(
            "Attribution needs both the lookup type and the lookup value headers",
            code=ATTRIBUTION_HEADER_MISSING_CODE,
            http_status=400,
        )
    lookup_type = lookup_type.strip().upper()
    candidates = _till_queryset().filter(org_id=till.org_id, is_active=True)
    if lookup_type in {"TILL", "TILL_CODE"}:
        target = candidates.filter(code=lookup_value).first()
    elif lookup_type == "STORE_CODE":
        target = candidates.filter(store__code=lookup_value).order_by("id").first()
    elif lookup_type == "STORE_NAME":
        target = candidates.filter(store__name=lookup_value).order_by("id").first()
    elif lookup_type in {"STORE_EXTERNAL_ID", "STORE_EXTERNAL_ID_1", "STORE_EXTERNAL_ID_2"}:
        target = candidates.filter(store__external_id=lookup_value).order_by("id").first()
    else:
        raise ApiAuthenticationError(
            f"Unsupported attribution type {lookup_type}",
            code=ATTRIBUTION_NOT_FOUND_CODE,
            http_status=400,
        )
    if target is None:
        raise ApiAuthenticationError(
            f"No till found for attribution {lookup_type}={lookup_value}",
            code=ATTRIBUTION_NOT_FOUND_CODE,
            http_status=400,
        )
    return target


class TillBasicAuthentication(authentication.BaseAuthentication):
    www_authenticate_realm = "loyalty"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != b"basic":
            return None
        if len(header) != 2:
            raise ApiAuthenticationError("Invalid Basic authorization header")
        try:
            decoded = base64.b64decode(header[1], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ApiAuthenticationError("Invalid Basic authorization header") from exc
        username, sep, secret = decoded.partition(":")
        if not sep or not username or not secret:
            raise ApiAuthenticationError("Invalid Basic authorization header")
        till = _TILL_BY_CODE.first(code=username)
        if till is None or not till.is_active or not till.org.is_active:
            raise ApiAuthenticationError("Invalid username or password")
        if not till_check_secret(till=till, secret=secret):
            raise ApiAuthenticationError("Invalid username or password")
        principal = ApiPrincipal(
            till=_resolve_attribution(request, till), auth_till=till, auth_method="basic"
        )
        return principal, till

    def authenticate_header(self, request):
        return f'Basic realm="{self.www_authenticate_realm}"'


class OAuthTokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request):
        token = request.META.get(OAUTH_HEADER)
        if not token:
            return None
        try:
            payload = signing.loads(
                token, salt=OAUTH_SALT, max_age=settings.OAUTH_TOKEN_TTL_SECONDS
            )
        except signing.SignatureExpired as exc:
            raise ApiAuthenticationError("Access token expired", code=TOKEN_EXPIRED_CODE) from exc
        except signing.BadSignature as exc:
            raise ApiAuthenticationError("Invalid access token") from exc
        till = _till_queryset().filter(pk=payload.get("till"), org_id=payload.get("org")).first()
        if till is None or not till.is_active or not till.org.is_active:
            raise ApiAuthenticationError("Invalid access token")
        principal = ApiPrincipal(
            till=_resolve_attribution(request, till), auth_till=till, auth_method="oauth"
        )
        return principal, till

    def authenticate_header(self, request):
        return 'X-CAP-API-OAUTH-TOKEN realm="loyalty"'


def md5_hex(password: str) -> str:
    """The form in which tills send their password (contract §8)."""
    return hashlib.md5(password.encode("utf-8")).hexdigest()  # noqa: S324 - mandated by contract
