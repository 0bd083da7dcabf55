"""The fact tables: the OLTP records flattened for counting (DHIS2's analytics tables).

Each fact is one row per record (resident, enrolment, visit, encounter, referral, order, vaccine
dose due, staff qualification, bed capacity, population figure) with one column per level of the
org tree — ``county``, ``township``, ``village`` of the place the row counts for (the resident's
village) and, where the row also belongs to an institution, ``inst_county`` … of the institution's
division — so that a roll-up is a plain ``GROUP BY``. Each fact is written as Parquet partitions by
month of its ``partition`` date (see :mod:`.export`). Column names and meanings below are the
vocabulary of the indicator definitions (``analytics/fixtures/indicators.yaml``); the compiler
refuses a definition that names anything else.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import pyarrow as pa
from django.db.models import Count, F, Max, Min, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, TruncDate, TruncMonth

ORG_LEVELS = ("county", "township", "village")
MONEY = pa.decimal128(14, 2)


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    label: str
    label_en: str


def _org(prefix: str, what: str, what_en: str) -> tuple[Column, ...]:
    names = {"county": ("县", "county"), "township": ("乡镇", "township"), "village": ("村", "village")}
    return tuple(Column(f"{prefix}{level}", pa.string(), f"{what}所在{names[level][0]}（区划代码）",
                        f"{names[level][1]} code of {what_en}") for level in ORG_LEVELS)


RESIDENCE = _org("", "居民现住址", "the resident's village")
INSTITUTION = _org("inst_", "机构", "the institution")


@dataclass(frozen=True)
class Fact:
    """One fact table: its columns, how its rows come out of the OLTP tables, how it is partitioned.

    ``select`` maps raw column names to ORM field paths or expressions over ``queryset()``;
    ``orgs`` maps a column prefix ("" residence, "inst_" institution) to the raw column holding the
    division path; ``derive`` adds computed columns on the Arrow table. ``partition`` is the ORM
    date (or datetime) field whose month names the partition; ``stamp`` an optional field whose
    maximum joins the fingerprint (a row edited in place moves it); ``resident`` the ORM path to
    the resident, to find a resident's months when a transfer or merge rewrites their rows.
    """

    name: str
    label: str
    label_en: str
    columns: tuple[Column, ...]
    queryset: Callable[[], QuerySet[Any]]
    partition: str
    select: dict[str, Any] = field(default_factory=dict)
    orgs: dict[str, str] = field(default_factory=dict)
    derive: Callable[[pa.Table], pa.Table] | None = None
    stamp: str | None = None
    resident: str | None = None
    extract: Callable[[Fact, list[tuple[dt.date, dt.date]] | None], Iterator[pa.Table]] | None = None
    fingerprints: Callable[[], dict[int, str]] | None = None
    event_date: str = ""  # the date a related condition counts by (visits: visit_date)
    partition_column: str = ""  # the column holding the partition date ("" when none does)
    pending: Any = ""  # why the fact has no source yet: its indicators are not computed until it has one
    yearly: bool = False  # ``partition`` is a year number: one partition per year (month YYYY01)

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([(c.name, c.type) for c in self.columns])

    @property
    def column_names(self) -> frozenset[str]:
        return frozenset(c.name for c in self.columns)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    def month_filter(self, ranges: Iterable[tuple[dt.date, dt.date]]) -> Q:
        """Rows whose partition date falls in one of ``ranges`` (first day, first day after)."""
        query = Q()
        for start, stop in ranges:
            if self.yearly:
                last = stop.year if (stop.month, stop.day) == (1, 1) else stop.year + 1
                query |= Q(**{f"{self.partition}__gte": start.year, f"{self.partition}__lt": last})
                continue
            query |= Q(**{f"{self.partition}__gte": _bound(self, start), f"{self.partition}__lt": _bound(self, stop)})
        return query

    def default_fingerprints(self) -> dict[int, str]:
        """``{YYYYMM: "count:sum(id):max(stamp)"}`` over the source rows, by partition month."""
        if self.fingerprints is not None:
            return self.fingerprints()
        values: dict[str, Any] = {"n": Count("pk"), "s": Sum("pk")}
        if self.stamp:
            values["x"] = Max(self.stamp)
        by_month = F(self.partition) if self.yearly else TruncMonth(self.partition)
        rows = (self.queryset().order_by().annotate(m=by_month).values("m")
                .annotate(**values).values_list("m", "n", "s", *(["x"] if self.stamp else [])))
        found: dict[int, str] = {}
        for row in rows:
            month = _yyyymm(row[0])
            if month is None:
                continue
            found[month] = ":".join(str(v) for v in row[1:])
        return found


def _bound(fact: Fact, day: dt.date) -> Any:
    """A date bound for the partition field: an aware midnight for datetime fields."""
    model = fact.queryset().model
    target = model._meta.get_field(fact.partition.split("__")[0])
    if target.get_internal_type() == "DateTimeField":
        from django.utils import timezone

        return timezone.make_aware(dt.datetime.combine(day, dt.time()))
    return day


def _yyyymm(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, int):
        return value * 100 + 1
    if isinstance(value, str):
        return int(value[:4]) * 100 + int(value[5:7])
    return value.year * 100 + value.month


# ---------------------------------------------------------------- derived columns (Arrow)

def _days_between(table: pa.Table, start: str, end: str, name: str) -> pa.Table:
    import pyarrow.compute as pc

    days = pc.days_between(table[start], table[end])
    return table.append_column(name, days.cast(pa.int32()))


# ---------------------------------------------------------------- the facts

def _residents() -> QuerySet[Any]:
    from yigongti.residents.choices import RecordStatus
    from yigongti.residents.models import Resident

    return Resident.objects.exclude(status=RecordStatus.MERGED)


def _end_of_record() -> Any:
    from django.db.models import Case, When

    from yigongti.residents.choices import RecordStatus

    # A record closed without a status date ends on the day it was last changed.
    return Case(When(status=RecordStatus.ACTIVE, then=None),
                default=Coalesce(F("status_date"), TruncDate("updated_at")))


RESIDENTS = Fact(
    name="residents", label="居民健康档案", label_en="Residents' health records",
    columns=(
        Column("id", pa.int64(), "档案ID", "record id"),
        Column("sex", pa.string(), "性别（M/F）", "sex (M/F)"),
        Column("birth_date", pa.date32(), "出生日期", "date of birth"),
        Column("created_on", pa.date32(), "建档日期", "date the record was created"),
        Column("ended_on", pa.date32(), "迁出/死亡日期（在册为空）", "moved out / died on (empty while active)"),
        Column("status", pa.string(), "档案状态（active/moved_out/deceased）", "record status"),
        *RESIDENCE,
    ),
    event_date="created_on",
    partition_column="created_on",
    queryset=_residents, partition="created_at", stamp="updated_at", resident="pk",
    select={"id": "pk", "sex": "sex", "birth_date": "birth_date", "created_on": TruncDate("created_at"),
            "ended_on": _end_of_record(), "status": "status", "path": "path"},
    orgs={"": "path"},
)


def _enrolments() -> QuerySet[Any]:
    from yigongti.programmes.models import Enrolment

    return Enrolment.objects.all()


ENROLMENTS = Fact(
    name="enrolments", label="项目管理记录", label_en="Programme enrolments",
    columns=(
        Column("id", pa.int64(), "管理记录ID", "enrolment id"),
        Column("resident_id", pa.int64(), "居民ID", "resident id"),
        Column("programme", pa.string(), "项目代码（hypertension、diabetes、elderly、child、maternal …）",
               "programme code"),
        Column("enrolled_on", pa.date32(), "纳入日期", "enrolled on"),
        Column("closed_on", pa.date32(), "结案日期（管理中为空）", "closed on (empty while managed)"),
        Column("anchor_date", pa.date32(), "起算日期（出生、末次月经、确诊）", "anchor date (birth, LMP, diagnosis)"),
        Column("classification", pa.string(), "最近分类", "latest classification"),
        Column("birth_date", pa.date32(), "出生日期", "date of birth"),
        Column("sex", pa.string(), "性别", "sex"),
        *RESIDENCE,
    ),
    event_date="enrolled_on",
    partition_column="enrolled_on",
    queryset=_enrolments, partition="enrolled_on", resident="resident",
    select={"id": "pk", "resident_id": "resident_id", "programme": "programme__code", "enrolled_on": "enrolled_on",
            "closed_on": "closed_on", "anchor_date": "anchor_date", "classification": "classification",
            "birth_date": "resident__birth_date", "sex": "resident__sex", "path": "path"},
    orgs={"": "path"},
)


def _visits() -> QuerySet[Any]:
    from yigongti.programmes.models import Visit

    return Visit.objects.all()


VISITS = Fact(
    name="visits", label="公卫服务记录（随访、体检、接种）", label_en="Programme services (follow-ups, checks, doses)",
    columns=(
        Column("id", pa.int64(), "服务记录ID", "visit id"),
        Column("enrolment_id", pa.int64(), "管理记录ID", "enrolment id"),
        Column("resident_id", pa.int64(), "居民ID", "resident id"),
        Column("programme", pa.string(), "项目代码", "programme code"),
        Column("item", pa.string(),
               "服务项（followup、check、newborn、antenatal-1、delivery、postpartum …）", "service item"),
        Column("visit_date", pa.date32(), "服务日期", "date of service"),
        Column("days_from_anchor", pa.int32(), "距起算日期天数（孕周×7、日龄）",
               "days since the anchor (gestation, age)"),
        Column("sbp", pa.int32(), "收缩压 mmHg", "systolic BP"),
        Column("dbp", pa.int32(), "舒张压 mmHg", "diastolic BP"),
        Column("fpg", pa.float64(), "空腹血糖 mmol/L", "fasting plasma glucose"),
        Column("classification", pa.string(), "本次分类", "classification of this visit"),
        Column("refer", pa.bool_(), "转诊", "referred"),
        Column("tier", pa.string(), "服务机构层级", "tier of the institution"),
        Column("birth_date", pa.date32(), "出生日期", "date of birth"),
        *RESIDENCE, *INSTITUTION,
    ),
    event_date="visit_date",
    partition_column="visit_date",
    queryset=_visits, partition="visit_date", resident="resident",
    select={"id": "pk", "enrolment_id": "enrolment_id", "resident_id": "resident_id", "programme": "programme__code",
            "item": "item", "visit_date": "visit_date", "anchor_date": "enrolment__anchor_date", "sbp": "sbp",
            "dbp": "dbp", "fpg": "fpg", "classification": "classification", "refer": "refer",
            "tier": "institution__tier", "birth_date": "resident__birth_date", "path": "path",
            "inst_path": "institution__path"},
    orgs={"": "path", "inst_": "inst_path"},
    derive=lambda t: _days_between(t, "anchor_date", "visit_date", "days_from_anchor"),
)


def _encounters() -> QuerySet[Any]:
    from yigongti.care.models import Encounter

    return Encounter.objects.all()


ENCOUNTERS = Fact(
    name="encounters", label="门急诊与住院", label_en="Encounters (outpatient, emergency, inpatient)",
    columns=(
        Column("id", pa.int64(), "就诊记录ID", "encounter id"),
        Column("resident_id", pa.int64(), "居民ID", "resident id"),
        Column("kind", pa.string(), "就诊类型（outpatient/emergency/inpatient）", "kind"),
        Column("start_date", pa.date32(), "就诊/入院日期", "visit / admission date"),
        Column("end_date", pa.date32(), "出院日期", "discharge date"),
        Column("in_county", pa.bool_(), "县域内就诊", "inside the county"),
        Column("tier", pa.string(), "机构层级（county/township/village；县外为空）", "tier (empty out of county)"),
        Column("booked", pa.bool_(), "预约就诊", "booked ahead"),
        Column("total_cost", MONEY, "总费用（元）", "total cost (yuan)"),
        *RESIDENCE, *INSTITUTION,
    ),
    event_date="start_date",
    partition_column="start_date",
    queryset=_encounters, partition="start_date", resident="resident",
    select={"id": "pk", "resident_id": "resident_id", "kind": "kind", "start_date": "start_date",
            "end_date": "end_date", "in_county": "in_county", "tier": "tier", "booked": "booked",
            "total_cost": "total_cost", "path": "path", "inst_path": "institution_path"},
    orgs={"": "path", "inst_": "inst_path"},
)


def _referrals() -> QuerySet[Any]:
    from yigongti.referrals.models import Referral

    return Referral.objects.all()


REFERRALS = Fact(
    name="referrals", label="双向转诊", label_en="Referrals",
    columns=(
        Column("id", pa.int64(), "转诊单ID", "referral id"),
        Column("resident_id", pa.int64(), "居民ID", "resident id"),
        Column("direction", pa.string(), "方向（up 上转 / down 下转）", "direction (up/down)"),
        Column("kind", pa.string(), "转诊类别", "kind"),
        Column("status", pa.string(), "状态（requested/accepted/rejected/cancelled/arrived/completed）", "status"),
        Column("requested_on", pa.date32(), "申请日期", "requested on"),
        Column("from_tier", pa.string(), "转出机构层级", "tier of the sending institution"),
        Column("to_tier", pa.string(), "接收机构层级", "tier of the receiving institution"),
        *RESIDENCE, *INSTITUTION,
    ),
    event_date="requested_on",
    partition_column="requested_on",
    queryset=_referrals, partition="requested_at", resident="resident",
    select={"id": "pk", "resident_id": "resident_id", "direction": "direction", "kind": "kind", "status": "status",
            "requested_on": TruncDate("requested_at"), "from_tier": "from_institution__tier",
            "to_tier": "to_institution__tier", "path": "path", "inst_path": "from_path"},
    orgs={"": "path", "inst_": "inst_path"},
)


def _orders() -> QuerySet[Any]:
    from yigongti.care.models import Order

    return Order.objects.all()


ORDERS = Fact(
    name="orders", label="检查检验申请与互认", label_en="Test orders and recognition",
    columns=(
        Column("id", pa.int64(), "申请单ID", "order id"),
        Column("resident_id", pa.int64(), "居民ID", "resident id"),
        Column("item", pa.string(), "项目代码", "item code"),
        Column("status", pa.string(), "状态（ordered/recognised/done/cancelled）", "status"),
        Column("saved", MONEY, "互认节省费用（元）", "fee saved by recognition (yuan)"),
        Column("ordered_on", pa.date32(), "开单日期", "ordered on"),
        Column("tier", pa.string(), "开单机构层级", "tier of the ordering institution"),
        *RESIDENCE, *INSTITUTION,
    ),
    event_date="ordered_on",
    partition_column="ordered_on",
    queryset=_orders, partition="ordered_on", resident="resident",
    select={"id": "pk", "resident_id": "resident_id", "item": "item__code", "status": "status", "saved": "saved",
            "ordered_on": "ordered_on", "tier": "institution__tier", "path": "path",
            "inst_path": "institution__path"},
    orgs={"": "path", "inst_": "inst_path"},
)


def _qualifications() -> QuerySet[Any]:
    from yigongti.registry.models import Qualification

    return Qualification.objects.filter(staff__active=True)


STAFF = Fact(
    name="staff", label="卫生人员资格", label_en="Staff qualifications",
    columns=(
        Column("id", pa.int64(), "资格ID", "qualification id"),
        Column("staff_id", pa.int64(), "人员ID", "staff id"),
        Column("kind", pa.string(), "资格（physician/assistant_physician/village_doctor/nurse/gp）", "qualification"),
        Column("valid_from", pa.date32(), "生效日期", "valid from"),
        Column("valid_to", pa.date32(), "失效日期", "valid to"),
        Column("tier", pa.string(), "机构层级", "tier"),
        *INSTITUTION,
    ),
    partition_column="valid_from",
    queryset=_qualifications, partition="valid_from",
    select={"id": "pk", "staff_id": "staff_id", "kind": "kind", "valid_from": "valid_from", "valid_to": "valid_to",
            "tier": "staff__institution__tier", "inst_path": "staff__institution__path"},
    orgs={"inst_": "inst_path"},
)


def _capacities() -> QuerySet[Any]:
    from yigongti.registry.models import Capacity

    return Capacity.objects.all()


CAPACITY = Fact(
    name="capacity", label="床位与设施", label_en="Beds and facilities",
    columns=(
        Column("id", pa.int64(), "ID", "id"),
        Column("kind", pa.string(), "类别（beds 床位 …）", "kind (beds …)"),
        Column("quantity", pa.int64(), "数量", "quantity"),
        Column("valid_from", pa.date32(), "机构生效日期", "institution valid from"),
        Column("valid_to", pa.date32(), "机构失效日期", "institution valid to"),
        Column("tier", pa.string(), "机构层级", "tier"),
        *INSTITUTION,
    ),
    partition_column="valid_from",
    queryset=_capacities, partition="institution__valid_from",
    select={"id": "pk", "kind": "kind", "quantity": "quantity", "valid_from": "institution__valid_from",
            "valid_to": "institution__valid_to", "tier": "institution__tier", "inst_path": "institution__path"},
    orgs={"inst_": "inst_path"},
)


def _population() -> QuerySet[Any]:
    from .models import Population

    return Population.objects.all()


def _population_years(table: pa.Table) -> pa.Table:
    years = table["year"].to_pylist()
    start = pa.array([dt.date(y, 1, 1) for y in years], pa.date32())
    stop = pa.array([dt.date(y + 1, 1, 1) for y in years], pa.date32())
    return table.append_column("valid_from", start).append_column("valid_to", stop)


POPULATION = Fact(
    name="population", label="常住人口", label_en="Resident population (statistics)",
    columns=(
        Column("id", pa.int64(), "ID", "id"),
        Column("year", pa.int32(), "年份", "year"),
        Column("population", pa.int64(), "常住人口", "resident population"),
        Column("valid_from", pa.date32(), "年初（1月1日）", "1 January of the year"),
        Column("valid_to", pa.date32(), "次年1月1日", "1 January of the next year"),
        *RESIDENCE,
    ),
    partition_column="valid_from",
    queryset=_population, partition="year", yearly=True,
    select={"id": "pk", "year": "year", "population": "population", "path": "division__path"},
    orgs={"": "path"},
    derive=_population_years,
)


def _immunisation_enrolments() -> QuerySet[Any]:
    from yigongti.programmes.models import Enrolment

    return Enrolment.objects.filter(programme__code="immunisation")


DOSES = Fact(
    name="doses", label="疫苗应种剂次", label_en="Vaccine doses due",
    columns=(
        Column("id", pa.int64(), "ID", "id"),
        Column("resident_id", pa.int64(), "儿童ID", "child id"),
        Column("vaccine", pa.string(), "疫苗（HepB、MMR …）", "vaccine series"),
        Column("dose", pa.string(), "剂次（HepB-1、MMR-2 …）", "dose"),
        Column("due_on", pa.date32(), "推荐接种日期（出生日期＋推荐月龄）", "recommended date"),
        Column("window_end", pa.date32(), "及时接种截止日期", "last on-time day"),
        Column("given_on", pa.date32(), "实种日期（未种为空）", "given on (empty if not given)"),
        Column("on_time", pa.bool_(), "及时接种（在推荐日期及其时间窗内）", "given on time (inside the window)"),
        *RESIDENCE,
    ),
    event_date="due_on",
    queryset=_immunisation_enrolments, partition="resident__birth_date", resident="resident",
)


def _dose_rows(fact: Fact, ranges: list[tuple[dt.date, dt.date]] | None) -> Iterator[pa.Table]:
    """One row per child × dose of the schedule (the child's variant only; doses due later included),
    with the first date the dose was given and whether that was inside its on-time window —
    the plan engine's own dose table (:mod:`yigongti.programmes.engine.doses`)."""
    from yigongti.core.clock import today
    from yigongti.programmes.engine.doses import chosen_options
    from yigongti.programmes.models import Visit
    from yigongti.programmes.specs import spec_for

    from .export import org_levels

    as_of = today()
    spec = spec_for("immunisation", as_of)
    doses = spec.schedule.doses if spec.schedule else ()
    levels = org_levels()
    queryset = fact.queryset().order_by("pk")
    if ranges is not None:
        queryset = queryset.filter(fact.month_filter(ranges))
    enrolments = list(queryset.values_list("pk", "resident_id", "anchor_date", "variant", "path",
                                           "resident__birth_date"))
    for start in range(0, len(enrolments), 5000):
        chunk = enrolments[start:start + 5000]
        given: dict[int, dict[str, dt.date]] = {}
        for enrolment_id, item, first in (Visit.objects.filter(enrolment_id__in=[e[0] for e in chunk]).order_by()
                                          .values("enrolment_id", "item").annotate(first=Min("visit_date"))
                                          .values_list("enrolment_id", "item", "first")):
            given.setdefault(enrolment_id, {})[item] = first
        rows: dict[str, list[Any]] = {name: [] for name in ("id", "resident_id", "vaccine", "dose", "due_on",
                                                            "window_end", "given_on", "on_time", "county",
                                                            "township", "village", "_partition")}
        for enrolment_id, resident_id, anchor, variant, path, birth in chunk:
            history = given.get(enrolment_id, {})
            options = chosen_options(spec, variant or {}, history)
            place = levels.get(path) or (None, None, None)
            for number, dose in enumerate(doses):
                if dose.option and dose.option not in options:
                    continue
                due = dose.at.after(anchor)  # doses not yet due are kept: the fact must not depend on today
                window_start, window_end = dose.window.around(due)
                on = history.get(dose.item)
                rows["id"].append(enrolment_id * 100 + number)
                rows["resident_id"].append(resident_id)
                rows["vaccine"].append(dose.series)
                rows["dose"].append(dose.item)
                rows["due_on"].append(due)
                rows["window_end"].append(window_end)
                rows["given_on"].append(on)
                rows["on_time"].append(on is not None and window_start <= on <= window_end)
                rows["county"].append(place[0])
                rows["township"].append(place[1])
                rows["village"].append(place[2])
                rows["_partition"].append(birth)
        if rows["id"]:
            yield pa.table(rows)


def _dose_fingerprints() -> dict[int, str]:
    """By the child's birth month: the immunisation enrolments and their doses given."""
    from yigongti.programmes.models import Visit

    found: dict[int, list[str]] = {}
    enrolments = (_immunisation_enrolments().order_by().annotate(m=TruncMonth("resident__birth_date")).values("m")
                  .annotate(n=Count("pk"), s=Sum("pk")).values_list("m", "n", "s"))
    visits = (Visit.objects.filter(programme__code="immunisation").order_by()
              .annotate(m=TruncMonth("resident__birth_date")).values("m")
              .annotate(n=Count("pk"), s=Sum("pk"), x=Max("visit_date")).values_list("m", "n", "s", "x"))
    for row in [*enrolments, *visits]:
        month = _yyyymm(row[0])
        if month is not None:
            found.setdefault(month, []).append(":".join(str(v) for v in row[1:]))
    return {month: "|".join(parts) for month, parts in found.items()}


DOSES = replace(DOSES, extract=_dose_rows, fingerprints=_dose_fingerprints)


def _cases() -> QuerySet[Any]:
    from yigongti.surveillance.models import CaseCard

    return CaseCard.objects.all()


CASES = Fact(
    name="cases", label="传染病报告卡", label_en="Notifiable disease case reports",
    columns=(
        Column("id", pa.int64(), "报告卡ID", "card id"),
        Column("resident_id", pa.int64(), "居民ID（非本县居民为空）", "resident id (empty for non-residents)"),
        Column("disease", pa.string(), "病种", "disease"),
        Column("disease_class", pa.string(), "甲/乙/丙类（A/B/C）", "class"),
        Column("diagnosed_on", pa.date32(), "诊断日期", "diagnosed on"),
        Column("reported_on", pa.date32(), "报告日期", "reported on"),
        Column("on_time", pa.bool_(), "在时限内报告（2小时/24小时）", "reported within the deadline"),
        Column("status", pa.string(), "审核状态（reported/township_checked/accepted/returned/deleted）",
               "review status"),
        *RESIDENCE, *INSTITUTION,
    ),
    event_date="reported_on",
    partition_column="reported_on",
    # A review, revision or deletion edits the card in place: ``updated_at`` moves the fingerprint.
    queryset=_cases, partition="reported_at", stamp="updated_at", resident="resident",
    select={"id": "pk", "resident_id": "resident_id", "disease": "disease__code",
            "disease_class": "disease__disease_class", "diagnosed_on": TruncDate("diagnosed_at"),
            "reported_on": TruncDate("reported_at"), "on_time": "on_time", "status": "status", "path": "path",
            "inst_path": "institution_path"},
    orgs={"": "path", "inst_": "inst_path"},
)

def _coverages() -> QuerySet[Any]:
    from yigongti.insurance.models import Coverage

    return Coverage.objects.all()


def _coverage_rows(fact: Fact, ranges: list[tuple[dt.date, dt.date]] | None) -> Iterator[pa.Table]:
    """Per insurance year with any coverage (those in ``ranges``): one row per resident eligible that
    year (:func:`yigongti.insurance.selectors.eligible_residents`) or covered for it, ``enrolled``
    when covered — so 参合率 = rows enrolled ÷ rows. One table per year (its partition)."""
    from django.db.models import Exists, OuterRef

    from yigongti.insurance.models import Coverage
    from yigongti.insurance.selectors import eligible_residents
    from yigongti.residents.choices import RecordStatus
    from yigongti.residents.models import Resident

    from .export import org_levels

    levels = org_levels()
    years = sorted(set(_coverages().order_by().values_list("year", flat=True).distinct()))
    for year in years:
        start = dt.date(year, 1, 1)
        if ranges is not None and not any(low <= start < high for low, high in ranges):
            continue
        covered = Coverage.objects.filter(year=year)
        people = (Resident.objects.exclude(status=RecordStatus.MERGED)
                  .filter(Q(pk__in=eligible_residents(year).values("pk")) | Q(pk__in=covered.values("resident_id")))
                  .annotate(enrolled=Exists(covered.filter(resident=OuterRef("pk")))).order_by("pk"))
        parts: list[pa.Table] = []
        rows = people.values_list("pk", "path", "enrolled").iterator(chunk_size=50_000)
        while batch := list(itertools.islice(rows, 200_000)):
            ids, paths, enrolled = zip(*batch, strict=True)
            place = [levels.get(path) or (None, None, None) for path in paths]
            n = len(ids)
            parts.append(pa.table({
                "id": pa.array([pk * 10_000 + year for pk in ids], pa.int64()),
                "resident_id": pa.array(ids, pa.int64()), "year": pa.array([year] * n, pa.int32()),
                "enrolled": pa.array(enrolled, pa.bool_()), "valid_from": pa.array([start] * n, pa.date32()),
                "valid_to": pa.array([dt.date(year + 1, 1, 1)] * n, pa.date32()),
                **{level: pa.array([p[i] for p in place], pa.string()) for i, level in enumerate(ORG_LEVELS)},
                "_partition": pa.array([start] * n, pa.date32())}))
        if parts:
            yield pa.concat_tables(parts)


def _coverage_fingerprints() -> dict[int, str]:
    """By insurance year: its coverages; and, for every year, the register (a birth, a death, a move
    changes who is eligible where)."""
    from yigongti.residents.models import Resident

    register = Resident.objects.aggregate(n=Count("pk"), x=Max("updated_at"), d=Max("status_date"))
    people = f"{register['n']}:{register['x']}:{register['d']}"
    return {year * 100 + 1: f"{n}:{total}:{people}" for year, n, total in _coverages().order_by().values("year")
            .annotate(n=Count("pk"), s=Sum("pk")).values_list("year", "n", "s")}


COVERAGE = Fact(
    name="coverage", label="城乡居民医保参保", label_en="Resident insurance enrolment",
    columns=(
        Column("id", pa.int64(), "ID（居民ID×10000＋参保年度）", "id (resident id × 10000 + year)"),
        Column("resident_id", pa.int64(), "居民ID", "resident id"),
        Column("year", pa.int32(), "参保年度", "insurance year"),
        Column("enrolled", pa.bool_(), "已参保缴费", "enrolled (paid)"),
        Column("valid_from", pa.date32(), "年度开始", "start of the year"),
        Column("valid_to", pa.date32(), "次年开始", "start of the next year"),
        *RESIDENCE,
    ),
    partition_column="valid_from",
    queryset=_coverages, partition="year", yearly=True, extract=_coverage_rows, fingerprints=_coverage_fingerprints,
)


FACTS: dict[str, Fact] = {}


def register(fact: Fact) -> Fact:
    """Add a fact (apps that come later — surveillance, insurance — register theirs here)."""
    FACTS[fact.name] = fact
    return fact


for _fact in (RESIDENTS, ENROLMENTS, VISITS, ENCOUNTERS, REFERRALS, ORDERS, STAFF, CAPACITY, POPULATION, DOSES,
              CASES, COVERAGE):
    register(_fact)


def month_span(fact: Fact) -> tuple[Any, Any]:
    """The earliest and latest partition date of a fact's source rows (``None`` when empty)."""
    found = fact.queryset().order_by().aggregate(first=Min(fact.partition), last=Max(fact.partition))
    return found["first"], found["last"]
