"""``ygt plan``: formats, history files (encodings, bad rows), errors — and no database."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from yigongti.programmes.engine import VariantInvalid

COLUMNS = ["item", "due", "window_start", "window_end", "status"]


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("plan", *args, stdout=out)
    return out.getvalue()


def write(tmp_path: Path, text: str, encoding: str = "utf-8") -> str:
    path = tmp_path / "history.csv"
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_json_rows_have_exactly_the_columns() -> None:
    rows = json.loads(run("--programme", "immunisation", "--start", "2025-01-01", "--as-of", "2025-03-01",
                          "--format", "json"))
    assert rows and all(list(r) == COLUMNS for r in rows)
    first = rows[0]
    assert first == {"item": "HepB-1", "due": "2025-01-01", "window_start": "2025-01-01",
                     "window_end": "2025-01-02", "status": "catch-up"}


def test_csv_and_table_formats() -> None:
    args = ("--programme", "hypertension", "--start", "2025-01-06", "--as-of", "2025-01-10")
    reader = list(csv.DictReader(io.StringIO(run(*args, "--format", "csv"))))
    assert reader[0] == {"item": "followup", "due": "2025-01-06", "window_start": "2025-01-06",
                         "window_end": "2025-01-20", "status": "due"}
    table = run(*args).splitlines()
    assert table[0].split() == COLUMNS
    assert table[1].split() == ["followup", "2025-01-06", "2025-01-06", "2025-01-20", "due"]
    assert len(table) == len(reader) + 1


def test_history_with_measurements_sets_next_followup(tmp_path: Path) -> None:
    history = write(tmp_path, "\ufeffitem,date,sbp,dbp,fpg\nfollowup,2025-01-08,150,95,\n")
    rows = json.loads(run("--programme", "hypertension", "--start", "2025-01-06", "--as-of", "2025-01-09",
                          "--history", history, "--format", "json"))
    assert rows[0]["status"] == "done"
    nxt = next(r for r in rows if r["item"] == "followup" and r["status"] != "done")
    assert nxt["due"] == "2025-01-22"  # not controlled: within 2 weeks


def test_history_gb18030_and_variant(tmp_path: Path) -> None:
    history = write(tmp_path, "item,date,lot_no\nJE-I-1,2025-09-01,批号甲\n", "gb18030")
    rows = json.loads(run("--programme", "immunisation", "--start", "2025-01-01", "--as-of", "2025-09-02",
                          "--history", history, "--variant", "JE=JE-I", "--variant", "HepA=HepA-I",
                          "--format", "json"))
    items = {r["item"]: r for r in rows}
    assert items["JE-I-1"]["status"] == "done" and "JE-I-4" in items and "HepA-I-2" in items
    assert items["JE-I-2"]["due"] == "2025-09-08"


@pytest.mark.parametrize(("text", "needle"), [
    ("item,date\nfollowup,2025-13-01\n", "第 2 行"),
    ("item,date\nfollowup,2025-01-01\nvisit,2025-02-01\n", "第 3 行"),
    ("item,date,sbp,dbp\nfollowup,2025-01-01,400,20\n", "sbp"),
    ("item,date,colour\nfollowup,2025-01-01,blue\n", "colour"),
    ("date,sbp\n2025-01-01,120\n", "item"),
])
def test_bad_history_rows(tmp_path: Path, text: str, needle: str) -> None:
    with pytest.raises(CommandError) as error:
        run("--programme", "hypertension", "--start", "2025-01-01", "--history", write(tmp_path, text))
    message = str(error.value)
    assert needle in message and "\n" not in message


def test_unknown_programme_lists_codes() -> None:
    with pytest.raises(CommandError) as error:
        run("--programme", "flu", "--start", "2025-01-01")
    assert "hypertension" in str(error.value) and "immunisation" in str(error.value)


def test_bad_arguments() -> None:
    with pytest.raises(CommandError):
        run("--programme", "tb", "--start", "yesterday")
    with pytest.raises(CommandError):
        run("--programme", "tb", "--start", "2025-01-01", "--format", "xml")
    with pytest.raises(CommandError):
        run("--programme", "immunisation", "--start", "2025-01-01", "--variant", "JE")
    with pytest.raises(VariantInvalid):
        run("--programme", "immunisation", "--start", "2025-01-01", "--variant", "JE=JE-X")


def test_as_of_defaults_to_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YGT_TODAY", "2025-01-10")
    assert run("--programme", "hypertension", "--start", "2025-01-06").splitlines()[1].split()[-1] == "due"
    monkeypatch.setenv("YGT_TODAY", "2025-03-10")
    assert run("--programme", "hypertension", "--start", "2025-01-06").splitlines()[1].split()[-1] == "overdue"


def test_ygt_plan_runs_without_a_database(tmp_path: Path) -> None:
    env = dict(os.environ, DATABASE_URL="postgres://nobody@127.0.0.1:1/nothing", YGT_TODAY="2025-02-01")
    code = "import sys; from yigongti.cli import main; sys.exit(main(sys.argv[1:]))"
    ok = subprocess.run([sys.executable, "-c", code, "plan", "--programme", "child", "--start", "2025-01-01",
                         "--format", "csv"], capture_output=True, text=True, env=env, check=False)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[0] == ",".join(COLUMNS)
    bad = subprocess.run([sys.executable, "-c", code, "plan", "--programme", "nope", "--start", "2025-01-01"],
                         capture_output=True, text=True, env=env, check=False)
    assert bad.returncode != 0 and "nope" in bad.stderr and "Traceback" not in bad.stderr
