"""Writes of the case reports (传染病报告卡): report, review (township 初审, county CDC 终审), return
for correction and correct, revise the diagnosis, merge a duplicate, delete as duplicate.

Every service is keyword-only and atomic: it validates first and raises a
:class:`~yigongti.core.errors.DomainError` with nothing written, or commits the change, its
:class:`~.models.CardEvent` and the audit entry together. A review step locks the card
(``select_for_update``) and checks the status it finds, so of two concurrent reviews one wins and
the other is told the card's new status.

Who may do what:

- report / correct: staff of the reporting institution (or anyone whose data-entry unit covers it);
- township 初审, return, revise, delete: township staff whose data-entry unit covers the reporting
  institution or the address at onset;
- county 终审 (and return, revise, delete at any stage before deletion): the CDC (role ``cdc``) or an
  administrator.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field, fields
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from yigongti.accounts.models import Role
from yigongti.care.models import Encounter
from yigongti.core import audit
from yigongti.core.clock import now, today
from yigongti.core.errors import ValidationFailed
from yigongti.core.models import AuditAction
from yigongti.core.scope import SYSTEM, covers
from yigongti.registry.choices import DivisionLevel
from yigongti.registry.models import Division, Institution, StaffMember
from yigongti.residents.choices import RecordStatus
from yigongti.residents.models import Resident
from yigongti.residents.services import audit_misses

from .choices import CardAction, CardStatus, DiagnosisType
from .errors import (
    CardInvalid,
    DuplicateCard,
    IllegalReview,
    NotNotifiable,
    NotReviewer,
    ReasonRequired,
    RulesNotLoaded,
)
from .models import CardEvent, CaseCard, Disease

CARD = "surveillance.casecard"
MAX_REASON = 500
CLOCK_SKEW = dt.timedelta(minutes=5)  # a device clock a little ahead is not "the future"
TOWNSHIP_ROLES = {Role.TOWNSHIP_STAFF, Role.TOWNSHIP_DIRECTOR}
COUNTY_ROLES = {Role.CDC, Role.ADMIN}


def by(user: Any) -> Any:
    return user if getattr(user, "is_authenticated", False) else None


# ---------------------------------------------------------------- the catalogue


def diseases_in_force(on: dt.date | None = None) -> QuerySet[Disease]:
    """The catalogue in force on ``on`` (today by default)."""
    day = on or today()
    return Disease.objects.filter(Q(effective_to__isnull=True) | Q(effective_to__gt=day), effective_from__lte=day)


def disease_for_code(icd10_code: str, on: dt.date | None = None) -> Disease | None:
    """The notifiable disease of an ICD-10 code: the one whose prefix matches longest (肺炭疽 A22.1
    before 炭疽 A22), or ``None`` when the code is not notifiable."""
    code = icd10_code.strip().upper()
    best: tuple[int, Disease] | None = None
    for disease in diseases_in_force(on):
        for prefix in disease.icd10:
            if code.startswith(str(prefix).upper()) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), disease)
    return best[1] if best else None


def notifiable_diagnoses(encounter: Encounter) -> list[tuple[Any, Disease]]:
    """The encounter's diagnoses that are notifiable, each with its disease (primary first)."""
    found = []
    for diagnosis in sorted(encounter.diagnoses.all(), key=lambda d: (not d.is_primary, d.position)):
        disease = disease_for_code(diagnosis.code, encounter.start_date)
        if disease is not None:
            found.append((diagnosis, disease))
    return found


# ---------------------------------------------------------------- who may


def role_of(user: Any) -> str:
    return str(getattr(user, "role", ""))


def is_county_reviewer(user: Any) -> bool:
    return user is SYSTEM or getattr(user, "is_superuser", False) or (
        getattr(user, "is_authenticated", False) and role_of(user) in COUNTY_ROLES)


def is_township_reviewer(user: Any, card: CaseCard) -> bool:
    if not getattr(user, "is_authenticated", False) or role_of(user) not in TOWNSHIP_ROLES:
        return False
    return covers(user, card.institution_path, mode="entry") or (bool(card.path) and covers(
        user, card.path, mode="entry"))


def reports_for(user: Any, institution: Institution) -> bool:
    """Whether ``user`` may report (or correct) for ``institution``."""
    if user is SYSTEM or getattr(user, "is_superuser", False):
        return True
    if not getattr(user, "is_authenticated", False):
        return False
    return getattr(user, "institution_id", None) == institution.pk or covers(user, institution.path, mode="entry")


