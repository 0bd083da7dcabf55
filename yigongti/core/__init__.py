"""Shared kernel: domain errors, the injectable clock, org-tree paths. Depends on nothing of ours."""
