"""Importers of CSV/XLSX files, one per kind, sharing :mod:`.base` (all-or-nothing, row errors)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from yigongti.core.errors import DomainError

from .base import Importer, ImportResult
from .divisions import DivisionImporter
from .encounters import EncounterImporter, ResultImporter
from .followups import FollowupImporter
from .institutions import InstitutionImporter
from .population import PopulationImporter
from .residents import ResidentImporter
from .staff import StaffImporter

IMPORTERS: dict[str, type[Importer[Any]]] = {
    DivisionImporter.kind: DivisionImporter,
    InstitutionImporter.kind: InstitutionImporter,
    StaffImporter.kind: StaffImporter,
    ResidentImporter.kind: ResidentImporter,
    FollowupImporter.kind: FollowupImporter,
    EncounterImporter.kind: EncounterImporter,
    ResultImporter.kind: ResultImporter,
    PopulationImporter.kind: PopulationImporter,
}


class UnknownImportKind(DomainError):
    code = "unknown_import_kind"
    status = 400
    message = _("未知的导入类型“%(kind)s”，可选：%(kinds)s")


def importer_for(kind: str, *, user: Any = None, request: Any = None) -> Importer[Any]:
    """A fresh importer of ``kind`` (one per run: it keeps the run's errors and counts)."""
    try:
        cls = IMPORTERS[kind]
    except KeyError:
        raise UnknownImportKind(kind=kind, kinds=" ".join(IMPORTERS)) from None
    return cls(user=user, request=request)


__all__ = ["IMPORTERS", "ImportResult", "Importer", "UnknownImportKind", "importer_for"]
