"""The feature table of the master patient index: one row per person, ready for Splink.

Built from the live residents of the database or from any CSV of people (columns recognised by
header, any of them may be missing). The Python part computes only what needs Python — the
name's pinyin (cached per distinct name) and the 15→18-digit ID upgrade; everything else is
derived in DuckDB SQL so that a million rows take seconds, not minutes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from django.utils.translation import gettext_lazy as _

from yigongti.core.errors import DomainError
from yigongti.core.ids import resident_id_problem
from yigongti.residents.identity import id_upgrade, name_clean, name_pinyin

# Canonical input column → accepted header spellings (compared case-insensitively, trimmed).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "unique_id", "编号", "档案编号", "record_no"),
    "name": ("name", "姓名", "full_name"),
    "given_name": ("given_name", "first_name", "名"),
    "family_name": ("family_name", "surname", "last_name", "姓"),
    "sex": ("sex", "gender", "性别"),
    "birth_date": ("birth_date", "dob", "date_of_birth", "出生日期"),
    "id_number": ("id_number", "id_no", "身份证号", "身份证号码", "公民身份号码"),
    "address": ("address", "地址", "住址", "现住址"),
    "village_code": ("village_code", "village", "村代码", "村编码"),
    "phone": ("phone", "mobile", "telephone", "电话", "联系电话", "手机"),
}
INPUT_COLUMNS = tuple(HEADER_ALIASES)

# The columns a comparison needs; a comparison whose columns are all empty is dropped.
FEATURE_COLUMNS = (
    "unique_id", "name", "name_pinyin", "surname_pinyin", "given_pinyin", "name_length", "id_raw", "id18",
    "id_valid", "id_area", "id_birth", "id_sex", "birth_date", "birth_year", "birth_month", "birth_day",
    "sex", "village_code", "township_code", "phone", "address",
)

_SEX = {"男": "M", "m": "M", "male": "M", "1": "M", "女": "F", "f": "F", "female": "F", "2": "F"}
_DATE_FORMATS = "['%Y-%m-%d', '%Y/%m/%d', '%Y%m%d', '%Y.%m.%d', '%Y年%m月%d日']"


class UnreadableInput(DomainError):
    code = "unreadable_input"
    status = 422
    message = _("无法读取文件 %(path)s：%(reason)s")


@dataclass(frozen=True)
class People:
    """Raw people in canonical columns (strings; '' when absent) and which columns were present."""

    columns: dict[str, list[str]]
    present: frozenset[str]

    def __len__(self) -> int:
        return len(self.columns["id"])


def _canonical(header: str) -> str | None:
    key = (header or "").strip().lstrip("\ufeff").lower()
    for canonical, aliases in HEADER_ALIASES.items():
        if key in aliases:
            return canonical
    return None


def people_from_csv(path: str | Path) -> People:
    """Read a CSV of people (UTF-8, UTF-8 with BOM or GB18030); unknown columns are ignored."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise UnreadableInput(path=str(path), reason=exc.strerror or type(exc).__name__) from exc
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise UnreadableInput(path=str(path), reason=_("编码无法识别（应为 UTF-8 或 GB18030）"))
    try:
        reader = csv.reader(io.StringIO(text))
        header = next(reader, None)
        rows = list(reader)
    except csv.Error as exc:
        raise UnreadableInput(path=str(path), reason=str(exc)) from exc
    if not header:
        raise UnreadableInput(path=str(path), reason=_("文件为空"))
    mapping = {i: c for i, h in enumerate(header) if (c := _canonical(h)) is not None}
    if not ({"name", "given_name", "family_name", "id_number"} & set(mapping.values())):
        raise UnreadableInput(path=str(path),
                              reason=_("未找到姓名或身份证号列（表头应含 name 或 姓名、id_number 或 身份证号）"))
    return people_from_rows(
        ({mapping[i]: v for i, v in enumerate(row) if i in mapping} for row in rows if any(c.strip() for c in row)),
        present=frozenset(mapping.values()),
    )


def people_from_rows(rows: Iterable[dict[str, Any]], *, present: frozenset[str] | None = None) -> People:
    """Canonical-column rows (dicts) → :class:`People`; a missing ``id`` becomes the row number."""
    columns: dict[str, list[str]] = {c: [] for c in INPUT_COLUMNS}
    seen: set[str] = set()
    for number, row in enumerate(rows, start=1):
        for c in INPUT_COLUMNS:
            value = row.get(c)
            columns[c].append("" if value is None else str(value).strip())
        if not columns["id"][-1]:
            columns["id"][-1] = str(number)
        seen.update(k for k, v in row.items() if v not in (None, ""))
    if "name" not in (present or seen) and ({"given_name", "family_name"} & (present or seen)):
        columns["name"] = [f + g for f, g in zip(columns["family_name"], columns["given_name"], strict=True)]
    found = set(present if present is not None else seen)
    if {"given_name", "family_name"} & found:
        found.add("name")
    return People(columns=columns, present=frozenset(found))


