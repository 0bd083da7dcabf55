"""The org tree as a materialised path (DESIGN.md "Key mechanisms").

A path is the chain of division codes from the county down, joined by ``/``:
``522399/522399100/522399100201``. "A unit and its subtree" is a prefix match, cheap and
indexable on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

from django.db.models import CharField, Q, QuerySet, Value
from django.db.models.functions import Concat, Substr

SEP = "/"


def join(parent_path: str | None, code: str) -> str:
    return f"{parent_path}{SEP}{code}" if parent_path else code


def subtree_q(path: str, field: str = "path") -> Q:
    """Rows whose ``field`` is ``path`` itself or below it."""
    return Q(**{field: path}) | Q(**{f"{field}__startswith": path + SEP})


def subtree_move(queryset: QuerySet[Any], old: str, new: str, field: str = "path") -> int:
    """A re-parented subtree: replace the prefix ``old`` by ``new`` in ``field`` of the rows of ``queryset``
    inside ``old``'s subtree, in one UPDATE. Returns how many rows."""
    if old == new:
        return 0
    return queryset.filter(subtree_q(old, field)).update(
        **{field: Concat(Value(new), Substr(field, len(old) + 1), output_field=CharField())})


def is_within(path: str, ancestor: str) -> bool:
    return path == ancestor or path.startswith(ancestor + SEP)
