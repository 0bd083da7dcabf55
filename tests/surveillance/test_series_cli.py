"""``ygt alerts --series FILE.csv --method …`` (:mod:`yigongti.surveillance.series` and the command):
any series a user brings, read and checked, then one method, printed per row as
``t,observed,expected,upperbound,alarm``. No database. Exit 0 when it ran, 2 for a user error with
one line on stderr (naming the row where there is one) and never a traceback.

The numbers are those of ``test_methods.py`` (baseline 2 4 3 5 1 3 3: mean 3, sd 1.290994; C1
upperbound 3 + 3.090232 × 1.290994 = 6.989473).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from yigongti.cli import main

HEADER = "t,observed,expected,upperbound,alarm"


def _write(tmp_path: Path, text: str, name: str = "series.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["alerts", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def _refused(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Exit 2 with exactly one line on stderr, which is returned."""
    code, out, err = _run(capsys, *args)
    assert code == 2, (out, err)
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith("ygt alerts:")
    return err


# ---------------------------------------------------------------- output


def test_one_column_csv_prints_every_row_with_t_counting_from_1(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Rows 1–7 are the baseline (not judged: empty columns); row 8 = 9 > 6.9895 alarms."""
    path = _write(tmp_path, "2\n4\n3\n5\n1\n3\n3\n9\n")
    code, out, _err = _run(capsys, "--series", str(path), "--method", "c1")
    assert code == 0
    assert out.splitlines() == [
        HEADER, "1,2,,,", "2,4,,,", "3,3,,,", "4,5,,,", "5,1,,,", "6,3,,,", "7,3,,,", "8,9,3,6.9895,true"]


def test_json_output_has_the_same_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "2\n4\n3\n5\n1\n3\n3\n6\n")
    code, out, _err = _run(capsys, "--series", str(path), "--method", "c1", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert len(rows) == 8
    assert rows[0] == {"t": "1", "observed": 2.0, "expected": None, "upperbound": None, "alarm": None}
    last = rows[7]
    assert set(last) == {"t", "observed", "expected", "upperbound", "alarm"}
    assert last["t"] == "8" and last["observed"] == 6.0 and last["expected"] == 3.0 and last["alarm"] is False
    assert last["upperbound"] == pytest.approx(6.989473, abs=1e-5)


def test_table_output_names_the_columns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "2\n4\n3\n5\n1\n3\n3\n9\n")
    code, out, _err = _run(capsys, "--series", str(path), "--method", "c1", "--format", "table")
    assert code == 0
    lines = out.splitlines()
    assert all(name in out for name in HEADER.split(","))
    last = next(line for line in lines if "6.9895" in line)
    assert "9" in last and "true" in last


def test_a_dated_file_with_a_chinese_header_prints_a_gap_as_a_missing_row(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """日期,病例数 with no row for 03-04 (a missing day: left out of baselines, printed empty), rows in
    any order. C1:
      03-08 (index 7): baseline 2 4 3 — 5 1 3 → mean 3, sd √(10/5) = 1.414214, upperbound 3 + 3.090232 ×
            1.414214 = 7.370248; 3 passes
      03-09: baseline 4 3 — 5 1 3 3 → mean 19/6 = 3.166667, sd 1.329160, upperbound 7.274080; 9 alarms
      03-10: baseline 3 — 5 1 3 3 9 → mean 4, SS = 134 − 96 = 38, sd √7.6 = 2.756810,
            upperbound 4 + 3.090232 × 2.756810 = 12.519183; 1 passes."""
    path = _write(tmp_path, "日期,病例数\n2026-03-02,4\n2026-03-01,2\n2026-03-03,3\n2026-03-05,5\n2026-03-06,1\n"
                            "2026-03-07,3\n2026-03-08,3\n2026-03-09,9\n2026-03-10,1\n")
    code, out, _err = _run(capsys, "--series", str(path), "--method", "c1", "--format", "csv")
    assert code == 0
    assert out.splitlines() == [
        HEADER,
        "2026-03-01,2,,,", "2026-03-02,4,,,", "2026-03-03,3,,,", "2026-03-04,,,,", "2026-03-05,5,,,",
        "2026-03-06,1,,,", "2026-03-07,3,,,",
        "2026-03-08,3,3,7.3702,false",
        "2026-03-09,9,3.1667,7.2741,true",
        "2026-03-10,1,4,12.5192,false",
    ]


def test_a_two_column_file_without_header_is_date_then_count(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    rows = [f"2026-01-{day:02d},{count}" for day, count in enumerate([2, 4, 3, 5, 1, 3, 3, 9], start=1)]
    path = _write(tmp_path, "\n".join(rows) + "\n")
    code, out, _err = _run(capsys, "--series", str(path), "--method", "c1")
    assert code == 0
    assert out.splitlines()[-1] == "2026-01-08,9,3,6.9895,true"


@pytest.mark.parametrize("empty", ["", "NA", "-"])
def test_an_empty_count_or_na_is_a_missing_day(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               empty: str) -> None:
    """Day 2 empty (a blank line in a one-column file is an empty cell, not a line to skip: skipping
    it would move every later count a day earlier), day 8 NA: day 8 is not judged, and day 9's
    baseline (days 2–8) leaves both out: 4 3 5 1 3 → mean 16/5 = 3.2, Σx² = 60, SS = 60 − 51.2 = 8.8,
    sd √(8.8/4) = 1.483240, upperbound 3.2 + 3.090232 × 1.483240 = 7.783556. Trailing blank lines are
    ignored."""
    path = _write(tmp_path, f"2\n{empty}\n4\n3\n5\n1\n3\nNA\n9\n\n\n")
    code, out, _err = _run(capsys, "--series", str(path), "--method", "c1")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 10
    assert lines[2] == "2,,,,"
    assert lines[8] == "8,,,,"
    assert lines[9] == "9,9,3.2,7.7836,true"


def test_a_dated_row_with_an_empty_count_is_a_missing_day(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    rows = [f"2026-01-{day:02d},{count}" for day, count in enumerate([2, "", 4, 3, 5, 1, 3, 3, 9], start=1)]
    path = _write(tmp_path, "\n".join(rows) + "\n")
    code, out, _err = _run(capsys, "--series", str(path), "--method", "c1")
    assert code == 0
    lines = out.splitlines()
    assert lines[2] == "2026-01-02,,,,"
    assert lines[-1] == "2026-01-09,9,3.1667,7.2741,true"


def test_alpha_and_min_sigma_are_passed_to_the_method(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """alpha 0.05 → z 1.644854: upperbound 3 + 1.644854 × 1.290994 = 5.1235.
    Flat baseline 2 with --min-sigma 0.5: 2 + 3.090232 × 0.5 = 3.5451."""
    path = _write(tmp_path, "2\n4\n3\n5\n1\n3\n3\n6\n")
    code, out, _err = _run(capsys, "--series", str(path), "--method", "c1", "--alpha", "0.05")
    assert code == 0 and out.splitlines()[-1] == "8,6,3,5.1235,true"
    flat = _write(tmp_path, "2\n" * 7 + "3\n", "flat.csv")
    code, out, _err = _run(capsys, "--series", str(flat), "--method", "c1", "--min-sigma", "0.5")
    assert code == 0 and out.splitlines()[-1] == "8,3,2,3.5451,false"


def test_c2_c3_and_cusum_from_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The C3 example of test_methods (day 12 of 12 = 5: upperbound 4.2230, alarm) and the CUSUM
    example (2 ×9 then 3 4 5 3 with --min-sigma 1: upperbounds 6.5, 6, 4.5, 6.6429, alarm on row 12)."""
    c3 = _write(tmp_path, "\n".join(map(str, [2, 4, 3, 5, 1, 3, 3, 3, 3, 5, 6, 5])) + "\n", "c3.csv")
    code, out, _err = _run(capsys, "--series", str(c3), "--method", "c3")
    assert code == 0 and out.splitlines()[-1] == "12,5,3,4.223,true"
    code, out, _err = _run(capsys, "--series", str(c3), "--method", "c2")
    assert code == 0 and out.splitlines()[10] == "10,5,3,6.9895,false"
    series = _write(tmp_path, "\n".join(map(str, [2] * 9 + [3, 4, 5, 3])) + "\n", "cusum.csv")
    code, out, _err = _run(capsys, "--series", str(series), "--method", "cusum", "--min-sigma", "1")
    assert code == 0
    assert out.splitlines()[10:] == ["10,3,2,6.5,false", "11,4,2,6,false", "12,5,2,4.5,true",
                                     "13,3,2.1429,6.6429,false"]


def test_percentile_prints_the_seven_day_sum(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """1,116 days, zeros except a count of 5 on the last day and one count per baseline window whose
    15 sums sorted are 0 0 1 1 2 2 2 3 3 3 4 4 5 6 8: median 3, P80 = 4 + 0.2 × (5 − 4) = 4.2."""
    from tests.surveillance.test_methods import _percentile_series

    values = _percentile_series(5)
    path = _write(tmp_path, "\n".join(str(int(v)) for v in values) + "\n", "long.csv")
    code, out, _err = _run(capsys, "--series", str(path), "--method", "percentile", "--percentile", "80")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 1 + 3 * 365 + 21
    assert lines[-1] == "1116,5,3,4.2,true"
    assert lines[-2].endswith(",,,")  # day 1,115 has no full baseline


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(("text", "words"), [
    ("2\n4\n-3\n5\n", ["第 3 行", "-3"]),
    ("2\n4\n3\nabc\n5\n", ["第 4 行", "abc"]),
    ("count\n2\n4\nx\n", ["第 4 行", "x"]),
    ("date,count\n2026-01-01,2\n2026-13-01,3\n", ["第 3 行", "2026-13-01"]),
    ("date,count\n2026-01-01,2\n2026-01-02,3\n2026-01-01,4\n", ["第 4 行", "2026-01-01", "重复"]),
    ("1\n2\n3\n4,5,6\n", ["第 4 行"]),
    ("1,2,3\n4,5,6\n", ["第 1 行"]),
])
def test_a_bad_row_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                            words: list[str]) -> None:
    path = _write(tmp_path, text)
    err = _refused(capsys, "--series", str(path), "--method", "c1")
    for word in words:
        assert word in err, (word, err)


def test_an_empty_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "\n\n")
    assert "没有数据" in _refused(capsys, "--series", str(path), "--method", "c1")
    header_only = _write(tmp_path, "date,count\n", "header.csv")
    assert "没有数据" in _refused(capsys, "--series", str(header_only), "--method", "c1")


