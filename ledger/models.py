"""ledger domain models (added by the ledger issue)."""
