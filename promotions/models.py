"""promotions domain models (added by the promotions issue)."""
