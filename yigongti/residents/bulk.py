"""The fast path that writes many resident records at once (the demo and ``ygt import residents``).

Rows arrive validated (the caller checked IDs, villages and duplicates); this module only
derives what every record needs — ``record_no`` (the village's 12-digit code + a 5-digit sequence
continuing after the village's current maximum), ``name_pinyin``, ``path``, the responsible
clinic and township centre — creates the households the rows name, and writes:

- PostgreSQL: ``COPY … FROM STDIN`` (psycopg 3 ``cursor.copy``) into the household, resident and
  audit tables, with ids drawn from the tables' sequences beforehand so that households can name
  their head (Django's foreign keys are ``DEFERRABLE INITIALLY DEFERRED``: checked at commit);
- SQLite: ``bulk_create`` in batches.

Always in the caller's transaction (it opens a savepoint, never commits). One audit entry
(``create``) per created resident, as every change of a person's record is audited.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, Q
from django.db.models.functions import Substr
from django.utils import timezone
from pypinyin import Style, lazy_pinyin

from yigongti.core.clock import today
from yigongti.core.models import AuditAction, AuditEntry, AuditOutcome
from yigongti.registry.choices import InstitutionType
from yigongti.registry.models import Division, Institution

from .choices import RecordStatus, Relation
from .identity import name_clean, name_pinyin
from .models import Household, Resident

RESIDENT = "residents.resident"
BATCH_SIZE = 5000
SEQUENCE_DIGITS = 5
# Fields a row may carry besides the derived ones; anything else in a row is ignored.
_DERIVED = {"id", "record_no", "name_pinyin", "village", "clinic", "township_centre", "path", "household",
            "created_at", "updated_at", "created_by", "created_at_institution", "status", "status_date",
            "merged_into"}


class VillageInfo:
    """What a record derives from its village: division id, path, clinic, township centre."""

    __slots__ = ("centre_id", "clinic_id", "code", "id", "path")

    def __init__(self, code: str, id: int, path: str, clinic_id: int | None, centre_id: int | None) -> None:
        self.code, self.id, self.path, self.clinic_id, self.centre_id = code, id, path, clinic_id, centre_id


def village_lookup(codes: Iterable[str]) -> dict[str, VillageInfo]:
    """Villages by code, with their current clinic and township centre, in three queries.

    The same rule as :func:`yigongti.residents.services.village_responsibles`: the clinic located
    in the village (first by code), its parent as centre, else the centre located in the township.
    """
    day = today()
    current = Q(valid_from__lte=day) & (Q(valid_to__isnull=True) | Q(valid_to__gt=day))
    villages = list(Division.objects.filter(code__in=set(codes)).values_list("code", "id", "path", "parent_id"))
    clinics: dict[int, tuple[int, int | None]] = {}
    for division_id, pk, parent_id in (Institution.objects.filter(
            current, division_id__in=[v[1] for v in villages], type=InstitutionType.VILLAGE_CLINIC)
            .order_by("-code").values_list("division_id", "id", "parent_id")):
        clinics[division_id] = (pk, parent_id)  # ordered by -code: the first by code wins
    centres: dict[int, int] = {}
    for division_id, pk in (Institution.objects.filter(
            current, division_id__in={v[3] for v in villages if v[3]},
            type__in=[InstitutionType.TOWNSHIP_CENTRE, InstitutionType.COMMUNITY_CENTRE])
            .order_by("-code").values_list("division_id", "id")):
        centres[division_id] = pk
    lookup: dict[str, VillageInfo] = {}
    for code, pk, path, parent_id in villages:
        clinic_id, centre_id = clinics.get(pk, (None, None))
        if centre_id is None and parent_id is not None:
            centre_id = centres.get(parent_id)
        lookup[code] = VillageInfo(code, pk, path, clinic_id, centre_id)
    return lookup


def next_sequences(codes: Iterable[str]) -> dict[str, int]:
    """The last 5-digit record sequence used in each village (0 if none), in one query."""
    codes = set(codes)
    last: dict[str, int] = dict.fromkeys(codes, 0)
    rows = (Resident.objects.annotate(prefix=Substr("record_no", 1, 12))
            .filter(prefix__in=codes, record_no__regex=r"^\d{17}$").values("prefix")
            .annotate(last=Max("record_no")).values_list("prefix", "last"))
    for prefix, record_no in rows:
        last[prefix] = int(record_no[12:])
    return last


class _Pinyin(dict[str, str]):
    """``name_pinyin`` cached — the hot spot of a bulk insert (pypinyin's phrase matching costs
    ~0.5 ms a call, and most full names of a county are distinct). The surname and the given name
    are cached apart: a county has a few hundred surnames and a few thousand given names. Same
    result as :func:`name_pinyin` except across the surname/given-name boundary, which no
    single-character surname forms a phrase with in practice (a test compares the two)."""

    def __init__(self) -> None:
        super().__init__()
        self.surnames: dict[str, str] = {}
        self.given: dict[str, str] = {}

    def __missing__(self, name: str) -> str:
        cleaned = name_clean(name)
        if len(cleaned) < 2 or not _HAN.match(cleaned):
            value = name_pinyin(cleaned)
        else:
            surname, given = cleaned[0], cleaned[1:]
            if surname not in self.surnames:
                self.surnames[surname] = name_pinyin(surname)
            if given not in self.given:
                self.given[given] = " ".join(lazy_pinyin(given, style=Style.NORMAL, errors=_keep_lower))
            value = f"{self.surnames[surname]} {self.given[given]}"
        self[name] = value
        return value


def _keep_lower(text: str) -> Any:
    """Non-Han characters kept lower-case (as :func:`name_pinyin` does)."""
    return [text.lower()]


_HAN = re.compile(r"^[\u4e00-\u9fff]+$")
_PINYIN = _Pinyin()  # kept across calls (a chunked demo build calls many times); cleared when large
_PINYIN_MAX = 500_000


def _json(value: Any) -> str:
    if not value:
        return "[]" if isinstance(value, list) else "{}" if isinstance(value, dict) else json.dumps(value)
    return json.dumps(value, ensure_ascii=False)


def residents_bulk_insert(rows: Sequence[dict[str, Any]], *, created_by: Any = None,
                          institution: Any = None, audit_detail: dict[str, Any] | None = None) -> int:
    """Insert validated rows as new residents; returns how many.

    A row holds ``name``, ``sex``, ``birth_date`` (a date), ``village_code`` and any of the other
    resident fields (``id_number``, ``phone``, ``address``, ``ethnicity``, ``relation_to_head``,
    the basic record items …), optionally ``record_no`` (kept as given) and ``household_code``
    (an existing household, or a new one created in the row's village with the row's address).
    Each row gets ``record_no`` and ``id`` set in place. A row with relation ``head`` becomes the
    head of its household (of an existing one only if it has none). Runs in a savepoint of the
    caller's transaction; writes one ``create`` audit entry per resident.
    """
    if not rows:
        return 0
    with transaction.atomic():
        villages = village_lookup(r["village_code"] for r in rows)
        sequences = next_sequences(villages)
        for row in rows:
            record_no = row.get("record_no") or ""
            if record_no:
                prefix = record_no[:12]
                if prefix in sequences and record_no[12:].isdigit() and len(record_no) == 17:
                    sequences[prefix] = max(sequences[prefix], int(record_no[12:]))
        for row in rows:
            if not row.get("record_no"):
                code = row["village_code"]
                sequences[code] += 1
                row["record_no"] = f"{code}{sequences[code]:0{SEQUENCE_DIGITS}d}"
        _write(rows, villages, created_by=created_by, institution=institution, detail=audit_detail or {})
    return len(rows)


# ---------------------------------------------------------------- writing


_FIELDS = [f for f in Resident._meta.concrete_fields if f.name != "id"]
_ATTNAMES = [f.attname for f in _FIELDS]
_JSON_FIELDS = {f.attname for f in _FIELDS if f.get_internal_type() == "JSONField"}
_DEFAULTS = {f.attname: f.get_default() for f in _FIELDS}
_AUDIT_COLUMNS = ["at", "user_id", "username", "action", "object_type", "object_id", "path", "outcome", "ip",
                  "channel", "detail"]
_HOUSEHOLD_COLUMNS = ["code", "village_id", "address", "head_id", "path", "created_at"]


class BulkTable:
    """Rows into one table: COPY on PostgreSQL, ``executemany`` of one INSERT elsewhere (SQLite).

    Values go straight to the driver, so dates are adapted here (SQLite: ISO text, as Django does).
    """

    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor  # the driver's own cursor (COPY is not part of the DB-API)
        self.postgres = connection.vendor == "postgresql"

    def date(self, value: Any) -> Any:
        if self.postgres or value is None or isinstance(value, str):
            return value
        return connection.ops.adapt_datetimefield_value(value) if isinstance(value, dt.datetime) \
            else value.isoformat()

    def insert(self, table: str, columns: Sequence[str], records: Iterable[Sequence[Any]]) -> None:
        names = ", ".join(connection.ops.quote_name(c) for c in columns)
        if self.postgres:
            with self.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for record in records:
                    copy.write_row(record)
        else:
            marks = ", ".join("?" * len(columns))
            self.cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", records)

    def draw_ids(self, table: str, n: int) -> list[int]:
        """PostgreSQL: ``n`` ids from the table's sequence, before inserting."""
        if n == 0:
            return []
        self.cursor.execute(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id')) "
                            "FROM generate_series(1, %s)", [n])
        return [pk for (pk,) in self.cursor.fetchall()]

    def ids_by(self, table: str, column: str, keys: Sequence[str]) -> dict[str, int]:
        """SQLite: the ids of just-inserted rows by their unique ``column``, 500 keys a query."""
        found: dict[str, int] = {}
        for start in range(0, len(keys), 500):
            part = keys[start:start + 500]
            self.cursor.execute(f"SELECT {column}, id FROM {table} WHERE {column} IN ({', '.join('?' * len(part))})",
                                part)
            found.update(self.cursor.fetchall())
        return found


