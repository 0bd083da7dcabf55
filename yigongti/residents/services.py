"""Writes of the residents app: registration, updates, households, transfers, merge and unmerge.

Every service is keyword-only and atomic: it validates everything first and raises a
:class:`~yigongti.core.errors.DomainError` with nothing written, or commits the change with its
audit entry. A record outside the caller's data-entry scope is "not found", and the attempt is
audited (``not_found``) after the rollback, so the entry survives it.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yigongti.core import audit
from yigongti.core.clock import today
from yigongti.core.errors import Conflict, ValidationFailed
from yigongti.core.ids import resident_id_birth_date, resident_id_problem, resident_id_sex
from yigongti.core.models import AuditAction
from yigongti.core.scope import covers
from yigongti.registry.choices import DivisionLevel, InstitutionType
from yigongti.registry.models import Division, Institution

from .choices import PairStatus, RecordStatus, Relation
from .errors import DuplicateResident, OutOfScope
from .identity import id_upgrade, name_clean, name_pinyin
from .models import Household, MatchPair, Resident, ResidentMerge, ResidentTransfer
from .signals import resident_merging, resident_moved, resident_registered, resident_status_changed

P = ParamSpec("P")
R = TypeVar("R")

RESIDENT = "residents.resident"
HOUSEHOLD = "residents.household"

# 个人基本信息表 items a caller may pass to registration/update besides the identity fields.
BASIC_ITEMS = frozenset({
    "blood_type", "allergies", "allergy_other", "exposures", "past_history", "surgeries", "family_history",
    "genetic_disease", "disabilities", "kitchen", "fuel", "water", "toilet", "livestock_pen",
})
# Plain fields resident_update may change (the village changes only by transfer, the status of a
# merged record only by unmerge).
UPDATABLE = frozenset({
    "name", "sex", "birth_date", "id_number", "phone", "address", "ethnicity", "insurance_no", "passport_no",
    "hkmt_permit_no", "relation_to_head", "household_code", "status",
}) | BASIC_ITEMS
# Survivor fields a merge fills from the merged record when the survivor's is blank.
FILLABLE = ("id_number", "phone", "address", "insurance_no", "passport_no", "hkmt_permit_no")
# Relations to Resident that are the bookkeeping of the record itself: they stay on the merged record.
NOT_MOVED = frozenset({
    "residents.residentmerge.survivor", "residents.residentmerge.merged", "residents.matchpair.left",
    "residents.matchpair.right", "residents.residenttransfer.resident", "residents.resident.merged_into",
})


def audit_misses(func: Callable[P, R]) -> Callable[P, R]:
    """Audit an :class:`OutOfScope` raised by ``func`` once its transaction has rolled back."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except OutOfScope as exc:
            audit.read_missed(user=kwargs.get("user"), object_type=exc.object_type, object_id=exc.object_id,
                              request=kwargs.get("request"))
            raise

    return wrapper


def _require_entry(user: Any, resident: Resident) -> None:
    if not covers(user, resident.path, mode="entry"):
        raise OutOfScope(object_type=RESIDENT, object_id=resident.record_no)


# ---------------------------------------------------------------- validation helpers


def _invalid(field: str, reason: Any) -> ValidationFailed:
    return ValidationFailed(reason=reason, field=field)


def village_get(code: str, *, field: str = "village_code") -> Division:
    """The village-level division ``code`` (422 with ``field`` when unknown or not a village)."""
    code = (code or "").strip()
    village = Division.objects.filter(code=code).first()
    if village is None:
        raise _invalid(field, _("村代码“%(code)s”不存在") % {"code": code})
    if village.level != DivisionLevel.VILLAGE:
        raise _invalid(field, _("“%(name)s”不是村/社区级区划") % {"name": village.name})
    return village


def village_responsibles(village: Division) -> tuple[Institution | None, Institution | None]:
    """The village clinic located in ``village`` and its township centre (or the township's centre)."""
    day = today()
    current = Q(valid_from__lte=day) & (Q(valid_to__isnull=True) | Q(valid_to__gt=day))
    clinic = (Institution.objects.filter(current, division=village, type=InstitutionType.VILLAGE_CLINIC)
              .select_related("parent").order_by("code").first())
    centre = clinic.parent if clinic is not None else None
    if centre is None and village.parent_id is not None:
        centre = (Institution.objects.filter(current, division_id=village.parent_id, type__in=[
            InstitutionType.TOWNSHIP_CENTRE, InstitutionType.COMMUNITY_CENTRE]).order_by("code").first())
    return clinic, centre


