"""accounts — users, roles, org-unit scope, the audit log, login security."""
