"""Demo module ``registry``: the county's divisions, institutions, alliance, capacities and staff.

云溪县 (522399) under 贵州省 (52) / 黔西南布依族苗族自治州 (5223): one 街道 with its 社区 and a
社区卫生服务中心, then 镇 and 乡 each with a government 卫生院; one clinic per village; the county
hospital leads the 医共体 and every other institution is a member. Everything meets the
三建成 / 三合格 / 三达标 standards except the shortfalls planted on purpose and listed in
:data:`PLANTED_SHORTFALLS`, so ``ygt registry check`` has something to find.

Codes follow the 统计用区划代码 convention: townships ``522399`` + 3 digits (``0xx`` 街道,
``1xx`` 镇, ``2xx`` 乡), villages township + 3 digits (``0xx`` 居委会/社区, ``2xx`` 村委会).
Institution codes: ``H522399001`` county hospital, ``H522399002`` 中医院, ``M522399001`` 妇幼,
``C522399001`` 疾控, ``T`` + township code, ``V`` + village code.

Leaves in ``ctx.made``: ``county`` (Division), ``townships`` / ``villages`` (lists of Division),
``hospital`` / ``tcm`` / ``mch`` / ``cdc`` (Institution), ``centres`` (township code →
Institution), ``clinics`` (village code → Institution), ``lead_staff`` (institution code → name).
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from yigongti.core.tree import join
from yigongti.registry.choices import (
    TIER_OF_TYPE,
    AllianceRole,
    CapacityKind,
    DivisionLevel,
    Grade,
    InstitutionType,
)
from yigongti.registry.models import (
    Alliance,
    AllianceMembership,
    Capacity,
    Division,
    DivisionParentPeriod,
    Institution,
    InstitutionPeriod,
)

from . import names, staffing
from .codes import (
    ALLIANCE_CODE,
    CDC_CODE,
    CENTRE_WITHOUT_DR,
    CLINIC_WITHOUT_PHARMACY,
    CLINIC_WITHOUT_TREATMENT_ROOM,
    COUNTY_CODE,
    FIRST_TOWNSHIP_NAME,
    FIRST_VILLAGE_CODE,
    FIRST_VILLAGE_NAME,
    HOSPITAL_CODE,
    MCH_CODE,
    MIN_VILLAGES,
    PLANTED_SHORTFALLS,
    PRIVATE_CENTRE_TOWNSHIP,
    SUBDISTRICT_CODE,
    TCM_CODE,
    VILLAGE_WITHOUT_CLINIC,
)
from .context import BATCH_SIZE, VALID_FROM, BuildContext

__all__ = ["PLANTED_SHORTFALLS", "build"]

FOUR_ROOMS = [CapacityKind.CONSULT_ROOM, CapacityKind.TREATMENT_ROOM, CapacityKind.PUBLIC_HEALTH_ROOM,
              CapacityKind.PHARMACY]
CENTRE_EQUIPMENT = [CapacityKind.DR, CapacityKind.ULTRASOUND, CapacityKind.LAB, CapacityKind.TCM_HALL,
                    CapacityKind.VACCINATION_CLINIC, CapacityKind.TELEMEDICINE_CENTRE]


def build(ctx: BuildContext) -> None:
    ctx.step(_("行政区划"))
    _divisions(ctx)
    ctx.step(_("医疗卫生机构"))
    _institutions(ctx)
    ctx.step(_("医共体"))
    _alliance(ctx)
    ctx.step(_("服务能力"))
    _capacities(ctx)
    ctx.step(_("卫生人员"))
    staffing.build(ctx)


# ---------------------------------------------------------------- divisions


def _township_plan(ctx: BuildContext) -> list[tuple[str, str, int]]:
    """(code, name, number of villages) for each township, the 街道 first."""
    rng, scale = ctx.rng, ctx.scale
    rural = scale.townships - 1
    n_zhen = round(rural * 0.6)
    stems = [FIRST_TOWNSHIP_NAME.removesuffix("镇"), *names.township_names(rng, rural - 1)]
    plan = [(SUBDISTRICT_CODE, rng.choice(names.SUBDISTRICT_NAMES) + "街道", scale.communities)]
    # Spread the villages: an even share, then random moves that keep every township ≥ MIN_VILLAGES.
    total = scale.villages - scale.communities
    counts = [total // rural + (1 if i < total % rural else 0) for i in range(rural)]
    for _move in range(rural * 3):
        a, b = rng.randrange(rural), rng.randrange(rural)
        if a != b and counts[a] > MIN_VILLAGES + 1:
            counts[a] -= 1
            counts[b] += 1
    for i, stem in enumerate(stems):
        if i < n_zhen:
            plan.append((f"{COUNTY_CODE}{101 + i}", f"{stem}镇", counts[i]))
        else:
            plan.append((f"{COUNTY_CODE}{201 + i - n_zhen}", f"{stem}乡", counts[i]))
    return plan


def _divisions(ctx: BuildContext) -> None:
    rng = ctx.rng
    province = Division(code=names.PROVINCE[0], name=names.PROVINCE[1], level=DivisionLevel.PROVINCE,
                        path=names.PROVINCE[0], valid_from=VALID_FROM)
    province.save()
    prefecture = Division(code=names.PREFECTURE[0], name=names.PREFECTURE[1], level=DivisionLevel.PREFECTURE,
                          parent=province, path=join(province.path, names.PREFECTURE[0]), valid_from=VALID_FROM)
    prefecture.save()
    county = Division(code=COUNTY_CODE, name=names.COUNTY[1], level=DivisionLevel.COUNTY, parent=prefecture,
                      path=join(prefecture.path, COUNTY_CODE), valid_from=VALID_FROM)
    county.save()

    plan = _township_plan(ctx)
    townships = [
        Division(code=code, name=name, level=DivisionLevel.TOWNSHIP, parent=county,
                 path=join(county.path, code), valid_from=VALID_FROM)
        for code, name, _n in plan
    ]
    Division.objects.bulk_create(townships, batch_size=BATCH_SIZE)

    village_stems = names.village_names(rng, sum(n for code, _name, n in plan if code != SUBDISTRICT_CODE) - 1)
    community_stems = names.community_names(rng, ctx.scale.communities)
    villages: list[Division] = []
    for township, (code, _name, n) in zip(townships, plan, strict=True):
        for j in range(n):
            if code == SUBDISTRICT_CODE:  # 居民委员会 0xx
                v_code, v_name = f"{code}{1 + j:03d}", community_stems[j] + "社区"
            else:  # 村民委员会 2xx
                v_code = f"{code}{201 + j}"
                v_name = FIRST_VILLAGE_NAME if v_code == FIRST_VILLAGE_CODE else village_stems.pop() + "村"
            villages.append(Division(code=v_code, name=v_name, level=DivisionLevel.VILLAGE, parent=township,
                                     path=join(township.path, v_code), valid_from=VALID_FROM))
    Division.objects.bulk_create(villages, batch_size=BATCH_SIZE)

    children = [prefecture, county, *townships, *villages]
    DivisionParentPeriod.objects.bulk_create(
        [DivisionParentPeriod(division=d, parent=d.parent, valid_from=VALID_FROM) for d in children
         if d.parent is not None],
        batch_size=BATCH_SIZE,
    )
    ctx.counts["divisions"] += 3 + len(townships) + len(villages)
    ctx.made.update(county=county, townships=townships, villages=villages)


# ---------------------------------------------------------------- institutions


def _institution(division: Division, code: str, name: str, type_: str, *, parent: Institution | None = None,
                 grade: str = Grade.UNGRADED, government: bool = True, address: str = "",
                 phone: str = "") -> Institution:
    return Institution(
        code=code, name=name, type=type_, tier=TIER_OF_TYPE[type_], grade=grade, is_government=government,
        division=division, parent=parent, path=division.path, address=address, phone=phone,
        valid_from=VALID_FROM,
    )


def _institutions(ctx: BuildContext) -> None:
    rng = ctx.rng
    county: Division = ctx.made["county"]
    townships: list[Division] = ctx.made["townships"]
    villages: list[Division] = ctx.made["villages"]
    seat = names.COUNTY[1]
    county_address = f"{names.PROVINCE[1]}{names.PREFECTURE[1]}{seat}"

    hospital = _institution(county, HOSPITAL_CODE, f"{seat}人民医院", InstitutionType.COUNTY_HOSPITAL,
                            grade=Grade.GRADE_2A, address=county_address + "人民路1号",
                            phone=names.landline(rng))
    tcm = _institution(county, TCM_CODE, f"{seat}中医院", InstitutionType.TCM_HOSPITAL, grade=Grade.GRADE_2A,
                       address=county_address + "中山路18号", phone=names.landline(rng))
    mch = _institution(county, MCH_CODE, f"{seat}妇幼保健院", InstitutionType.MCH, grade=Grade.GRADE_2B,
                       address=county_address + "健康路6号", phone=names.landline(rng))
    cdc = _institution(county, CDC_CODE, f"{seat}疾病预防控制中心", InstitutionType.CDC,
                       address=county_address + "健康路9号", phone=names.landline(rng))
    county_level = [hospital, tcm, mch, cdc]
    Institution.objects.bulk_create(county_level, batch_size=BATCH_SIZE)

    centres: dict[str, Institution] = {}
    for i, township in enumerate(townships):
        if township.code == SUBDISTRICT_CODE:
            type_, name, grade = InstitutionType.COMMUNITY_CENTRE, f"{township.name}社区卫生服务中心", Grade.GRADE_1
        else:
            central = township.name.endswith("镇") and i % 4 == 1  # some 镇 (the first too) host a 中心卫生院
            type_ = InstitutionType.TOWNSHIP_CENTRE
            name = f"{township.name}{'中心' if central else ''}卫生院"
            grade = Grade.GRADE_1A if central else Grade.GRADE_1
        centres[township.code] = _institution(
            township, f"T{township.code}", name, type_, parent=hospital, grade=grade,
            government=township.code != PRIVATE_CENTRE_TOWNSHIP,
            address=f"{county_address}{township.name}", phone=names.landline(rng))
    Institution.objects.bulk_create(centres.values(), batch_size=BATCH_SIZE)

    by_code = {t.code: t for t in townships}
    clinics: dict[str, Institution] = {}
    for village in villages:
        if village.code == VILLAGE_WITHOUT_CLINIC:
            continue
        township = by_code[village.code[:9]]
        suffix = "卫生服务站" if village.name.endswith("社区") else "卫生室"
        clinics[village.code] = _institution(
            village, f"V{village.code}", f"{township.name}{village.name}{suffix}", InstitutionType.VILLAGE_CLINIC,
            parent=centres[township.code], address=f"{county_address}{township.name}{village.name}",
            phone=names.mobile(rng))
    Institution.objects.bulk_create(clinics.values(), batch_size=BATCH_SIZE)

    every = [*county_level, *centres.values(), *clinics.values()]
    InstitutionPeriod.objects.bulk_create(
        [InstitutionPeriod(institution=inst, division=inst.division, parent=inst.parent, valid_from=VALID_FROM)
         for inst in every],
        batch_size=BATCH_SIZE,
    )
    ctx.counts["institutions"] += len(every)
    ctx.made.update(hospital=hospital, tcm=tcm, mch=mch, cdc=cdc, centres=centres, clinics=clinics,
                    institutions=every)


def _alliance(ctx: BuildContext) -> None:
    county: Division = ctx.made["county"]
    hospital: Institution = ctx.made["hospital"]
    alliance = Alliance.objects.create(code=ALLIANCE_CODE, name=f"{county.name}医共体", division=county,
                                       valid_from=VALID_FROM)
    AllianceMembership.objects.bulk_create(
        [AllianceMembership(alliance=alliance, institution=inst, valid_from=VALID_FROM,
                            role=AllianceRole.LEAD if inst is hospital else AllianceRole.MEMBER)
         for inst in ctx.made["institutions"]],
        batch_size=BATCH_SIZE,
    )
    ctx.counts["alliance_memberships"] += len(ctx.made["institutions"])
    ctx.made["alliance"] = alliance


# ---------------------------------------------------------------- capacities


def _capacities(ctx: BuildContext) -> None:
    rng, scale = ctx.rng, ctx.scale
    f = scale.staff_factor
    rows: list[Capacity] = []

    def add(inst: Institution, kind: str, quantity: int) -> None:
        rows.append(Capacity(institution=inst, kind=kind, quantity=quantity))

    hospital, tcm, mch, cdc = (ctx.made[k] for k in ("hospital", "tcm", "mch", "cdc"))
    for kind, quantity in [(CapacityKind.BEDS, scale.hospital_beds), (CapacityKind.DR, round(4 * f)),
                           (CapacityKind.ULTRASOUND, round(8 * f)), (CapacityKind.LAB, 1),
                           (CapacityKind.CONSULT_ROOM, round(60 * f)), (CapacityKind.TELEMEDICINE_CENTRE, 1)]:
        add(hospital, kind, quantity)
    for kind, quantity in [(CapacityKind.BEDS, scale.tcm_beds), (CapacityKind.DR, 2), (CapacityKind.ULTRASOUND, 3),
                           (CapacityKind.LAB, 1), (CapacityKind.TCM_HALL, 1), (CapacityKind.CONSULT_ROOM, 20)]:
        add(tcm, kind, quantity)
    for kind, quantity in [(CapacityKind.BEDS, scale.mch_beds), (CapacityKind.DR, 1), (CapacityKind.ULTRASOUND, 4),
                           (CapacityKind.LAB, 1), (CapacityKind.VACCINATION_CLINIC, 1)]:
        add(mch, kind, quantity)
    add(cdc, CapacityKind.LAB, 1)
    add(cdc, CapacityKind.VACCINATION_CLINIC, 1)

    for centre in ctx.made["centres"].values():
        community = centre.type == InstitutionType.COMMUNITY_CENTRE
        add(centre, CapacityKind.BEDS, rng.randint(10, 30) if community else rng.randint(20, 80))
        add(centre, CapacityKind.CONSULT_ROOM, rng.randint(4, 10))
        add(centre, CapacityKind.TREATMENT_ROOM, rng.randint(1, 3))
        add(centre, CapacityKind.PUBLIC_HEALTH_ROOM, 1)
        add(centre, CapacityKind.PHARMACY, 1)
        for kind in CENTRE_EQUIPMENT:
            if kind == CapacityKind.DR and centre.code == CENTRE_WITHOUT_DR:
                continue  # planted: HG-TOWNSHIP-EQUIPMENT
            add(centre, kind, rng.randint(1, 2) if kind == CapacityKind.ULTRASOUND else 1)

    for clinic in ctx.made["clinics"].values():
        for kind in FOUR_ROOMS:
            if (clinic.code, kind) in {(CLINIC_WITHOUT_TREATMENT_ROOM, CapacityKind.TREATMENT_ROOM),
                                       (CLINIC_WITHOUT_PHARMACY, CapacityKind.PHARMACY)}:
                continue  # planted: HG-VILLAGE-FOUR-ROOMS
            add(clinic, kind, 2 if kind == CapacityKind.CONSULT_ROOM and rng.random() < 0.2 else 1)

    Capacity.objects.bulk_create(rows, batch_size=BATCH_SIZE)
    ctx.counts["capacities"] += len(rows)

