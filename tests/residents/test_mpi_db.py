"""The MPI over the residents in the database: review queue, decided pairs, ``ygt link``."""

from __future__ import annotations

import csv
import datetime as dt
import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from yigongti.cli import main
from yigongti.core.ids import resident_id_check_char
from yigongti.residents.choices import PairStatus, RecordStatus
from yigongti.residents.models import DedupeRun, MatchPair, Resident
from yigongti.residents.mpi.runs import dedupe_run_execute

pytestmark = pytest.mark.django_db(transaction=False)


def make_id(birth: str, seq: str) -> str:
    first17 = "522323" + birth + seq
    return first17 + resident_id_check_char(first17)


def add(village, no: int, name: str, sex: str, born: str, id_number: str = "", phone: str = "",
        status: str = RecordStatus.ACTIVE) -> Resident:
    return Resident.objects.create(
        record_no=f"{village.code}{no:05d}", name=name, sex=sex, birth_date=dt.date.fromisoformat(born),
        id_number=id_number, phone=phone, village=village, path=village.path, status=status,
    )


@pytest.fixture
def residents(county):
    a, b = county.village_a, county.village_b
    ident = make_id("19850314", "123")
    return {
        "orig": add(a, 1, "张小明", "M", "1985-03-14", ident, "13800000001"),
        # the same man registered again in the next village, ID typed without its first digit change
        "dup": add(b, 1, "章晓明", "M", "1985-03-14", ident[:10] + ident[11] + ident[10] + ident[12:]),
        "twin": add(a, 2, "张小亮", "M", "1985-03-14", make_id("19850314", "125"), "13800000001"),
        "li": add(a, 3, "李芳", "F", "1990-05-07"),
        "li2": add(a, 4, "李芳", "F", "1990-05-08"),  # one day off, no ID: review, not auto-link
        "gone": add(a, 5, "张小明", "M", "1985-03-14", status=RecordStatus.MERGED),
    }


def key(pair: MatchPair) -> frozenset[int]:
    return frozenset((pair.left_id, pair.right_id))


def test_db_run_fills_review_queue_with_reasons(residents) -> None:
    run = dedupe_run_execute(review_threshold=0.3, auto_threshold=0.9999)
    assert run.n_records == 5  # the merged record is not a candidate
    pairs = {key(p): p for p in MatchPair.objects.filter(run=run)}
    dup = pairs[frozenset((residents["orig"].pk, residents["dup"].pk))]
    assert dup.status == PairStatus.AUTO_LINKED and dup.cluster
    assert dup.left_id == residents["orig"].pk and dup.path == residents["orig"].path
    assert {r["field"]: r["level"] for r in dup.reasons}["id"] == "typo"
    li = pairs[frozenset((residents["li"].pk, residents["li2"].pk))]
    assert li.status == PairStatus.PENDING and li.cluster == ""
    assert any(r["field"] == "birth_date" and r["level"] == "one_off" for r in li.reasons)
    assert frozenset((residents["orig"].pk, residents["twin"].pk)) not in pairs
    assert all(residents["gone"].pk not in k for k in pairs)


def test_rerun_neither_duplicates_pending_nor_revives_distinct(residents) -> None:
    first = dedupe_run_execute(review_threshold=0.3, auto_threshold=0.9999)
    li = MatchPair.objects.get(run=first, status=PairStatus.PENDING)
    li.status = PairStatus.DISTINCT
    li.save()
    second = dedupe_run_execute(review_threshold=0.3, auto_threshold=0.9999)
    assert second.n_pairs == 0
    all_pairs = MatchPair.objects.all()
    assert all_pairs.count() == 2
    assert {p.status for p in all_pairs} == {PairStatus.DISTINCT, PairStatus.AUTO_LINKED}
    # a pending pair is refreshed by the new run, not copied
    li.status = PairStatus.PENDING
    li.save()
    third = dedupe_run_execute(review_threshold=0.3, auto_threshold=0.9999)
    assert MatchPair.objects.filter(status=PairStatus.PENDING).count() == 1
    assert MatchPair.objects.get(pk=li.pk).run_id == third.pk
    assert DedupeRun.objects.count() == 3


def run_cli(args: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(args)
    return code, out.getvalue(), err.getvalue()


# One ``main()`` per test: Django's command runner closes the connections when it ends, which on
# PostgreSQL leaves the test's transaction unusable for a second command.
def test_cli_dedupe_on_database(residents) -> None:
    code, out, err = run_cli(["dedupe", "--threshold", "0.3", "--format", "csv"])
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {frozenset((r["id_l"], r["id_r"])) for r in rows} >= {
        frozenset((residents["orig"].record_no, residents["dup"].record_no))}


def test_cli_link_finds_the_resident(residents, tmp_path: Path) -> None:
    school = tmp_path / "pupils.csv"
    school.write_text("id,name,birth_date,sex\nS1,李芳,1990-05-07,F\nS2,赵六,2015-01-01,M\n", encoding="utf-8")
    code, out, err = run_cli(["link", "--input", str(school), "--threshold", "0.01"])
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == ["id_l", "id_r", "match_probability", "cluster_id"]
    best = max((r for r in rows if r["id_l"] == "S1"), key=lambda r: float(r["match_probability"]))
    assert best["id_r"] == residents["li"].record_no
    assert not any(r["id_l"] == "S2" for r in rows)
