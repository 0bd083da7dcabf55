"""``ygt import staff``: health workers and their qualifications (person-level: audited).

Required columns: id_number (GB 11643), name, institution_code. Optional: sex (男/女/M/F; must
agree with the ID — derived from it when absent), department_code with department_name (creates
the department if absent), qualifications (kinds separated by ; ； 、 — code or label:
``physician`` / ``执业医师``) with certificate_no (one per kind, same separators), phone, title,
valid_from. Keyed by the resident ID: running the file again creates no one twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from yigongti.core.ids import resident_id_problem, resident_id_sex
from yigongti.interop.tabular import Column, Row
from yigongti.registry.choices import QualificationKind, Sex
from yigongti.registry.models import Department, StaffMember
from yigongti.registry.services import department_upsert, staff_upsert

from .base import VALID_FROM, Importer, Parsed
from .fields import BadValue, choice_parser, split_list

SEX_SYNONYMS = {"男性": Sex.MALE, "女性": Sex.FEMALE, "male": Sex.MALE, "female": Sex.FEMALE,
                "1": Sex.MALE, "2": Sex.FEMALE}  # GB/T 2261.1: 1 男, 2 女
QUALIFICATION_SYNONYMS = {
    "医师": QualificationKind.PRACTISING_PHYSICIAN, "执业医生": QualificationKind.PRACTISING_PHYSICIAN,
    "助理医师": QualificationKind.ASSISTANT_PHYSICIAN, "执业助理医生": QualificationKind.ASSISTANT_PHYSICIAN,
    "村医": QualificationKind.VILLAGE_DOCTOR, "乡村医师": QualificationKind.VILLAGE_DOCTOR,
    "注册护士": QualificationKind.NURSE, "全科医生": QualificationKind.GENERAL_PRACTITIONER,
}


@dataclass
class StaffItem(Parsed):
    name: str
    sex: str | None
    institution_code: str
    department_code: str | None
    department_name: str | None
    qualifications: list[tuple[str, str]] | None
    phone: str | None
    title: str | None
    valid_from: dt.date


class StaffImporter(Importer[StaffItem]):
    kind = "staff"
    columns = (
        Column("id_number", ("身份证号", "身份证号码", "公民身份号码", "证件号码", "身份证"), required=True),
        Column("name", ("姓名", "名字", "staff_name"), required=True),
        Column("sex", ("性别", "gender")),
        Column("institution_code", ("机构代码", "所在机构代码", "工作机构代码", "所在机构", "机构编码"), required=True),
        Column("department_code", ("科室代码", "科室编码")),
        Column("department_name", ("科室名称", "科室")),
        Column("qualifications", ("执业资格", "资格", "资格类别", "执业类别", "qualification")),
        Column("certificate_no", ("证书编号", "资格证书编号", "执业证书编号", "证书号")),
        Column("phone", ("电话", "手机", "手机号", "联系电话")),
        Column("title", ("职称",)),
        VALID_FROM,
    )
    key_column = "id_number"
    models = (("staff", StaffMember._meta.verbose_name), ("department", Department._meta.verbose_name))

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.parse_sex = choice_parser(Sex, str(StaffMember._meta.get_field("sex").verbose_name), SEX_SYNONYMS)
        self.parse_kind = choice_parser(QualificationKind, _("资格类别"), QUALIFICATION_SYNONYMS)
        self._department_names: dict[tuple[str, str], tuple[str, int]] = {}
        self._departments_written: set[tuple[str, str]] = set()

    def key_of(self, row: Row) -> str:
        return row.get("id_number").upper()

    def parse(self, row: Row) -> StaffItem | None:
        id_number = self.value(row, "id_number", required=True)
        if id_number:
            id_number = id_number.upper()
            problem = resident_id_problem(id_number)
            if problem:
                self.error(row.number, "id_number", problem)
                id_number = None
        name = self.value(row, "name", required=True)
        sex = self.value(row, "sex", self.parse_sex)
        if sex and id_number and sex != resident_id_sex(id_number):
            self.error(row.number, "sex", _("性别“%(sex)s”与身份证号第 17 位（%(id_sex)s）不符") % {
                "sex": row.get("sex"), "id_sex": Sex(resident_id_sex(id_number)).label})
        institution_code = self.value(row, "institution_code", required=True)
        department_code, department_name = self._department(row, institution_code)
        qualifications = self._qualifications(row)
        if not (id_number and name and institution_code):
            return None
        return StaffItem(row=row.number, key=id_number, name=name, sex=sex, institution_code=institution_code,
                         department_code=department_code, department_name=department_name,
                         qualifications=qualifications, phone=self.optional(row, "phone"),
                         title=self.optional(row, "title"), valid_from=self.valid_from(row))

    def _department(self, row: Row, institution_code: str | None) -> tuple[str | None, str | None]:
        code = self.optional(row, "department_code")
        name = self.value(row, "department_name")
        if name and not code:
            self.error(row.number, "department_code", _("填写了科室名称，但缺少科室代码"))
        if code and name and institution_code:
            first = self._department_names.setdefault((institution_code, code), (name, row.number))
            if first[0] != name:
                self.error(row.number, "department_name", _("科室“%(code)s”的名称与第 %(row)s 行不一致") % {
                    "code": code, "row": first[1]})
        return code, name

    def _qualifications(self, row: Row) -> list[tuple[str, str]] | None:
        if not self.table.has("qualifications"):
            return None
        try:
            kinds = [self.parse_kind(part) for part in split_list(row.get("qualifications"))]
        except BadValue as problem:
            self.error(row.number, "qualifications", problem.reason)
            return None
        if len(set(kinds)) != len(kinds):
            self.error(row.number, "qualifications", _("资格类别重复"))
        numbers = split_list(row.get("certificate_no"))
        if not numbers:
            numbers = [""] * len(kinds)
        if len(numbers) != len(kinds):
            self.error(row.number, "certificate_no", _("证书编号有 %(n)s 个，资格类别有 %(k)s 个，应一一对应") % {
                "n": len(numbers), "k": len(kinds)})
            return None
        return list(zip(kinds, numbers, strict=True))

    def write(self, item: StaffItem) -> None:
        department = (item.institution_code, item.department_code or "")
        if item.department_code and item.department_name and department not in self._departments_written:
            outcome, _department = department_upsert(institution_code=item.institution_code,
                                                     code=item.department_code, name=item.department_name)
            self.count("department", outcome)
            self._departments_written.add(department)
        outcome, _member = staff_upsert(
            id_number=item.key, name=item.name, sex=item.sex, institution_code=item.institution_code,
            department_code=item.department_code, phone=item.phone, title=item.title,
            qualifications=item.qualifications, valid_from=item.valid_from, user=self.user)
        self.count("staff", outcome)
