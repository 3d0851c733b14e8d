"""Customer merge on the ledger: the two ledgers stay distinct; the victim hands its balances over.

Per account of the victim: a positive balance is a DEBIT on the victim (its last entry) and a
CREDIT on the survivor, whose new lots keep the victim's expiry and maturity dates; a negative
balance is the other way round (victim CREDIT, survivor DEBIT, which may take the survivor below
zero: the only way a balance goes negative). Then Customer.merged_into is set, and every later
posting to the victim fails with CustomerMergedError (8069).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction as db_transaction
from django.utils import timezone

from ledger.exceptions import (
    CustomerAlreadyMergedError,
    InvalidLedgerRequestError,
    MergeSameCustomerError,
)
from ledger.models import EventName, LedgerEvent, PointsAccount
from ledger.services.posting import (
    ZERO,
    CreditPart,
    EventWriter,
    accounts_open,
    clean_idempotency_key,
    ensure_not_merged,
    event_create,
    find_replay,
    keyed_event_create,
    lock_for_write,
    owner_label,
    request_fingerprint,
)
from members.models import Customer


@dataclass(frozen=True)
class LedgerMergeResult:
    victim_event: LedgerEvent
    survivor_event: LedgerEvent

    @property
    def is_replay(self) -> bool:
        return getattr(self.victim_event, "is_replay", False)


def _result(victim_event: LedgerEvent) -> LedgerMergeResult:
    survivor_event = LedgerEvent.objects.get(pk=victim_event.related_event_id)
    return LedgerMergeResult(victim_event=victim_event, survivor_event=survivor_event)


def _check(victim: Customer, survivor: Customer) -> None:
    if victim.merged_into_id:
        raise CustomerAlreadyMergedError(
            f"Customer {victim.pk} is already merged into customer {victim.merged_into_id}"
        )
    ensure_not_merged(survivor)


@db_transaction.atomic
def ledger_customer_merge(
    *, victim: Customer, survivor: Customer, actor: Any, idempotency_key: str
) -> LedgerMergeResult:
    """Merge `victim` into `survivor`: a MergeCustomer event on each ledger (linked), balances
    moved as described above, and victim.merged_into = survivor.

    Raises MergeSameCustomerError (8053), CustomerAlreadyMergedError (8067, victim already
    merged), CustomerMergedError (8069, survivor merged away), InvalidLedgerRequestError (orgs).
    """
    key = clean_idempotency_key(idempotency_key)
    if victim.pk == survivor.pk:
        raise MergeSameCustomerError()
    if victim.org_id != survivor.org_id:
        raise InvalidLedgerRequestError("Victim and survivor belong to different orgs")
    fingerprint = request_fingerprint(
        "ledger_customer_merge", victim=victim.pk, survivor=survivor.pk
    )
    replay = find_replay(org_id=victim.org_id, key=key, fingerprint=fingerprint)
    if replay is not None:
        return _result(replay)
    _check(victim, survivor)

    fresh = lock_for_write([victim, survivor])
    replay = find_replay(org_id=victim.org_id, key=key, fingerprint=fingerprint)
    if replay is not None:
        return _result(replay)
    _check(fresh[owner_label(victim)], fresh[owner_label(survivor)])

    account_keys = sorted(
        PointsAccount.objects.filter(customer=victim).values_list("program_id", "category")
    )
    victim_accounts, _ = accounts_open(owner=victim, keys=account_keys, actor=actor)
    survivor_accounts, _ = accounts_open(owner=survivor, keys=account_keys, actor=actor)

    victim_event = keyed_event_create(
        idempotency_key=key,
        fingerprint=fingerprint,
        owner=victim,
        event_name=EventName.MERGE_CUSTOMER,
        actor=actor,
        details={"survivorCustomerId": survivor.pk},
    )
    if getattr(victim_event, "is_replay", False):
        return _result(victim_event)
    survivor_event = event_create(
        owner=survivor,
        event_name=EventName.MERGE_CUSTOMER,
        actor=actor,
        related_event=victim_event,
        details={"victimCustomerId": victim.pk},
    )
    LedgerEvent.objects.filter(pk=victim_event.pk).update(related_event=survivor_event)
    victim_event.related_event = survivor_event

    victim_writer = EventWriter(victim_event)
    survivor_writer = EventWriter(survivor_event, now=victim_writer.now)
    for account_key in account_keys:
        from_account = victim_accounts[account_key]
        to_account = survivor_accounts[account_key]
        balance = from_account.balance
        if balance > ZERO:
            # Every lot goes, expired-but-not-yet-expired-by-the-job ones too: the survivor's
            # expiry run takes those.
            plan = victim_writer.plan(from_account, balance)
            victim_writer.debit(from_account, balance, plan=plan)
            survivor_writer.credit(
                to_account,
                [
                    CreditPart(
                        points=taken,
                        expires_at=lot.expires_at,
                        matures_at=lot.matures_at,
                        transaction_id=lot.transaction_id,
                    )
                    for lot, taken in plan
                ],
            )
        elif balance < ZERO:
            victim_writer.credit(from_account, [CreditPart(points=-balance)])
            survivor_writer.debit(to_account, -balance, allow_negative=True)

    Customer.objects.filter(pk=victim.pk).update(merged_into=survivor, updated_at=timezone.now())
    victim.merged_into = survivor
    return LedgerMergeResult(
        victim_event=victim_writer.finish(), survivor_event=survivor_writer.finish()
    )