def _identity(*, id_number: str, sex: str, birth_date: dt.date) -> str:
    """The normalised 18-character ID (``""`` when none), checked against the birth date and sex."""
    if birth_date > today():
        raise _invalid("birth_date", _("出生日期不能晚于今天"))
    value = id_upgrade(id_number)
    if not value:
        return ""
    problem = resident_id_problem(value)
    if problem:
        raise _invalid("id_number", problem)
    if resident_id_birth_date(value) != birth_date:
        raise _invalid("id_number", _("身份证号中的出生日期（%(id_date)s）与填写的出生日期（%(date)s）不一致") % {
            "id_date": resident_id_birth_date(value).isoformat(), "date": birth_date.isoformat()})
    if resident_id_sex(value) != sex:
        raise _invalid("id_number", _("身份证号中的性别与填写的性别不一致"))
    return value


def _full_clean(resident: Resident) -> None:
    """Choices, lengths and required fields of the model, as a 422 naming the first bad field."""
    try:
        resident.full_clean(exclude=["record_no", "village", "path"], validate_unique=False,
                            validate_constraints=False)
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise _invalid(field, "；".join(str(m) for m in messages)) from exc


def _household_for(*, code: str | None, village: Division, relation: str,
                   resident: Resident | None = None) -> Household | None:
    """The household ``code`` of ``village`` a resident joins with ``relation`` (checks the head)."""
    if not code:
        if relation:
            raise _invalid("relation_to_head", _("填写与户主关系时必须指定所属家庭"))
        return None
    household = Household.objects.select_for_update().filter(code=code.strip()).first()
    if household is None:
        raise _invalid("household_code", _("户编号“%(code)s”不存在") % {"code": code})
    if household.village_id != village.pk:
        raise _invalid("household_code", _("家庭“%(code)s”不在本村，不能加入") % {"code": household.code})
    if not relation:
        raise _invalid("relation_to_head", _("请填写与户主的关系"))
    if relation == Relation.HEAD and household.head_id is not None and (
            resident is None or household.head_id != resident.pk):
        raise _invalid("relation_to_head", _("该家庭已有户主"))
    return household


def _door_check(*, user: Any, id_number: str, name_py: str, sex: str, birth_date: dt.date,
                confirm_distinct: bool, exclude_pk: int | None = None) -> None:
    """Stop a second record of the same person: same resident ID, or a strong match."""
    live = Resident.objects.exclude(status=RecordStatus.MERGED)
    if exclude_pk is not None:
        live = live.exclude(pk=exclude_pk)
    if id_number:
        existing = live.filter(id_number=id_number).select_related("village").first()
        if existing is not None:
            shown = existing if covers(user, existing.path, mode="view") else None
            raise DuplicateResident(shown, basis="id_number")
    if confirm_distinct or not name_py:
        return
    candidates = live.filter(name_pinyin=name_py, birth_date=birth_date, sex=sex).select_related("village")
    if id_number:
        # Two different valid IDs are two people (twins born the same day share the rest).
        candidates = candidates.filter(id_number="")
    existing = candidates.order_by("pk").first()
    if existing is not None:
        shown = existing if covers(user, existing.path, mode="view") else None
        raise DuplicateResident(shown, basis="strong_match")


def _next_record_no(village: Division) -> str:
    """Village code + the next 5-digit sequence. The caller holds the village row locked."""
    # A range on the unique index (a LIKE prefix would not use it under a non-C collation).
    last = list(Resident.objects.filter(record_no__gte=f"{village.code}00000", record_no__lte=f"{village.code}99999")
            .order_by("-record_no").values_list("record_no", flat=True)[:50])
    numbers = [n for n in last if len(n) == 17 and n.isdigit()]  # skip numbers of other schemes
    seq = int(numbers[0][len(village.code):]) + 1 if numbers else 1
    if seq > 99999:
        raise Conflict(reason=_("本村档案编号已用尽"))
    return f"{village.code}{seq:05d}"


