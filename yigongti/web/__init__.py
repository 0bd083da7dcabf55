"""web — the UI shell: layout, login, home page per role, language switch."""
