"""Row locks of the promotions services (one place, so the lock order stays the same everywhere:
the customer first, then promotion usage rows in pk order, then the ledger's own locks)."""

from __future__ import annotations

from members.models import Customer


def customer_lock(customer_id: int) -> None:
    """Lock the customer's row for the rest of the transaction. No ordering and no join, so only
    that row is locked (an ORDER BY through the org would lock the org's row too)."""
    list(
        Customer.objects.select_for_update()
        .filter(pk=customer_id)
        .order_by()
        .values_list("pk", flat=True)
    )
