"""``ygt stock report``: per institution the items on its list, out of stock, below the reorder level,
expiring and expired (quantities and value) and the ledger check; JSON, CSV and table; exit 1 with one
line when the ledger does not balance, 2 on bad input, never a traceback."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import pytest
from django.db import connections

from tests.medicines.conftest import AMOX, DAY, NIFE, Med
from yigongti.cli import USAGE, main
from yigongti.medicines.models import Movement
from yigongti.medicines.selectors import formulary


@pytest.fixture
def scene(med: Med, monkeypatch: pytest.MonkeyPatch) -> Med:
    """The village clinic: 4 amoxicillin expiring in 30 days (below its reorder level of 10), 20 nifedipine
    of a lot that expired on 2026-03-01 (8.60 each), nothing else — out of everything else on its list."""
    monkeypatch.setattr(connections, "close_all", lambda: None)  # ``ygt`` inside the test's transaction
    med.stock(med.village_clinic, AMOX, 4, expiry=DAY + dt.timedelta(days=30))
    med.stock(med.village_clinic, NIFE, 20, expiry=DAY - dt.timedelta(days=1), day=DAY - dt.timedelta(days=60))
    return med


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["stock", "report", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_json_report(scene: Med, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--org", scene.village_clinic.code, "--date", DAY.isoformat(), "--format", "json")
    assert (code, err) == (0, "")
    data: dict[str, Any] = json.loads(out)
    assert (data["date"], data["days"]) == ("2026-03-02", 90)
    (row,) = data["institutions"]
    listed = len(formulary("village", DAY))
    assert row["code"] == scene.village_clinic.code and row["listed"] == listed
    assert row["low"] == [AMOX] and NIFE in row["out"] and len(row["out"]) == listed - 1
    assert (row["expiring_quantity"], row["expiring_value"]) == (4, "16.80")
    assert (row["expired_quantity"], row["expired_value"]) == (20, "172.00")
    assert (row["on_hand"], row["value"]) == (24, "188.80")
    assert data["ledger"] == {"ok": True, "negative": [], "bad_amount": [], "unmatched_transfers": [],
                              "stale_balances": [], "stale_use": []}


def test_days_and_date_and_subtree(scene: Med, capsys: pytest.CaptureFixture[str]) -> None:
    _code, out, _err = run(capsys, "--org", scene.centre.code, "--date", "2026-03-02", "--days", "10",
                           "--format", "json")
    rows = {row["code"]: row for row in json.loads(out)["institutions"]}
    c = scene.county
    assert set(rows) == {scene.centre.code, *(c.clinics[v.code].code for v in c.villages[c.townships[0].code])}
    assert rows[scene.village_clinic.code]["expiring_quantity"] == 0  # 30 days away: outside 10
    # The day before the nifedipine arrived (2026-01-01) the clinic held nothing; by division code, the subtree.
    _code, out, _err = run(capsys, "--org", c.townships[0].code, "--date", "2025-12-31", "--format", "json")
    rows = {row["code"]: row for row in json.loads(out)["institutions"]}
    assert rows[scene.village_clinic.code]["on_hand"] == 0 and scene.hospital.code not in rows
    _code, out, _err = run(capsys, "--date", "2026-03-02", "--format", "json")
    assert len(json.loads(out)["institutions"]) == 1 + 2 + 4  # the whole county


def test_csv_and_table(scene: Med, capsys: pytest.CaptureFixture[str]) -> None:
    _code, out, _err = run(capsys, "--org", scene.village_clinic.code, "--date", "2026-03-02", "--format", "csv")
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert (row["low"], row["low_items"], row["expired_value"], row["expiring_quantity"]) == ("1", AMOX, "172.00", "4")
    code, out, _err = run(capsys, "--org", scene.village_clinic.code, "--date", "2026-03-02")
    assert code == 0
    assert "药品库存报告 · 2026-03-02" in out and scene.village_clinic.name in out and "172.00" in out
    assert "账务核对：平衡" in out


def test_an_unbalanced_ledger_exits_1(scene: Med, capsys: pytest.CaptureFixture[str]) -> None:
    receipt = Movement.objects.filter(kind="receipt").order_by("pk").first()
    assert receipt is not None
    Movement.objects.filter(pk=receipt.pk).update(amount=receipt.amount + 1)
    code, out, err = run(capsys, "--format", "json")
    assert code == 1
    assert json.loads(out)["ledger"]["bad_amount"] == [receipt.pk]  # the report is printed all the same
    assert err.strip().splitlines() == [
        "ygt stock: 库存账不平：0 处结存为负，1 条流水金额不符，0 条调拨收发不符，0 处结存或月消耗与流水合计不符"]


@pytest.mark.parametrize(("args", "says"), [
    (("--org", "NOPE"), "NOPE"), (("--date", "2026-02-30"), "2026-02-30"), (("--days", "-3"), "-3"),
    (("--days", "many"), "many"),
])
def test_bad_input_exits_2(scene: Med, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], says: str) -> None:
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("ygt stock:") and says in err


def test_usage_lists_the_command() -> None:
    assert "ygt stock report [--org CODE]" in USAGE
    assert all(len(line) <= 120 for line in USAGE.splitlines())
