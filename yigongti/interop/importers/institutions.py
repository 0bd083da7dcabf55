"""``ygt import institutions``: health institutions, their alliance membership and capacities.

Required columns: code, name, type (code or Chinese label: ``village_clinic`` / ``村卫生室``),
division_code. Optional: parent_code, grade, is_government (是/否/1/0/true/false), alliance_code
with alliance_name (creates the alliance) and alliance_role (牵头单位/成员单位), address, phone,
valid_from, and one column per capacity (beds/床位, consult_room/诊室, … quantity; 有/无 count as
1/0). Rows are written county → township → village, so a parent may come later in the file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from yigongti.core.errors import DomainError
from yigongti.interop.tabular import Column, Row
from yigongti.registry.choices import TIER_OF_TYPE, AllianceRole, CapacityKind, Grade, InstitutionType, Tier
from yigongti.registry.codes import division_code_normalise
from yigongti.registry.models import Alliance, AllianceMembership, Capacity, Institution
from yigongti.registry.services import (
    alliance_member_set,
    alliance_upsert,
    capacity_set,
    institution_upsert,
)

from .base import VALID_FROM, Importer, Parsed
from .fields import choice_parser, parse_bool, parse_count

TYPE_SYNONYMS = {
    "县医院": InstitutionType.COUNTY_HOSPITAL, "人民医院": InstitutionType.COUNTY_HOSPITAL,
    "中医院": InstitutionType.TCM_HOSPITAL, "妇幼保健计划生育服务中心": InstitutionType.MCH,
    "疾控中心": InstitutionType.CDC, "卫生院": InstitutionType.TOWNSHIP_CENTRE,
    "中心卫生院": InstitutionType.TOWNSHIP_CENTRE, "社区卫生服务站": InstitutionType.VILLAGE_CLINIC,
    "卫生室": InstitutionType.VILLAGE_CLINIC,
}
GRADE_SYNONYMS = {"三甲": Grade.GRADE_3A, "三乙": Grade.GRADE_3B, "二甲": Grade.GRADE_2A, "二乙": Grade.GRADE_2B,
                  "一甲": Grade.GRADE_1A, "无": Grade.UNGRADED, "未评级": Grade.UNGRADED}
ROLE_SYNONYMS = {"牵头": AllianceRole.LEAD, "牵头医院": AllianceRole.LEAD, "成员": AllianceRole.MEMBER}
TIER_ORDER: dict[str, int] = {Tier.COUNTY: 0, Tier.TOWNSHIP: 1, Tier.VILLAGE: 2}

# Header aliases of the capacity columns: the code, its Chinese label and common variants.
CAPACITY_COLUMNS = (
    Column(CapacityKind.BEDS, ("床位", "床位数", "编制床位", "实有床位")),
    Column(CapacityKind.CONSULT_ROOM, ("诊室", "诊断室")),
    Column(CapacityKind.TREATMENT_ROOM, ("治疗室",)),
    Column(CapacityKind.PUBLIC_HEALTH_ROOM, ("公共卫生室", "公卫室")),
    Column(CapacityKind.PHARMACY, ("药房",)),
    Column(CapacityKind.DR, ("DR", "DR室", "数字化X线摄影")),
    Column(CapacityKind.ULTRASOUND, ("B超", "B超室", "彩超")),
    Column(CapacityKind.LAB, ("检验室", "化验室", "实验室")),
    Column(CapacityKind.TCM_HALL, ("中医馆", "国医堂")),
    Column(CapacityKind.VACCINATION_CLINIC, ("预防接种门诊", "接种门诊")),
    Column(CapacityKind.TELEMEDICINE_CENTRE, ("远程诊疗中心", "远程医疗中心")),
)


@dataclass
class InstitutionItem(Parsed):
    name: str
    type: str
    division_code: str
    parent_code: str | None
    grade: str | None
    is_government: bool | None
    alliance_code: str | None
    alliance_name: str | None
    alliance_role: str
    address: str | None
    phone: str | None
    valid_from: dt.date
    capacities: dict[str, int] = field(default_factory=dict)


class InstitutionImporter(Importer[InstitutionItem]):
    kind = "institutions"
    columns = (
        Column("code", ("机构代码", "代码", "编码", "机构编码", "institution_code"), required=True),
        Column("name", ("机构名称", "名称", "institution_name"), required=True),
        Column("type", ("机构类型", "类型", "类别", "institution_type"), required=True),
        Column("division_code", ("区划代码", "所在区划代码", "所在区划", "行政区划代码", "division"), required=True),
        Column("parent_code", ("上级机构代码", "上级机构", "上级代码", "parent")),
        Column("grade", ("等级", "医院等级", "机构等级")),
        Column("is_government", ("政府办", "是否政府办", "government")),
        Column("alliance_code", ("医共体代码", "医共体", "alliance")),
        Column("alliance_name", ("医共体名称",)),
        Column("alliance_role", ("医共体角色", "成员角色", "角色")),
        Column("address", ("地址", "机构地址")),
        Column("phone", ("电话", "联系电话")),
        VALID_FROM,
        *CAPACITY_COLUMNS,
    )
    models = (
        ("institution", Institution._meta.verbose_name),
        ("capacity", Capacity._meta.verbose_name),
        ("alliance", Alliance._meta.verbose_name),
        ("alliance_membership", AllianceMembership._meta.verbose_name),
    )
    field_columns = {"institution_code": "code"}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        meta = Institution._meta
        self.parse_type = choice_parser(InstitutionType, str(meta.get_field("type").verbose_name), TYPE_SYNONYMS)
        self.parse_grade = choice_parser(Grade, str(meta.get_field("grade").verbose_name), GRADE_SYNONYMS)
        self.parse_role = choice_parser(AllianceRole, _("医共体角色"), ROLE_SYNONYMS)
        self._alliance_names: dict[str, tuple[str, int]] = {}
        self._alliance_leads: dict[str, int] = {}
        self._alliances_written: set[str] = set()

    def parse(self, row: Row) -> InstitutionItem | None:
        code = self.value(row, "code", required=True)
        name = self.value(row, "name", required=True)
        type_ = self.value(row, "type", self.parse_type, required=True)
        division_code = self.value(row, "division_code", required=True)
        if division_code:
            try:
                division_code = division_code_normalise(division_code, field="division_code")
            except DomainError as problem:
                self.error(row.number, "division_code", problem)
        capacities = {c.name: self.value(row, c.name, parse_count) for c in CAPACITY_COLUMNS if row.get(c.name)}
        alliance_code, alliance_name, role = self._alliance(row)
        if not (code and name and type_ and division_code):
            return None
        return InstitutionItem(
            row=row.number, key=code, name=name, type=type_, division_code=division_code,
            parent_code=self.value(row, "parent_code"), grade=self.value(row, "grade", self.parse_grade),
            is_government=self.value(row, "is_government", parse_bool), alliance_code=alliance_code,
            alliance_name=alliance_name, alliance_role=role, address=self.optional(row, "address"),
            phone=self.optional(row, "phone"), valid_from=self.valid_from(row), capacities=capacities)

    def _alliance(self, row: Row) -> tuple[str | None, str | None, str]:
        code = self.value(row, "alliance_code")
        name = self.value(row, "alliance_name")
        role = self.value(row, "alliance_role", self.parse_role) or AllianceRole.MEMBER
        if not code:
            if name or row.get("alliance_role"):
                self.error(row.number, "alliance_code", _("填写了医共体名称或角色，但缺少医共体代码"))
            return None, None, role
        if name:
            first = self._alliance_names.setdefault(code, (name, row.number))
            if first[0] != name:
                self.error(row.number, "alliance_name", _("医共体“%(code)s”的名称与第 %(row)s 行不一致") % {
                    "code": code, "row": first[1]})
        if role == AllianceRole.LEAD:
            lead_row = self._alliance_leads.setdefault(code, row.number)
            if lead_row != row.number:
                self.error(row.number, "alliance_role", _("医共体“%(code)s”在第 %(row)s 行已有牵头单位") % {
                    "code": code, "row": lead_row})
        return code, name, role

    def depends_on(self, item: InstitutionItem) -> Iterable[str]:
        return (item.parent_code,) if item.parent_code else ()

    def order(self, item: InstitutionItem) -> Any:
        return TIER_ORDER[TIER_OF_TYPE[item.type]]

    def write(self, item: InstitutionItem) -> None:
        outcome, _institution = institution_upsert(
            code=item.key, name=item.name, type=item.type, grade=item.grade, division_code=item.division_code,
            parent_code=item.parent_code, is_government=item.is_government, valid_from=item.valid_from,
            address=item.address, phone=item.phone)
        self.count("institution", outcome)
        for kind, quantity in item.capacities.items():
            outcome, _capacity = capacity_set(institution_code=item.key, kind=kind, quantity=quantity)
            self.count("capacity", outcome)
        if item.alliance_code is None:
            return
        # The alliance's name may stand on any of its rows: the first row written creates it.
        named = self._alliance_names.get(item.alliance_code)
        if named and item.alliance_code not in self._alliances_written:
            outcome, _alliance = alliance_upsert(code=item.alliance_code, name=named[0],
                                                 division_code=item.division_code, valid_from=item.valid_from)
            self.count("alliance", outcome)
            self._alliances_written.add(item.alliance_code)
        outcome, _membership = alliance_member_set(alliance_code=item.alliance_code, institution_code=item.key,
                                                   role=item.alliance_role, valid_from=item.valid_from)
        self.count("alliance_membership", outcome)