# ---------------------------------------------------------------- report


@dataclass
class CardInput:
    """What a reporter fills in on the card (from an encounter, or by hand)."""

    institution: Institution
    diagnosis_type: str
    onset_date: dt.date
    diagnosed_at: dt.datetime
    disease: Disease | None = None
    icd10: str = ""
    resident: Resident | None = None
    patient_name: str = ""
    sex: str = ""
    birth_date: dt.date | None = None
    id_number: str = ""
    phone: str = ""
    division: Division | None = None
    address: str = ""
    clinician: StaffMember | None = None
    clinician_name: str = ""
    encounter: Encounter | None = None
    reported_at: dt.datetime | None = None
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def township_of(division: Division | None) -> Division | None:
    """The township (乡镇) a village or township division belongs to (``None`` above it)."""
    if division is None:
        return None
    if division.level == DivisionLevel.TOWNSHIP:
        return division
    if division.level == DivisionLevel.VILLAGE and division.parent_id is not None:
        return Division.objects.get(pk=division.parent_id)
    return None


def _invalid(field_name: str, reason: Any) -> CardInvalid:
    return CardInvalid(reason=reason, field=field_name)


def _disease(data: CardInput) -> Disease:
    on = data.diagnosed_at.date()
    if not diseases_in_force(on).exists():
        raise RulesNotLoaded()
    coded = disease_for_code(data.icd10, on) if data.icd10 else None
    if data.icd10 and coded is None:
        raise NotNotifiable(code=data.icd10)
    if data.disease is None:
        if coded is None:
            raise _invalid("disease", _("请选择病种或填写诊断的 ICD-10 编码。"))
        return coded
    if coded is not None and coded.pk != data.disease.pk:
        raise _invalid("icd10", _("编码“%(code)s”属于“%(coded)s”，与所选病种“%(disease)s”不符。") % {
            "code": data.icd10, "coded": coded.name, "disease": data.disease.name})
    return data.disease


def _check_dates(data: CardInput) -> None:
    current = now()
    if data.onset_date > today():
        raise _invalid("onset_date", _("发病日期不能是将来的日期。"))
    if data.diagnosed_at > current + CLOCK_SKEW:
        raise _invalid("diagnosed_at", _("诊断时间不能是将来的时间。"))
    if data.onset_date > data.diagnosed_at.date():
        raise _invalid("onset_date", _("发病日期（%(onset)s）不能晚于诊断日期（%(diagnosed)s）。") % {
            "onset": data.onset_date, "diagnosed": data.diagnosed_at.date()})
    if data.birth_date is not None and data.birth_date > data.onset_date:
        raise _invalid("birth_date", _("出生日期不能晚于发病日期。"))
    if data.reported_at is not None:
        if data.reported_at > current + CLOCK_SKEW:
            raise _invalid("reported_at", _("报告时间不能是将来的时间。"))
        if data.reported_at < data.diagnosed_at:
            raise _invalid("reported_at", _("报告时间不能早于诊断时间。"))


def _patient(user: Any, data: CardInput) -> None:
    """Fill the patient's fields from the resident record (the resident must be in scope)."""
    resident = data.resident
    if resident is None:
        if not data.patient_name.strip():
            raise _invalid("patient_name", _("请填写患者姓名。"))
        if data.division is None and not data.address.strip():
            raise _invalid("address", _("请填写现住址（县外患者填写详细地址）。"))
        return
    while resident.status == RecordStatus.MERGED and resident.merged_into_id is not None:
        resident = Resident.objects.get(pk=resident.merged_into_id)
    in_scope = covers(user, resident.path) or (
        data.encounter is not None and covers(user, data.encounter.institution_path, mode="entry"))
    if not in_scope:
        from yigongti.residents.errors import OutOfScope

        raise OutOfScope(object_type="residents.resident", object_id=resident.record_no)
    data.resident = resident
    data.patient_name = data.patient_name.strip() or resident.name
    data.sex = data.sex or resident.sex
    data.birth_date = data.birth_date or resident.birth_date
    data.id_number = data.id_number or resident.id_number
    data.phone = data.phone or resident.phone
    if data.division is None and not data.address.strip():
        data.division = resident.village
        data.address = resident.address


def _same_patient(data: CardInput) -> Q:
    if data.resident is not None:
        return Q(resident=data.resident)
    query = Q(resident__isnull=True, patient_name=data.patient_name.strip())
    if data.id_number:
        return query & Q(id_number=data.id_number)
    return query & Q(birth_date=data.birth_date) if data.birth_date else query & Q(phone=data.phone)


