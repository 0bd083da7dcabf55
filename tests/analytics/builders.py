"""Hand-built fixture rows for the indicator tests, written straight through the ORM (every date
chosen by the test), and a way to compute an indicator over whatever facts are on disk.

- :class:`Builder` — residents (birth date, record created on, status and its date), enrolments,
  visits, encounters, referrals, orders, staff qualifications, bed capacities and population rows
  in the MiniCounty (``tests/conftest.py``). Rows are written directly, not through the services:
  the tests need dates the services would refuse (records created years ago, closed enrolments,
  visits in the past) and nothing but the rows themselves.
- :func:`export_facts` — every fact written to Parquet under ``settings.YGT_ANALYTICS_DIR``, as the
  refresh's export step does (without computing anything).
- :func:`compute` — one indicator compiled and run on the DuckDB engine over those files for the
  periods asked: ``{(period, org): (numerator, denominator, value)}``, exactly what the refresh
  would store (:func:`yigongti.analytics.refresh.combine`).
- :func:`write_fact` — a Parquet partition written by hand, for the facts without a source yet
  (``cases``, ``coverage``).
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, cast

import pyarrow as pa

from tests.conftest import MiniCounty
from tests.factories.registry import StaffMemberFactory
from tests.factories.residents import ResidentFactory
from yigongti.analytics import export
from yigongti.analytics.compiler import compile_definition
from yigongti.analytics.definitions import Definition, expand, parse
from yigongti.analytics.engines import open_engine
from yigongti.analytics.facts import FACTS
from yigongti.analytics.models import Indicator, Population
from yigongti.analytics.periods import parse as parse_period
from yigongti.analytics.refresh import combine
from yigongti.analytics.rules import KIND
from yigongti.care.models import Encounter, Order, ResultItem
from yigongti.core.clock import LOCAL_TZ
from yigongti.core.rule_fixtures import rule_fixtures
from yigongti.programmes.models import Enrolment, Programme, Visit
from yigongti.referrals.models import Referral
from yigongti.registry.models import Capacity, Division, Institution, Qualification
from yigongti.residents.choices import RecordStatus
from yigongti.residents.models import Resident

Result = dict[tuple[str, str], tuple[float, float | None, float | None]]

_ids = itertools.count(1)
RECORDS_FROM = dt.date(2020, 1, 1)  # the county's records were created from this day on


def noon(day: dt.date) -> dt.datetime:
    """An aware local (Asia/Shanghai) timestamp at noon on ``day``: its month is ``day``'s month."""
    return dt.datetime.combine(day, dt.time(12), tzinfo=LOCAL_TZ)