def _basic_items(items: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(items) - BASIC_ITEMS)
    if unknown:
        raise _invalid(unknown[0], _("未知字段“%(field)s”") % {"field": unknown[0]})
    return items


# ---------------------------------------------------------------- registration and updates


@audit_misses
@transaction.atomic
def resident_register(*, user: Any, name: str, sex: str, birth_date: dt.date, village_code: str,
                      id_number: str = "", phone: str = "", address: str = "", ethnicity: str = "01",
                      household_code: str | None = None, relation_to_head: str = "", insurance_no: str = "",
                      passport_no: str = "", hkmt_permit_no: str = "", confirm_distinct: bool = False,
                      request: Any = None, **basic_items: Any) -> Resident:
    """Register one resident (建档) in a village of the caller's data-entry scope.

    Guarantees: a valid identity (ID checksum, date and sex agreeing with the form, no future
    birth date); no second live record with the same resident ID, nor — unless
    ``confirm_distinct`` — with the same name pinyin, birth date and sex (:class:`DuplicateResident`
    carries the existing record when the caller may see it); a record number unique under
    concurrency (the village row is locked); household membership consistent with its head.
    """
    _basic_items(basic_items)
    village = village_get(village_code)
    if not covers(user, village.path, mode="entry"):
        raise OutOfScope(object_type="registry.division", object_id=village.code)
    name = name_clean(name)
    if not name:
        raise _invalid("name", _("姓名不能为空"))
    number = _identity(id_number=id_number, sex=sex, birth_date=birth_date)
    relation = (relation_to_head or "").strip()
    clinic, centre = village_responsibles(village)
    resident = Resident(
        name=name, name_pinyin=name_pinyin(name), sex=sex, birth_date=birth_date, id_number=number,
        phone=phone.strip(), address=address.strip(), ethnicity=ethnicity, relation_to_head=relation,
        insurance_no=insurance_no.strip(), passport_no=passport_no.strip(), hkmt_permit_no=hkmt_permit_no.strip(),
        village=village, clinic=clinic, township_centre=centre, path=village.path,
        created_by=user if getattr(user, "is_authenticated", False) else None,
        created_at_institution=getattr(user, "institution", None), **basic_items,
    )
    _full_clean(resident)
    # Lock the village row first: registrations in one village queue here, so the door check and
    # the record number see every earlier registration of the village.
    Division.objects.select_for_update().filter(pk=village.pk).first()
    household = _household_for(code=household_code, village=village, relation=relation)
    _door_check(user=user, id_number=number, name_py=resident.name_pinyin, sex=sex, birth_date=birth_date,
                confirm_distinct=confirm_distinct)
    resident.household = household
    resident.record_no = _next_record_no(village)
    try:
        with transaction.atomic():
            resident.save()
    except IntegrityError as exc:
        # A concurrent registration of the same ID in another village (not serialised by our lock).
        existing = Resident.objects.exclude(status=RecordStatus.MERGED).filter(id_number=number).first() \
            if number else None
        if existing is None:
            raise Conflict(reason=_("档案编号冲突，请重试")) from exc
        raise DuplicateResident(existing if covers(user, existing.path) else None, basis="id_number") from exc
    if household is not None and relation == Relation.HEAD:
        household.head = resident
        household.save(update_fields=["head"])
    resident_registered.send(sender=Resident, resident=resident, user=user)
    audit.record(user=user, action=AuditAction.CREATE, object_type=RESIDENT, object_id=resident.pk,
                 path=resident.path, request=request,
                 detail={"record_no": resident.record_no, "confirm_distinct": confirm_distinct})
    return resident


