"""Architecture checks run by the suite: the app layering of DESIGN.md (import-linter)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_layers_contract_names_every_domain_app_of_design() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for app in ("registry", "accounts", "residents", "care", "programmes", "referrals", "insurance",
                "medicines", "surveillance", "aggregate", "analytics", "targets", "reports"):
        assert f"yigongti.{app}" in text, app


def test_models_and_migrations_agree(db: None) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)  # exits non-zero when a model drifted
    assert "No changes detected" in out.getvalue()
