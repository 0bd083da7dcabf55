"""Registry models: the county network as effective-dated data.

The org tree is the division tree (县 → 乡镇 → 村). Every division stores its materialised
``path`` of codes; institutions, staff and (later) residents carry the path of the division they
belong to, so "a unit and its subtree" is a prefix match (see :mod:`yigongti.core.tree`).
Parent links, an institution's placement and alliance membership are effective-dated
(``valid_from`` inclusive, ``valid_to`` exclusive, ``None`` = open): a re-organisation closes a
period and opens a new one instead of rewriting history.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from .choices import (
    AllianceRole,
    CapacityKind,
    DivisionLevel,
    Grade,
    InstitutionType,
    QualificationKind,
    Sex,
    Tier,
)


class EffectiveDated(models.Model):
    valid_from = models.DateField(_("生效日期"))
    valid_to = models.DateField(_("失效日期"), null=True, blank=True)

    class Meta:
        abstract = True


class Division(EffectiveDated):
    """行政区划 — an administrative division (GB/T 2260; 12-digit 统计用区划代码 below county).

    Also the org unit of scope: a user's data-view unit is a division and includes its subtree.
    ``parent`` and ``path`` are the current placement; :class:`DivisionParentPeriod` keeps history.
    """

    code = models.CharField(_("区划代码"), max_length=12, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.CharField(_("级别"), max_length=16, choices=DivisionLevel.choices)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级区划"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(_("路径"), max_length=255, db_index=True)

    class Meta:
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")
        ordering = ["path"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class DivisionParentPeriod(EffectiveDated):
    """行政区划隶属关系 — which parent a division had over which period."""

    division = models.ForeignKey(Division, on_delete=models.CASCADE, related_name="parent_periods")
    parent = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("区划隶属期")
        verbose_name_plural = _("区划隶属期")
        ordering = ["division_id", "valid_from"]


class Institution(EffectiveDated):
    """医疗卫生机构 — a health institution of the county network.

    ``division``/``parent``/``path`` are the current placement (history in
    :class:`InstitutionPeriod`); ``path`` is the path of its division, the scope key.
    """

    code = models.CharField(_("机构代码"), max_length=32, unique=True)
    name = models.CharField(_("机构名称"), max_length=200)
    type = models.CharField(_("机构类型"), max_length=32, choices=InstitutionType.choices, db_index=True)
    tier = models.CharField(_("层级"), max_length=16, choices=Tier.choices, db_index=True)
    grade = models.CharField(_("等级"), max_length=8, choices=Grade.choices, default=Grade.UNGRADED)
    is_government = models.BooleanField(_("政府办"), default=True)
    division = models.ForeignKey(
        Division, verbose_name=_("所在区划"), on_delete=models.PROTECT, related_name="institutions"
    )
    parent = models.ForeignKey(
        "self", verbose_name=_("上级机构"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(_("路径"), max_length=255, db_index=True)
    address = models.CharField(_("地址"), max_length=255, blank=True)
    phone = models.CharField(_("电话"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("医疗卫生机构")
        verbose_name_plural = _("医疗卫生机构")
        ordering = ["path", "tier", "code"]

    def __str__(self) -> str:
        return self.name


class InstitutionPeriod(EffectiveDated):
    """机构隶属期 — an institution's division and parent over one period."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="periods")
    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    parent = models.ForeignKey(Institution, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("机构隶属期")
        verbose_name_plural = _("机构隶属期")
        ordering = ["institution_id", "valid_from"]


class Alliance(EffectiveDated):
    """医共体 — a county medical community: a lead hospital and its member institutions."""

    code = models.CharField(_("医共体代码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=200)
    division = models.ForeignKey(Division, verbose_name=_("所在县"), on_delete=models.PROTECT)

    class Meta:
        verbose_name = _("医共体")
        verbose_name_plural = _("医共体")

    def __str__(self) -> str:
        return self.name


class AllianceMembership(EffectiveDated):
    """医共体成员 — an institution's membership of an alliance over one period."""

    alliance = models.ForeignKey(Alliance, on_delete=models.CASCADE, related_name="memberships")
    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("角色"), max_length=16, choices=AllianceRole.choices, default=AllianceRole.MEMBER)

    class Meta:
        verbose_name = _("医共体成员")
        verbose_name_plural = _("医共体成员")
        constraints = [
            models.UniqueConstraint(
                fields=["alliance", "institution", "valid_from"], name="alliance_membership_unique_start"
            )
        ]


class Department(models.Model):
    """科室 — a department of an institution; clinical ones count for 三达标."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="departments")
    code = models.CharField(_("科室代码"), max_length=32)
    name = models.CharField(_("科室名称"), max_length=100)
    is_clinical = models.BooleanField(_("临床科室"), default=True)

    class Meta:
        verbose_name = _("科室")
        verbose_name_plural = _("科室")
        ordering = ["institution_id", "code"]
        constraints = [models.UniqueConstraint(fields=["institution", "code"], name="department_code_unique")]

    def __str__(self) -> str:
        return self.name


class StaffMember(models.Model):
    """卫生人员 — a person working at an institution (person-level: read through scope, audited)."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="staff")
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="staff"
    )
    name = models.CharField(_("姓名"), max_length=50)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices)
    id_number = models.CharField(_("身份证号"), max_length=18, unique=True)
    phone = models.CharField(_("电话"), max_length=32, blank=True)
    title = models.CharField(_("职称"), max_length=50, blank=True)
    active = models.BooleanField(_("在岗"), default=True)
    path = models.CharField(_("路径"), max_length=255, db_index=True)

    class Meta:
        verbose_name = _("卫生人员")
        verbose_name_plural = _("卫生人员")
        ordering = ["institution_id", "name"]

    def __str__(self) -> str:
        return self.name


