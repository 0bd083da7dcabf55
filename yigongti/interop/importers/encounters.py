"""``ygt import encounters`` and ``ygt import results``: HIS / LIS exports from CSV/XLSX.

Encounters — columns (Chinese headers as a HIS exports them, or the English names): 档案编号 or
身份证号, 就诊类型 (门诊/急诊/住院 or the code), 机构代码 (or 县外机构名称 for care outside the
county), 科室 (code or name), 医生, 就诊日期, 出院日期, 离院方式, 主要诊断编码, 主要诊断名称, 其他诊断编码
(several separated by ; 、 ,), 主诉, 是否预约, HIS流水号 (required: the idempotency key together with
the institution), and one column per cost category named by its label (西药费, 检查费, 化验费 …).

Results — 档案编号 or 身份证号, 项目代码, 结果 (a number, or text such as 阴性), 单位, 参考范围, 异常标识,
报告 (imaging findings), 出具机构代码, 报告时间, 报告单号 (required: the key with the institution).

Each row goes through :func:`yigongti.care.services.encounter_record` / ``result_record`` acting
for the whole county from the command line. All-or-nothing with row errors naming row, column and
reason; running the same file again finds every row recorded and counts it "unchanged". A row for a
merged record is written to the survivor.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from django.utils import translation
from django.utils.translation import gettext as _

from yigongti.care.choices import CostCategory, DischargeStatus, EncounterKind, EncounterSource
from yigongti.care.models import Encounter, Result
from yigongti.care.selectors import department_of
from yigongti.care.services import DiagnosisIn, encounter_record, result_record
from yigongti.core.clock import LOCAL_TZ
from yigongti.core.scope import SYSTEM
from yigongti.interop.tabular import Column, Row
from yigongti.registry.models import Institution
from yigongti.registry.services import CREATED, UNCHANGED
from yigongti.residents.choices import RecordStatus
from yigongti.residents.identity import id_upgrade
from yigongti.residents.models import Resident

from .base import Importer, Parsed
from .fields import BadValue, choice_parser, parse_bool, parse_date, split_list

WHO = (
    Column("record_no", ("档案编号", "档案号", "健康档案编号")),
    Column("id_number", ("身份证号", "身份证号码", "公民身份号码")),
)


def _cost_column(category: CostCategory) -> Column:
    with translation.override("en"):
        english = str(category.label)
    with translation.override("zh-hans"):
        chinese = str(category.label)
    return Column(f"cost_{category.value}", (chinese, english, category.value))


COST_COLUMNS = tuple(_cost_column(c) for c in CostCategory)
_DATETIME = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$")


def parse_amount(text: str) -> Decimal:
    """A non-negative amount of yuan (``1,234.50`` and ``¥12`` accepted)."""
    cleaned = text.replace(",", "").replace("，", "").replace("¥", "").replace("￥", "").strip()
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise BadValue(_("“%(value)s”不是金额") % {"value": text}) from None
    if not amount.is_finite():
        raise BadValue(_("“%(value)s”不是金额") % {"value": text})
    if amount < 0:
        raise BadValue(_("金额不能为负数（%(value)s）") % {"value": text})
    return amount


def parse_datetime(text: str) -> dt.datetime:
    """``2026-03-01 08:30``, ``2026/3/1 8:30:15``, ``2026-03-01T08:30`` (local time); a date alone is 00:00."""
    match = _DATETIME.match(text.strip())
    try:
        if match:
            return dt.datetime(int(match[1]), int(match[2]), int(match[3]), int(match[4] or 0), int(match[5] or 0),
                               int(match[6] or 0), tzinfo=LOCAL_TZ)
    except ValueError:
        pass
    raise BadValue(_("“%(value)s”不是有效时间（应为 YYYY-MM-DD HH:MM）") % {"value": text})


def parse_number(text: str) -> Decimal | None:
    """The number in a result cell, or ``None`` when it is text (阴性, 1+ …)."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def resident_of(importer: Importer[Any], row: int, record_no: str, id_number: str) -> Resident | None:
    """The resident of a row by record number or ID — a merged record too: the service moves the
    row to the survivor. Reports a row error when there is none."""
    if record_no:
        resident = Resident.objects.filter(record_no=record_no).first()
    else:
        qs = Resident.objects.filter(id_number=id_number)
        resident = qs.exclude(status=RecordStatus.MERGED).first() or qs.first()
    if resident is None:
        column = "record_no" if record_no else "id_number"
        importer.error(row, column, _("找不到档案“%(key)s”") % {"key": record_no or id_number})
    return resident


