"""Ledger steps on the members transaction seam (settings.TRANSACTION_RETURN_PIPELINE).

On a return the points the original bill earned come back out of the ledger in proportion to the
amount returned (all of them on a FULL or CANCELLED return), and a full return also reverses the
points redemptions the original bill carried, all in one ReturnBill event (ledger seed: "points
return" debits and "redemption reversal" credits on the same event, net in netPointsOnEvent).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.db.models import Sum

from ledger.models import EntryType, EventName, LedgerEntry, PointsRedemption
from ledger.services.returns import ReturnLine, points_transaction_return
from members.models import Program, ReturnType, Transaction

FULL_RETURNS = {ReturnType.FULL, ReturnType.CANCELLED}


def _awarded_points(original: Transaction) -> dict[tuple[int, str], Decimal]:
    """Points credited by the original bill's TransactionAdd events, per (program, category)."""
    rows = (
        LedgerEntry.objects.filter(
            event__transaction=original,
            event__event_name=EventName.TRANSACTION_ADD,
            entry_type=EntryType.CREDIT,
        )
        .values("account__program_id", "account__category")
        .annotate(total=Sum("points"))
    )
    return {(row["account__program_id"], row["account__category"]): row["total"] for row in rows}


def _share(points: Decimal, fraction: Decimal, program: Program) -> Decimal:
    # Rounded down, so the partial returns of one bill never take back more than it earned.
    quantum = Decimal(1).scaleb(-program.points_decimal_places)
    return (points * fraction).quantize(quantum, rounding=ROUND_DOWN)


def _reversible_redemption_codes(original: Transaction) -> list[str]:
    codes = [str(code) for code in original.points_redemption_ids or [] if str(code).strip()]
    if not codes:
        return []
    redemptions = PointsRedemption.objects.filter(org_id=original.org_id, code__in=codes)
    return sorted(r.code for r in redemptions if r.reversible_points > 0)


def ledger_on_transaction_return(
    *, transaction: Transaction, actor: Any, context: dict[str, Any]
) -> list[dict[str, Any]]:
    """Take back the returned share of the original bill's points; report it as a side effect."""
    original = transaction.original
    if original is None or (transaction.customer_id is None and transaction.user_group_id is None):
        return []
    awarded = _awarded_points(original)
    is_full = transaction.return_type in FULL_RETURNS
    if is_full or not original.bill_amount:
        fraction = Decimal(1)
    else:
        fraction = min(Decimal(1), transaction.bill_amount / original.bill_amount)
    programs = Program.objects.in_bulk({program_id for program_id, _ in awarded})
    lines = []
    for (program_id, category), points in sorted(awarded.items()):
        share = _share(points, fraction, programs[program_id])
        if share > 0:
            lines.append(ReturnLine(program=programs[program_id], points=share, category=category))
    redemption_codes = _reversible_redemption_codes(original) if is_full else []
    if not lines and not redemption_codes:
        return []
    event = points_transaction_return(
        return_transaction=transaction,
        actor=actor,
        idempotency_key=f"transaction-return:{transaction.pk}",
        lines=lines,
        redemption_ids=redemption_codes,
        cap_at_available=True,
    )
    debited = defaultdict(Decimal)
    for entry in event.entries.all():
        if entry.entry_type == EntryType.DEBIT:
            debited["points"] += entry.points
    return [
        {
            "entityType": "USER" if transaction.customer_id else "USERGROUP2",
            "type": "points",
            "awardedPoints": str(event.net_points),
            "rawAwardedPoints": str(event.net_points),
            "returnedPoints": str(debited["points"]),
        }
    ]
