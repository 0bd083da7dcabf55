"""Helpers of the import tests: write files, and take a snapshot of everything an import may touch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from yigongti.core.models import AuditEntry
from yigongti.registry.models import (
    Alliance,
    AllianceMembership,
    Capacity,
    Department,
    Division,
    DivisionParentPeriod,
    Institution,
    InstitutionPeriod,
    Qualification,
    StaffMember,
)

MODELS = (Division, DivisionParentPeriod, Institution, InstitutionPeriod, Alliance, AllianceMembership, Capacity,
          Department, StaffMember, Qualification, AuditEntry)


def write_csv(path: Path, rows: list[list[str]], *, encoding: str = "utf-8") -> Path:
    """Write ``rows`` (header first) as CSV; cells are plain (tests use no commas inside cells)."""
    path.write_bytes("".join(",".join(row) + "\r\n" for row in rows).encode(encoding))
    return path


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table an import may write, as comparable tuples."""
    return {
        model.__name__: sorted(tuple(str(v) for v in row) for row in model.objects.values_list())
        for model in MODELS
    }
