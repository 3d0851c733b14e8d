"""Events from outside the bill flows: custom (behavioural) events and completed targets.

Each is recorded once per org and event id: sending the same event again answers the first
result; the same id with other content is 4095. Points go through the earning engine with the
ledger event name GenericEvent (custom events) or TargetCompleted.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from members.exceptions import CustomerMergedError
from members.models import Customer, RegistrationSource, Till
from promotions.exceptions import PromotionEventConflictError, PromotionEventNameError
from promotions.models import EventKind, PromotionEvent
from promotions.services.context import EarningEvent, TargetInfo
from promotions.services.definitions import EVENT_NAME_PATTERN, event_key_of
from promotions.services.earning import earn_for_event

RESERVED_EVENT_KEYS = {EventKind.TRANSACTION_ADD, EventKind.CUSTOMER_REGISTRATION}
MAX_ATTRIBUTES_BYTES = 10_000
EVENT_ID_MAX_LENGTH = 128
# Events dated further ahead than this are refused (clocks of tills drift a little).
CLOCK_SKEW = datetime.timedelta(minutes=10)


@dataclass
class EventResult:
    event: PromotionEvent
    side_effects: list[dict[str, Any]] = field(default_factory=list)
    is_replay: bool = False


def _fingerprint(**payload: Any) -> str:
    body = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def _amount(value: Any) -> Decimal:
    if value is None or value == "" or isinstance(value, bool):
        return Decimal(0)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return Decimal(0)
    return number if number.is_finite() and number > 0 else Decimal(0)


def _clean_event_id(event_id: str | None) -> str:
    text = (event_id or "").strip()
    if not text:
        return uuid.uuid4().hex
    if len(text) > EVENT_ID_MAX_LENGTH:
        raise PromotionEventNameError(
            f"eventId is longer than {EVENT_ID_MAX_LENGTH} characters", field="eventId"
        )
    return text


def _record_event(
    *,
    customer: Customer,
    event_name: str,
    event_id: str,
    fingerprint: str,
    source: str,
    attributes: Mapping[str, Any],
    occurred_at: datetime.datetime,
    actor: Any,
) -> tuple[PromotionEvent, bool]:
    """(the event row, created); an existing id with the same fingerprint is a replay."""
    existing = PromotionEvent.objects.filter(org_id=customer.org_id, event_id=event_id).first()
    if existing is None:
        row = PromotionEvent(
            org_id=customer.org_id,
            customer=customer,
            event_name=event_name,
            event_key=event_key_of(event_name),
            event_id=event_id,
            request_fingerprint=fingerprint,
            source=source,
            attributes=dict(attributes),
            occurred_at=occurred_at,
            till=actor if isinstance(actor, Till) else None,
        )
        try:
            with transaction.atomic():
                row.save()
            return row, True
        except IntegrityError:
            existing = PromotionEvent.objects.get(org_id=customer.org_id, event_id=event_id)
    if existing.request_fingerprint != fingerprint:
        raise PromotionEventConflictError(
            f"eventId {event_id!r} was already used for a different event", field="eventId"
        )
    return existing, False


def _check_customer(customer: Customer) -> None:
    if customer.merged_into_id:
        raise CustomerMergedError(
            f"Customer has been merged into customer {customer.merged_into_id}"
        )


@transaction.atomic
def promotion_event_fire(
    *,
    customer: Customer,
    event_name: str,
    actor: Any,
    event_id: str | None = None,
    source: str = RegistrationSource.INSTORE,
    occurred_at: datetime.datetime | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> EventResult:
    """A custom event for `customer`: the promotions whose eventName is `event_name` earn on it.
    `attributes` are readable as event.attributes.<key>; `amount` (or `value`) is what
    PER_CURRENCY_UNIT / PERCENT awards apply to. Raises 4094 (bad or reserved name), 4095."""
    name = (event_name or "").strip()
    if not EVENT_NAME_PATTERN.match(name):
        raise PromotionEventNameError(
            f"eventName {event_name!r}: use letters, digits and underscores", field="eventName"
        )
    key = event_key_of(name)
    if key in RESERVED_EVENT_KEYS:
        raise PromotionEventNameError(
            f"{name} events come from the transaction and registration APIs", field="eventName"
        )
    if key == EventKind.TARGET_COMPLETED:
        raise PromotionEventNameError(
            "Completed targets go through promotion_target_completed", field="eventName"
        )
    attributes = dict(attributes or {})
    if len(json.dumps(attributes, default=str)) > MAX_ATTRIBUTES_BYTES:
        raise PromotionEventNameError("attributes are too large", field="attributes")
    now = timezone.now()
    if occurred_at is not None and occurred_at > now + CLOCK_SKEW:
        raise PromotionEventNameError("eventTime is in the future", field="eventTime")
    _check_customer(customer)
    event_id = _clean_event_id(event_id)
    fingerprint = _fingerprint(
        customer=customer.pk,
        event=key,
        source=source,
        attributes=attributes,
        occurred_at=occurred_at.isoformat() if occurred_at is not None else None,
    )
    occurred_at = occurred_at or now
    row, created = _record_event(
        customer=customer,
        event_name=name,
        event_id=event_id,
        fingerprint=fingerprint,
        source=source,
        attributes=attributes,
        occurred_at=occurred_at,
        actor=actor,
    )
    if not created:
        return EventResult(event=row, side_effects=list(row.side_effects), is_replay=True)
    side_effects = earn_for_event(
        customer=customer,
        event=EarningEvent(
            event_key=key,
            event_name=name,
            ledger_event_name="GenericEvent",
            source_key=f"event:{row.pk}",
            occurred_at=occurred_at,
            source=source,
            till=actor if isinstance(actor, Till) else None,
            amount=_amount(attributes.get("amount", attributes.get("value"))),
            attributes=attributes,
        ),
        actor=actor,
    )
    row.side_effects = side_effects
    row.save(update_fields=["side_effects"])
    return EventResult(event=row, side_effects=side_effects)


@transaction.atomic
def promotion_target_completed(
    *,
    customer: Customer,
    actor: Any,
    idempotency_key: str,
    target_rule_id: int | str | None = None,
    target_group_id: int | str | None = None,
    target_name: str = "",
    value: Decimal | int | str | None = None,
    source: str = RegistrationSource.INSTORE,
    occurred_at: datetime.datetime | None = None,
) -> EventResult:
    """A target (of a target group) completed by `customer`: TARGETCOMPLETED promotions whose
    targetRuleIds / targetGroupIds include it earn (ledger event TargetCompleted). `value` is
    what PER_CURRENCY_UNIT / PERCENT awards apply to. A repeated key answers the first result."""
    _check_customer(customer)
    now = timezone.now()
    occurred_at = occurred_at or now
    target = TargetInfo(
        rule_id=str(target_rule_id or "").strip(),
        group_id=str(target_group_id or "").strip(),
        name=(target_name or "").strip(),
        value=_amount(value) if value not in (None, "") else None,
    )
    attributes = {
        "targetRuleId": target.rule_id,
        "targetGroupId": target.group_id,
        "targetName": target.name,
        "value": str(target.value) if target.value is not None else None,
    }
    row, created = _record_event(
        customer=customer,
        event_name="TargetCompleted",
        event_id=_clean_event_id(idempotency_key),
        fingerprint=_fingerprint(customer=customer.pk, event="TARGETCOMPLETED", **attributes),
        source=source,
        attributes=attributes,
        occurred_at=occurred_at,
        actor=actor,
    )
    if not created:
        return EventResult(event=row, side_effects=list(row.side_effects), is_replay=True)
    side_effects = earn_for_event(
        customer=customer,
        event=EarningEvent(
            event_key=EventKind.TARGET_COMPLETED,
            event_name="TargetCompleted",
            ledger_event_name="TargetCompleted",
            source_key=f"event:{row.pk}",
            occurred_at=occurred_at,
            source=source,
            till=actor if isinstance(actor, Till) else None,
            amount=target.value or Decimal(0),
            target=target,
        ),
        actor=actor,
    )
    row.side_effects = side_effects
    row.save(update_fields=["side_effects"])
    return EventResult(event=row, side_effects=side_effects)