def _households(rows: Sequence[dict[str, Any]], villages: dict[str, VillageInfo]
                ) -> tuple[dict[str, tuple[int, int | None]], dict[str, tuple[Any, ...]]]:
    """Existing households by code (id, head id) and the new ones (code → values, head unset)."""
    codes = {r["household_code"] for r in rows if r.get("household_code")}
    existing: dict[str, tuple[int, int | None]] = {code: (pk, head) for code, pk, head in
                Household.objects.filter(code__in=codes).values_list("code", "id", "head_id")}
    new: dict[str, tuple[Any, ...]] = {}
    for row in rows:
        code = row.get("household_code")
        if code and code not in existing and code not in new:
            village = villages[row["village_code"]]
            new[code] = (code, village.id, row.get("address", ""), village.path)
    return existing, new


def _heads(rows: Sequence[dict[str, Any]], resident_ids: Sequence[int], household_ids: dict[str, int],
           open_households: set[int]) -> dict[int, int]:
    """Household id → the id of the first row with relation ``head``, for ``open_households``."""
    heads: dict[int, int] = {}
    for row, pk in zip(rows, resident_ids, strict=True):
        if row.get("relation_to_head") == Relation.HEAD:
            hid = household_ids.get(row.get("household_code") or "")
            if hid in open_households:
                heads.setdefault(hid, pk)
    return heads