def people_from_residents(queryset: Any) -> People:
    """Live residents (not merged) of a Resident queryset → :class:`People` keyed by record number."""
    from yigongti.residents.choices import RecordStatus

    fields = ("record_no", "name", "sex", "birth_date", "id_number", "address", "village__code", "phone")
    rows = (
        {"id": r[0], "name": r[1], "sex": r[2], "birth_date": r[3].isoformat() if r[3] else "", "id_number": r[4],
         "address": r[5], "village_code": r[6], "phone": r[7]}
        for r in queryset.exclude(status=RecordStatus.MERGED).order_by("pk").values_list(*fields).iterator(5000)
    )
    return people_from_rows(rows, present=frozenset(INPUT_COLUMNS) - {"given_name", "family_name"})


@lru_cache(maxsize=500_000)
def _pinyin(name: str) -> str:
    return name_pinyin(name)


def _ids(raw: str) -> tuple[str, bool]:
    upgraded = id_upgrade(raw)
    return upgraded, bool(upgraded) and resident_id_problem(upgraded) is None


def features_arrow(people: People) -> pa.Table:
    """The Python-computed columns as an Arrow table (names cleaned, pinyin, IDs upgraded)."""
    cols = people.columns
    names = [name_clean(n) for n in cols["name"]]
    pinyins = [_pinyin(n) for n in names]
    ids = [_ids(v) for v in cols["id_number"]]
    sexes = [_SEX.get(s.strip().lower(), "") for s in cols["sex"]]
    return pa.table({
        "unique_id": cols["id"],
        "name": names,
        "name_pinyin": pinyins,
        "id_raw": [v.upper() for v in cols["id_number"]],
        "id18": [u if len(u) == 18 else "" for u, _ok in ids],
        "id_valid": [ok for _u, ok in ids],
        "sex_in": sexes,
        "birth_in": cols["birth_date"],
        "village_in": cols["village_code"],
        "phone_in": cols["phone"],
        "address": cols["address"],
    })


# Derivations in SQL: blanks → NULL so that Splink's null level fires instead of a false match.
FEATURE_SQL = f"""
select
    unique_id,
    nullif(name, '') as name,
    nullif(name_pinyin, '') as name_pinyin,
    nullif(split_part(name_pinyin, ' ', 1), '') as surname_pinyin,
    nullif(trim(substr(name_pinyin, length(split_part(name_pinyin, ' ', 1)) + 1)), '') as given_pinyin,
    case when name = '' then null else length(name) end as name_length,
    nullif(id_raw, '') as id_raw,
    nullif(id18, '') as id18,
    id_valid,
    case when id_valid then substr(id18, 1, 6) end as id_area,
    case when id_valid then substr(id18, 7, 8) end as id_birth,
    case when id_valid then (case when cast(substr(id18, 17, 1) as integer) % 2 = 1 then 'M' else 'F' end) end
        as id_sex,
    coalesce(
        cast(try_strptime(nullif(birth_in, ''), {_DATE_FORMATS}) as date),
        case when id_valid then cast(try_strptime(substr(id18, 7, 8), '%Y%m%d') as date) end
    ) as birth_date,
    coalesce(nullif(sex_in, ''),
             case when id_valid then (case when cast(substr(id18, 17, 1) as integer) % 2 = 1 then 'M' else 'F' end)
             end) as sex,
    case when regexp_full_match(village_in, '[0-9]{{12}}') then village_in end as village_code,
    case when regexp_full_match(village_in, '[0-9]{{12}}') then substr(village_in, 1, 9) end as township_code,
    nullif(regexp_replace(phone_in, '[^0-9]', '', 'g'), '') as phone,
    nullif(address, '') as address
from {{source}}
"""


def build_features(con: duckdb.DuckDBPyConnection, people: People, *, table: str) -> str:
    """Create DuckDB table ``table`` with :data:`FEATURE_COLUMNS` (+ birth year/month/day); return its name."""
    raw = features_arrow(people)
    con.register(f"{table}_raw", raw)
    con.execute(f"create or replace table {table}_base as {FEATURE_SQL.replace('{source}', f'{table}_raw')}")
    con.execute(f"""
        create or replace table {table} as
        select * exclude (birth_date), birth_date,
               year(birth_date) as birth_year, month(birth_date) as birth_month, day(birth_date) as birth_day
        from {table}_base
    """)
    con.execute(f"drop table {table}_base")
    con.unregister(f"{table}_raw")
    return table


def present_fields(people: People) -> frozenset[str]:
    """Comparison fields that have data: name, id, birth_date, sex, village, phone."""
    fields = set()
    mapping: dict[str, Sequence[str]] = {
        "name": ("name",), "id": ("id_number",), "birth_date": ("birth_date", "id_number"),
        "sex": ("sex", "id_number"), "village": ("village_code",), "phone": ("phone",),
    }
    for field, sources in mapping.items():
        if any(s in people.present and any(people.columns[s]) for s in sources):
            fields.add(field)
    return frozenset(fields)