@dataclass
class EncounterItem(Parsed):
    record_no: str
    id_number: str
    kind: str
    institution_code: str
    outside_institution: str
    department: str
    clinician_name: str
    start_date: dt.date
    end_date: dt.date | None
    discharge_status: str
    diagnoses: list[DiagnosisIn]
    chief_complaint: str
    booked: bool
    source_no: str
    costs: dict[str, Decimal] = field(default_factory=dict)


class EncounterImporter(Importer[EncounterItem]):
    kind = "encounters"
    columns: ClassVar[tuple[Column, ...]] = (
        *WHO,
        Column("kind", ("就诊类型", "就诊类别", "门诊住院"), required=True),
        Column("institution_code", ("机构代码", "就诊机构代码")),
        Column("outside_institution", ("县外机构名称", "县外就诊机构")),
        Column("department", ("科室", "科室代码", "科室名称")),
        Column("clinician_name", ("医生", "接诊医生", "医生姓名")),
        Column("start_date", ("就诊日期", "入院日期", "就诊/入院日期"), required=True),
        Column("end_date", ("出院日期",)),
        Column("discharge_status", ("离院方式", "转归")),
        Column("primary_code", ("主要诊断编码", "主诊断编码")),
        Column("primary_name", ("主要诊断名称", "主诊断名称")),
        Column("other_codes", ("其他诊断编码", "次要诊断编码")),
        Column("chief_complaint", ("主诉",)),
        Column("booked", ("是否预约", "预约就诊", "预约")),
        Column("source_no", ("HIS流水号", "流水号", "就诊流水号", "门诊号/住院号"), required=True),
        *COST_COLUMNS,
    )
    key_column = "source_no"
    models = (("encounter", Encounter._meta.verbose_name),)
    field_columns = {"resident": "record_no", "institution": "institution_code", "diagnoses": "primary_code",
                     "department": "department"}
    _kind = staticmethod(choice_parser(EncounterKind, "就诊类型"))
    _discharge = staticmethod(choice_parser(DischargeStatus, "离院方式"))

    def key_of(self, row: Row) -> str:
        source_no = row.get("source_no")
        return f"{row.get('institution_code') or row.get('outside_institution')}|{source_no}" if source_no else ""

    def parse(self, row: Row) -> EncounterItem | None:
        n = row.number
        record_no, id_number = row.get("record_no"), id_upgrade(row.get("id_number"))
        if not record_no and not id_number:
            self.error(n, "record_no", _("档案编号与身份证号不能都为空"))
        kind = self.value(row, "kind", self._kind, required=True)
        start = self.value(row, "start_date", parse_date, required=True)
        end = self.value(row, "end_date", parse_date)
        discharge = self.value(row, "discharge_status", self._discharge) or ""
        source_no = self.value(row, "source_no", required=True)
        institution, outside = row.get("institution_code"), row.get("outside_institution")
        if bool(institution) == bool(outside):
            self.error(n, "institution_code", _("机构代码与县外机构名称须填且只填一项"))
        diagnoses: list[DiagnosisIn] = []
        if row.get("primary_code"):
            diagnoses.append(DiagnosisIn(code=row.get("primary_code"), name=row.get("primary_name"), primary=True))
        diagnoses += [DiagnosisIn(code=code) for code in split_list(row.get("other_codes"))]
        costs: dict[str, Decimal] = {}
        for column in COST_COLUMNS:
            amount = self.value(row, column.name, parse_amount)
            if amount is not None:
                costs[column.name.removeprefix("cost_")] = amount
        booked = bool(self.value(row, "booked", parse_bool))
        if not (record_no or id_number) or kind is None or start is None or not source_no:
            return None
        return EncounterItem(row=n, key=self.key_of(row), record_no=record_no, id_number=id_number, kind=kind,
                             institution_code=institution, outside_institution=outside,
                             department=row.get("department"), clinician_name=row.get("clinician_name"),
                             start_date=start, end_date=end, discharge_status=discharge, diagnoses=diagnoses,
                             chief_complaint=row.get("chief_complaint"), booked=booked, source_no=source_no,
                             costs=costs)

    def write(self, item: EncounterItem) -> None:
        resident = resident_of(self, item.row, item.record_no, item.id_number)
        institution = None
        if item.institution_code:
            institution = Institution.objects.filter(code=item.institution_code).first()
            if institution is None:
                self.error(item.row, "institution_code",
                           _("机构代码“%(code)s”不存在") % {"code": item.institution_code})
                return
        if resident is None:
            return
        department = department_of(institution, item.department) if item.department else None
        encounter = encounter_record(
            user=self.user or SYSTEM, resident=resident, kind=item.kind, start_date=item.start_date,
            institution=institution, outside_institution=item.outside_institution, department=department,
            clinician_name=item.clinician_name, end_date=item.end_date, discharge_status=item.discharge_status,
            chief_complaint=item.chief_complaint, diagnoses=item.diagnoses, costs=item.costs, booked=item.booked,
            source_no=item.source_no, source=EncounterSource.IMPORT, request=self.request)
        self.count("encounter", UNCHANGED if getattr(encounter, "replayed", False) else CREATED)