@audit_misses
@transaction.atomic
def resident_update(*, user: Any, resident: Resident, request: Any = None, **fields: Any) -> Resident:
    """Change fields of a record in the caller's data-entry scope (not its village: see transfer).

    Identity fields are re-validated together and ``name_pinyin`` recomputed; a new resident ID
    already on another live record is a :class:`DuplicateResident`. ``household_code`` (``""`` to
    leave) with ``relation_to_head`` moves the resident between households of the village.
    Audited ``update`` with the names of the changed fields.
    """
    resident = Resident.objects.select_for_update().select_related("village").get(pk=resident.pk)
    _require_entry(user, resident)
    if resident.status == RecordStatus.MERGED:
        raise Conflict(reason=_("已合并的档案不能修改，请修改存活档案"))
    unknown = sorted(set(fields) - UPDATABLE)
    if unknown:
        raise _invalid(unknown[0], _("字段“%(field)s”不能修改") % {"field": unknown[0]})
    before = {f: getattr(resident, f) for f in UPDATABLE if hasattr(resident, f)}
    before_household = resident.household_id
    household_code = fields.pop("household_code", None)
    status = fields.pop("status", None)
    if household_code == "" and "relation_to_head" not in fields:
        fields["relation_to_head"] = ""  # leaving the household ends the relation to its head
    for field, value in fields.items():
        setattr(resident, field, value.strip() if isinstance(value, str) and field not in BASIC_ITEMS else value)
    resident.name = name_clean(resident.name)
    if not resident.name:
        raise _invalid("name", _("姓名不能为空"))
    resident.name_pinyin = name_pinyin(resident.name)
    resident.id_number = _identity(id_number=resident.id_number, sex=resident.sex, birth_date=resident.birth_date)
    if resident.id_number != before["id_number"] and resident.id_number:
        _door_check(user=user, id_number=resident.id_number, name_py="", sex=resident.sex,
                    birth_date=resident.birth_date, confirm_distinct=True, exclude_pk=resident.pk)
    if status is not None and status != resident.status:
        if status not in (RecordStatus.ACTIVE, RecordStatus.MOVED_OUT, RecordStatus.DECEASED):
            raise _invalid("status", _("档案状态只能改为在册、迁出或死亡"))
        resident.status, resident.status_date = status, today()
    _full_clean(resident)
    if household_code is not None or "relation_to_head" in fields:
        code = household_code if household_code is not None else (
            resident.household.code if resident.household else "")
        household = _household_for(code=code, village=resident.village, relation=resident.relation_to_head,
                                   resident=resident)
        old = resident.household
        if old is not None and old.head_id == resident.pk and (household != old or resident.relation_to_head
                                                               != Relation.HEAD):
            old.head = None
            old.save(update_fields=["head"])
        resident.household = household
        if household is not None and resident.relation_to_head == Relation.HEAD:
            household.head = resident
            household.save(update_fields=["head"])
    changed = sorted(f for f, v in before.items() if getattr(resident, f) != v)
    if resident.household_id != before_household:
        changed.append("household")
    if not changed:
        return resident
    resident.save()
    if "status" in changed:
        resident_status_changed.send(sender=Resident, resident=resident, old=before["status"], new=resident.status)
    audit.record(user=user, action=AuditAction.UPDATE, object_type=RESIDENT, object_id=resident.pk,
                 path=resident.path, request=request, detail={"record_no": resident.record_no, "fields": changed})
    return resident


@audit_misses
@transaction.atomic
def household_create(*, user: Any, village_code: str, address: str = "", code: str | None = None) -> Household:
    """A new household (户) of a village in the caller's data-entry scope; the code defaults to
    the village code + the next 4-digit sequence. Its head joins later (relation ``head``)."""
    village = village_get(village_code)
    if not covers(user, village.path, mode="entry"):
        raise OutOfScope(object_type="registry.division", object_id=village.code)
    Division.objects.select_for_update().filter(pk=village.pk).first()
    if code:
        code = code.strip()
        if Household.objects.filter(code=code).exists():
            raise Conflict(reason=_("户编号“%(code)s”已存在") % {"code": code}, field="code")
    else:
        last = (Household.objects.filter(code__gte=f"{village.code}0000", code__lte=f"{village.code}9999")
                .order_by("-code").values_list("code", flat=True).first())
        code = f"{village.code}{(int(last[len(village.code):]) + 1) if last else 1:04d}"
    household = Household.objects.create(code=code, village=village, address=address.strip(), path=village.path)
    audit.record(user=user, action=AuditAction.CREATE, object_type=HOUSEHOLD, object_id=household.pk,
                 path=household.path, detail={"code": household.code})
    return household


# ---------------------------------------------------------------- transfer (档案迁移)


