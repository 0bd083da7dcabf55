"""``ygt import followups``: services received (随访、体检、接种) from CSV/XLSX.

Columns: record_no (or id_number), programme, item, visit_date, then the measurements of the
item's form — sbp, dbp, heart_rate, fpg, weight_kg, height_cm, bmi, waist_cm, hb, adherence,
symptoms and danger_signs (several codes separated by ; 、 ,), risk_grade, lot_no — and
institution_code (optional). Chinese headers too (收缩压, 空腹血糖 …). Each row goes through
:func:`yigongti.programmes.services.visit_record` (the resident must be enrolled; ranges, dates and
flags are checked there), acting for the whole county from the command line. All-or-nothing;
running the same file again finds every visit recorded (same resident, programme, item and date)
and counts it "unchanged".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.utils.translation import gettext as _

from yigongti.core.clock import today
from yigongti.core.errors import DomainError
from yigongti.core.scope import SYSTEM
from yigongti.interop.tabular import Column, Row
from yigongti.programmes.choices import VisitSource
from yigongti.programmes.engine import ValuesInvalid
from yigongti.programmes.engine.types import FieldSpec
from yigongti.programmes.models import Programme, Visit
from yigongti.programmes.services import visit_record
from yigongti.programmes.specs import spec_for
from yigongti.registry.models import Institution
from yigongti.registry.services import CREATED, UNCHANGED
from yigongti.residents.choices import RecordStatus
from yigongti.residents.identity import id_upgrade
from yigongti.residents.models import Resident

from .base import Importer, Parsed
from .fields import parse_date, split_list

# Form fields with a column of their own in the file (code, Chinese headers); several values
# (multichoice) are separated like lists elsewhere.
MEASUREMENTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("sbp", ("收缩压", "收缩压mmhg")),
    ("dbp", ("舒张压", "舒张压mmhg")),
    ("heart_rate", ("心率",)),
    ("fpg", ("空腹血糖", "空腹血糖mmol/l")),
    ("weight_kg", ("体重", "体重kg")),
    ("height_cm", ("身高", "身高cm")),
    ("bmi", ("体质指数", "体重指数")),
    ("waist_cm", ("腰围", "腰围cm")),
    ("hb", ("血红蛋白",)),
    ("adherence", ("服药依从性", "依从性")),
    ("symptoms", ("症状",)),
    ("danger_signs", ("危险征象", "危急情况")),
    ("risk_grade", ("危险性评估", "危险性等级", "危险性分级")),
    ("lot_no", ("疫苗批号", "批号")),
)
LISTS = frozenset({"symptoms", "danger_signs"})


@dataclass
class FollowupItem(Parsed):
    record_no: str
    id_number: str
    programme: str
    item: str
    visit_date: dt.date
    institution_code: str
    values: dict[str, Any] = field(default_factory=dict)


class FollowupImporter(Importer[FollowupItem]):
    kind = "followups"
    BASE_COLUMNS: ClassVar[tuple[Column, ...]] = (
        Column("record_no", ("档案编号", "档案号", "健康档案编号")),
        Column("id_number", ("身份证号", "身份证号码", "公民身份号码")),
        Column("programme", ("项目", "项目代码"), required=True),
        Column("item", ("服务项", "随访项目", "服务项目"), required=True),
        Column("visit_date", ("服务日期", "随访日期", "接种日期", "日期"), required=True),
        Column("institution_code", ("机构代码", "服务机构代码")),
    )
    columns = (*BASE_COLUMNS, *(Column(code, aliases) for code, aliases in MEASUREMENTS))
    key_column = "record_no"
    models = (("visit", Visit._meta.verbose_name),)
    field_columns = {"resident": "record_no", "values": "item"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.programmes = set(Programme.objects.values_list("code", flat=True))
        # Form fields without a column of their own (Visit.data) are read too, by code or label.
        self.fields: dict[str, FieldSpec] = {}
        for code in sorted(self.programmes):
            try:
                self.fields.update(spec_for(code, today()).fields)
            except DomainError:  # a programme without rules in force: its rows fail in the service
                continue
        known = {c.name for c in self.columns}
        # Per run: the columns depend on the programme rules loaded (the base reads self.columns).
        extra = tuple(Column(code, (f.label.zh,)) for code, f in sorted(self.fields.items()) if code not in known)
        self.columns = (*self.columns, *extra)  # type: ignore[misc]

    def key_of(self, row: Row) -> str:
        who = row.get("record_no") or id_upgrade(row.get("id_number"))
        return "|".join((who, row.get("programme"), row.get("item"), row.get("visit_date")))

    def parse(self, row: Row) -> FollowupItem | None:
        n = row.number
        record_no, id_number = row.get("record_no"), id_upgrade(row.get("id_number"))
        if not record_no and not id_number:
            self.error(n, "record_no", _("档案编号与身份证号不能都为空"))
        programme = row.get("programme")
        if not programme:
            self.error(n, "programme", _("不能为空"))
        elif programme not in self.programmes:
            self.error(n, "programme", _("未知的项目“%(code)s”（可选：%(codes)s）") % {
                "code": programme, "codes": "、".join(sorted(self.programmes))})
        item = self.value(row, "item", required=True)
        visit_date = self.value(row, "visit_date", parse_date, required=True)
        values: dict[str, Any] = {}
        for column in self.columns[len(self.BASE_COLUMNS):]:
            text = row.get(column.name)
            if text:
                spec_field = self.fields.get(column.name)
                several = spec_field.type == "multichoice" if spec_field else column.name in LISTS
                values[column.name] = split_list(text) if several else text
        if not (record_no or id_number) or not programme or not item or visit_date is None:
            return None
        return FollowupItem(row=n, key=self.key_of(row), record_no=record_no, id_number=id_number,
                            programme=programme, item=item, visit_date=visit_date,
                            institution_code=row.get("institution_code"), values=values)

    def _resident(self, item: FollowupItem) -> Resident | None:
        qs = Resident.objects.exclude(status=RecordStatus.MERGED)
        resident = (qs.filter(record_no=item.record_no).first() if item.record_no
                    else qs.filter(id_number=item.id_number).first())
        if resident is None:
            column = "record_no" if item.record_no else "id_number"
            self.error(item.row, column, _("找不到档案“%(key)s”") % {"key": item.record_no or item.id_number})
        return resident

    def write(self, item: FollowupItem) -> None:
        resident = self._resident(item)
        if resident is None:
            return
        institution = None
        if item.institution_code:
            institution = Institution.objects.filter(code=item.institution_code).first()
            if institution is None:
                self.error(item.row, "institution_code",
                           _("机构代码“%(code)s”不存在") % {"code": item.institution_code})
                return
        try:
            outcome = visit_record(user=self.user or SYSTEM, resident=resident, programme_code=item.programme,
                                   item=item.item, visit_date=item.visit_date, values=item.values,
                                   institution=institution, source=VisitSource.IMPORT, request=self.request)
        except ValuesInvalid as problem:
            for code, message in problem.problems:
                self.error(item.row, code if self.table.has(code) else "item", message)
            return  # nothing was written: the service validates before it writes
        self.count("visit", CREATED if outcome.created else UNCHANGED)
