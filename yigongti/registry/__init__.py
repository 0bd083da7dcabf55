"""registry — the county network: divisions, institutions, alliances, staff, capacities, standards."""