def _move(resident: Resident, village: Division, clinic: Institution | None, centre: Institution | None,
          *, user: Any, on: dt.date, reason: str, request: Any) -> ResidentTransfer:
    from_village, from_path = resident.village, resident.path
    transfer = ResidentTransfer.objects.create(
        resident=resident, from_village=from_village, to_village=village, from_path=from_path,
        to_path=village.path, on=on, reason=reason, by=user if getattr(user, "is_authenticated", False) else None)
    resident.village, resident.clinic, resident.township_centre, resident.path = village, clinic, centre, village.path
    resident.save(update_fields=["village", "clinic", "township_centre", "path", "household", "relation_to_head",
                                 "updated_at"])
    MatchPair.objects.filter(left=resident).update(path=village.path)
    resident_moved.send(sender=Resident, resident=resident, from_path=from_path, to_path=village.path)
    audit.record(user=user, action=AuditAction.UPDATE, object_type=RESIDENT, object_id=resident.pk,
                 path=from_path, request=request,
                 detail={"record_no": resident.record_no, "event": "transfer", "transfer": transfer.pk,
                         "from": from_village.code, "to": village.code, "fields": ["village", "path"]})
    return transfer


@audit_misses
@transaction.atomic
def resident_transfer(*, user: Any, resident: Resident, to_village_code: str, on: dt.date | None = None,
                      reason: str = "", request: Any = None, with_household: bool = False) -> ResidentTransfer:
    """Move a record to another village (档案迁移): responsible clinic, centre and scope follow.

    The caller needs data-entry scope over the current village. The resident leaves a household
    of the old village — a head takes the household and all its members along only with
    ``with_household``; otherwise the household loses its head. Each move writes a
    :class:`ResidentTransfer` (the history stays with the record), sends
    :data:`~yigongti.residents.signals.resident_moved` and is audited.
    """
    resident = Resident.objects.select_for_update(of=("self",)).select_related("village", "household").get(
        pk=resident.pk)
    _require_entry(user, resident)
    if resident.status == RecordStatus.MERGED:
        raise Conflict(reason=_("已合并的档案不能迁移"))
    village = village_get(to_village_code, field="to_village_code")
    if village.pk == resident.village_id:
        raise _invalid("to_village_code", _("迁入村与现所在村相同"))
    day = on or today()
    if day > today():
        raise _invalid("on", _("迁移日期不能晚于今天"))
    reason = (reason or "").strip()
    clinic, centre = village_responsibles(village)
    household = resident.household
    movers = [resident]
    if household is not None and household.village_id == resident.village_id:
        if household.head_id == resident.pk and with_household:
            movers += list(Resident.objects.select_for_update().filter(household=household)
                           .exclude(pk=resident.pk).exclude(status=RecordStatus.MERGED)
                           .select_related("village").order_by("pk"))
            household.village, household.path = village, village.path
            household.save(update_fields=["village", "path"])
        else:
            if household.head_id == resident.pk:
                household.head = None
                household.save(update_fields=["head"])
            resident.household, resident.relation_to_head = None, ""
    transfers = [_move(r, village, clinic, centre, user=user, on=day, reason=reason, request=request)
                 for r in movers]
    return transfers[0]


# ---------------------------------------------------------------- merge and unmerge


def _linked_relations() -> list[tuple[str, Any, str]]:
    """Every (label, model, field name) of a ForeignKey/OneToOne to Resident from any app.

    Includes hidden relations (``related_name="+"``, e.g. ``Household.head``); later apps'
    encounters, follow-ups and claims join by themselves.
    """
    found = []
    for rel in Resident._meta.get_fields(include_hidden=True):
        if not (rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)):
            continue
        model: Any = rel.related_model
        field = rel.field.name  # type: ignore[union-attr]
        label = f"{model._meta.label_lower}.{field}"
        if label not in NOT_MOVED:
            found.append((label, model, field))
    return found


def _relation(label: str) -> tuple[Any, str]:
    app_label, model_name, field = label.split(".")
    return apps.get_model(app_label, model_name), field


def _locked(*records: Resident) -> list[Resident]:
    pks = [r.pk for r in records]
    rows = {r.pk: r for r in Resident.objects.select_for_update().filter(pk__in=pks)}
    return [rows[pk] for pk in pks]