def duplicate_of(data: CardInput, disease: Disease) -> CaseCard | None:
    """A live card of the same patient and disease diagnosed within the disease's episode."""
    window = dt.timedelta(days=disease.episode_days)
    day = data.diagnosed_at
    return (CaseCard.objects.filter(_same_patient(data), disease=disease)
            .exclude(status=CardStatus.DELETED)
            .filter(diagnosed_at__gt=day - window, diagnosed_at__lt=day + window)
            .order_by("diagnosed_at").first())


def _event(card: CaseCard, action: str, user: Any, note: Any = "", changes: dict[str, Any] | None = None,
           at: dt.datetime | None = None) -> None:
    CardEvent.objects.create(card=card, action=action, at=at or now(), by=by(user), note=str(note)[:MAX_REASON],
                             changes=changes or {})


def _audit(user: Any, card: CaseCard, action: str, request: Any, detail: dict[str, Any]) -> None:
    audit.record(user=user, action=action, object_type=CARD, object_id=card.pk, path=card.path or card.institution_path,
                 request=request, detail=detail)


def _timing(card: CaseCard) -> None:
    card.deadline_at = card.diagnosed_at + dt.timedelta(hours=card.disease.deadline_hours)
    card.on_time = card.reported_at <= card.deadline_at


@audit_misses
@transaction.atomic
def card_report(*, user: Any, data: CardInput, merge_into: int | None = None, request: Any = None) -> CaseCard:
    """File a 传染病报告卡. Refuses a non-notifiable diagnosis, impossible dates, and a second card of
    the same patient and disease within the episode (:class:`DuplicateCard`, naming the card): with
    ``merge_into`` that card's id, the new report is merged into it instead (its 病例分类 and note
    revised, the onset moved earlier if the new report knows an earlier one, the diagnosis and report
    times kept; a ``merge`` event written) and that card is returned."""
    if not reports_for(user, data.institution):
        raise NotReviewer(who=data.institution.name, action=_("报告"))
    if data.diagnosis_type not in DiagnosisType.values:
        raise _invalid("diagnosis_type", _("请选择病例分类。"))
    _patient(user, data)
    _check_dates(data)
    disease = _disease(data)
    if data.division is not None and data.division.level not in (DivisionLevel.VILLAGE, DivisionLevel.TOWNSHIP):
        raise _invalid("division", _("现住址请选到乡镇或村。"))
    existing = duplicate_of(data, disease)
    if existing is not None:
        if merge_into != existing.pk:
            raise DuplicateCard(card_no=existing.card_no, diagnosed=existing.diagnosed_at.date(),
                                days=disease.episode_days, card_id=existing.pk, field="disease")
        return _merge(user=user, card=existing, data=data, request=request)
    reported_at = data.reported_at or now()
    township = township_of(data.division)
    card = CaseCard(
        card_no=f"tmp-{uuid.uuid4().hex[:20]}", resident=data.resident, patient_name=data.patient_name.strip()[:50],
        sex=data.sex, birth_date=data.birth_date, id_number=data.id_number, phone=data.phone,
        division=data.division, township=township, address=data.address.strip()[:255],
        path=data.division.path if data.division is not None else "",
        disease=disease, icd10=data.icd10.strip().upper(), diagnosis_type=data.diagnosis_type,
        onset_date=data.onset_date, diagnosed_at=data.diagnosed_at, reported_at=reported_at,
        institution=data.institution, institution_path=data.institution.path, clinician=data.clinician,
        clinician_name=(data.clinician_name or (data.clinician.name if data.clinician else ""))[:50],
        encounter=data.encounter, note=data.note, created_by=by(user),
    )
    _timing(card)
    card.save()
    card.card_no = f"{reported_at.astimezone(now().tzinfo):%Y%m%d}{card.pk:08d}"
    card.save(update_fields=["card_no"])
    _event(card, CardAction.REPORT, user, at=reported_at)
    _audit(user, card, AuditAction.CREATE, request, {"card_no": card.card_no, "disease": disease.code,
                                                      "on_time": card.on_time})
    return card


