"""demo — a deterministic synthetic county, one module per domain, run in dependency order."""
