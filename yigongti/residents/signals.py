"""Signals of the residents app, and its receiver of the registry's path rewrites.

- :data:`resident_moved` — sent inside the transaction of a transfer (档案迁移), once per resident
  moved, with ``resident``, ``from_path`` and ``to_path``. Apps above residents that copy the
  resident's path onto their own rows (encounters, follow-ups, claims …) connect to it and rewrite
  their denormalised paths, so the new village sees the whole history and the old one none of it.
- :data:`resident_registered` — sent inside the transaction of a registration (建档) with
  ``resident`` and ``user``: programmes enrol a newborn in child health and immunisation at once.
- :data:`resident_status_changed` — sent inside the transaction that changes a record's status
  (在册 / 迁出 / 死亡) with ``resident``, ``old`` and ``new``: programmes close the enrolments of
  a resident who died or left the county.
- :data:`resident_merging` — sent inside a merge before the linked rows move, with ``survivor``
  and ``merged``: an app whose rows allow one live row per resident (an active enrolment) closes
  the merged record's duplicates so the move does not collide.
"""

from __future__ import annotations

from typing import Any

from django.db.models import CharField, Value
from django.db.models.functions import Concat, Substr
from django.dispatch import Signal

from yigongti.core.tree import subtree_q

from .models import Household, MatchPair, Resident

resident_moved = Signal()  # kwargs: resident, from_path, to_path
resident_registered = Signal()  # kwargs: resident, user
resident_status_changed = Signal()  # kwargs: resident, old, new
resident_merging = Signal()  # kwargs: survivor, merged


def on_division_path_moved(sender: Any, *, old: str, new: str, **kwargs: Any) -> None:
    """A division subtree was re-parented: rewrite the paths of residents, households and pairs."""
    if old == new:
        return
    rewritten = Concat(Value(new), Substr("path", len(old) + 1), output_field=CharField())
    for model in (Resident, Household, MatchPair):
        model.objects.filter(subtree_q(old)).update(path=rewritten)