def _merge(*, user: Any, card: CaseCard, data: CardInput, request: Any) -> CaseCard:
    card = CaseCard.objects.select_for_update().select_related("disease").get(pk=card.pk)
    changes = {}
    # The card keeps its diagnosis time: its deadline clock and timeliness belong to the first report
    # (a later diagnosis taken over would fall after that report). The onset moves only earlier.
    revised: dict[str, Any] = {"diagnosis_type": data.diagnosis_type, "note": data.note}
    if data.onset_date < card.onset_date:
        revised["onset_date"] = data.onset_date
    for name, new in revised.items():
        if new not in (None, "") and new != getattr(card, name):
            changes[name] = [str(getattr(card, name)), str(new)]
            setattr(card, name, new)
    if card.onset_date > card.diagnosed_at.date():
        raise _invalid("onset_date", _("合并后发病日期晚于诊断日期，请核对。"))
    card.save()
    _event(card, CardAction.MERGE, user, note=_("合并同一病程的重复报告"), changes=changes)
    _audit(user, card, AuditAction.UPDATE, request, {"merged": changes})
    return card


# ---------------------------------------------------------------- review


def _locked(card: CaseCard) -> CaseCard:
    return CaseCard.objects.select_for_update().select_related("disease", "institution").get(pk=card.pk)


def _status_label(status: str) -> str:
    return str(CardStatus(status).label)


def _reason(reason: str, what: Any) -> str:
    text = (reason or "").strip()
    if not text:
        raise ReasonRequired(what=what)
    return text[:MAX_REASON]


def _may_review(user: Any, card: CaseCard, action: Any) -> str:
    """``"county"`` or ``"township"``: the level the user reviews at, or :class:`NotReviewer`."""
    if is_county_reviewer(user):
        return "county"
    if is_township_reviewer(user, card):
        return "township"
    raise NotReviewer(who=_("乡镇卫生院或县疾控的审核人员"), action=action)


@transaction.atomic
def card_accept(*, user: Any, card: CaseCard, request: Any = None) -> CaseCard:
    """审核通过: the township's 初审 (待审核 → 乡镇已初审) or the county CDC's 终审 (→ 已审核)."""
    card = _locked(card)
    level = _may_review(user, card, _("审核"))
    allowed = (CardStatus.REPORTED, CardStatus.TOWNSHIP_CHECKED) if level == "county" else (CardStatus.REPORTED,)
    if card.status not in allowed:
        raise IllegalReview(status=_status_label(card.status), action=_("审核通过"))
    at = now()
    if level == "county":
        card.status, card.reviewed_at, action = CardStatus.ACCEPTED, at, CardAction.ACCEPT
    else:
        card.status, card.township_checked_at, action = CardStatus.TOWNSHIP_CHECKED, at, CardAction.TOWNSHIP_ACCEPT
    card.save(update_fields=["status", "reviewed_at", "township_checked_at", "updated_at"])
    _event(card, action, user, at=at)
    _audit(user, card, AuditAction.UPDATE, request, {"action": str(action)})
    return card


@transaction.atomic
def card_return(*, user: Any, card: CaseCard, reason: str, request: Any = None) -> CaseCard:
    """退回订正: back to the reporter with the reason (not once deleted or already returned)."""
    card = _locked(card)
    level = _may_review(user, card, _("退回订正"))
    allowed = {CardStatus.REPORTED, CardStatus.TOWNSHIP_CHECKED, CardStatus.ACCEPTED} if level == "county" else {
        CardStatus.REPORTED}
    if card.status not in allowed:
        raise IllegalReview(status=_status_label(card.status), action=_("退回订正"))
    card.return_reason = _reason(reason, _("退回原因"))
    card.status = CardStatus.RETURNED
    card.save(update_fields=["status", "return_reason", "updated_at"])
    _event(card, CardAction.RETURN, user, note=card.return_reason)
    _audit(user, card, AuditAction.UPDATE, request, {"action": "return", "reason": card.return_reason})
    return card


CORRECTABLE = ("patient_name", "sex", "birth_date", "id_number", "phone", "division", "address", "diagnosis_type",
               "onset_date", "diagnosed_at", "clinician_name", "note")


