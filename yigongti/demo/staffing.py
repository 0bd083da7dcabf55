"""Departments, staff and qualifications of the demo county (part of the ``registry`` module).

Realistic numbers: the county hospital has several hundred staff over its departments, a
township centre 20–60, a village clinic 1–3. Every clinical department of a county-level
hospital has a 执业医师, every centre a 执业(助理)医师 and a 全科医师, every clinic a 乡村医生
with a current certificate — except where :mod:`yigongti.demo.codes` plants a shortfall.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from yigongti.registry.choices import QualificationKind
from yigongti.registry.models import Department, Institution, Qualification, StaffMember

from . import names
from .codes import (
    CENTRE_WITHOUT_PHYSICIAN,
    CLINIC_NURSE_ONLY,
    CLINIC_VILLAGE_DOCTOR_EXPIRED,
    DEPARTMENT_WITHOUT_PHYSICIAN,
)
from .context import BATCH_SIZE, BuildContext
from .people import PersonMaker

BORN_FROM = dt.date(1962, 1, 1)
BORN_TO = dt.date(1996, 12, 31)
LATEST_CERTIFICATE = dt.date(2019, 12, 1)  # every current certificate predates the demo's VALID_FROM
EXPIRED_FROM, EXPIRED_TO = dt.date(2017, 7, 1), dt.date(2022, 7, 1)  # a 乡村医生 certificate lapsed

# role → (qualifications, titles, share of women)
ROLES: dict[str, tuple[list[str], list[str], float]] = {
    "physician": ([QualificationKind.PRACTISING_PHYSICIAN], names.PHYSICIAN_TITLES, 0.45),
    "assistant": ([QualificationKind.ASSISTANT_PHYSICIAN], names.ASSISTANT_TITLES, 0.5),
    "gp": ([QualificationKind.PRACTISING_PHYSICIAN, QualificationKind.GENERAL_PRACTITIONER],
           ["主治医师", "住院医师"], 0.45),
    "nurse": ([QualificationKind.NURSE], names.NURSE_TITLES, 0.92),
    "village_doctor": ([QualificationKind.VILLAGE_DOCTOR], ["乡村医生"], 0.3),
    "tech": ([], names.TECH_TITLES, 0.55),
}
_CERT_PREFIX: dict[str, str] = {
    QualificationKind.PRACTISING_PHYSICIAN: "110",
    QualificationKind.ASSISTANT_PHYSICIAN: "210",
    QualificationKind.GENERAL_PRACTITIONER: "QK",
    QualificationKind.NURSE: "HS",
    QualificationKind.VILLAGE_DOCTOR: "XC",
}


@dataclass
class _Hire:
    staff: StaffMember
    kinds: list[str]
    expired: bool = False


class _Roster:
    """Collects staff and their qualifications, then writes both in bulk."""

    def __init__(self, ctx: BuildContext) -> None:
        self.ctx = ctx
        self.people = PersonMaker(ctx.rng)
        self.hires: list[_Hire] = []
        self.lead: dict[str, str] = {}

    def hire(self, inst: Institution, role: str, n: int = 1, *, department: Department | None = None,
             extra: Sequence[str] = (), expired: bool = False) -> None:
        rng = self.ctx.rng
        kinds, titles, women = ROLES[role]
        for _ in range(n):
            sex = "F" if rng.random() < women else "M"
            person = self.people.make(born_from=BORN_FROM, born_to=BORN_TO, sex=sex)
            staff = StaffMember(
                institution=inst, department=department, name=person.name, sex=person.sex,
                id_number=person.id_number, phone=names.mobile(rng), title=names.pick(rng, titles),
                path=inst.path,
            )
            self.hires.append(_Hire(staff, [*kinds, *extra], expired))
            self.lead.setdefault(inst.code, person.name)

    def save(self) -> None:
        rng = self.ctx.rng
        StaffMember.objects.bulk_create([h.staff for h in self.hires], batch_size=BATCH_SIZE)
        quals: list[Qualification] = []
        for h in self.hires:
            born = _born(h.staff.id_number)
            for kind in h.kinds:
                if h.expired:
                    start, end = EXPIRED_FROM, EXPIRED_TO
                else:
                    year = min(born.year + rng.randint(22, 27), LATEST_CERTIFICATE.year)
                    start, end = min(dt.date(year, rng.randint(1, 12), 1), LATEST_CERTIFICATE), None
                quals.append(Qualification(
                    staff=h.staff, kind=kind, valid_from=start, valid_to=end,
                    certificate_no=f"{_CERT_PREFIX[kind]}{start.year}{h.staff.id_number[:6]}{rng.randrange(10**6):06d}",
                ))
        Qualification.objects.bulk_create(quals, batch_size=BATCH_SIZE)
        self.ctx.counts["staff"] += len(self.hires)
        self.ctx.counts["qualifications"] += len(quals)


def _born(id_number: str) -> dt.date:
    return dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def build(ctx: BuildContext) -> None:
    roster = _Roster(ctx)
    _county_level(ctx, roster)
    for centre in ctx.made["centres"].values():
        _centre(ctx, roster, centre)
    for clinic in ctx.made["clinics"].values():
        _clinic(ctx, roster, clinic)
    roster.save()
    ctx.made["lead_staff"] = roster.lead


def _departments(ctx: BuildContext, inst: Institution, clinical: list[tuple[str, str]],
                 other: list[tuple[str, str]]) -> list[Department]:
    rows = [Department(institution=inst, code=code, name=name, is_clinical=True) for code, name in clinical]
    rows += [Department(institution=inst, code=code, name=name, is_clinical=False) for code, name in other]
    Department.objects.bulk_create(rows, batch_size=BATCH_SIZE)
    ctx.counts["departments"] += len(rows)
    return rows


def _scaled(ctx: BuildContext, low: int, high: int) -> int:
    return max(1, round(ctx.rng.randint(low, high) * ctx.scale.staff_factor))


def _hospital(ctx: BuildContext, roster: _Roster, inst: Institution, clinical: list[tuple[str, str]],
              other: list[tuple[str, str]], doctors: tuple[int, int], nurses: tuple[int, int]) -> None:
    """Staff a county-level hospital: doctors and nurses per clinical department, then the rest."""
    rng = ctx.rng
    departments = _departments(ctx, inst, clinical, other)
    for dept in (d for d in departments if d.is_clinical):
        if inst.code == ctx.made["hospital"].code and dept.code == DEPARTMENT_WITHOUT_PHYSICIAN:
            roster.hire(inst, "nurse", rng.randint(2, 4), department=dept)  # planted: DB-COUNTY-DEPT-PHYSICIAN
            continue
        n_doctors = _scaled(ctx, *doctors)
        gp = dept.name.startswith("全科")
        roster.hire(inst, "gp" if gp else "physician", department=dept)  # ≥1 执业医师 per department
        for _ in range(n_doctors - 1):
            role = "gp" if gp else ("assistant" if rng.random() < 0.12 else "physician")
            roster.hire(inst, role, department=dept)
        roster.hire(inst, "nurse", _scaled(ctx, *nurses), department=dept)
    for dept in (d for d in departments if not d.is_clinical):
        if dept.name in {"放射科", "超声医学科", "超声科", "病理科", "功能检查科", "医务科"}:
            roster.hire(inst, "physician", _scaled(ctx, 1, 3), department=dept)
        if dept.name == "护理部":
            roster.hire(inst, "nurse", _scaled(ctx, 2, 4), department=dept)
        else:
            roster.hire(inst, "tech", _scaled(ctx, 2, 8), department=dept)


def _county_level(ctx: BuildContext, roster: _Roster) -> None:
    _hospital(ctx, roster, ctx.made["hospital"], names.COUNTY_HOSPITAL_CLINICAL, names.COUNTY_HOSPITAL_OTHER,
              doctors=(4, 8), nurses=(6, 12))
    _hospital(ctx, roster, ctx.made["tcm"], names.TCM_HOSPITAL_CLINICAL, names.TCM_HOSPITAL_OTHER,
              doctors=(3, 6), nurses=(4, 8))
    _hospital(ctx, roster, ctx.made["mch"], names.MCH_CLINICAL, names.MCH_OTHER, doctors=(3, 5), nurses=(4, 8))
    cdc = ctx.made["cdc"]
    for dept in _departments(ctx, cdc, [], names.CDC_OTHER):
        roster.hire(cdc, "physician", _scaled(ctx, 1, 3), department=dept)  # 公共卫生执业医师
        roster.hire(cdc, "tech", _scaled(ctx, 2, 5), department=dept)


def _centre(ctx: BuildContext, roster: _Roster, centre: Institution) -> None:
    """A township (or community) centre: 20–60 staff, a mix of doctors, nurses and technicians."""
    total = ctx.rng.randint(20, 60)
    gp = max(1, total // 12)
    physicians = max(2, total // 5)
    assistants = total // 8
    techs = total // 5
    nurses = total - gp - physicians - assistants - techs
    if centre.code == CENTRE_WITHOUT_PHYSICIAN:  # planted: DB-TOWNSHIP-PHYSICIAN
        roster.hire(centre, "nurse", nurses + gp + physicians + assistants)
        roster.hire(centre, "tech", techs)
        return
    roster.hire(centre, "physician", physicians)
    roster.hire(centre, "gp", gp)
    roster.hire(centre, "assistant", assistants)
    roster.hire(centre, "nurse", nurses)
    roster.hire(centre, "tech", techs)


def _clinic(ctx: BuildContext, roster: _Roster, clinic: Institution) -> None:
    """A village clinic: 1–3 staff, led by a 乡村医生 (some also hold an assistant licence)."""
    rng = ctx.rng
    if clinic.code == CLINIC_NURSE_ONLY:  # planted: DB-VILLAGE-DOCTOR (no 乡村医生 at all)
        roster.hire(clinic, "nurse")
        return
    if clinic.code == CLINIC_VILLAGE_DOCTOR_EXPIRED:  # planted: DB-VILLAGE-DOCTOR (certificate lapsed)
        roster.hire(clinic, "village_doctor", expired=True)
        roster.hire(clinic, "nurse")
        return
    extra = [QualificationKind.ASSISTANT_PHYSICIAN] if rng.random() < 0.25 else []
    roster.hire(clinic, "village_doctor", extra=extra)
    n = rng.choices([1, 2, 3], weights=[45, 40, 15])[0]
    for _ in range(n - 1):
        roster.hire(clinic, "village_doctor" if rng.random() < 0.6 else "nurse")
