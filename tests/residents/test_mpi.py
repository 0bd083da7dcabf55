"""The master patient index: features, tuned comparisons, ``ygt dedupe`` and ``ygt link``."""

from __future__ import annotations

import csv
import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from yigongti.cli import main
from yigongti.core.ids import resident_id_check_char
from yigongti.residents.mpi.engine import dedupe
from yigongti.residents.mpi.features import UnreadableInput, people_from_csv, present_fields


def make_id(area: str, birth: str, seq: str) -> str:
    first17 = area + birth + seq
    return first17 + resident_id_check_char(first17)


A = make_id("522323", "19850314", "123")
TWIN = make_id("522323", "19850314", "125")
TRANSPOSED = A[:10] + A[11] + A[10] + A[12:]  # month digits 0,3 → 3,0
ID15 = A[:6] + A[8:17]
HEADER = "id,姓名,性别,出生日期,身份证号,村代码,电话\n"


def write_csv(tmp_path: Path, body: str, header: str = HEADER, name: str = "people.csv") -> Path:
    path = tmp_path / name
    path.write_text(header + body, encoding="utf-8")
    return path


def levels(pair_reasons: list[dict]) -> dict[str, str]:
    return {r["field"]: r["level"] for r in pair_reasons}


def run_cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


# ------------------------------------------------------------------ features


def test_headers_recognised_in_english_and_chinese_with_missing_columns(tmp_path: Path) -> None:
    english = write_csv(tmp_path, "x1,张,三,M,1990/1/2\n", header="ID,Family_Name,Given_Name,Sex,Birth_Date\n",
                        name="en.csv")
    people = people_from_csv(english)
    assert people.columns["name"] == ["张三"]
    assert people.columns["birth_date"] == ["1990/1/2"]
    assert present_fields(people) == {"name", "birth_date", "sex"}

    no_id = write_csv(tmp_path, "李四,13800000000\n王五,\n", header="姓名,电话\n", name="noid.csv")
    people = people_from_csv(no_id)
    assert people.columns["id"] == ["1", "2"]  # row numbers
    assert present_fields(people) == {"name", "phone"}


def test_bad_dates_become_null_and_unreadable_files_fail_in_one_line(tmp_path: Path) -> None:
    import duckdb

    from yigongti.residents.mpi.features import build_features

    path = write_csv(tmp_path, f"1,张三,男,1990-02-30,{ID15},522399101201,138-0000-0000\n2,李四,女,不详,,1234,\n")
    con = duckdb.connect()
    build_features(con, people_from_csv(path), table="f")
    rows = con.execute("select unique_id, birth_date, id18, id_valid, village_code, township_code, phone, "
                       "name_pinyin, surname_pinyin, given_pinyin from f order by unique_id").fetchall()
    # A 15-digit ID upgrades to 18 digits; its birth date stands in for the impossible one given.
    assert rows[0][1].isoformat() == "1985-03-14" and rows[0][2] == A and rows[0][3] is True
    assert rows[0][4:7] == ("522399101201", "522399101", "13800000000")
    assert rows[0][7:] == ("zhang san", "zhang", "san")
    assert rows[1][1] is None and rows[1][2] is None and rows[1][4] is None

    with pytest.raises(UnreadableInput):
        people_from_csv(tmp_path / "absent.csv")
    with pytest.raises(UnreadableInput):
        people_from_csv(write_csv(tmp_path, "1,2\n", header="foo,bar\n", name="noname.csv"))


# ------------------------------------------------------------------ tuned comparison levels


@pytest.fixture
def planted(tmp_path: Path) -> Path:
    return write_csv(tmp_path, "\n".join([
        f"1,张小明,男,1985-03-14,{A},522399101201,13800000001",
        f"2,张小明,男,1985-03-14,{TRANSPOSED},522399101202,",     # ID transposition
        f"3,章晓明,男,1985-03-14,{ID15},522399102201,",           # 15-digit ID, homophone name
        f"4,张小亮,男,1985-03-14,{TWIN},522399101201,13800000001",  # twin: consecutive sequence
        "5,李芳,女,1990-05-07,,522399101201,",
        "6,李芳,女,1990-07-05,,522399101201,",                     # month and day swapped
        "7,王建国,男,1970-01-01,,522399101201,",
        "8,王国,男,1970-01-01,,522399101201,",                     # one character missing
        "9,赵丽,女,1960-06-06,,522399101201,",
        "10,赵莉,女,1960-06-06,,522399101201,",                    # homophone
    ]) + "\n")


