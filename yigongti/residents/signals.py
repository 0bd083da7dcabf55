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

from collections.abc import Mapping, Sequence
from typing import Any

from django.db.models import Model
from django.dispatch import Signal

from yigongti.core.tree import subtree_move
from yigongti.registry.services import path_moved

from .models import Household, MatchPair, Resident

resident_moved = Signal()  # kwargs: resident, from_path, to_path
resident_registered = Signal()  # kwargs: resident, user
resident_status_changed = Signal()  # kwargs: resident, old, new
resident_merging = Signal()  # kwargs: survivor, merged


def on_division_path_moved(sender: Any, *, old: str, new: str, **kwargs: Any) -> None:
    """A division subtree was re-parented: rewrite the paths of residents, households and pairs."""
    if old == new:
        return
    for model in (Resident, Household, MatchPair):
        subtree_move(model.objects.all(), old, new)


def follow_resident(models: Sequence[type[Model]], *, uid: str, resident_field: str = "resident",
                    extra_path_fields: Mapping[type[Model], Sequence[str]] | None = None) -> None:
    """Keep the ``path`` of person-level rows of a higher app equal to their resident's path.

    Connects three receivers for ``models`` (each with a ``path`` column and a foreign key
    ``resident_field`` to :class:`Resident`): a transfer rewrites the resident's rows to the new
    village; a merge gives the merged record's rows the survivor's path before they move to it;
    a re-parented division rewrites the prefix of ``path`` and of the ``extra_path_fields`` of each
    model (institution paths a referral carries). Called from the app's ``AppConfig.ready()``.
    """
    extra = dict(extra_path_fields or {})

    def on_moved(sender: Any, *, resident: Resident, to_path: str, **kwargs: Any) -> None:
        for model in models:
            model._base_manager.filter(**{resident_field: resident}).update(path=to_path)

    def on_merging(sender: Any, *, survivor: Resident, merged: Resident, **kwargs: Any) -> None:
        if merged.path == survivor.path:
            return
        for model in models:
            model._base_manager.filter(**{resident_field: merged}).update(path=survivor.path)

    def on_path_moved(sender: Any, *, old: str, new: str, **kwargs: Any) -> None:
        if old == new:
            return
        for model in models:
            for field in ("path", *extra.get(model, ())):
                subtree_move(model._base_manager.all(), old, new, field)

    resident_moved.connect(on_moved, dispatch_uid=f"{uid}.resident_moved", weak=False)
    resident_merging.connect(on_merging, dispatch_uid=f"{uid}.resident_merging", weak=False)
    path_moved.connect(on_path_moved, dispatch_uid=f"{uid}.division_path_moved", weak=False)
