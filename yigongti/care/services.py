"""Writes of the care app: encounters (门急诊 / 住院), results (检验检查结果) and orders (检查检验申请).

Every service is keyword-only and atomic: it validates everything at the boundary — a
:class:`~yigongti.core.errors.ValidationFailed` names the ``field`` — and writes nothing on an
error, or commits the rows together with their audit entry.

Scope: the caller's data-entry unit must cover the resident's village OR the institution the care
happens at (a county clinician records for any county resident; a township centre records for the
residents of its township, and for anyone seen at the centre). Outside it is "not found", audited
after the rollback. A merged record's care goes to its survivor (``merged_into`` chain).

Idempotency: an encounter is keyed by (institution, HIS number ``source_no``), a result by
(performing institution, report number). The same key again returns the stored row with
``replayed = True`` and writes nothing; two concurrent writes of one key meet at the unique
constraint, inside a savepoint, and the loser returns the winner's row.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yigongti.core import audit
from yigongti.core.clock import LOCAL_TZ, today
from yigongti.core.errors import ValidationFailed
from yigongti.core.models import AuditAction
from yigongti.core.scope import covers
from yigongti.registry.models import Department, Institution
from yigongti.residents.errors import OutOfScope
from yigongti.residents.models import Resident
from yigongti.residents.services import audit_misses

from .choices import (
    AbnormalFlag,
    CostCategory,
    DischargeStatus,
    EncounterKind,
    EncounterSource,
    OrderStatus,
    ResultKind,
)
from .errors import KeyReused, NotRecognisable, UnitMismatch
from .models import Diagnosis, Encounter, EncounterCost, Order, Result, ResultItem
from .selectors import item_get, local_date, moment, recognition_check, result_recognised, survivor_of

ENCOUNTER = "care.encounter"
RESULT = "care.result"
ORDER = "care.order"
RESIDENT = "residents.resident"

ICD10 = re.compile(r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$")
_RANGE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*[-~～—–至]\s*(-?\d+(?:\.\d+)?)\s*$")
_BELOW = re.compile(r"^\s*[<≤＜]\s*=?\s*(-?\d+(?:\.\d+)?)\s*$")
_ABOVE = re.compile(r"^\s*[>≥＞]\s*=?\s*(-?\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class DiagnosisIn:
    """One diagnosis of an encounter as a caller gives it (ICD-10 code, name, primary or not)."""

    code: str  # ICD-10, e.g. "I10", "E11.9", "J18.000"
    name: str = ""
    primary: bool = False


def _invalid(field: str, reason: Any) -> ValidationFailed:
    return ValidationFailed(reason=reason, field=field)



def may_enter(user: Any, resident: Resident, institution: Institution | None = None) -> bool:
    """Whether the caller's data-entry unit covers the resident's village or the institution."""
    if covers(user, resident.path, mode="entry"):
        return True
    return institution is not None and covers(user, institution.path, mode="entry")


def _require_entry(user: Any, resident: Resident, institution: Institution | None) -> None:
    if not may_enter(user, resident, institution):
        raise OutOfScope(object_type=RESIDENT, object_id=resident.record_no)


def _by(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None



# ---------------------------------------------------------------- encounters (就诊记录)


def _diagnoses(items: Sequence[DiagnosisIn]) -> list[Diagnosis]:
    rows: list[Diagnosis] = []
    seen: set[str] = set()
    for item in items:
        code = (item.code or "").strip().upper()
        if not ICD10.match(code):
            raise _invalid("diagnoses", _("诊断编码“%(code)s”不是有效的 ICD-10 编码（如 I10、E11.9、J18.000）") % {
                "code": item.code})
        if code in seen:
            raise _invalid("diagnoses", _("诊断编码 %(code)s 重复") % {"code": code})
        seen.add(code)
        rows.append(Diagnosis(code=code, name=(item.name or "").strip()[:200], is_primary=bool(item.primary),
                              position=len(rows)))
    primaries = [row for row in rows if row.is_primary]
    if len(primaries) > 1:
        raise _invalid("diagnoses", _("只能有一个主要诊断（收到 %(codes)s）") % {
            "codes": "、".join(row.code for row in primaries)})
    if rows and not primaries:
        rows[0].is_primary = True  # the first diagnosis listed is the primary one (病案首页 convention)
    return rows


def _money(value: Any, category: str) -> Decimal:
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise _invalid("costs", _("费用“%(category)s”的金额“%(value)s”不是数字") % {
            "category": category, "value": value}) from exc
    if not amount.is_finite():
        raise _invalid("costs", _("费用“%(category)s”的金额“%(value)s”不是数字") % {
            "category": category, "value": value})
    return amount.quantize(Decimal("0.01"))


def _costs(costs: Mapping[str, Any] | None) -> list[EncounterCost]:
    rows: list[EncounterCost] = []
    for category, value in (costs or {}).items():
        if category not in CostCategory.values:
            raise _invalid("costs", _("未知的费用类别“%(category)s”（可选：%(allowed)s）") % {
                "category": category, "allowed": "、".join(f"{c.value} {c.label}" for c in CostCategory)})
        label = CostCategory(category).label
        amount = _money(value, str(label))
        if amount < 0:
            raise _invalid("costs", _("费用“%(category)s”不能为负数（%(amount)s）") % {
                "category": label, "amount": amount})
        rows.append(EncounterCost(category=category, amount=amount))
    return rows


def _procedures(procedures: Sequence[Mapping[str, str]]) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for procedure in procedures:
        row = {key: str(procedure.get(key) or "").strip() for key in ("code", "name", "date")}
        if not row["code"] and not row["name"]:
            raise _invalid("procedures", _("手术/操作须有编码或名称"))
        rows.append(row)
    return rows


def _check_dates(resident: Resident, start: dt.date, end: dt.date | None) -> None:
    if start > today():
        raise _invalid("start_date", _("就诊日期不能晚于今天"))
    if start < resident.birth_date:
        raise _invalid("start_date", _("就诊日期不能早于出生日期 %(date)s") % {"date": resident.birth_date.isoformat()})
    if end is not None:
        if end < start:
            raise _invalid("end_date", _("出院日期不能早于就诊/入院日期"))
        if end > today():
            raise _invalid("end_date", _("出院日期不能晚于今天"))


def _place(institution: Institution | None, outside: str, department: Department | None) -> None:
    if institution is None and not outside:
        raise _invalid("institution", _("须填写就诊机构（县域内）或县外机构名称"))
    if institution is not None and outside:
        raise _invalid("institution", _("县域内机构与县外机构名称只能填一项"))
    if department is not None and (institution is None or department.institution_id != institution.pk):
        raise _invalid("department", _("科室“%(name)s”不属于就诊机构") % {"name": department.name})


def _encounter_replay(*, institution: Institution | None, outside: str, source_no: str) -> Encounter | None:
    if not source_no:
        return None
    qs = Encounter.objects.filter(source_no=source_no)
    qs = qs.filter(institution=institution) if institution is not None else qs.filter(
        institution__isnull=True, outside_institution=outside)
    return qs.first()


Keyed = TypeVar("Keyed", Encounter, Result)


def _replayed(row: Keyed, resident: Resident) -> Keyed:
    """The row stored earlier under the same source number, marked ``replayed`` — unless that
    number belongs to another resident (409: the HIS reused it)."""
    if row.resident_id != resident.pk:
        raise KeyReused(key=row.source_no, field="source_no")
    row.replayed = True  # type: ignore[attr-defined]
    return row


@audit_misses
@transaction.atomic
def encounter_record(*, user: Any, resident: Resident, kind: str, start_date: dt.date,
                     institution: Institution | None = None, outside_institution: str = "",
                     department: Department | None = None, clinician_name: str = "",
                     end_date: dt.date | None = None, discharge_status: str = "", chief_complaint: str = "",
                     diagnoses: Sequence[DiagnosisIn] = (), procedures: Sequence[Mapping[str, str]] = (),
                     costs: Mapping[str, Decimal] | None = None, booked: bool = False, source_no: str = "",
                     source: str = EncounterSource.UI, request: Any = None) -> Encounter:
    """Record one visit or stay with its diagnoses and costs.

    Guarantees: ICD-10 codes well-formed (upper-cased), exactly one primary diagnosis (the first
    when none is marked; two marked is 422), costs non-negative in known categories, dates neither
    in the future nor before birth and the discharge not before the admission, either a county
    institution or an out-of-county name; ``tier``/``in_county`` come from the institution and
    ``total_cost`` is the sum of the costs. A merged record's encounter goes to the survivor. The
    same (institution, ``source_no``) again returns the stored encounter (``replayed = True``).
    """
    resident = survivor_of(resident)
    _require_entry(user, resident, institution)
    outside = (outside_institution or "").strip()[:200]
    key = (source_no or "").strip()[:64]
    existing = _encounter_replay(institution=institution, outside=outside, source_no=key)
    if existing is not None:
        return _replayed(existing, resident)
    if kind not in EncounterKind.values:
        raise _invalid("kind", _("就诊类型“%(kind)s”无效（可选：%(allowed)s）") % {
            "kind": kind, "allowed": "、".join(f"{c.value} {c.label}" for c in EncounterKind)})
    if discharge_status and discharge_status not in DischargeStatus.values:
        raise _invalid("discharge_status", _("离院方式“%(value)s”无效（可选：%(allowed)s）") % {
            "value": discharge_status, "allowed": "、".join(f"{c.value} {c.label}" for c in DischargeStatus)})
    _place(institution, outside, department)
    _check_dates(resident, start_date, end_date)
    diagnosis_rows = _diagnoses(diagnoses)
    cost_rows = _costs(costs)
    procedure_rows = _procedures(procedures)
    if source not in EncounterSource.values:
        raise _invalid("source", _("来源“%(value)s”无效") % {"value": source})
    encounter = Encounter(
        resident=resident, path=resident.path, kind=kind, institution=institution, outside_institution=outside,
        in_county=institution is not None, tier=institution.tier if institution is not None else "",
        institution_path=institution.path if institution is not None else "",
        department=department, clinician_name=(clinician_name or "").strip()[:50], start_date=start_date,
        end_date=end_date, discharge_status=discharge_status or "", chief_complaint=(chief_complaint or "")[:500],
        procedures=procedure_rows, total_cost=sum((row.amount for row in cost_rows), Decimal("0.00")),
        booked=bool(booked), source_no=key, source=source, created_by=_by(user))
    try:
        with transaction.atomic():  # a savepoint: a concurrent import of the same HIS number wins
            encounter.save()
    except IntegrityError:
        winner = _encounter_replay(institution=institution, outside=outside, source_no=key)
        if winner is None:
            raise
        return _replayed(winner, resident)
    for row in diagnosis_rows:
        row.encounter = encounter
    Diagnosis.objects.bulk_create(diagnosis_rows)
    for cost in cost_rows:
        cost.encounter = encounter
    EncounterCost.objects.bulk_create(cost_rows)
    encounter.replayed = False  # type: ignore[attr-defined]
    audit.record(user=user, action=AuditAction.CREATE, object_type=ENCOUNTER, object_id=encounter.pk,
                 path=encounter.path, request=request,
                 detail={"record_no": resident.record_no, "kind": kind, "start_date": start_date.isoformat(),
                         "institution": institution.code if institution is not None else outside,
                         "diagnoses": [row.code for row in diagnosis_rows], "total_cost": str(encounter.total_cost),
                         "source": source, "source_no": key})
    return encounter


@transaction.atomic
def encounter_costs_correct(*, user: Any, encounter: Encounter, costs: Mapping[str, Any], reason: str,
                            request: Any = None) -> Encounter:
    """Replace an encounter's costs with corrected ones (费用更正: non-negative, known categories) and
    its ``total_cost`` with their sum; the old and new costs and the reason go to the audit log.

    Whoever calls it decides whether the costs may change: insurance corrects them only between the
    reversal of a settlement and its re-settlement, in one transaction."""
    rows = _costs(costs)
    if not (reason or "").strip():
        raise _invalid("reason", _("请填写更正原因"))
    locked = Encounter.objects.select_for_update().get(pk=encounter.pk)
    before = {category: str(amount) for category, amount in locked.costs.values_list("category", "amount")}
    EncounterCost.objects.filter(encounter=locked).delete()
    for cost in rows:
        cost.encounter = locked
    EncounterCost.objects.bulk_create([cost for cost in rows if cost.amount])
    locked.total_cost = sum((cost.amount for cost in rows), Decimal("0.00"))
    locked.save(update_fields=["total_cost"])
    audit.record(user=user, action=AuditAction.UPDATE, object_type=ENCOUNTER, object_id=locked.pk, path=locked.path,
                 request=request, detail={"costs_before": before, "costs_after": {
                     cost.category: str(cost.amount) for cost in rows}, "total_cost": str(locked.total_cost),
                     "reason": reason.strip()[:200]})
    return locked


# ---------------------------------------------------------------- results (检验检查结果)



def unit_of(item: ResultItem, unit: str) -> str:
    """The item's own spelling of ``unit`` (empty means the item's unit), else :class:`UnitMismatch`."""
    given = (unit or "").strip()
    if not given:
        return item.unit
    accepted = [item.unit, *(item.unit_aliases or [])] if item.unit else []
    for spelling in accepted:
        if spelling and spelling.casefold() == given.casefold():
            return item.unit
    expected = "、".join(s for s in accepted if s) or str(_("（无单位）"))
    raise UnitMismatch(item=item.name, expected=expected, unit=given, field="unit")


def parse_range(text: str) -> tuple[Decimal | None, Decimal | None]:
    """``3.5-9.5`` / ``3.5~9.5`` → (3.5, 9.5); ``<5.2`` → (None, 5.2); ``>1.0`` → (1.0, None)."""
    text = (text or "").strip()
    if match := _RANGE.match(text):
        return Decimal(match[1]), Decimal(match[2])
    if match := _BELOW.match(text):
        return None, Decimal(match[1])
    if match := _ABOVE.match(text):
        return Decimal(match[1]), None
    return None, None


def _format_range(low: Decimal | None, high: Decimal | None) -> str:
    def show(value: Decimal) -> str:
        return format(value.normalize(), "f")

    if low is not None and high is not None:
        return f"{show(low)}-{show(high)}"
    if high is not None:
        return f"<{show(high)}"
    if low is not None:
        return f">{show(low)}"
    return ""


def flag_of(value: Decimal | None, low: Decimal | None, high: Decimal | None) -> str:
    """L / H / N from the reference range (N when there is no value or no range)."""
    if value is None:
        return AbnormalFlag.NORMAL
    if low is not None and value < low:
        return AbnormalFlag.LOW
    if high is not None and value > high:
        return AbnormalFlag.HIGH
    return AbnormalFlag.NORMAL


def _result_replay(performed_by: Institution, source_no: str) -> Result | None:
    if not source_no:
        return None
    return Result.objects.filter(performed_by=performed_by, source_no=source_no).select_related("item").first()


@audit_misses
@transaction.atomic
def result_record(*, user: Any, resident: Resident, item_code: str, performed_by: Institution,
                  reported_at: dt.datetime, value: Decimal | None = None, value_text: str = "", unit: str = "",
                  ref_range: str = "", flag: str = "", report: str = "", encounter: Encounter | None = None,
                  source_no: str = "", request: Any = None) -> Result:
    """Record one lab value or imaging report.

    Guarantees: the item is in the catalogue; the unit is the item's (or an alias, any case — it is
    stored in the item's spelling; empty means the item's unit), else 422 ``unit_mismatch`` on
    ``unit``; a value, a text value or a report is given; ``reported_at`` is not in the future nor
    before birth; the flag is computed from the reference range (the given one, else the item's)
    when not given. ``performer_tier`` is the performing institution's tier. The same
    (performing institution, ``source_no``) again returns the stored result (``replayed = True``).
    """
    resident = survivor_of(resident)
    _require_entry(user, resident, performed_by)
    key = (source_no or "").strip()[:64]
    existing = _result_replay(performed_by, key)
    if existing is not None:
        return _replayed(existing, resident)
    item = item_get(item_code)
    canonical = unit_of(item, unit)
    text = (value_text or "").strip()[:200]
    report = (report or "").strip()
    if value is None and not text and not report:
        raise _invalid("value", _("须填写结果值、文字结果或报告"))
    if value is not None and not isinstance(value, Decimal):
        try:
            value = Decimal(str(value))
        except InvalidOperation as exc:
            raise _invalid("value", _("结果值“%(value)s”不是数字") % {"value": value}) from exc
    if value is not None and (not value.is_finite() or abs(value) >= Decimal("1e8")):
        raise _invalid("value", _("结果值“%(value)s”超出可记录的范围") % {"value": value})
    if timezone.is_naive(reported_at):
        reported_at = timezone.make_aware(reported_at, LOCAL_TZ)
    if reported_at > moment():
        raise _invalid("reported_at", _("报告时间不能晚于当前时间"))
    if local_date(reported_at) < resident.birth_date:
        raise _invalid("reported_at", _("报告时间不能早于出生日期"))
    if encounter is not None and encounter.resident_id != resident.pk:
        raise _invalid("encounter", _("该就诊记录不属于此居民"))
    low, high = parse_range(ref_range)
    if low is None and high is None:
        low, high = item.ref_low, item.ref_high
    flag = (flag or "").strip().upper()
    if flag and flag not in AbnormalFlag.values:
        raise _invalid("flag", _("异常标识“%(flag)s”无效（可选：%(allowed)s）") % {
            "flag": flag, "allowed": "、".join(f"{c.value} {c.label}" for c in AbnormalFlag)})
    if not flag:
        flag = flag_of(value, low, high) if item.kind == ResultKind.LAB else AbnormalFlag.NORMAL
    shown_range = (ref_range or "").strip()[:64] or _format_range(low, high)
    result = Result(resident=resident, path=resident.path, item=item, encounter=encounter, value=value,
                    value_text=text, unit=canonical, ref_range=shown_range,
                    flag=flag, report=report, performed_by=performed_by, performer_tier=performed_by.tier,
                    reported_at=reported_at, source_no=key)
    try:
        with transaction.atomic():
            result.save()
    except IntegrityError:
        winner = _result_replay(performed_by, key)
        if winner is None:
            raise
        return _replayed(winner, resident)
    result.replayed = False  # type: ignore[attr-defined]
    audit.record(user=user, action=AuditAction.CREATE, object_type=RESULT, object_id=result.pk, path=result.path,
                 request=request,
                 detail={"record_no": resident.record_no, "item": item.code, "performed_by": performed_by.code,
                         "reported_at": reported_at.isoformat(), "flag": flag, "source_no": key})
    return result


# ---------------------------------------------------------------- orders (检查检验申请)


@audit_misses
@transaction.atomic
def order_create(*, user: Any, encounter: Encounter, item_code: str, use_result: Result | None = None,
                 request: Any = None) -> Order:
    """Order a test at an encounter, or — with ``use_result`` — record it avoided (互认免检).

    ``use_result`` is checked again here (the order screen may be stale): it must be the
    resident's result of that item, recognised at the encounter's institution now (its tier, the
    rule in force, the window); otherwise 409 ``not_recognisable`` says why. A recognised order
    saves the item's fee (``saved``), which the monthly counts add up.
    """
    resident = encounter.resident
    _require_entry(user, resident, encounter.institution)
    if encounter.institution is None:
        raise _invalid("encounter", _("县外就诊记录不能开单"))
    item = item_get(item_code)
    status, saved = OrderStatus.ORDERED, Decimal("0.00")
    if use_result is not None:
        if use_result.resident_id != resident.pk or use_result.item_id != item.pk:
            raise NotRecognisable(reason=_("所选结果不是该居民的“%(item)s”结果") % {"item": item.name},
                                  field="use_result")
        answer = recognition_check(user=user, resident=resident, item_code=item.code,
                                   ordering_institution=encounter.institution, request=request)
        if not answer.recognisable or answer.rule is None:
            raise NotRecognisable(reason=answer.reason, field="use_result")
        if use_result.pk != (answer.result.pk if answer.result else None):
            problem = result_recognised(use_result, answer.rule, moment())
            if problem:
                raise NotRecognisable(reason=problem, field="use_result")
        status, saved = OrderStatus.RECOGNISED, item.price
    order = Order.objects.create(encounter=encounter, path=encounter.path, resident=resident,
                                 institution=encounter.institution, item=item, status=status,
                                 recognised_result=use_result if status == OrderStatus.RECOGNISED else None,
                                 saved=saved, ordered_on=today(), ordered_by=_by(user))
    audit.record(user=user, action=AuditAction.CREATE, object_type=ORDER, object_id=order.pk, path=order.path,
                 request=request,
                 detail={"record_no": resident.record_no, "encounter": encounter.pk, "item": item.code,
                         "status": status, "recognised_result": use_result.pk if use_result else None,
                         "saved": str(saved)})
    return order
