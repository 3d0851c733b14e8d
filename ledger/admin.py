"""Admin for the ledger domain (registered by the ledger issue)."""
