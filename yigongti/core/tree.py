"""The org tree as a materialised path (DESIGN.md "Key mechanisms").

A path is the chain of division codes from the county down, joined by ``/``:
``522399/522399100/522399100201``. "A unit and its subtree" is a prefix match, cheap and
indexable on SQLite and PostgreSQL.
"""

from __future__ import annotations

from django.db.models import Q

SEP = "/"


def join(parent_path: str | None, code: str) -> str:
    return f"{parent_path}{SEP}{code}" if parent_path else code


def subtree_q(path: str, field: str = "path") -> Q:
    """Rows whose ``field`` is ``path`` itself or below it."""
    return Q(**{field: path}) | Q(**{f"{field}__startswith": path + SEP})


def is_within(path: str, ancestor: str) -> bool:
    return path == ancestor or path.startswith(ancestor + SEP)
