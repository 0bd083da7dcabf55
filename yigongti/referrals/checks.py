"""Checks shared by the referral, slot and consultation services: who acts for which institution,
the resident (merged records follow the survivor; in scope; active), attached results, ICD-10."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext_lazy as _

from yigongti.care.models import Result
from yigongti.core.errors import Conflict, ValidationFailed
from yigongti.core.scope import SYSTEM, covers, visible
from yigongti.registry.models import Institution
from yigongti.residents.choices import RecordStatus
from yigongti.residents.errors import OutOfScope
from yigongti.residents.models import Resident

from .errors import NotOfInstitution

RESIDENT = "residents.resident"
MAX_MERGE_HOPS = 16
MAX_RESULTS = 50
# ICD-10 with the national clinical extension (国家临床版 2.0): I10, E11.9, J18.000, J18.000x001.
ICD10 = re.compile(r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?(X[0-9]{3})?$")


def by(user: Any) -> Any:
    """The user to store on a row (``None`` for the system actor)."""
    return user if getattr(user, "is_authenticated", False) else None


def acts_for(user: Any, institution: Institution) -> bool:
    """Whether ``user`` may act for ``institution``: works there, or is a superuser / the system."""
    if user is SYSTEM or getattr(user, "is_superuser", False):
        return True
    return bool(getattr(user, "is_authenticated", False)) and getattr(user, "institution_id", None) == institution.pk


def require_of(user: Any, institution: Institution, action: Any) -> None:
    if not acts_for(user, institution):
        raise NotOfInstitution(institution=institution.name, action=action)


def survivor(resident: Resident) -> Resident:
    """The record that stands for ``resident``: a merged record follows ``merged_into``."""
    current, hops = resident, 0
    while current.status == RecordStatus.MERGED and current.merged_into_id is not None and hops < MAX_MERGE_HOPS:
        current = Resident.objects.get(pk=current.merged_into_id)
        hops += 1
    return current


def resident_for_write(user: Any, resident: Resident, *, what: Any) -> Resident:
    """The survivor of ``resident``, inside the caller's scope (else 404, audited) and active."""
    resident = survivor(resident)
    if not covers(user, resident.path, mode="view"):
        raise OutOfScope(object_type=RESIDENT, object_id=resident.record_no)
    if resident.status != RecordStatus.ACTIVE:
        raise Conflict(reason=_("档案状态为“%(status)s”，不能%(what)s") % {
            "status": RecordStatus(resident.status).label, "what": what})
    return resident


def results_for(user: Any, resident: Resident, result_ids: Sequence[int]) -> list[Result]:
    """The results ``result_ids`` of ``resident`` that the caller can see (422 naming the others)."""
    ids = sorted({int(pk) for pk in result_ids})
    if not ids:
        return []
    if len(ids) > MAX_RESULTS:
        raise ValidationFailed(field="result_ids", reason=_("最多附 %(max)s 项结果") % {"max": MAX_RESULTS})
    found = list(visible(user, Result.objects.filter(pk__in=ids, resident=resident)))
    missing = sorted(set(ids) - {r.pk for r in found})
    if missing:
        raise ValidationFailed(field="result_ids", reason=_("结果 %(ids)s 不是该居民的检查检验结果或无权查看") % {
            "ids": "、".join(str(pk) for pk in missing)})
    return found


def icd10(code: str) -> str:
    code = (code or "").strip().upper()
    if code and not ICD10.match(code):
        raise ValidationFailed(field="diagnosis_code",
                               reason=_("诊断编码“%(code)s”不是有效的 ICD-10 编码（如 I10、E11.9）") % {"code": code})
    return code


def text(value: str | None, *, field: str, label: Any, max_length: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(field=field, reason=_("%(label)s不能为空") % {"label": label})
    if len(value) > max_length:
        raise ValidationFailed(field=field, reason=_("%(label)s不能超过 %(max)s 字") % {
            "label": label, "max": max_length})
    return value
