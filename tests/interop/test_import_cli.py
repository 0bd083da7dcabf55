"""``ygt import`` through the real entry point (:func:`yigongti.cli.main`): exit codes and output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import connections

from tests.factories.registry import valid_resident_id
from tests.interop.conftest import SAMPLES
from tests.interop.helpers import write_csv
from yigongti.cli import main
from yigongti.registry.models import Division, StaffMember


@pytest.fixture(autouse=True)
def _keep_the_test_connection(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Django's ``run_from_argv`` closes every connection when a command ends; inside a test's
    transaction that would drop it (a transactional test cannot help: the append-only audit log
    refuses the flush between tests), so the close is skipped here."""
    monkeypatch.setattr(connections, "close_all", lambda: None)


def test_samples_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    for kind in ("divisions", "institutions", "staff"):
        assert main(["import", kind, str(SAMPLES / f"{kind}.csv")]) == 0
    out = capsys.readouterr().out
    assert "导入 staff：staff.csv，12 行" in out
    assert "卫生人员" in out and "12" in out
    assert StaffMember.objects.count() == 12


def test_dry_run_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "divisions", str(SAMPLES / "divisions.csv"), "--dry-run"]) == 0
    assert "试运行，未写入" in capsys.readouterr().out
    assert not Division.objects.exists()
    assert main(["import", "divisions", str(SAMPLES / "divisions.csv"), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["counts"]["division"] == {"created": 7, "updated": 0, "unchanged": 0}
    assert data["dry_run"] is False


def test_row_errors_go_to_stderr_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for kind in ("divisions", "institutions"):
        assert main(["import", kind, str(SAMPLES / f"{kind}.csv")]) == 0
    capsys.readouterr()
    male = valid_resident_id(male=True)
    path = write_csv(tmp_path / "staff.csv", [
        ["id_number", "name", "sex", "institution_code"],
        [valid_resident_id(male=False), "李芳", "女", "T522399100"],
        [male, "王五", "女", "T522399100"],
        [valid_resident_id(), "张三", "男", "NOPE"],
    ])
    assert main(["import", "staff", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "ygt import: 文件有 2 处错误，未写入任何数据。"
    assert err[1].startswith("  第 3 行，列“sex”：")
    assert err[2].startswith("  第 4 行，列“institution_code”：") and "NOPE" in err[2]
    assert not StaffMember.objects.exists()


@pytest.mark.parametrize(("args", "words"), [
    (["import", "people", "x.csv"], "未知的导入类型“people”，可选：divisions institutions staff"),
    (["import", "staff", "/nonexistent/staff.csv"], "文件不存在"),
])
def test_one_line_errors(args: list[str], words: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err


def test_malformed_xlsx_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "staff.xlsx"
    path.write_bytes(b"PK\x03\x04 broken")
    assert main(["import", "staff", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "ygt import: 无法读取文件“staff.xlsx”：不是有效的 .xlsx 工作簿（文件已损坏或不是 Excel 2007+ 格式）"
