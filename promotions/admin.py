"""Admin for the promotions domain (registered by the promotions issue)."""
