"""One module per scenario; each registers itself with @bench.registry.scenario."""
