"""Admin for the rewards domain (registered by the rewards issue)."""
