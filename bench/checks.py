"""Set-wise ledger checks over a benchmark org, cheap at millions of rows: the invariants the
ledger promises (balance = sum of entries; open lots add up to the balance), in one query."""

from __future__ import annotations

from bench.sql import scalar

LEDGER_DRIFT_SQL = """
WITH entry_sums AS (
    SELECT n.account_id,
           sum(CASE WHEN n.entry_type = 'DEBIT' THEN -n.points ELSE n.points END) AS total
    FROM ledger_ledgerentry n JOIN ledger_pointsaccount a ON a.id = n.account_id
    WHERE a.org_id = %(org)s GROUP BY n.account_id
), lot_sums AS (
    SELECT l.account_id, sum(l.remaining_points) AS total
    FROM ledger_pointslot l JOIN ledger_pointsaccount a ON a.id = l.account_id
    WHERE a.org_id = %(org)s GROUP BY l.account_id
)
SELECT count(*) FROM ledger_pointsaccount a
LEFT JOIN entry_sums e ON e.account_id = a.id
LEFT JOIN lot_sums l ON l.account_id = a.id
WHERE a.org_id = %(org)s
  AND (coalesce(e.total, 0) <> a.balance OR coalesce(l.total, 0) <> greatest(a.balance, 0))
"""


def ledger_drift_count(*, org_id: int) -> int:
    """Accounts of the org whose balance differs from its entries or from its open lots."""
    return int(scalar(LEDGER_DRIFT_SQL, {"org": org_id}))