@dataclass
class ResultRowItem(Parsed):
    record_no: str
    id_number: str
    item_code: str
    value: Decimal | None
    value_text: str
    unit: str
    ref_range: str
    flag: str
    report: str
    performed_by: str
    reported_at: dt.datetime
    source_no: str


class ResultImporter(Importer[ResultRowItem]):
    kind = "results"
    columns: ClassVar[tuple[Column, ...]] = (
        *WHO,
        Column("item", ("项目代码", "检验项目代码", "检查项目代码"), required=True),
        Column("value", ("结果", "结果值", "检验结果")),
        Column("unit", ("单位",)),
        Column("ref_range", ("参考范围", "参考值")),
        Column("flag", ("异常标识", "提示")),
        Column("report", ("报告", "检查所见", "诊断意见", "报告内容")),
        Column("performed_by", ("出具机构代码", "机构代码", "检验机构代码"), required=True),
        Column("reported_at", ("报告时间", "报告日期"), required=True),
        Column("source_no", ("报告单号", "条码号", "检查号"), required=True),
    )
    key_column = "source_no"
    models = (("result", Result._meta.verbose_name),)
    field_columns = {"resident": "record_no", "item_code": "item", "performed_by": "performed_by"}

    def key_of(self, row: Row) -> str:
        source_no = row.get("source_no")
        return f"{row.get('performed_by')}|{source_no}" if source_no else ""

    def parse(self, row: Row) -> ResultRowItem | None:
        n = row.number
        record_no, id_number = row.get("record_no"), id_upgrade(row.get("id_number"))
        if not record_no and not id_number:
            self.error(n, "record_no", _("档案编号与身份证号不能都为空"))
        item_code = self.value(row, "item", required=True)
        performed_by = self.value(row, "performed_by", required=True)
        reported_at = self.value(row, "reported_at", parse_datetime, required=True)
        source_no = self.value(row, "source_no", required=True)
        text = row.get("value")
        number = parse_number(text) if text else None
        if not (record_no or id_number) or not item_code or not performed_by or reported_at is None or not source_no:
            return None
        return ResultRowItem(row=n, key=self.key_of(row), record_no=record_no, id_number=id_number,
                             item_code=item_code, value=number, value_text="" if number is not None else text,
                             unit=row.get("unit"), ref_range=row.get("ref_range"), flag=row.get("flag"),
                             report=row.get("report"), performed_by=performed_by, reported_at=reported_at,
                             source_no=source_no)

    def write(self, item: ResultRowItem) -> None:
        resident = resident_of(self, item.row, item.record_no, item.id_number)
        institution = Institution.objects.filter(code=item.performed_by).first()
        if institution is None:
            self.error(item.row, "performed_by", _("机构代码“%(code)s”不存在") % {"code": item.performed_by})
            return
        if resident is None:
            return
        result = result_record(user=self.user or SYSTEM, resident=resident, item_code=item.item_code,
                               performed_by=institution, reported_at=item.reported_at, value=item.value,
                               value_text=item.value_text, unit=item.unit, ref_range=item.ref_range, flag=item.flag,
                               report=item.report, source_no=item.source_no, request=self.request)
        self.count("result", UNCHANGED if getattr(result, "replayed", False) else CREATED)
