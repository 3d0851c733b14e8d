"""The SMS gateway. settings.SMS_BACKEND picks the backend:

"console"   log the message and keep it in `outbox` (tests read it like mail.outbox)
"http"      POST JSON {to, body, sender} to SMS_HTTP_URL with `Authorization: Bearer
            SMS_HTTP_TOKEN`, timeout SMS_HTTP_TIMEOUT_SECONDS
dotted path a class with `send(message: SmsMessage) -> SmsResult`
"""

from __future__ import annotations

import http.client
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SmsDeliveryError(Exception):
    """The gateway did not accept the message; `reason` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"SMS not delivered: {reason}")


@dataclass(frozen=True)
class SmsMessage:
    to: str
    body: str
    sender: str = ""


@dataclass(frozen=True)
class SmsResult:
    backend: str
    to: str
    message_id: str = ""


OUTBOX_LIMIT = 100
# The console backend's last OUTBOX_LIMIT messages, oldest first.
outbox: list[SmsMessage] = []


class ConsoleSmsBackend:
    name = "console"

    def send(self, message: SmsMessage) -> SmsResult:
        logger.info("SMS to %s from %s: %s", message.to, message.sender or "-", message.body)
        outbox.append(message)
        del outbox[:-OUTBOX_LIMIT]
        return SmsResult(backend=self.name, to=message.to, message_id=f"console-{len(outbox)}")


class HttpSmsBackend:
    name = "http"

    def __init__(self) -> None:
        self.url = settings.SMS_HTTP_URL
        if urlsplit(self.url).scheme not in ("http", "https"):
            raise ImproperlyConfigured("SMS_HTTP_URL must be an http(s) URL for SMS_BACKEND=http")
        self.token = settings.SMS_HTTP_TOKEN
        self.timeout = settings.SMS_HTTP_TIMEOUT_SECONDS

    def send(self, message: SmsMessage) -> SmsResult:
        payload = {"to": message.to, "body": message.body, "sender": message.sender}
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.url, data=json.dumps(payload).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status = response.status
                content = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:200].decode(errors="replace")
            raise SmsDeliveryError(f"gateway answered HTTP {exc.code}: {detail}".strip())
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise SmsDeliveryError(f"gateway unreachable: {reason}")
        if not 200 <= status < 300:
            raise SmsDeliveryError(f"gateway answered HTTP {status}")
        return SmsResult(backend=self.name, to=message.to, message_id=_message_id(content))


def _message_id(content: bytes) -> str:
    try:
        data = json.loads(content or b"{}")
    except ValueError:
        return ""
    if isinstance(data, dict):
        return str(data.get("id") or data.get("message_id") or data.get("messageId") or "")
    return ""


BACKENDS = {"console": ConsoleSmsBackend, "http": HttpSmsBackend}


def sms_backend_get():
    """The configured backend instance (built per call so settings changes apply at once)."""
    name = settings.SMS_BACKEND
    backend_class = BACKENDS.get(name)
    if backend_class is None:
        try:
            backend_class = import_string(name)
        except ImportError as exc:
            raise ImproperlyConfigured(f"SMS_BACKEND {name!r} is not a backend: {exc}")
    return backend_class()


def send_sms(*, to: str, body: str, sender: str = "") -> SmsResult:
    """Send one SMS through the configured backend. Raises SmsDeliveryError."""
    if not to.strip():
        raise ValueError("SMS recipient is empty")
    if not body:
        raise ValueError("SMS body is empty")
    return sms_backend_get().send(SmsMessage(to=to.strip(), body=body, sender=sender))
