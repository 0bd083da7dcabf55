"""``ygt import divisions``: administrative divisions (GB/T 2260, 统计用区划代码).

Columns: code (required; 12-digit statistical codes are shortened), name (required), level and
parent_code (inferred from the code when absent), valid_from. Rows are written county → township
→ village, so a village may come before its township in the file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from yigongti.core.errors import DomainError
from yigongti.interop.tabular import Column, Row
from yigongti.registry.choices import DivisionLevel
from yigongti.registry.codes import LEVEL_RANK, division_code_normalise, division_level_of_code, division_parent_code_of
from yigongti.registry.models import Division
from yigongti.registry.services import division_upsert

from .base import VALID_FROM, Importer, Parsed
from .fields import choice_parser

LEVEL_SYNONYMS = {
    "市": DivisionLevel.PREFECTURE, "地级市": DivisionLevel.PREFECTURE, "州": DivisionLevel.PREFECTURE,
    "县级": DivisionLevel.COUNTY, "区": DivisionLevel.COUNTY, "县区": DivisionLevel.COUNTY,
    "县级市": DivisionLevel.COUNTY, "乡": DivisionLevel.TOWNSHIP, "镇": DivisionLevel.TOWNSHIP,
    "乡镇": DivisionLevel.TOWNSHIP, "街道": DivisionLevel.TOWNSHIP, "村": DivisionLevel.VILLAGE,
    "社区": DivisionLevel.VILLAGE, "村委会": DivisionLevel.VILLAGE, "居委会": DivisionLevel.VILLAGE,
}


@dataclass
class DivisionItem(Parsed):
    name: str
    level: str | None
    parent_code: str | None
    valid_from: dt.date


class DivisionImporter(Importer[DivisionItem]):
    kind = "divisions"
    columns = (
        Column("code", ("代码", "区划代码", "统计用区划代码", "行政区划代码", "division_code"), required=True),
        Column("name", ("名称", "区划名称", "division_name"), required=True),
        Column("level", ("级别", "层级", "区划级别")),
        Column("parent_code", ("上级代码", "上级区划代码", "上级区划", "parent")),
        VALID_FROM,
    )
    models = (("division", Division._meta.verbose_name),)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.parse_level = choice_parser(DivisionLevel, str(Division._meta.get_field("level").verbose_name),
                                         LEVEL_SYNONYMS)

    def _code(self, row: Row, column: str) -> str | None:
        raw = row.get(column)
        if not raw:
            return None
        try:
            return division_code_normalise(raw)
        except DomainError as problem:
            self.error(row.number, column, problem)
            return None

    def key_of(self, row: Row) -> str:
        try:
            return division_code_normalise(row.get("code"))
        except DomainError:
            return row.get("code")

    def parse(self, row: Row) -> DivisionItem | None:
        code = self._code(row, "code")
        name = self.value(row, "name", required=True)
        level = self.value(row, "level", self.parse_level)
        parent_code = self._code(row, "parent_code")
        if code is None or name is None:
            return None
        if parent_code == code:
            self.error(row.number, "parent_code", _("上级区划不能是自己"))
        return DivisionItem(row=row.number, key=code, name=name, level=level, parent_code=parent_code,
                            valid_from=self.valid_from(row))

    def depends_on(self, item: DivisionItem) -> Iterable[str]:
        parent = item.parent_code or division_parent_code_of(item.key)
        return (parent,) if parent else ()

    def order(self, item: DivisionItem) -> Any:
        return LEVEL_RANK[item.level or division_level_of_code(item.key)]

    def write(self, item: DivisionItem) -> None:
        outcome, _division = division_upsert(code=item.key, name=item.name, level=item.level,
                                             parent_code=item.parent_code, valid_from=item.valid_from)
        self.count("division", outcome)
