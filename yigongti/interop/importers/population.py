"""``ygt import population``: 常住人口 — the resident population of each village for a year.

Columns: division_code (区划代码, required: a village or 社区 — the 12-digit 统计用区划代码 as the
statistics bureau publishes it), year (年份, required), population (常住人口, required: a whole
number above 0) and source (来源, optional: 统计年鉴、人口普查、乡镇上报 …).

The figures are the denominators of the indicators per resident population (电子健康档案建档率,
每千人口床位数 …). They are entered per village only: the facts count a village's figure for its
township and county (a roll-up is a sum), so a township or county total would be counted twice.
Keyed by (division, year): running the file again changes nothing ("unchanged"), a new figure for
a year already on file replaces it ("updated"). All-or-nothing, like every importer (:mod:`.base`);
each saved row marks its year for the next ``ygt analytics refresh``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from yigongti.analytics.models import Population
from yigongti.core.clock import today
from yigongti.core.errors import DomainError
from yigongti.interop.tabular import Column, Row
from yigongti.registry.choices import DivisionLevel
from yigongti.registry.codes import division_code_normalise
from yigongti.registry.models import Division
from yigongti.registry.services import CREATED, UNCHANGED, UPDATED

from .base import Importer, Parsed
from .fields import parse_count

FIRST_YEAR = 1949


@dataclass
class PopulationItem(Parsed):
    division_id: int
    year: int
    population: int
    source: str | None  # None: the file has no source column (the stored one is kept)


class PopulationImporter(Importer[PopulationItem]):
    kind = "population"
    columns = (
        Column("division_code", ("区划代码", "统计用区划代码", "行政区划代码", "村代码", "代码", "village_code",
                                 "code"), required=True),
        Column("year", ("年份", "年度", "统计年度"), required=True),
        Column("population", ("常住人口", "常住人口数", "人口", "人口数", "resident_population"), required=True),
        Column("source", ("来源", "数据来源", "资料来源")),
    )
    key_column = "division_code"
    models = (("population", Population._meta.verbose_name),)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._divisions: dict[str, tuple[int, str] | None] = {}

    def key_of(self, row: Row) -> str:
        """(division, year): the same village twice for one year is a duplicate row."""
        try:
            code = division_code_normalise(row.get("division_code"))
        except DomainError:
            code = row.get("division_code")
        return f"{code} {row.get('year')}" if code else ""

    def _division(self, code: str) -> tuple[int, str] | None:
        if code not in self._divisions:
            found = Division.objects.filter(code=code).values_list("id", "level").first()
            self._divisions[code] = (found[0], found[1]) if found else None
        return self._divisions[code]

    def parse(self, row: Row) -> PopulationItem | None:
        division_id = self._village(row)
        year = self.value(row, "year", parse_count, required=True)
        if year is not None and not FIRST_YEAR <= year <= today().year + 1:
            self.error(row.number, "year", _("年份“%(value)s”超出范围（%(first)s—%(last)s）") % {
                "value": row.get("year"), "first": FIRST_YEAR, "last": today().year + 1})
            year = None
        population = self.value(row, "population", parse_count, required=True)
        if population == 0:
            self.error(row.number, "population", _("常住人口应大于 0（没有常住人口的村不必填报）"))
            population = None
        source = self.optional(row, "source")
        limit = Population._meta.get_field("source").max_length or 0
        if source and len(source) > limit:
            self.error(row.number, "source", _("来源过长（最多 %(limit)s 字）") % {"limit": limit})
        if division_id is None or year is None or population is None:
            return None
        return PopulationItem(row=row.number, key=self.key_of(row), division_id=division_id, year=year,
                              population=population, source=source)

    def _village(self, row: Row) -> int | None:
        raw = row.get("division_code")
        if not raw:
            self.error(row.number, "division_code", _("不能为空"))
            return None
        try:
            code = division_code_normalise(raw, field="division_code")
        except DomainError as problem:
            self.error(row.number, "division_code", problem)
            return None
        division = self._division(code)
        if division is None:
            self.error(row.number, "division_code", _("区划“%(code)s”不存在（请先导入行政区划）") % {"code": raw})
            return None
        if division[1] != DivisionLevel.VILLAGE:
            self.error(row.number, "division_code", _("区划“%(code)s”是%(level)s：常住人口按村（社区）填报，"
                                                      "乡镇和县的人口由各村相加") % {
                "code": raw, "level": DivisionLevel(division[1]).label})
            return None
        return division[0]

    def write(self, item: PopulationItem) -> None:
        found = Population.objects.filter(division_id=item.division_id, year=item.year).first()
        if found is None:
            Population.objects.create(division_id=item.division_id, year=item.year, population=item.population,
                                      source=item.source or "")
            self.count("population", CREATED)
            return
        source = found.source if item.source is None else item.source
        if (found.population, found.source) == (item.population, source):
            self.count("population", UNCHANGED)
            return
        found.population, found.source = item.population, source
        found.save(update_fields=["population", "source"])
        self.count("population", UPDATED)
