"""Code tables of the registry (DOMAIN.md §1). Values are stable English codes; labels are 中文."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DivisionLevel(models.TextChoices):
    PROVINCE = "province", _("省")
    PREFECTURE = "prefecture", _("地市")
    COUNTY = "county", _("县")
    TOWNSHIP = "township", _("乡镇/街道")
    VILLAGE = "village", _("村/社区")


class InstitutionType(models.TextChoices):
    COUNTY_HOSPITAL = "county_hospital", _("县人民医院")
    TCM_HOSPITAL = "tcm_hospital", _("县中医院")
    MCH = "mch", _("妇幼保健院")
    CDC = "cdc", _("疾病预防控制中心")
    TOWNSHIP_CENTRE = "township_centre", _("乡镇卫生院")
    COMMUNITY_CENTRE = "community_centre", _("社区卫生服务中心")
    VILLAGE_CLINIC = "village_clinic", _("村卫生室")


class Tier(models.TextChoices):
    COUNTY = "county", _("县级")
    TOWNSHIP = "township", _("乡级")
    VILLAGE = "village", _("村级")


# The tier each type belongs to; the parent each type may have (None: the county's root level).
TIER_OF_TYPE: dict[str, str] = {
    InstitutionType.COUNTY_HOSPITAL: Tier.COUNTY,
    InstitutionType.TCM_HOSPITAL: Tier.COUNTY,
    InstitutionType.MCH: Tier.COUNTY,
    InstitutionType.CDC: Tier.COUNTY,
    InstitutionType.TOWNSHIP_CENTRE: Tier.TOWNSHIP,
    InstitutionType.COMMUNITY_CENTRE: Tier.TOWNSHIP,
    InstitutionType.VILLAGE_CLINIC: Tier.VILLAGE,
}
ALLOWED_PARENT_TYPES: dict[str, set[str]] = {
    InstitutionType.VILLAGE_CLINIC: {InstitutionType.TOWNSHIP_CENTRE, InstitutionType.COMMUNITY_CENTRE},
    InstitutionType.TOWNSHIP_CENTRE: {InstitutionType.COUNTY_HOSPITAL, InstitutionType.TCM_HOSPITAL},
    InstitutionType.COMMUNITY_CENTRE: {InstitutionType.COUNTY_HOSPITAL, InstitutionType.TCM_HOSPITAL},
}
# The division level an institution of each tier sits at.
DIVISION_LEVEL_OF_TIER: dict[str, str] = {
    Tier.COUNTY: DivisionLevel.COUNTY,
    Tier.TOWNSHIP: DivisionLevel.TOWNSHIP,
    Tier.VILLAGE: DivisionLevel.VILLAGE,
}


class Grade(models.TextChoices):
    """医院等级 (三级甲等 …); primary-care institutions are 未定级 or 一级."""

    GRADE_3A = "3A", _("三级甲等")
    GRADE_3B = "3B", _("三级乙等")
    GRADE_2A = "2A", _("二级甲等")
    GRADE_2B = "2B", _("二级乙等")
    GRADE_1A = "1A", _("一级甲等")
    GRADE_1 = "1", _("一级")
    UNGRADED = "none", _("未定级")


class AllianceRole(models.TextChoices):
    LEAD = "lead", _("牵头单位")
    MEMBER = "member", _("成员单位")


class QualificationKind(models.TextChoices):
    PRACTISING_PHYSICIAN = "physician", _("执业医师")
    ASSISTANT_PHYSICIAN = "assistant_physician", _("执业助理医师")
    VILLAGE_DOCTOR = "village_doctor", _("乡村医生")
    NURSE = "nurse", _("护士")
    GENERAL_PRACTITIONER = "gp", _("全科医师")


class CapacityKind(models.TextChoices):
    BEDS = "beds", _("床位")
    CONSULT_ROOM = "consult_room", _("诊室")
    TREATMENT_ROOM = "treatment_room", _("治疗室")
    PUBLIC_HEALTH_ROOM = "public_health_room", _("公共卫生室")
    PHARMACY = "pharmacy", _("药房")
    DR = "dr", _("DR")
    ULTRASOUND = "ultrasound", _("B超")
    LAB = "lab", _("检验室")
    TCM_HALL = "tcm_hall", _("中医馆")
    VACCINATION_CLINIC = "vaccination_clinic", _("预防接种门诊")
    TELEMEDICINE_CENTRE = "telemedicine_centre", _("远程诊疗中心")


class Sex(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")
