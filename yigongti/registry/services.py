"""Writes of the registry: divisions, institutions, alliances, capacities, departments, staff.

Every function here is keyword-only, runs in one transaction (``@transaction.atomic``; nested
inside a caller's transaction it is a savepoint) and returns ``(outcome, obj)`` where ``outcome``
is ``"created"``, ``"updated"`` or ``"unchanged"`` — so an import can count, and re-running the
same input changes nothing. Invalid input raises :class:`~yigongti.core.errors.ValidationFailed`,
:class:`~yigongti.core.errors.NotFound` or :class:`~yigongti.core.errors.Conflict` with a
translatable message; ``error.params["field"]`` names the argument at fault (an import turns it
into a column).

Optional descriptive arguments follow one rule: ``None`` leaves an existing value as it is (a new
row gets the default), an empty string clears it. Placement (a division's parent, an
institution's division and parent) is effective-dated: a change closes the open period at
``valid_from`` and opens a new one, and the materialised ``path`` of everything below is rewritten
in the same transaction (:data:`path_moved` tells the apps above the registry to do the same).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Literal, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.db.models import Model, QuerySet
from django.dispatch import Signal
from django.utils.translation import gettext_lazy as _

from yigongti.core import audit
from yigongti.core.errors import Conflict, NotFound, ValidationFailed
from yigongti.core.ids import resident_id_problem, resident_id_sex
from yigongti.core.models import AuditAction
from yigongti.core.tree import is_within, join, subtree_move

from .choices import (
    ALLOWED_PARENT_TYPES,
    DIVISION_LEVEL_OF_TIER,
    TIER_OF_TYPE,
    AllianceRole,
    CapacityKind,
    DivisionLevel,
    Grade,
    InstitutionType,
    QualificationKind,
    Sex,
)
from .codes import LEVEL_RANK, division_code_normalise, division_level_of_code, division_parent_code_of
from .models import (
    Alliance,
    AllianceMembership,
    Capacity,
    Department,
    Division,
    DivisionParentPeriod,
    Institution,
    InstitutionPeriod,
    Qualification,
    StaffMember,
)

M = TypeVar("M", bound=Model)
Outcome = Literal["created", "updated", "unchanged"]
CREATED: Outcome = "created"
UPDATED: Outcome = "updated"
UNCHANGED: Outcome = "unchanged"

# Sent after the paths of a subtree were rewritten (``old`` → ``new`` prefix), inside the same
# transaction. Apps above the registry that carry a division path (residents, …) connect to it.
path_moved = Signal()



def _unique(queryset: QuerySet[M]) -> M | None:
    """The one row a lookup by a unique key finds, or ``None`` (no ORDER BY, unlike ``first()``)."""
    try:
        return queryset.get()
    except ObjectDoesNotExist:
        return None


def _label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _division(code: str, *, field: str) -> Division:
    normalised = division_code_normalise(code, field=field)
    division = _unique(Division.objects.filter(code=normalised))
    if division is None:
        raise NotFound(_("区划代码“%(code)s”不存在"), code=normalised, field=field)
    return division


def _institution(code: str, *, field: str) -> Institution:
    institution = _unique(Institution.objects.filter(code=(code or "").strip()))
    if institution is None:
        raise NotFound(_("机构代码“%(code)s”不存在"), code=code, field=field)
    return institution


def _rewrite_paths(old: str, new: str) -> None:
    """Replace the prefix ``old`` by ``new`` in every path of the subtree (divisions, institutions, staff)."""
    if old == new:
        return
    for model in (Division, Institution, StaffMember):
        subtree_move(model.objects.all(), old, new)
    path_moved.send(sender=Division, old=old, new=new)


def _check_start(open_start: dt.date, valid_from: dt.date) -> None:
    if valid_from < open_start:
        raise Conflict(_("生效日期 %(date)s 早于当前隶属期的开始日期 %(start)s"),
                       date=valid_from.isoformat(), start=open_start.isoformat(), field="valid_from")


# ---------------------------------------------------------------- divisions


@transaction.atomic
def division_upsert(*, code: str, name: str, level: str | None = None, parent_code: str | None = None,
                    valid_from: dt.date) -> tuple[Outcome, Division]:
    """Create or update the division ``code`` (normalised to its short form).

    Guarantees: a new division without ``level``/``parent_code`` gets the level and parent its code
    implies (a township or village must find its parent; a county or above without one becomes a
    root); an existing one keeps its level and parent unless they are given (a root is attached to
    the parent its code implies once that exists). The parent is always of a higher
    level and never inside the division's own subtree. ``path`` is the parent's path + ``/`` + code.
    A changed parent closes the open :class:`DivisionParentPeriod` at ``valid_from``, opens a new one
    and rewrites the path of the whole subtree and of the institutions and staff under it.
    """
    code = division_code_normalise(code)
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("名称不能为空"), field="name")
    if level is not None and level not in LEVEL_RANK:
        raise ValidationFailed(_("区划级别“%(level)s”无效"), level=level, field="level")
    existing = _unique(Division.objects.select_for_update().filter(code=code))
    level = level or (existing.level if existing else division_level_of_code(code))

    parent: Division | None
    if parent_code:
        parent = _division(parent_code, field="parent_code")
    elif existing is not None and existing.parent_id is not None:
        parent = existing.parent
    else:
        implied = division_parent_code_of(code)
        parent = _unique(Division.objects.filter(code=implied)) if implied else None
        if parent is None and LEVEL_RANK[level] > LEVEL_RANK[DivisionLevel.COUNTY]:
            raise NotFound(_("上级区划“%(code)s”不存在"), code=implied or "", field="parent_code")
    if parent is not None:
        if LEVEL_RANK[parent.level] >= LEVEL_RANK[level]:
            raise ValidationFailed(
                _("上级区划“%(parent)s”（%(parent_level)s）的级别应高于%(level)s"), parent=parent.code,
                parent_level=_label(DivisionLevel, parent.level), level=_label(DivisionLevel, level),
                field="parent_code")
        if existing is not None and is_within(parent.path, existing.path):
            raise ValidationFailed(_("不能把区划移到它自己的下级之下"), field="parent_code")

    if existing is None:
        division = Division.objects.create(code=code, name=name, level=level, parent=parent, valid_from=valid_from,
                                           path=join(parent.path if parent else None, code))
        if parent is not None:
            DivisionParentPeriod.objects.create(division=division, parent=parent, valid_from=valid_from)
        return CREATED, division

    division = existing
    changed: list[str] = []
    if division.name != name:
        division.name = name
        changed.append("name")
    if division.level != level:
        if division.children.exists() or division.institutions.exists():
            raise Conflict(_("区划“%(code)s”下已有区划或机构，不能修改级别"), code=code, field="level")
        division.level = level
        changed.append("level")
    if parent is not None and division.parent_id != parent.pk:
        _division_reparent(division, parent, valid_from)
        changed.append("parent")
    expected_path = join(division.parent.path if division.parent else None, code)
    if division.path != expected_path:
        _rewrite_paths(division.path, expected_path)
        division.path = expected_path
        changed.append("path")
    if not changed:
        return UNCHANGED, division
    division.save(update_fields=[f for f in ("name", "level", "parent") if f in changed] or None)
    return UPDATED, division


def _division_reparent(division: Division, parent: Division, valid_from: dt.date) -> None:
    open_period = (DivisionParentPeriod.objects.select_for_update()
                   .filter(division=division, valid_to__isnull=True).order_by("-valid_from").first())
    if open_period is None and division.parent_id is not None and division.valid_from < valid_from:
        # A division loaded without its history (bulk or older data): keep the old placement as a period.
        open_period = DivisionParentPeriod.objects.create(
            division=division, parent_id=division.parent_id, valid_from=division.valid_from)
    if open_period is not None:
        _check_start(open_period.valid_from, valid_from)
        if open_period.valid_from == valid_from:  # a correction on the day the period began
            open_period.parent = parent
            open_period.save(update_fields=["parent"])
        else:
            open_period.valid_to = valid_from
            open_period.save(update_fields=["valid_to"])
            DivisionParentPeriod.objects.create(division=division, parent=parent, valid_from=valid_from)
    else:
        DivisionParentPeriod.objects.create(division=division, parent=parent, valid_from=valid_from)
    division.parent = parent


# ---------------------------------------------------------------- institutions


def _check_institution_placement(*, code: str, type: str, division: Division,
                                  parent: Institution | None) -> None:
    tier = TIER_OF_TYPE[type]
    wanted_level = DIVISION_LEVEL_OF_TIER[tier]
    if division.level != wanted_level:
        raise ValidationFailed(
            _("%(type)s应设在%(wanted)s级区划，而“%(division)s”是%(actual)s"), type=_label(InstitutionType, type),
            wanted=_label(DivisionLevel, wanted_level), division=division.code,
            actual=_label(DivisionLevel, division.level), field="division_code")
    allowed = ALLOWED_PARENT_TYPES.get(type, set())
    if parent is None:
        if type == InstitutionType.VILLAGE_CLINIC:
            # 乡村一体化管理: every village clinic is run by a township (or community) centre.
            raise ValidationFailed(_("村卫生室必须填写上级机构（乡镇卫生院或社区卫生服务中心）"), field="parent_code")
        return
    if parent.code == code:
        raise ValidationFailed(_("机构不能是自己的上级机构"), field="parent_code")
    if not allowed:
        raise ValidationFailed(_("%(type)s没有上级机构，“%(parent)s”不能作为其上级"),
                               type=_label(InstitutionType, type), parent=parent.code, field="parent_code")
    if parent.type not in allowed:
        raise ValidationFailed(
            _("%(type)s的上级机构应为%(allowed)s，而“%(parent)s”是%(parent_type)s"),
            type=_label(InstitutionType, type),
            allowed="、".join(sorted(_label(InstitutionType, t) for t in allowed)),
            parent=parent.code, parent_type=_label(InstitutionType, parent.type), field="parent_code")


@transaction.atomic
def institution_upsert(*, code: str, name: str, type: str, grade: str | None = None, division_code: str,
                       parent_code: str | None = None, is_government: bool | None = None, valid_from: dt.date,
                       address: str | None = None, phone: str | None = None) -> tuple[Outcome, Institution]:
    """Create or update the institution ``code``.

    Guarantees: ``tier`` follows ``type`` (TIER_OF_TYPE); the division's level matches the tier
    (DIVISION_LEVEL_OF_TIER); the parent's type is one ALLOWED_PARENT_TYPES allows, and a village
    clinic always has one; ``path`` is the division's path. ``parent_code`` states the placement in
    full (``None``/empty: no parent). A changed division or parent closes the open
    :class:`InstitutionPeriod` at ``valid_from``, opens a new one and rewrites the staff's paths.
    """
    code = (code or "").strip()
    name = (name or "").strip()
    if not code:
        raise ValidationFailed(_("机构代码不能为空"), field="code")
    if not name:
        raise ValidationFailed(_("名称不能为空"), field="name")
    if type not in TIER_OF_TYPE:
        raise ValidationFailed(_("机构类型“%(type)s”无效"), type=type, field="type")
    if grade is not None and grade not in Grade.values:
        raise ValidationFailed(_("等级“%(grade)s”无效"), grade=grade, field="grade")
    division = _division(division_code, field="division_code")
    parent = _institution(parent_code, field="parent_code") if parent_code else None
    _check_institution_placement(code=code, type=type, division=division, parent=parent)

    existing = _unique(Institution.objects.select_for_update().filter(code=code))
    if existing is None:
        institution = Institution.objects.create(
            code=code, name=name, type=type, tier=TIER_OF_TYPE[type], grade=grade or Grade.UNGRADED,
            is_government=True if is_government is None else is_government, division=division, parent=parent,
            path=division.path, address=address or "", phone=phone or "", valid_from=valid_from)
        InstitutionPeriod.objects.create(institution=institution, division=division, parent=parent,
                                         valid_from=valid_from)
        return CREATED, institution

    institution = existing
    if institution.type != type:
        for child in institution.children.all():
            if type not in ALLOWED_PARENT_TYPES.get(child.type, set()):
                raise Conflict(_("下级机构“%(child)s”不能隶属于%(type)s"), child=child.code,
                               type=_label(InstitutionType, type), field="type")
    wanted: dict[str, Any] = {"name": name, "type": type, "tier": TIER_OF_TYPE[type]}
    if grade is not None:
        wanted["grade"] = grade
    if is_government is not None:
        wanted["is_government"] = is_government
    if address is not None:
        wanted["address"] = address.strip()
    if phone is not None:
        wanted["phone"] = phone.strip()
    changed = [f for f, v in wanted.items() if getattr(institution, f) != v]
    for f in changed:
        setattr(institution, f, wanted[f])
    if institution.division_id != division.pk or institution.parent_id != (parent.pk if parent else None):
        _institution_move(institution, division, parent, valid_from)
        changed += ["division", "parent"]
    if institution.path != division.path:
        StaffMember.objects.filter(institution=institution).update(path=division.path)
        institution.path = division.path
        changed.append("path")
    if not changed:
        return UNCHANGED, institution
    institution.save()
    return UPDATED, institution


def _institution_move(institution: Institution, division: Division, parent: Institution | None,
                      valid_from: dt.date) -> None:
    open_period = (InstitutionPeriod.objects.select_for_update()
                   .filter(institution=institution, valid_to__isnull=True).order_by("-valid_from").first())
    if open_period is None and institution.valid_from < valid_from:
        # An institution loaded without its history: keep the old placement as a closed period.
        open_period = InstitutionPeriod.objects.create(
            institution=institution, division_id=institution.division_id, parent_id=institution.parent_id,
            valid_from=institution.valid_from)
    if open_period is not None and open_period.valid_from == valid_from:  # corrected on the day it began
        open_period.division, open_period.parent = division, parent
        open_period.save(update_fields=["division", "parent"])
    else:
        if open_period is not None:
            _check_start(open_period.valid_from, valid_from)
            open_period.valid_to = valid_from
            open_period.save(update_fields=["valid_to"])
        InstitutionPeriod.objects.create(institution=institution, division=division, parent=parent,
                                         valid_from=valid_from)
    institution.division, institution.parent = division, parent


# ---------------------------------------------------------------- alliances (医共体)


@transaction.atomic
def alliance_upsert(*, code: str, name: str, division_code: str,
                    valid_from: dt.date) -> tuple[Outcome, Alliance]:
    """Create or update the alliance ``code``; its division is the county that ``division_code`` lies in."""
    code, name = (code or "").strip(), (name or "").strip()
    if not code or not name:
        raise ValidationFailed(_("医共体代码和名称不能为空"), field="alliance_code")
    division = _division(division_code, field="division_code")
    if division.level != DivisionLevel.COUNTY:
        county = Division.objects.filter(code__in=division.path.split("/"), level=DivisionLevel.COUNTY).first()
        if county is None:
            raise ValidationFailed(_("医共体应属于一个县，而“%(code)s”不在任何县内"), code=division.code,
                                   field="division_code")
        division = county
    existing = _unique(Alliance.objects.select_for_update().filter(code=code))
    if existing is None:
        alliance = Alliance.objects.create(code=code, name=name, division=division, valid_from=valid_from)
        return CREATED, alliance
    changed = [f for f, v in (("name", name), ("division_id", division.pk)) if getattr(existing, f) != v]
    if not changed:
        return UNCHANGED, existing
    existing.name, existing.division = name, division
    existing.save(update_fields=["name", "division"])
    return UPDATED, existing


@transaction.atomic
def alliance_member_set(*, alliance_code: str, institution_code: str, role: str,
                        valid_from: dt.date) -> tuple[Outcome, AllianceMembership]:
    """Make ``institution_code`` a member of ``alliance_code`` with ``role`` from ``valid_from``.

    Guarantees: an institution has at most one open membership (joining another alliance closes
    the old one at ``valid_from``); an alliance has at most one open lead; the same call twice is
    "unchanged"; a new role closes the open membership and opens another (same day: corrected).
    """
    if role not in AllianceRole.values:
        raise ValidationFailed(_("医共体角色“%(role)s”无效"), role=role, field="alliance_role")
    alliance = _unique(Alliance.objects.filter(code=(alliance_code or "").strip()))
    if alliance is None:
        raise NotFound(_("医共体“%(code)s”不存在"), code=alliance_code, field="alliance_code")
    institution = _institution(institution_code, field="institution_code")
    if role == AllianceRole.LEAD:
        other_lead = (AllianceMembership.objects
                      .filter(alliance=alliance, role=AllianceRole.LEAD, valid_to__isnull=True)
                      .exclude(institution=institution).select_related("institution").first())
        if other_lead is not None:
            raise Conflict(_("医共体“%(alliance)s”已有牵头单位“%(lead)s”"), alliance=alliance.code,
                           lead=other_lead.institution.code, field="alliance_role")
    open_memberships = list(AllianceMembership.objects.select_for_update()
                            .filter(institution=institution, valid_to__isnull=True).order_by("valid_from"))
    current = next((m for m in open_memberships if m.alliance_id == alliance.pk), None)
    others = [m for m in open_memberships if m is not current]
    if current is not None and current.role == role and not others:
        return UNCHANGED, current
    for membership in [*others, *([current] if current is not None and current.role != role else [])]:
        _check_start(membership.valid_from, valid_from)
        if membership.valid_from == valid_from:
            if membership is current:  # corrected on the day it began
                current.role = role
                current.save(update_fields=["role"])
                continue
            membership.delete()
        else:
            membership.valid_to = valid_from
            membership.save(update_fields=["valid_to"])
    if current is not None and current.role == role:
        return UPDATED, current
    reopened = AllianceMembership.objects.filter(alliance=alliance, institution=institution,
                                                 valid_from=valid_from).first()
    if reopened is not None:
        reopened.role, reopened.valid_to = role, None
        reopened.save(update_fields=["role", "valid_to"])
        return UPDATED, reopened
    membership = AllianceMembership.objects.create(alliance=alliance, institution=institution, role=role,
                                                   valid_from=valid_from)
    return (CREATED if current is None else UPDATED), membership


# ---------------------------------------------------------------- capacities and departments


@transaction.atomic
def capacity_set(*, institution_code: str, kind: str, quantity: int) -> tuple[Outcome, Capacity]:
    """Set how many of ``kind`` (beds, rooms, equipment) an institution has (0 = absent)."""
    if kind not in CapacityKind.values:
        raise ValidationFailed(_("服务能力类别“%(kind)s”无效"), kind=kind, field="kind")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
        raise ValidationFailed(_("数量应为非负整数，实为“%(quantity)s”"), quantity=quantity, field=kind)
    institution = _institution(institution_code, field="institution_code")
    capacity = _unique(Capacity.objects.select_for_update().filter(institution=institution, kind=kind))
    if capacity is None:
        return CREATED, Capacity.objects.create(institution=institution, kind=kind, quantity=quantity)
    if capacity.quantity == quantity:
        return UNCHANGED, capacity
    capacity.quantity = quantity
    capacity.save(update_fields=["quantity"])
    return UPDATED, capacity


@transaction.atomic
def department_upsert(*, institution_code: str, code: str, name: str,
                      is_clinical: bool | None = None) -> tuple[Outcome, Department]:
    """Create or update the department ``code`` of an institution (unique per institution)."""
    code, name = (code or "").strip(), (name or "").strip()
    if not code:
        raise ValidationFailed(_("科室代码不能为空"), field="department_code")
    if not name:
        raise ValidationFailed(_("科室名称不能为空"), field="department_name")
    institution = _institution(institution_code, field="institution_code")
    department = _unique(Department.objects.select_for_update().filter(institution=institution, code=code))
    if department is None:
        return CREATED, Department.objects.create(institution=institution, code=code, name=name,
                                                  is_clinical=True if is_clinical is None else is_clinical)
    wanted: dict[str, Any] = {"name": name}
    if is_clinical is not None:
        wanted["is_clinical"] = is_clinical
    changed = [f for f, v in wanted.items() if getattr(department, f) != v]
    if not changed:
        return UNCHANGED, department
    for f in changed:
        setattr(department, f, wanted[f])
    department.save(update_fields=changed)
    return UPDATED, department


# ---------------------------------------------------------------- staff (person-level: audited)


@transaction.atomic
def staff_upsert(*, id_number: str, name: str, sex: str | None = None, institution_code: str,
                 department_code: str | None = None, phone: str | None = None, title: str | None = None,
                 qualifications: Iterable[tuple[str, str]] | None = None, valid_from: dt.date,
                 user: Any = None) -> tuple[Outcome, StaffMember]:
    """Create or update the staff member whose resident ID is ``id_number``.

    Guarantees: the ID passes GB 11643 and ``sex`` (derived from it when absent) agrees with its
    sex digit; the department belongs to the institution; ``path`` is the institution's path; the
    member is active. ``qualifications`` (``(kind, certificate_no)`` pairs), when given, is the full
    current set: missing kinds are opened, changed certificate numbers updated, kinds no longer
    listed closed at ``valid_from``. A create or update leaves an audit entry in the same transaction.
    """
    id_number = (id_number or "").strip().upper()
    problem = resident_id_problem(id_number)
    if problem:
        raise ValidationFailed(reason=problem, field="id_number")
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("姓名不能为空"), field="name")
    id_sex = resident_id_sex(id_number)
    if sex and sex not in Sex.values:
        raise ValidationFailed(_("性别“%(sex)s”无效"), sex=sex, field="sex")
    if sex and sex != id_sex:
        raise ValidationFailed(_("性别“%(sex)s”与身份证号中的性别（%(id_sex)s）不符"), sex=_label(Sex, sex),
                               id_sex=_label(Sex, id_sex), field="sex")
    institution = _institution(institution_code, field="institution_code")
    department: Department | None = None
    if department_code:
        department = _unique(Department.objects.filter(institution=institution, code=department_code.strip()))
        if department is None:
            raise NotFound(_("机构“%(institution)s”没有科室“%(code)s”"), institution=institution.code,
                           code=department_code, field="department_code")
    wanted_quals: dict[str, str] | None = None
    if qualifications is not None:
        wanted_quals = {}
        for kind, certificate_no in qualifications:
            if kind not in QualificationKind.values:
                raise ValidationFailed(_("资格类别“%(kind)s”无效"), kind=kind, field="qualifications")
            wanted_quals[kind] = (certificate_no or "").strip()

    member = _unique(StaffMember.objects.select_for_update().filter(id_number=id_number))
    created = member is None
    if member is None:
        member = StaffMember(id_number=id_number)
    wanted: dict[str, Any] = {"name": name, "sex": id_sex, "institution_id": institution.pk,
                              "path": institution.path, "active": True}
    if department_code is not None:
        wanted["department_id"] = department.pk if department else None
    elif not created and member.department_id is not None and member.institution_id != institution.pk:
        wanted["department_id"] = None  # moved to another institution: the old department is not theirs
    if phone is not None:
        wanted["phone"] = phone.strip()
    if title is not None:
        wanted["title"] = title.strip()
    changed = [f for f, v in wanted.items() if created or getattr(member, f) != v]
    for f in changed:
        setattr(member, f, wanted[f])
    if changed:
        member.save()
    if wanted_quals is not None and _qualifications_set(member, wanted_quals, valid_from):
        changed.append("qualifications")
    if not changed:
        return UNCHANGED, member
    fields = sorted({f.removesuffix("_id") for f in changed})
    audit.record(user=user, action=AuditAction.CREATE if created else AuditAction.UPDATE,
                 object_type="registry.staffmember", object_id=member.pk, path=member.path,
                 detail={"fields": fields})
    return (CREATED if created else UPDATED), member


def _qualifications_set(member: StaffMember, wanted: dict[str, str], valid_from: dt.date) -> bool:
    """Bring the member's open qualifications to ``wanted`` (kind → certificate_no); True on a change."""
    changed = False
    existing = {q.kind: q for q in Qualification.objects.select_for_update().filter(staff=member)}
    for kind, certificate_no in wanted.items():
        qualification = existing.get(kind)
        if qualification is None:
            Qualification.objects.create(staff=member, kind=kind, certificate_no=certificate_no,
                                         valid_from=valid_from)
            changed = True
            continue
        if qualification.valid_to is not None or qualification.certificate_no != certificate_no:
            if qualification.valid_to is not None:  # re-opened: the one row per kind starts again
                qualification.valid_from, qualification.valid_to = valid_from, None
            qualification.certificate_no = certificate_no
            qualification.save(update_fields=["valid_from", "valid_to", "certificate_no"])
            changed = True
    for kind, qualification in existing.items():
        if kind in wanted or qualification.valid_to is not None:
            continue
        if qualification.valid_from >= valid_from:  # it never held: nothing to keep
            qualification.delete()
        else:
            qualification.valid_to = valid_from
            qualification.save(update_fields=["valid_to"])
        changed = True
    return changed
