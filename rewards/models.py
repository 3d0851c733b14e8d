"""rewards domain models (added by the rewards issue)."""
