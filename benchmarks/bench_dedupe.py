"""Dedupe benchmark: our MPI pipeline vs plain Splink on the same synthetic county.

    .venv/bin/python benchmarks/bench_dedupe.py              # 1,000,000 people
    .venv/bin/python benchmarks/bench_dedupe.py --n 100000   # a quick run

Generates N people of a rural county (villages, townships, valid resident IDs, Chinese names)
with ~4% planted duplicates carrying realistic errors (ID typo or transposition, 15-digit ID,
swapped month/day, homophone or a missing/changed character, a married woman in another
village, a missing ID) and hard negatives (twins: same village, surname, birth date and
consecutive ID sequence; namesakes born the same day; neighbours of the same surname and year),
writes them to a CSV with the ground truth beside it, then runs each pipeline in its own
subprocess and prints side by side: wall time, peak memory (ru_maxrss of the subprocess),
pairs, precision, recall and F1 of the pairs at or above the threshold.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# Surnames with rough frequencies (a county has a few dominant clans).
SURNAMES = [("王", 8), ("李", 8), ("张", 7), ("刘", 6), ("陈", 5), ("杨", 4), ("黄", 3), ("赵", 3), ("吴", 3),
            ("周", 3), ("徐", 2), ("孙", 2), ("马", 2), ("朱", 2), ("胡", 2), ("郭", 2), ("何", 2), ("高", 2),
            ("林", 2), ("罗", 2), ("郑", 1), ("梁", 1), ("谢", 1), ("宋", 1), ("唐", 1), ("许", 1), ("韩", 1),
            ("冯", 1), ("邓", 1), ("曹", 1), ("彭", 1), ("曾", 1), ("肖", 1), ("田", 1), ("董", 1), ("袁", 1),
            ("潘", 1), ("蒋", 1), ("蔡", 1), ("余", 1), ("杜", 1), ("叶", 1), ("程", 1), ("苏", 1), ("魏", 1)]
GIVEN_M = "伟强军平刚杰涛明辉建国文华勇斌超波鹏飞亮俊峰磊林海志洪成兵东宇浩鑫龙春德福贵生荣金顺永"
GIVEN_F = "芳丽敏静秀英霞燕红玲兰娟梅琴艳萍慧婷雪莉娜倩琳洁颖云凤翠花桂珍玉香月秋"
HOMOPHONES = {"明": "鸣", "丽": "莉", "华": "化", "伟": "玮", "芳": "方", "军": "君", "静": "婧", "敏": "民",
              "英": "瑛", "杰": "洁", "涛": "韬", "强": "蔷", "平": "萍", "红": "虹", "建": "健", "国": "帼",
              "玲": "铃", "辉": "晖", "霞": "侠", "刚": "钢", "兰": "岚", "燕": "艳", "峰": "锋", "林": "琳",
              "海": "亥", "春": "椿", "娟": "鹃", "梅": "玫", "琴": "芹", "云": "芸", "张": "章", "王": "汪",
              "李": "黎", "刘": "柳", "徐": "许", "吴": "武"}
AREAS = ["522323", "522324", "522325", "522301", "522322", "522326"]
WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]


def check_char(first17: str) -> str:
    value = (12 - sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11) % 11
    return "X" if value == 10 else str(value)


class County:
    """Villages of ~2,000 people; townships of ~15 villages."""

    def __init__(self, n: int, rng: random.Random) -> None:
        n_villages = max(4, n // 2000)
        self.villages = [f"522399{100 + v // 15 + 1:03d}{200 + v % 15 + 1:03d}" for v in range(n_villages)]
        self.area_of = {v: rng.choice(AREAS) for v in self.villages}
        self.surnames = [s for s, _w in SURNAMES]
        self.surname_weights = [w for _s, w in SURNAMES]


def _given(rng: random.Random, sex: str) -> str:
    pool = GIVEN_M if sex == "M" else GIVEN_F
    return "".join(rng.choice(pool) for _ in range(1 if rng.random() < 0.3 else 2))


def _id(area: str, born: dt.date, seq: int) -> str:
    first17 = f"{area}{born:%Y%m%d}{seq:03d}"
    return first17 + check_char(first17)


def _birth(rng: random.Random) -> dt.date:
    # A rural pyramid: thin childhood cohorts, thick 1960s–1980s.
    year = int(rng.triangular(1935, 2024, 1972))
    return dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))


def generate(n: int, seed: int, dup_rate: float) -> tuple[list[dict[str, str]], dict[str, int]]:
    """Records (strings) and the ground truth (record id → person id)."""
    rng = random.Random(seed)
    county = County(n, rng)
    used_ids: set[str] = set()
    people: list[dict[str, str]] = []

    def new_person(village: str, surname: str | None = None, sex: str | None = None, born: dt.date | None = None,
                   seq: int | None = None, given: str | None = None, phone: str | None = None) -> dict[str, str]:
        sex = sex or rng.choice("MF")
        born = born or _birth(rng)
        surname = surname or rng.choices(county.surnames, county.surname_weights)[0]
        area = county.area_of[village]
        while True:
            s = seq if seq is not None else rng.randrange(0, 999)
            if (s % 2 == 1) != (sex == "M"):
                s = (s + 1) % 1000
            ident = _id(area, born, s)
            if ident not in used_ids:
                break
            seq = None
        used_ids.add(ident)
        if phone is None:
            phone = f"1{rng.choice('3578')}{rng.randrange(10**9):09d}" if rng.random() < 0.6 else ""
        return {"name": surname + (given or _given(rng, sex)), "sex": sex, "birth_date": born.isoformat(),
                "id_number": ident, "village_code": village, "phone": phone, "seq": str(s)}

    n_base = int(n / (1 + dup_rate * 1.1))
    while len(people) < n_base:
        village = rng.choice(county.villages)
        p = new_person(village)
        people.append(p)
        r = rng.random()
        if r < 0.01:  # twins: same village, surname, birth date, consecutive sequence, shared phone
            sex = rng.choice("MF")
            surname = p["name"][0]
            twin = new_person(village, surname=surname, sex=sex, born=dt.date.fromisoformat(p["birth_date"]),
                              seq=(int(p["seq"]) + (2 if sex == p["sex"] else 1)) % 1000, phone=p["phone"],
                              given=(p["name"][1:2] + _given(rng, sex)[:1]) if len(p["name"]) == 3 else None)
            people.append(twin)
        elif r < 0.015:  # a namesake born the same day in another village
            other = rng.choice(county.villages)
            people.append(new_person(other, surname=p["name"][0], sex=p["sex"],
                                     born=dt.date.fromisoformat(p["birth_date"]), given=p["name"][1:]))
        elif r < 0.025:  # a neighbour: same village, surname, year of birth
            born = dt.date.fromisoformat(p["birth_date"])
            people.append(new_person(village, surname=p["name"][0], sex=p["sex"],
                                     born=dt.date(born.year, 1, 1) + dt.timedelta(days=rng.randrange(365)),
                                     phone=p["phone"] if rng.random() < 0.5 else None))
    rows: list[dict[str, str]] = []
    truth: dict[str, int] = {}
    for person_id, p in enumerate(people):
        rid = f"P{len(rows) + 1:08d}"
        rows.append({"id": rid, **{k: v for k, v in p.items() if k != "seq"}})
        truth[rid] = person_id
    for person_id, p in enumerate(people):
        if len(rows) >= n:
            break
        if rng.random() >= dup_rate:
            continue
        for _ in range(2 if rng.random() < 0.1 else 1):
            rid = f"P{len(rows) + 1:08d}"
            rows.append({"id": rid, **_corrupt(p, county, rng)})
            truth[rid] = person_id
    rows = rows[:n]
    rng.shuffle(rows)
    return rows, truth


def _corrupt(p: dict[str, str], county: County, rng: random.Random) -> dict[str, str]:
    """A duplicate record with the errors clerks make."""
    d = {k: v for k, v in p.items() if k != "seq"}
    ident, born = d["id_number"], dt.date.fromisoformat(d["birth_date"])
    r = rng.random()
    if r < 0.15:  # one digit mistyped (not the check character)
        i = rng.randrange(17)
        ident = ident[:i] + str((int(ident[i]) + rng.randrange(1, 10)) % 10) + ident[i + 1:]
    elif r < 0.25:  # two adjacent digits swapped
        i = rng.randrange(16)
        if ident[i] != ident[i + 1]:
            ident = ident[:i] + ident[i + 1] + ident[i] + ident[i + 2:]
    elif r < 0.35 and born.year < 2000:  # the old 15-digit ID
        ident = ident[:6] + ident[8:17]
    elif r < 0.50:
        ident = ""
    d["id_number"] = ident
    name = d["name"]
    r = rng.random()
    if r < 0.15:
        i = rng.randrange(len(name))
        name = name[:i] + HOMOPHONES.get(name[i], name[i]) + name[i + 1:]
    elif r < 0.22 and len(name) == 3:
        name = name[:2] if rng.random() < 0.5 else name[0] + name[2]
    elif r < 0.27:
        pool = GIVEN_M if d["sex"] == "M" else GIVEN_F
        name = name[:-1] + rng.choice(pool)
    d["name"] = name
    r = rng.random()
    if r < 0.06 and born.day <= 12 and born.day != born.month:
        d["birth_date"] = dt.date(born.year, born.day, born.month).isoformat()
    elif r < 0.12:
        try:
            d["birth_date"] = (born.replace(day=born.day % 28 + 1) if rng.random() < 0.5
                               else born.replace(year=born.year + rng.choice((-1, 1)))).isoformat()
        except ValueError:
            pass
    age = 2025 - born.year
    if d["sex"] == "F" and 20 <= age <= 50 and rng.random() < 0.4:  # married into another village
        d["village_code"] = rng.choice(county.villages)
    elif rng.random() < 0.05:
        d["village_code"] = rng.choice(county.villages)
    if rng.random() < 0.4:
        d["phone"] = "" if rng.random() < 0.5 else f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"
    return d


def write(rows: list[dict[str, str]], truth: dict[str, int], directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    data, truth_path = directory / "people.csv", directory / "truth.csv"
    with data.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["id", "name", "sex", "birth_date", "id_number", "village_code",
                                               "phone"])
        writer.writeheader()
        writer.writerows({**r, "sex": "男" if r["sex"] == "M" else "女"} for r in rows)
    with truth_path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["id", "person"])
        out.writerows(truth.items())
    return data, truth_path


# ------------------------------------------------------------------ the two pipelines (run in a child)

def run_ours(data: Path, threshold: float) -> list[tuple[str, str]]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yigongti.settings")
    import django

    django.setup()
    from yigongti.residents.mpi.engine import dedupe
    from yigongti.residents.mpi.features import people_from_csv

    pairs, _clusters = dedupe(people_from_csv(data), threshold=threshold)
    return [(p.id_l, p.id_r) for p in pairs]


def run_plain(data: Path, threshold: float) -> list[tuple[str, str]]:
    """Splink as its tutorial has it: generic comparisons, default blocking, u by sampling, m by EM."""
    import logging

    import duckdb
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    logging.getLogger("splink").setLevel(logging.WARNING)
    con = duckdb.connect()
    con.execute(f"create table people as select id as unique_id, * exclude (id) from "
                f"read_csv('{data}', all_varchar=true)")
    con.execute("update people set id_number = nullif(id_number, ''), phone = nullif(phone, '')")
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.LevenshteinAtThresholds("name", [1, 2]),
            cl.DateOfBirthComparison("birth_date", input_is_string=True),
            cl.ExactMatch("id_number"),
            cl.ExactMatch("sex"),
            cl.ExactMatch("village_code"),
        ],
        blocking_rules_to_generate_predictions=[block_on("name"), block_on("birth_date")],
    )
    db_api = DuckDBAPI(con)
    linker = Linker(db_api.register("people"), settings, log_level=None)
    linker.training.estimate_probability_two_random_records_match([block_on("id_number")], recall=0.8)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("birth_date"))
    predictions = linker.inference.predict(threshold_match_probability=threshold, warning_mode="never")
    rows = predictions.query_sql("select unique_id_l, unique_id_r from {this}").as_record_list()
    return [(str(r["unique_id_l"]), str(r["unique_id_r"])) for r in rows]


def child(args: argparse.Namespace) -> None:
    start = time.perf_counter()
    runner = run_ours if args.child == "ours" else run_plain
    pairs = runner(Path(args.data), args.threshold)
    elapsed = time.perf_counter() - start
    Path(args.result).write_text(json.dumps({"seconds": elapsed, "pairs": pairs}))


# ------------------------------------------------------------------ the parent

def score(pairs: list[list[str]], truth_path: Path) -> dict[str, float]:
    person: dict[str, str] = {}
    with truth_path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            person[row["id"]] = row["person"]
    groups: dict[str, int] = {}
    for p in person.values():
        groups[p] = groups.get(p, 0) + 1
    true_pairs = sum(k * (k - 1) // 2 for k in groups.values())
    predicted = {tuple(sorted(p)) for p in pairs}
    hits = sum(1 for a, b in predicted if person[a] == person[b])
    precision = hits / len(predicted) if predicted else 0.0
    recall = hits / true_pairs if true_pairs else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"pairs": len(predicted), "true_pairs": true_pairs, "precision": precision, "recall": recall, "f1": f1}


def measure(kind: str, data: Path, threshold: float, workdir: Path) -> dict[str, float]:
    result = workdir / f"{kind}.json"
    cmd = [sys.executable, __file__, "--child", kind, "--data", str(data), "--result", str(result),
           "--threshold", str(threshold)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT)
    _pid, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{kind} failed (status {status})")
    out = json.loads(result.read_text())
    return {"wall_s": wall, "pipeline_s": out["seconds"], "peak_mb": usage.ru_maxrss / 1024, "pairs_raw": out["pairs"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dup-rate", type=float, default=0.04)
    parser.add_argument("--threshold", type=float, default=0.8, help="pairs at or above count as matches")
    parser.add_argument("--dir", default="/tmp/ygt-bench-dedupe")
    parser.add_argument("--only", choices=["ours", "plain"])
    parser.add_argument("--reuse", action="store_true", help="reuse the CSV of an earlier run with the same n/seed")
    parser.add_argument("--child", choices=["ours", "plain"], help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    workdir = Path(args.dir) / f"n{args.n}-s{args.seed}"
    start = time.perf_counter()
    data, truth_path = workdir / "people.csv", workdir / "truth.csv"
    if args.reuse and data.exists() and truth_path.exists():
        print(f"reusing {data}")
    else:
        rows, truth = generate(args.n, args.seed, args.dup_rate)
        data, truth_path = write(rows, truth, workdir)
        n_dups = len(rows) - len(set(truth.values()))
        print(f"generated {len(rows):,} records ({n_dups:,} planted duplicates, "
              f"{100 * n_dups / len(rows):.1f}%) in {time.perf_counter() - start:.1f}s → {data}")
    results = {}
    for kind in ("ours", "plain"):
        if args.only and kind != args.only:
            continue
        m = measure(kind, data, args.threshold, workdir)
        m.update(score(m.pop("pairs_raw"), truth_path))  # type: ignore[arg-type]
        results[kind] = m
        print(f"  {kind}: done in {m['wall_s']:.1f}s", flush=True)
    print(f"\n{'':22}" + "".join(f"{k:>16}" for k in results))
    for label, key, fmt in [("wall time (s)", "wall_s", "{:.1f}"), ("pipeline time (s)", "pipeline_s", "{:.1f}"),
                            ("peak memory (MB)", "peak_mb", "{:.0f}"), ("pairs ≥ threshold", "pairs", "{:,}"),
                            ("true pairs", "true_pairs", "{:,}"), ("precision", "precision", "{:.4f}"),
                            ("recall", "recall", "{:.4f}"), ("F1", "f1", "{:.4f}")]:
        print(f"{label:22}" + "".join(f"{fmt.format(m[key]):>16}" for m in results.values()))


if __name__ == "__main__":
    main()
