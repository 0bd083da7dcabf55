"""Fixtures of the import tests: the sample registry of docs/samples, loaded through the importers."""

from __future__ import annotations

from pathlib import Path

import pytest

from yigongti.interop.importers import importer_for

SAMPLES = Path(__file__).resolve().parents[2] / "docs" / "samples"


@pytest.fixture
def sample_registry(db: None) -> None:
    """The sample county (云溪县: 2 towns, 4 villages, 8 institutions, one alliance), no staff."""
    for kind in ("divisions", "institutions"):
        importer_for(kind).run(SAMPLES / f"{kind}.csv")
