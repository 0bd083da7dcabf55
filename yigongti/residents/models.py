"""Resident records (居民健康档案), households, and the bookkeeping of the master patient index.

Person-level: every row carries ``path`` — the path of the resident's village (the responsible
unit) — and reaches a caller only through :func:`yigongti.core.scope.visible`. A transfer
rewrites ``path``; a merge marks the merged record ``merged`` with ``merged_into`` and moves every
row that points at it (any model of any app with a ForeignKey to :class:`Resident`) to the survivor,
keeping what it moved in :class:`ResidentMerge` so the merge can be undone.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from yigongti.registry.choices import Sex
from yigongti.registry.models import Division, Institution

from .choices import (
    ETHNICITIES,
    BloodType,
    Fuel,
    Kitchen,
    LivestockPen,
    PairStatus,
    RecordStatus,
    Relation,
    Toilet,
    Water,
)


class Household(models.Model):
    """家庭/户 — a household registered in one village; ``head`` is one of its members."""

    code = models.CharField(_("户编号"), max_length=32, unique=True)
    village = models.ForeignKey(Division, verbose_name=_("所在村"), on_delete=models.PROTECT, related_name="+")
    address = models.CharField(_("住址"), max_length=255, blank=True)
    head = models.ForeignKey(
        "Resident", verbose_name=_("户主"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    path = models.CharField(_("路径"), max_length=255, db_index=True)
    created_at = models.DateTimeField(_("建立时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("家庭")
        verbose_name_plural = _("家庭")

    def __str__(self) -> str:
        return self.code


class Resident(models.Model):
    """居民健康档案 — one record per resident: identity, address, household, basic record items."""

    record_no = models.CharField(_("档案编号"), max_length=32, unique=True)
    name = models.CharField(_("姓名"), max_length=50)
    name_pinyin = models.CharField(_("姓名拼音"), max_length=120, db_index=True, blank=True)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("出生日期"), db_index=True)
    id_number = models.CharField(_("身份证号"), max_length=18, blank=True, db_index=True)
    passport_no = models.CharField(_("护照号"), max_length=32, blank=True)
    hkmt_permit_no = models.CharField(_("港澳台通行证号"), max_length=32, blank=True)
    insurance_no = models.CharField(_("医保号"), max_length=32, blank=True, db_index=True)
    ethnicity = models.CharField(_("民族"), max_length=2, choices=ETHNICITIES, default="01")
    phone = models.CharField(_("联系电话"), max_length=32, blank=True)
    address = models.CharField(_("现住址"), max_length=255, blank=True)
    village = models.ForeignKey(Division, verbose_name=_("所在村"), on_delete=models.PROTECT, related_name="+")
    clinic = models.ForeignKey(
        Institution, verbose_name=_("责任村卫生室"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    township_centre = models.ForeignKey(
        Institution, verbose_name=_("责任乡镇卫生院"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    path = models.CharField(_("路径"), max_length=255, db_index=True)
    household = models.ForeignKey(
        Household, verbose_name=_("家庭"), null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    relation_to_head = models.CharField(_("与户主关系"), max_length=16, choices=Relation.choices, blank=True)
    status = models.CharField(_("档案状态"), max_length=16, choices=RecordStatus.choices,
                              default=RecordStatus.ACTIVE, db_index=True)
    status_date = models.DateField(_("状态变更日期"), null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", verbose_name=_("合并至"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    # 个人基本信息表 — the basic record items of the national form.
    blood_type = models.CharField(_("血型"), max_length=8, choices=BloodType.choices, default=BloodType.UNKNOWN)
    allergies = models.JSONField(_("药物过敏史"), default=list, blank=True)  # list of Allergy codes
    allergy_other = models.CharField(_("其他过敏"), max_length=100, blank=True)
    exposures = models.CharField(_("暴露史"), max_length=100, blank=True)
    past_history = models.JSONField(_("既往史"), default=list, blank=True)  # [{"condition", "diagnosed"}]
    surgeries = models.JSONField(_("手术史"), default=list, blank=True)  # [{"name", "date"}]
    family_history = models.JSONField(_("家族史"), default=dict, blank=True)  # {"father": [Condition], …}
    genetic_disease = models.CharField(_("遗传病史"), max_length=100, blank=True)
    disabilities = models.JSONField(_("残疾情况"), default=list, blank=True)  # list of Disability codes
    kitchen = models.CharField(_("厨房排风设施"), max_length=16, choices=Kitchen.choices, blank=True)
    fuel = models.CharField(_("燃料类型"), max_length=16, choices=Fuel.choices, blank=True)
    water = models.CharField(_("饮水"), max_length=16, choices=Water.choices, blank=True)
    toilet = models.CharField(_("厕所"), max_length=16, choices=Toilet.choices, blank=True)
    livestock_pen = models.CharField(_("禽畜栏"), max_length=16, choices=LivestockPen.choices, blank=True)

    created_at = models.DateTimeField(_("建档时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("建档人"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at_institution = models.ForeignKey(
        Institution, verbose_name=_("建档机构"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("居民健康档案")
        verbose_name_plural = _("居民健康档案")
        ordering = ["path", "name"]
        constraints = [
            # One live record per resident ID; merged records keep theirs for the audit trail.
            models.UniqueConstraint(
                fields=["id_number"], condition=~Q(id_number="") & ~Q(status="merged"),
                name="resident_id_number_unique_live",
            ),
        ]
        indexes = [models.Index(fields=["name", "birth_date"], name="resident_name_birth")]

    def __str__(self) -> str:
        return f"{self.name} ({self.record_no})"


class ResidentTransfer(models.Model):
    """档案迁移 — a resident's move to another village: who is responsible and who sees the record."""

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="transfers")
    from_village = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    to_village = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    from_path = models.CharField(max_length=255)
    to_path = models.CharField(max_length=255)
    on = models.DateField(_("迁移日期"))
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("档案迁移")
        verbose_name_plural = _("档案迁移")
        ordering = ["resident_id", "at"]