@audit_misses
@transaction.atomic
def resident_merge(*, user: Any, survivor: Resident, merged: Resident, reason: str = "",
                   request: Any = None) -> ResidentMerge:
    """Fold ``merged`` into ``survivor``: every row that points at ``merged`` follows the survivor.

    Linked rows are found generically (any ForeignKey/OneToOne to :class:`Resident` of any app,
    save the record's own bookkeeping); their pks, the merged record's previous status and the
    survivor fields filled from it are kept in :attr:`ResidentMerge.moved` so that
    :func:`resident_unmerge` restores them exactly. Pending pairs with the merged record are closed.
    """
    if survivor.pk == merged.pk:
        raise _invalid("merged", _("不能把档案合并到它自身"))
    survivor, merged = _locked(survivor, merged)
    _require_entry(user, survivor)
    _require_entry(user, merged)
    for record in (survivor, merged):
        if record.status == RecordStatus.MERGED:
            raise Conflict(reason=_("档案 %(record_no)s 已被合并，不能再合并") % {"record_no": record.record_no})
    moved: dict[str, list[int]] = {}
    resident_merging.send(sender=Resident, survivor=survivor, merged=merged)
    try:
        with transaction.atomic():
            for label, model, field in _linked_relations():
                pks = list(model._base_manager.filter(**{field: merged}).values_list("pk", flat=True))
                if pks:
                    model._base_manager.filter(pk__in=pks).update(**{field: survivor})
                    moved[label] = pks
    except IntegrityError as exc:
        raise Conflict(reason=_("关联数据冲突，无法合并")) from exc
    previous = {"status": merged.status, "status_date": merged.status_date.isoformat() if merged.status_date else None}
    merged.status, merged.status_date, merged.merged_into = RecordStatus.MERGED, today(), survivor
    merged.save(update_fields=["status", "status_date", "merged_into", "updated_at"])
    filled: dict[str, Any] = {}
    for field in FILLABLE:
        if not getattr(survivor, field) and getattr(merged, field):
            filled[field] = getattr(survivor, field)
            setattr(survivor, field, getattr(merged, field))
    if survivor.household_id is None and merged.household_id is not None:
        filled["household_id"], filled["relation_to_head"] = None, survivor.relation_to_head
        survivor.household_id, survivor.relation_to_head = merged.household_id, merged.relation_to_head
    if filled:
        survivor.save()
    now, by = timezone.now(), user if getattr(user, "is_authenticated", False) else None
    pair_ids = list(MatchPair.objects.filter(status=PairStatus.PENDING).filter(
        Q(left=merged) | Q(right=merged)).values_list("pk", flat=True))
    MatchPair.objects.filter(pk__in=pair_ids).update(status=PairStatus.MERGED, decided_at=now, decided_by=by)
    merge = ResidentMerge.objects.create(
        survivor=survivor, merged=merged, reason=(reason or "").strip(), by=by,
        moved={"rows": moved, "merged_previous": previous, "filled": filled, "pairs": pair_ids})
    for record, role in ((survivor, "survivor"), (merged, "merged")):
        audit.record(user=user, action=AuditAction.UPDATE, object_type=RESIDENT, object_id=record.pk,
                     path=record.path, request=request,
                     detail={"record_no": record.record_no, "event": "merge", "merge": merge.pk, "role": role,
                             "survivor": survivor.record_no, "merged": merged.record_no,
                             "moved": {k: len(v) for k, v in moved.items()}, "filled": sorted(filled)})
    return merge