class Qualification(EffectiveDated):
    """执业资格 — 执业医师 / 执业助理医师 / 乡村医生 / 护士 / 全科医师."""

    staff = models.ForeignKey(StaffMember, on_delete=models.CASCADE, related_name="qualifications")
    kind = models.CharField(_("资格类别"), max_length=32, choices=QualificationKind.choices)
    certificate_no = models.CharField(_("证书编号"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("执业资格")
        verbose_name_plural = _("执业资格")
        constraints = [models.UniqueConstraint(fields=["staff", "kind"], name="qualification_kind_unique")]


class Capacity(models.Model):
    """服务能力 — beds, rooms and equipment of an institution (quantity; 0 = absent)."""

    institution = models.ForeignKey(Institution, on_delete=models.CASCADE, related_name="capacities")
    kind = models.CharField(_("类别"), max_length=32, choices=CapacityKind.choices)
    quantity = models.PositiveIntegerField(_("数量"), default=1)

    class Meta:
        verbose_name = _("服务能力")
        verbose_name_plural = _("服务能力")
        constraints = [models.UniqueConstraint(fields=["institution", "kind"], name="capacity_kind_unique")]


# ---------------------------------------------------------------- standards (三建成 / 三合格 / 三达标)


class StandardCategory(models.TextChoices):
    BUILD = "build", _("三建成")
    QUALIFY = "qualify", _("三合格")
    STAFF = "staff", _("三达标")


class StandardCheck(models.TextChoices):
    """The kinds of check a rule can run — code; which rules exist and their parameters are data."""

    DIVISION_HAS_INSTITUTION = "division_has_institution", _("区划内有机构")
    INSTITUTION_HAS_CAPACITIES = "institution_has_capacities", _("机构具备设施设备")
    DEPARTMENT_HAS_QUALIFIED_STAFF = "department_has_qualified_staff", _("科室有合格人员")
    INSTITUTION_HAS_QUALIFIED_STAFF = "institution_has_qualified_staff", _("机构有合格人员")


class StandardRule(models.Model):
    """达标规则 — one rule of 三建成 / 三合格 / 三达标, loaded from ``registry/fixtures/standards.yaml``.

    ``kind`` names the check (code, :mod:`yigongti.registry.standards`); ``params`` says what it
    checks (types, rooms, qualifications, minimum counts); ``source`` cites the norm. A rule applies
    on the dates from ``effective_from`` (inclusive) to ``effective_to`` (exclusive, ``None`` = open).
    """

    code = models.CharField(_("规则代码"), max_length=64, unique=True)
    category = models.CharField(_("类别"), max_length=16, choices=StandardCategory.choices)
    name = models.CharField(_("名称"), max_length=200)
    name_en = models.CharField(_("英文名称"), max_length=200, blank=True)
    kind = models.CharField(_("检查方式"), max_length=64, choices=StandardCheck.choices)
    params = models.JSONField(_("参数"), default=dict, blank=True)
    source = models.TextField(_("依据"))
    effective_from = models.DateField(_("生效日期"))
    effective_to = models.DateField(_("失效日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("达标规则")
        verbose_name_plural = _("达标规则")
        ordering = ["category", "code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"
