"""The SMS gateway backends and the notification helpers."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.exceptions import ImproperlyConfigured

from loyalty_site.core import sms
from loyalty_site.core.notifications import notify_email, notify_sms
from loyalty_site.core.sms import SmsDeliveryError, SmsMessage, SmsResult, send_sms


@pytest.fixture(autouse=True)
def _empty_outbox():
    sms.outbox.clear()
    yield
    sms.outbox.clear()


class GatewayHandler(BaseHTTPRequestHandler):
    """A fake SMS gateway: /ok accepts, /broken answers 500; it records what it received."""

    received: list[dict] = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        self.received.append(
            {
                "path": self.path,
                "authorization": self.headers.get("Authorization"),
                "content_type": self.headers.get("Content-Type"),
                "body": json.loads(self.rfile.read(length)),
            }
        )
        if self.path == "/ok":
            payload, status = b'{"id": "msg-42"}', 200
        else:
            payload, status = b"upstream exploded", 500
        self.send_response(status)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format, *args):  # keep test output quiet
        pass


@pytest.fixture
def gateway():
    GatewayHandler.received = []
    server = HTTPServer(("127.0.0.1", 0), GatewayHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", GatewayHandler.received
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def http_backend(settings):
    settings.SMS_BACKEND = "http"
    settings.SMS_HTTP_TOKEN = "gateway-token"
    settings.SMS_HTTP_TIMEOUT_SECONDS = 2
    return settings


# --- console ---------------------------------------------------------------------------------


def test_console_backend_logs_and_keeps_the_message(settings, caplog):
    # given
    settings.SMS_BACKEND = "console"

    # when
    with caplog.at_level("INFO", logger="loyalty_site.core.sms"):
        result = send_sms(to="919800000001", body="Your code is 1234", sender="ACME")

    # then
    assert result.backend == "console"
    assert result.to == "919800000001"
    assert sms.outbox == [SmsMessage(to="919800000001", body="Your code is 1234", sender="ACME")]
    assert "Your code is 1234" in caplog.text


def test_console_outbox_keeps_only_the_last_messages(settings):
    settings.SMS_BACKEND = "console"

    for number in range(sms.OUTBOX_LIMIT + 5):
        send_sms(to="919800000001", body=f"message {number}")

    assert len(sms.outbox) == sms.OUTBOX_LIMIT
    assert sms.outbox[0].body == "message 5"
    assert sms.outbox[-1].body == f"message {sms.OUTBOX_LIMIT + 4}"


def test_an_empty_recipient_or_body_is_refused(settings):
    settings.SMS_BACKEND = "console"

    with pytest.raises(ValueError):
        send_sms(to="  ", body="hello")
    with pytest.raises(ValueError):
        send_sms(to="919800000001", body="")
    assert sms.outbox == []


# --- http ------------------------------------------------------------------------------------


def test_http_backend_posts_json_with_the_bearer_token(http_backend, gateway):
    # given
    url, received = gateway
    http_backend.SMS_HTTP_URL = f"{url}/ok"

    # when
    result = send_sms(to="919800000001", body="Welcome to Acme", sender="ACME")

    # then
    assert result == SmsResult(backend="http", to="919800000001", message_id="msg-42")
    assert received == [
        {
            "path": "/ok",
            "authorization": "Bearer gateway-token",
            "content_type": "application/json",
            "body": {"to": "919800000001", "body": "Welcome to Acme", "sender": "ACME"},
        }
    ]


def test_http_backend_raises_on_a_server_error(http_backend, gateway):
    # given
    url, received = gateway
    http_backend.SMS_HTTP_URL = f"{url}/broken"

    # when / then
    with pytest.raises(SmsDeliveryError) as caught:
        send_sms(to="919800000001", body="Welcome")
    assert caught.value.reason == "gateway answered HTTP 500: upstream exploded"
    assert len(received) == 1


def test_http_backend_raises_when_the_gateway_is_unreachable(http_backend):
    # given a port nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    http_backend.SMS_HTTP_URL = f"http://127.0.0.1:{port}/send"

    # when / then
    with pytest.raises(SmsDeliveryError, match="gateway unreachable"):
        send_sms(to="919800000001", body="Welcome")


def test_http_backend_needs_an_http_url(http_backend):
    http_backend.SMS_HTTP_URL = "file:///etc/passwd"

    with pytest.raises(ImproperlyConfigured):
        send_sms(to="919800000001", body="Welcome")


# --- custom backend --------------------------------------------------------------------------


class RecordingBackend:
    sent: list[SmsMessage] = []

    def send(self, message: SmsMessage) -> SmsResult:
        self.sent.append(message)
        return SmsResult(backend="recording", to=message.to, message_id="r1")


def test_a_dotted_path_selects_a_custom_backend(settings):
    settings.SMS_BACKEND = f"{__name__}.RecordingBackend"
    RecordingBackend.sent = []

    result = send_sms(to="919800000001", body="Hi")

    assert result.message_id == "r1"
    assert RecordingBackend.sent == [SmsMessage(to="919800000001", body="Hi")]


def test_an_unknown_backend_is_a_configuration_error(settings):
    settings.SMS_BACKEND = "no.such.Backend"

    with pytest.raises(ImproperlyConfigured):
        send_sms(to="919800000001", body="Hi")


# --- notifications ---------------------------------------------------------------------------


def test_notify_email_sends_through_the_mail_backend(mailoutbox, settings):
    # when
    sent = notify_email(
        to=["tom@example.com", " "], subject="Your points", body="You have 120 points."
    )

    # then
    assert sent == 1
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["tom@example.com"]
    assert message.subject == "Your points"
    assert message.body == "You have 120 points."
    assert message.from_email == settings.DEFAULT_FROM_EMAIL


def test_notify_email_without_recipients_is_refused(mailoutbox):
    with pytest.raises(ValueError):
        notify_email(to=[], subject="x", body="y")
    assert mailoutbox == []


def test_notify_sms_sends_through_the_gateway(settings):
    settings.SMS_BACKEND = "console"

    result = notify_sms(to="919800000001", body="You have 120 points.")

    assert result.backend == "console"
    assert [message.body for message in sms.outbox] == ["You have 120 points."]