def _write(rows: Sequence[dict[str, Any]], villages: dict[str, VillageInfo], *, created_by: Any,
           institution: Any, detail: dict[str, Any]) -> None:
    now = timezone.now()
    pinyin = _PINYIN
    if len(pinyin) > _PINYIN_MAX:
        pinyin.clear()
    created_by_id = created_by.pk if created_by is not None else None
    institution_id = institution.pk if institution is not None else None
    existing, new = _households(rows, villages)
    with connection.cursor() as wrapper:
        table = BulkTable(wrapper.cursor)
        stamp = table.date(now)
        household_table, resident_table = Household._meta.db_table, Resident._meta.db_table

        # Households before residents. PostgreSQL: ids drawn first, so a new household is written
        # with its head (the foreign keys are checked at commit). Elsewhere: head set afterwards.
        new_codes = list(new)
        resident_ids: list[int] = []
        if table.postgres:
            resident_ids = table.draw_ids(resident_table, len(rows))
            household_ids = dict(zip(new_codes, table.draw_ids(household_table, len(new_codes)), strict=True))
            new_heads = _heads(rows, resident_ids, household_ids, set(household_ids.values()))
            table.insert(household_table, ["id", *_HOUSEHOLD_COLUMNS],
                         ((household_ids[c], *new[c][:3], new_heads.get(household_ids[c]), new[c][3], stamp)
                          for c in new_codes))
        else:
            table.insert(household_table, _HOUSEHOLD_COLUMNS,
                         ((*new[c][:3], None, new[c][3], stamp) for c in new_codes))
            household_ids = table.ids_by(household_table, "code", new_codes)
        new_household_ids = set(household_ids.values())
        household_ids.update({code: pk for code, (pk, _head) in existing.items()})

        columns = [str(f.column) for f in _FIELDS]
        json_positions = [i for i, a in enumerate(_ATTNAMES) if a in _JSON_FIELDS]
        date_positions = [] if table.postgres else [i for i, f in enumerate(_FIELDS)
                                                     if f.get_internal_type() == "DateField"]

        def records() -> Iterable[list[Any]]:
            for row in rows:
                village = villages[row["village_code"]]
                values = {key: value for key, value in row.items() if key in _DEFAULTS and key not in _DERIVED}
                values.update(record_no=row["record_no"], name_pinyin=pinyin[row["name"]], village_id=village.id,
                              clinic_id=village.clinic_id, township_centre_id=village.centre_id, path=village.path,
                              household_id=household_ids.get(row.get("household_code") or ""),
                              status=RecordStatus.ACTIVE.value, created_at=stamp, updated_at=stamp,
                              created_by_id=created_by_id, created_at_institution_id=institution_id)
                record = [values.get(a, _DEFAULTS[a]) for a in _ATTNAMES]
                for i in json_positions:
                    record[i] = _json(record[i])
                for i in date_positions:
                    record[i] = table.date(record[i])
                yield record

        if table.postgres:
            table.insert(resident_table, ["id", *columns],
                         ([pk, *record] for pk, record in zip(resident_ids, records(), strict=True)))
        else:
            table.insert(resident_table, columns, records())
            by_record_no = table.ids_by(resident_table, "record_no", [r["record_no"] for r in rows])
            resident_ids = [by_record_no[r["record_no"]] for r in rows]

        for row, pk in zip(rows, resident_ids, strict=True):
            row["id"] = pk
        # Heads of the households that have none yet (SQLite: the new ones too).
        open_households = {pk for pk, head in existing.values() if not head}
        if not table.postgres:
            open_households |= new_household_ids
        heads = _heads(rows, resident_ids, household_ids, open_households)
        if heads:
            wrapper.executemany(f"UPDATE {household_table} SET head_id = %s WHERE id = %s AND head_id IS NULL",
                                [(head, hid) for hid, head in heads.items()])

        # One audit entry per created record (the project's rule), by the same bulk path.
        username = created_by.get_username() if created_by is not None else ""
        table.insert(AuditEntry._meta.db_table, _AUDIT_COLUMNS, (
            (stamp, created_by_id, username, AuditAction.CREATE.value, RESIDENT, str(pk),
             villages[row["village_code"]].path, AuditOutcome.OK.value, None, "cli",
             json.dumps({"record_no": row["record_no"], **detail}, ensure_ascii=False))
            for row, pk in zip(rows, resident_ids, strict=True)))