@transaction.atomic
def card_correct(*, user: Any, card: CaseCard, changes: dict[str, Any], request: Any = None) -> CaseCard:
    """订正后重新报告: the reporting institution corrects a returned card (→ 待审核). The deadline
    clock keeps the first report's time: a correction does not make a late report on time."""
    card = _locked(card)
    if not reports_for(user, card.institution):
        raise NotReviewer(who=card.institution.name, action=_("订正"))
    if card.status != CardStatus.RETURNED:
        raise IllegalReview(status=_status_label(card.status), action=_("订正"))
    unknown = set(changes) - set(CORRECTABLE)
    if unknown:
        raise ValidationFailed(reason=_("不能订正的字段：%(fields)s") % {"fields": "、".join(sorted(unknown))})
    before = {name: getattr(card, name) for name in changes}
    data = CardInput(**{f.name: getattr(card, f.name) for f in fields(CardInput)
                        if f.name not in ("extra", "reported_at") and hasattr(card, f.name)})
    for name, value in changes.items():
        setattr(data, name, value)
    if data.diagnosis_type not in DiagnosisType.values:
        raise _invalid("diagnosis_type", _("请选择病例分类。"))
    _check_dates(data)
    if card.reported_at < data.diagnosed_at:
        raise _invalid("diagnosed_at", _("诊断时间不能晚于报告时间（%(reported)s）。") % {
            "reported": card.reported_at.astimezone(now().tzinfo).strftime("%Y-%m-%d %H:%M")})
    if not str(data.patient_name).strip():
        raise _invalid("patient_name", _("请填写患者姓名。"))
    for name, value in changes.items():
        setattr(card, name, value)
    if "division" in changes:
        card.township = township_of(card.division)
        card.path = card.division.path if card.division is not None else ""
    _timing(card)
    card.status = CardStatus.REPORTED
    card.save()
    diff = {name: [str(before[name]), str(getattr(card, name))] for name in changes
            if before[name] != getattr(card, name)}
    _event(card, CardAction.CORRECT, user, changes=diff)
    _audit(user, card, AuditAction.UPDATE, request, {"action": "correct", "changes": diff})
    return card


@transaction.atomic
def card_revise(*, user: Any, card: CaseCard, disease: Disease | None = None, diagnosis_type: str = "",
                note: str = "", request: Any = None) -> CaseCard:
    """订正诊断: a reviewer changes the disease or the 病例分类 (e.g. 疑似 → 确诊); the deadline follows
    the new disease. Every revision is kept as an event with the values before and after."""
    card = _locked(card)
    _may_review(user, card, _("订正诊断"))
    if card.status == CardStatus.DELETED:
        raise IllegalReview(status=_status_label(card.status), action=_("订正诊断"))
    if diagnosis_type and diagnosis_type not in DiagnosisType.values:
        raise _invalid("diagnosis_type", _("请选择病例分类。"))
    diff: dict[str, list[str]] = {}
    if disease is not None and disease.pk != card.disease_id:
        diff["disease"] = [card.disease.code, disease.code]
        card.disease = disease
        card.icd10 = ""
    if diagnosis_type and diagnosis_type != card.diagnosis_type:
        diff["diagnosis_type"] = [card.diagnosis_type, diagnosis_type]
        card.diagnosis_type = diagnosis_type
    if not diff:
        raise ValidationFailed(reason=_("订正后的诊断与原诊断相同。"))
    _timing(card)
    card.save()
    _event(card, CardAction.REVISE, user, note=note, changes=diff)
    _audit(user, card, AuditAction.UPDATE, request, {"action": "revise", "changes": diff})
    return card


@transaction.atomic
def card_delete(*, user: Any, card: CaseCard, reason: str, duplicate_of: CaseCard | None = None,
                request: Any = None) -> CaseCard:
    """删除重卡: the card leaves every count (timeliness, incidence, the early warning) but stays on
    record with the reason and the card it duplicates."""
    card = _locked(card)
    _may_review(user, card, _("删除"))
    if card.status == CardStatus.DELETED:
        raise IllegalReview(status=_status_label(card.status), action=_("删除"))
    text = _reason(reason, _("删除原因"))
    if duplicate_of is not None and (duplicate_of.pk == card.pk or duplicate_of.status == CardStatus.DELETED):
        raise _invalid("duplicate_of", _("重复于的报告卡须是另一张未删除的卡。"))
    card.status, card.delete_reason, card.duplicate_of = CardStatus.DELETED, text, duplicate_of
    card.save(update_fields=["status", "delete_reason", "duplicate_of", "updated_at"])
    _event(card, CardAction.DELETE, user, note=text,
           changes={"duplicate_of": ["", duplicate_of.card_no]} if duplicate_of else {})
    _audit(user, card, AuditAction.DELETE, request, {"reason": text,
                                                      "duplicate_of": duplicate_of.card_no if duplicate_of else ""})
    return card