def test_a_missing_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _refused(capsys, "--series", str(tmp_path / "nope.csv"), "--method", "c1")
    assert "找不到文件" in err and "nope.csv" in err


def test_a_series_too_short_says_so_instead_of_alerting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """C1 needs 7 days of baseline and a day to judge: 8 values; 5 are not enough."""
    path = _write(tmp_path, "1\n2\n3\n4\n5\n")
    err = _refused(capsys, "--series", str(path), "--method", "c1")
    assert "序列太短" in err and "8" in err and "5" in err
    err = _refused(capsys, "--series", str(path), "--method", "percentile")
    assert "序列太短" in err and "1116" in err


def test_a_series_long_enough_but_never_judged_runs_and_says_so(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Eight rows, all but two missing: no baseline has 3 values; every row printed, a warning on stderr."""
    path = _write(tmp_path, "count\nNA\nNA\nNA\nNA\nNA\n1\n2\n5\n")
    code, out, err = _run(capsys, "--series", str(path), "--method", "c1")
    assert code == 0
    assert len(out.splitlines()) == 9 and out.splitlines()[-1] == "8,5,,,"
    assert "无法判断" in err


@pytest.mark.parametrize("alpha", ["0", "1", "1.5", "-0.1"])
def test_alpha_out_of_range_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], alpha: str) -> None:
    path = _write(tmp_path, "1\n" * 10)
    assert "--alpha" in _refused(capsys, "--series", str(path), "--method", "c1", f"--alpha={alpha}")


def test_method_without_series_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--series" in _refused(capsys, "--method", "c1")


def test_series_without_method_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "1\n" * 10)
    assert "--method" in _refused(capsys, "--series", str(path))


def test_an_unknown_method_is_refused_by_the_parser(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "1\n" * 10)
    code, _out, err = _run(capsys, "--series", str(path), "--method", "c4")
    assert code == 2 and "c4" in err