def test_each_tuned_level_fires_and_twins_are_not_matched(planted: Path) -> None:
    pairs, clusters = dedupe(people_from_csv(planted), threshold=0.0, cluster_threshold=0.8)
    by_key = {(p.id_l, p.id_r) if p.id_l < p.id_r else (p.id_r, p.id_l): p for p in pairs}
    assert levels(by_key[("1", "2")].reasons)["id"] == "typo"
    assert levels(by_key[("1", "3")].reasons)["id"] == "upgraded"
    assert levels(by_key[("1", "3")].reasons)["name"] == "homophone"
    assert levels(by_key[("5", "6")].reasons)["birth_date"] == "swapped"
    assert levels(by_key[("7", "8")].reasons)["name"] == "one_char"
    assert levels(by_key[("10", "9")].reasons)["name"] == "homophone"
    twin = by_key[("1", "4")]
    assert levels(twin.reasons)["id"] == "twin"
    assert twin.match_probability < 0.01
    for key in [("1", "2"), ("1", "3"), ("5", "6"), ("10", "9")]:
        assert by_key[key].match_probability >= 0.8, key
    reason = next(r for r in by_key[("1", "2")].reasons if r["field"] == "id")
    assert reason["label"] == "一位录入错误或相邻位对调" and reason["weight"] > 10
    assert clusters["1"] == clusters["2"] == clusters["3"]
    assert clusters.get("4") != clusters["1"]


# ------------------------------------------------------------------ ygt dedupe --input


def test_cli_dedupe_input_prints_csv_pairs(planted: Path) -> None:
    code, out, err = run_cli(["dedupe", "--input", str(planted)])
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["id_l", "id_r", "match_probability", "cluster_id"]
    found = {frozenset((r["id_l"], r["id_r"])) for r in rows}
    assert frozenset(("1", "2")) in found and frozenset(("1", "4")) not in found
    pair = next(r for r in rows if {r["id_l"], r["id_r"]} == {"1", "2"})
    assert pair["cluster_id"] and float(pair["match_probability"]) >= 0.8


def test_cli_dedupe_json_has_reasons_and_bad_input_is_one_line(planted: Path, tmp_path: Path) -> None:
    code, out, _err = run_cli(["dedupe", "--input", str(planted), "--format", "json"])
    assert code == 0
    data = json.loads(out)
    assert {"id_l", "id_r", "match_probability", "cluster_id", "reasons"} <= set(data[0])
    code, out, err = run_cli(["dedupe", "--input", str(tmp_path / "nope.csv")])
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    code, _out, err = run_cli(["dedupe", "--input", str(planted), "--threshold", "2"])
    assert code == 2 and err.count("\n") == 1


# ------------------------------------------------------------------ Spark (when Java and pyspark work)


@pytest.mark.spark
def test_spark_engine_gives_the_same_pairs_as_duckdb(planted: Path) -> None:
    import shutil

    if shutil.which("java") is None:
        pytest.skip("Spark engine: no Java runtime on this machine")
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.skip("Spark engine: pyspark is not installed")
    from yigongti.core.spark import session

    try:
        session("local[2]", "ygt-mpi")
    except Exception as exc:  # Spark that cannot start on this machine is a skip; anything after it fails
        pytest.skip(f"Spark could not start: {exc}")
    people = people_from_csv(planted)
    duck = dedupe(people, threshold=0.5)
    spark = dedupe(people, engine="spark", threshold=0.5)  # the session another app started has the UDF jar too
    key = lambda p: (min(p.id_l, p.id_r), max(p.id_l, p.id_r))  # noqa: E731
    assert sorted(map(key, spark.pairs)) == sorted(map(key, duck.pairs))
    for d, s in zip(sorted(duck.pairs, key=key), sorted(spark.pairs, key=key), strict=True):
        assert s.match_probability == pytest.approx(d.match_probability, rel=1e-6)