class ResidentMerge(models.Model):
    """档案合并 — ``merged`` folded into ``survivor``; ``moved`` lists the rows that followed, for undo."""

    survivor = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="merges_absorbed")
    merged = models.ForeignKey(Resident, on_delete=models.PROTECT, related_name="merges_folded")
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    # {"rows": {"app_label.model.field": [pk, …]}, "merged_previous": {status, status_date},
    #  "filled": {survivor field: its value before the merge}, "pairs": [MatchPair ids closed]}
    moved = models.JSONField(default=dict)
    at = models.DateTimeField(auto_now_add=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("档案合并")
        verbose_name_plural = _("档案合并")
        ordering = ["-at"]


class DedupeRun(models.Model):
    """一次查重 — one run of the master patient index over the residents."""

    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    engine = models.CharField(max_length=16, default="duckdb")
    review_threshold = models.FloatField()
    auto_threshold = models.FloatField()
    n_records = models.PositiveIntegerField(default=0)
    n_pairs = models.PositiveIntegerField(default=0)
    n_clusters = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("查重批次")
        verbose_name_plural = _("查重批次")
        ordering = ["-started_at"]


class MatchPair(models.Model):
    """疑似重复 — a scored pair of residents with the reasons of its score; the review queue.

    ``path`` is the path of the left record so that a reviewer sees only pairs in their scope
    (a pair is shown when both records are visible to them).
    """

    run = models.ForeignKey(DedupeRun, on_delete=models.CASCADE, related_name="pairs")
    left = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="+")
    right = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="+")
    probability = models.FloatField(_("匹配概率"))
    match_weight = models.FloatField(_("匹配权重"))
    cluster = models.CharField(_("聚类"), max_length=32, blank=True)
    reasons = models.JSONField(_("评分依据"), default=list)  # [{"field", "level", "weight", "label"}]
    status = models.CharField(_("状态"), max_length=16, choices=PairStatus.choices, default=PairStatus.PENDING,
                              db_index=True)
    path = models.CharField(max_length=255, db_index=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("疑似重复")
        verbose_name_plural = _("疑似重复")
        ordering = ["-probability"]
        constraints = [models.UniqueConstraint(fields=["run", "left", "right"], name="match_pair_unique")]
