"""Outgoing member notifications: email through Django's backend, SMS through the gateway."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail

from loyalty_site.core.sms import SmsResult, send_sms


def notify_email(*, to: list[str], subject: str, body: str, from_email: str | None = None) -> int:
    """Send a plain-text email; returns the number sent. Raises the backend's error (SMTP...)."""
    recipients = [address.strip() for address in to if address and address.strip()]
    if not recipients:
        raise ValueError("Email has no recipient")
    return send_mail(
        subject=subject,
        message=body,
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        recipient_list=recipients,
        fail_silently=False,
    )


def notify_sms(*, to: str, body: str, sender: str = "") -> SmsResult:
    """Send an SMS through the configured gateway. Raises SmsDeliveryError."""
    return send_sms(to=to, body=body, sender=sender)