class Builder:
    """Rows of the MiniCounty with every date chosen by the caller.

    Villages: ``a`` and ``b`` in township 1 (``t1``), ``c`` and ``d`` in township 2 (``t2``);
    ``county`` the county. Institutions: ``hospital`` (county level), ``centre1``/``centre2``
    (township centres), ``clinic(v)`` the village clinic of village ``v``.
    """

    def __init__(self, county: MiniCounty) -> None:
        self.mini = county
        self.county = cast(Division, county.county)
        self.t1, self.t2 = (cast(Division, t) for t in county.townships)
        villages = cast(dict[str, list[Division]], county.villages)
        self.a, self.b = villages[self.t1.code]
        self.c, self.d = villages[self.t2.code]
        self.hospital = cast(Institution, county.hospital)
        self.centre1, self.centre2 = (cast(Institution, c) for c in county.centres)
        self.clinics = cast(dict[str, Institution], county.clinics)

    def clinic(self, village: Division) -> Institution:
        return self.clinics[village.code]

    # ------------------------------------------------------------ residents

    def resident(self, village: Division, *, born: dt.date = dt.date(1980, 5, 17), created: dt.date | None = None,
                 sex: str = "M", status: str = RecordStatus.ACTIVE, status_date: dt.date | None = None) -> Resident:
        """A record of ``village`` created on ``created`` (default: 2020-01-01, or the birth date when
        later); ``status``/``status_date`` for a record that moved out or died (its ``ended_on``)."""
        created = created or max(born, RECORDS_FROM)
        resident = cast(Resident, ResidentFactory(village=village, birth_date=born, sex=sex, status=status,
                                                  status_date=status_date))
        Resident.objects.filter(pk=resident.pk).update(created_at=noon(created))
        resident.refresh_from_db()
        return resident

    # ------------------------------------------------------------ programmes

    @staticmethod
    def programme(code: str) -> Programme:
        """The programme row (the loaded one when ``load_programmes()`` ran first — the doses need
        the immunisation schedule; a bare row is enough for every other fact)."""
        found, _created = Programme.objects.get_or_create(code=code, defaults={"name": code, "name_en": code})
        return found

    def enrol(self, resident: Resident, programme: str, enrolled: dt.date, *, closed: dt.date | None = None,
              anchor: dt.date | None = None, variant: dict[str, str] | None = None) -> Enrolment:
        """An enrolment from ``enrolled`` (closed on ``closed``); the anchor defaults to the birth
        date for child / immunisation, else the enrolment date."""
        if anchor is None:
            anchor = resident.birth_date if programme in {"child", "immunisation", "tcm"} else enrolled
        return Enrolment.objects.create(
            resident=resident, programme=self.programme(programme), path=resident.path, anchor_date=anchor,
            enrolled_on=enrolled, how="manual", variant=variant or {},
            status="closed" if closed else "active", closed_on=closed, close_reason="other" if closed else "")

    def visit(self, enrolment: Enrolment, item: str, day: dt.date, *, institution: Institution | None = None,
              **values: Any) -> Visit:
        """A service of ``enrolment`` on ``day`` (``sbp``, ``dbp``, ``fpg`` … as keyword values); at the
        resident's village clinic unless ``institution`` says otherwise."""
        resident = enrolment.resident
        return Visit.objects.create(
            enrolment=enrolment, resident=resident, programme=enrolment.programme, path=enrolment.path, item=item,
            visit_date=day, institution=institution or self.clinics.get(resident.village.code), **values)

    def followups(self, enrolment: Enrolment, days: Iterable[dt.date], **values: Any) -> list[Visit]:
        return [self.visit(enrolment, "followup", day, **values) for day in days]

    # ------------------------------------------------------------ care

    def encounter(self, resident: Resident, day: dt.date, *, institution: Institution | None = None,
                  in_county: bool = True, kind: str = "outpatient", booked: bool = False,
                  cost: str = "100.50") -> Encounter:
        """An encounter of ``resident`` on ``day`` at ``institution`` (out of the county: none)."""
        if in_county and institution is None:
            institution = self.clinic(resident.village)
        return Encounter.objects.create(
            resident=resident, path=resident.path, kind=kind, institution=institution if in_county else None,
            outside_institution="" if in_county else "省人民医院", in_county=in_county,
            institution_path=institution.path if in_county and institution else "",
            tier=institution.tier if in_county and institution else "", start_date=day,
            end_date=day if kind != "inpatient" else day + dt.timedelta(days=3), total_cost=Decimal(cost),
            booked=booked)

    def result_item(self) -> ResultItem:
        item, _created = ResultItem.objects.get_or_create(
            code="GLU", defaults={"name": "空腹血糖", "name_en": "Fasting glucose", "kind": "lab", "unit": "mmol/L",
                                  "price": Decimal("12.00")})
        return item

    def order(self, resident: Resident, day: dt.date, *, institution: Institution, status: str = "ordered",
              saved: str = "0.00") -> Order:
        """A test order of ``resident`` at ``institution`` on ``day`` (its own encounter that day)."""
        encounter = self.encounter(resident, day, institution=institution)
        return Order.objects.create(encounter=encounter, path=resident.path, resident=resident,
                                    institution=institution, item=self.result_item(), status=status,
                                    saved=Decimal(saved), ordered_on=day)

    # ------------------------------------------------------------ referrals

    def referral(self, resident: Resident, day: dt.date, *, direction: str = "up", status: str = "requested",
                 source: Institution | None = None, to: Institution | None = None) -> Referral:
        """A referral requested on ``day`` (up: the village clinic → the county hospital; down: the
        hospital → the resident's township centre)."""
        if direction == "up":
            sender, receiver = source or self.clinic(resident.village), to or self.hospital
        else:
            centre = self.centre1 if resident.path.startswith(self.t1.path) else self.centre2
            sender, receiver = source or self.hospital, to or centre
        at = noon(day)
        return Referral.objects.create(
            resident=resident, path=resident.path, direction=direction, kind="outpatient", from_institution=sender,
            to_institution=receiver, from_path=sender.path, to_path=receiver.path, reason="血压控制不佳", status=status,
            requested_at=at, respond_by=at + dt.timedelta(hours=24), escalate_at=at + dt.timedelta(hours=48))

    # ------------------------------------------------------------ registry

    def qualification(self, institution: Institution, kind: str, *, valid_from: dt.date = dt.date(2020, 1, 1),
                      valid_to: dt.date | None = None, staff: Any = None, active: bool = True) -> Qualification:
        """A qualification of a staff member (a new one unless ``staff``) of ``institution``."""
        if staff is None:
            staff = StaffMemberFactory(institution=institution, active=active)
        return Qualification.objects.create(staff=staff, kind=kind, valid_from=valid_from, valid_to=valid_to)

    def beds(self, institution: Institution, quantity: int) -> Capacity:
        return Capacity.objects.create(institution=institution, kind="beds", quantity=quantity)

    def population(self, village: Division, year: int, number: int) -> Population:
        return Population.objects.create(division=village, year=year, population=number, source="统计年鉴")


