"""``ygt insurance adjudicate CASE.json [--policy FILE]``: the settlement as JSON, no database.

Bad input (bad JSON, a negative amount, an unknown category, a bad policy, no policy in force) is
exit 2 with one line on stderr and never a traceback. The tests here have no ``db`` fixture, so any
database access would fail them; one more runs the command against an empty, unmigrated data
directory in a subprocess.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from yigongti.cli import main

YUNXI_STAY = {"date": "2025-03-01", "county": "522399", "kind": "inpatient", "level": "township", "in_county": True,
              "costs": {"drugs_western": "2000", "lab": 500}}


def _write(tmp_path: Path, data: Any, name: str = "case.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["insurance", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def _ok(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code, out, err = _run(capsys, *args)
    assert code == 0, err
    settlement: dict[str, Any] = json.loads(out)
    return settlement


def _refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, out, err = _run(capsys, *args)
    assert code == 2, (out, err)
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("ygt insurance:")
    return err


def test_the_shipped_policy_in_force_is_used_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Yunxi 2025, 一级 stay of 2,500: deductible 100; 2,400 × 90 % = 2,160; the patient 340."""
    settlement = _ok(capsys, "adjudicate", str(_write(tmp_path, YUNXI_STAY)))
    assert settlement["policy"] == "yunxi-county-2025"
    assert settlement["layers"] == {"basic": "2160.00", "catastrophic": "0.00", "aid": "0.00"}
    assert settlement["patient"] == "340.00" and settlement["total"] == "2500.00"
    assert settlement["ytd"]["basic_paid"] == "2160.00"
    assert settlement["lines"][2]["zh"] == "起付线（一级医院）100.00 元，由个人负担"
    assert set(settlement["lines"][0]) == {"rule", "zh", "en", "amount"}


def test_output_is_indented_json_with_chinese_kept(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = _run(capsys, "adjudicate", str(_write(tmp_path, YUNXI_STAY)))
    assert code == 0
    assert out.startswith('{\n "case": ""') and "起付线" in out


def test_a_case_without_county_uses_the_any_county_policy(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    """Example city, 一级 stay of 3,000: 200 deductible, 2,800 × 95 % = 2,660; the patient 340."""
    case = {"date": "2025-03-01", "kind": "inpatient", "level": "township", "costs": {"drugs_western": 3000}}
    settlement = _ok(capsys, "adjudicate", str(_write(tmp_path, case)))
    assert settlement["policy"] == "example-city" and settlement["patient"] == "340.00"


def test_policy_option_uses_that_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A county's own policy file: 一级 300 / 80 % → (2,500 − 300) × 80 % = 1,760; the patient 740."""
    policy = """
kind: insurance.policy
code: trial
name: 试算政策
county: "522399"
effective_from: 2025-01-01
source: 测试
inpatient:
  annual_cap: 100000
  levels:
    township: {deductible: 300, rate: 0.8}
    county: {deductible: 500, rate: 0.7}
    tertiary: {deductible: 900, rate: 0.6}
    out_of_county: {deductible: 1500, rate: 0.5}
"""
    settlement = _ok(capsys, "adjudicate", str(_write(tmp_path, YUNXI_STAY)), "--policy",
                     str(_write(tmp_path, policy, "trial.yaml")))
    assert settlement["policy"] == "trial"
    assert (settlement["layers"]["basic"], settlement["patient"]) == ("1760.00", "740.00")


def test_case_from_standard_input(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(YUNXI_STAY)))
    assert _ok(capsys, "adjudicate", "-")["patient"] == "340.00"


def test_bad_json_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _refused(capsys, "adjudicate", str(_write(tmp_path, '{"date": "2025-03-01",')))
    assert "不是有效的 JSON" in err


def test_a_negative_amount_names_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = {**YUNXI_STAY, "costs": {"drugs_western": -5}}
    err = _refused(capsys, "adjudicate", str(_write(tmp_path, case)))
    assert "costs.drugs_western" in err and "负数" in err


def test_a_negative_year_to_date_amount_names_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _refused(capsys, "adjudicate", str(_write(tmp_path, {**YUNXI_STAY, "ytd": {"basic_paid": "-1"}})))
    assert "ytd.basic_paid" in err


def test_an_unknown_category_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    case = {**YUNXI_STAY, "outside_catalogue": {"acupuncture": 50}}
    err = _refused(capsys, "adjudicate", str(_write(tmp_path, case)))
    assert "outside_catalogue.acupuncture" in err and "未知的费用类别" in err


@pytest.mark.parametrize(("change", "field"), [
    ({"kind": "daycare"}, "kind"),
    ({"level": "village"}, "level"),  # no inpatients at a village clinic
    ({"date": "2025-02-30"}, "date"),
    ({"covered": "yes"}, "covered"),
    ({"aid_category": "orphan"}, "aid_category"),
    ({"county": "5223"}, "county"),
    ({"patient_name": "张三"}, "patient_name"),
    ({"costs": None}, "costs"),
])
def test_other_bad_fields_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, Any],
                                    field: str) -> None:
    err = _refused(capsys, "adjudicate", str(_write(tmp_path, {**YUNXI_STAY, **change})))
    assert f"病例数据有误：{field} — " in err


def test_a_bad_policy_file_names_its_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = (Path(__file__).resolve().parents[2] / "yigongti/insurance/fixtures/policy-yunxi-county-2025.yaml"
            ).read_text(encoding="utf-8").replace("rate: 0.9}", "rate: 1.9}")
    err = _refused(capsys, "adjudicate", str(_write(tmp_path, YUNXI_STAY)), "--policy",
                   str(_write(tmp_path, text, "bad.yaml")))
    assert "bad.yaml" in err and "inpatient.levels.township.rate" in err


def test_no_policy_in_force_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _refused(capsys, "adjudicate", str(_write(tmp_path, {**YUNXI_STAY, "date": "2010-01-01"})))
    assert "2010-01-01" in err and "没有生效的医保政策" in err


def test_a_missing_case_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "无法读取" in _refused(capsys, "adjudicate", str(tmp_path / "absent.json"))


def test_works_against_an_unmigrated_database(tmp_path: Path) -> None:
    """An empty data directory (the SQLite file does not even exist): the command still answers."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "YGT_DB_PASS"}}
    env["YGT_DATA_DIR"] = str(tmp_path / "data")
    case = _write(tmp_path, YUNXI_STAY)
    done = subprocess.run([sys.executable, "-m", "yigongti.cli", "insurance", "adjudicate", str(case)], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["patient"] == "340.00"
    assert not (tmp_path / "data" / "yigongti.sqlite3").exists()