@audit_misses
@transaction.atomic
def resident_unmerge(*, user: Any, merge: ResidentMerge, request: Any = None) -> Resident:
    """Undo a merge: the rows it moved go back, the merged record's status and the survivor's
    filled fields are restored, the pairs it closed are pending again. Returns the restored record."""
    merge = ResidentMerge.objects.select_for_update().get(pk=merge.pk)
    if merge.undone_at is not None:
        raise Conflict(reason=_("该合并已于 %(at)s 撤销") % {
            "at": f"{timezone.localtime(merge.undone_at):%Y-%m-%d %H:%M}"})
    survivor, merged = _locked(merge.survivor, merge.merged)
    _require_entry(user, survivor)
    _require_entry(user, merged)
    if survivor.status == RecordStatus.MERGED:
        raise Conflict(reason=_("存活档案 %(record_no)s 此后又被合并，请先撤销那次合并") % {
            "record_no": survivor.record_no})
    if merged.status != RecordStatus.MERGED or merged.merged_into_id != survivor.pk:
        raise Conflict(reason=_("档案 %(record_no)s 此后已有变动，无法撤销这次合并") % {"record_no": merged.record_no})
    info = merge.moved or {}
    filled: dict[str, Any] = info.get("filled", {})
    for field, value in filled.items():
        setattr(survivor, field, value)
    if filled:
        survivor.save()
    if merged.id_number and Resident.objects.exclude(status=RecordStatus.MERGED).exclude(pk=merged.pk).filter(
            id_number=merged.id_number).exists():
        raise Conflict(reason=_("合并后已有其他档案使用身份证号 %(id)s，无法撤销") % {"id": merged.id_number})
    previous = info.get("merged_previous", {})
    merged.status = previous.get("status", RecordStatus.ACTIVE)
    merged.status_date = dt.date.fromisoformat(previous["status_date"]) if previous.get("status_date") else None
    merged.merged_into = None
    merged.save(update_fields=["status", "status_date", "merged_into", "updated_at"])
    for label, pks in info.get("rows", {}).items():
        model, field = _relation(label)
        model._base_manager.filter(pk__in=pks, **{field: survivor}).update(**{field: merged})
    MatchPair.objects.filter(pk__in=info.get("pairs", []), status=PairStatus.MERGED).update(
        status=PairStatus.PENDING, decided_at=None, decided_by=None)
    merge.undone_at = timezone.now()
    merge.undone_by = user if getattr(user, "is_authenticated", False) else None
    merge.save(update_fields=["undone_at", "undone_by"])
    for record, role in ((survivor, "survivor"), (merged, "merged")):
        audit.record(user=user, action=AuditAction.UPDATE, object_type=RESIDENT, object_id=record.pk,
                     path=record.path, request=request,
                     detail={"record_no": record.record_no, "event": "unmerge", "merge": merge.pk, "role": role})
    return merged


@audit_misses
@transaction.atomic
def pair_decide(*, user: Any, pair: MatchPair, decision: str, survivor: Resident | None = None,
                request: Any = None) -> MatchPair:
    """Decide a pending pair of the review queue: ``merge`` (the survivor defaults to the older
    record) or ``distinct`` (非同一人). Both records must be in the caller's data-entry scope."""
    pair = MatchPair.objects.select_for_update().select_related("left", "right").get(pk=pair.pk)
    for record in (pair.left, pair.right):
        if not covers(user, record.path, mode="entry"):
            raise OutOfScope(object_type="residents.matchpair", object_id=pair.pk)
    if pair.status != PairStatus.PENDING:
        raise Conflict(reason=_("该疑似重复已处理（%(status)s）") % {"status": pair.get_status_display()})
    if decision == "merge":
        if survivor is None:
            survivor = min((pair.left, pair.right), key=lambda r: (r.created_at, r.pk))
        if survivor.pk not in (pair.left_id, pair.right_id):
            raise _invalid("survivor", _("存活档案必须是这一对中的一份"))
        merged = pair.right if survivor.pk == pair.left_id else pair.left
        resident_merge(user=user, survivor=survivor, merged=merged, reason=_("审核合并疑似重复 #%(id)s") % {
            "id": pair.pk}, request=request)
        pair.refresh_from_db()
        return pair
    if decision != "distinct":
        raise _invalid("decision", _("处理结果只能是 merge 或 distinct"))
    pair.status, pair.decided_at = PairStatus.DISTINCT, timezone.now()
    pair.decided_by = user if getattr(user, "is_authenticated", False) else None
    pair.save(update_fields=["status", "decided_at", "decided_by"])
    for record in (pair.left, pair.right):
        audit.record(user=user, action=AuditAction.UPDATE, object_type=RESIDENT, object_id=record.pk,
                     path=record.path, request=request,
                     detail={"record_no": record.record_no, "event": "pair_distinct", "pair": pair.pk})
    return pair