# ---------------------------------------------------------------- computing


def export_facts() -> None:
    """Write every fact's partitions from the database (what ``ygt analytics refresh --full`` exports)."""
    export.ensure_schema_files()
    levels = export.org_levels()
    for fact in FACTS.values():
        if fact.extract is not None and not fact.queryset().exists():
            continue  # no source rows (the doses would need the immunisation rules only to find none)
        for month, table in export.month_tables(fact, None, levels):
            export.write_partition(fact, month, table)


@functools.cache
def catalogue() -> dict[str, Definition]:
    """The definitions of ``analytics/fixtures/indicators.yaml``, parsed as ``ygt rules load`` parses them."""
    fixture = next(f for f in rule_fixtures() if f.kind == KIND)
    rows = expand(fixture.rows("indicators"))
    return {d.code: d for d in (parse(row, sort_order=i) for i, row in enumerate(rows))}


def compute(code: str, periods: Iterable[str]) -> Result:
    """Indicator ``code`` of the catalogue compiled and run on DuckDB over the Parquet on disk for
    ``periods`` (keys): ``{(period, org): (numerator, denominator, value)}`` — the rows a refresh
    would store (same compiler, same engine, same :func:`~yigongti.analytics.refresh.combine`)."""
    definition = catalogue()[code]
    indicator = Indicator(code=code, definition=definition.document, digest=definition.digest)
    compiled = compile_definition(definition)
    wanted = {parse_period(key) for key in periods}
    assert all(p.type in definition.periods for p in wanted), f"{code} is defined for {definition.periods}"
    needed = wanted | ({p.shifted(-12) for p in wanted} if definition.compare else set())
    engine = open_engine("duckdb", sorted(needed))
    try:
        numerator = engine.query(compiled.numerator)
        denominator = engine.query(compiled.denominator) if compiled.denominator else None
    finally:
        engine.close()
    values = combine(indicator, definition, wanted, numerator, denominator)
    return {(v.period, v.org_code): (v.numerator, v.denominator, v.value) for v in values}


def write_fact(name: str, month: int, rows: list[dict[str, Any]]) -> None:
    """A partition of fact ``name`` for ``month`` (YYYYMM) with ``rows`` (missing columns null;
    ``id`` numbered when absent), in the fact's schema."""
    fact = FACTS[name]
    columns: dict[str, list[Any]] = {c.name: [] for c in fact.columns}
    for row in rows:
        unknown = set(row) - set(columns)
        assert not unknown, f"{name} has no column {sorted(unknown)}"
        for column in columns:
            columns[column].append(row.get(column, next(_ids) if column == "id" else None))
    export.write_partition(fact, month, pa.table(columns, schema=fact.schema))
