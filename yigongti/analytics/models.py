"""指标与统计分析 — indicator definitions, their stored values, and the state of the fact export.

- :class:`Indicator` — one indicator definition (DOMAIN.md §3), loaded from
  ``analytics/fixtures/indicators.yaml`` by ``ygt rules load``; ``definition`` holds the parsed
  numerator / denominator specification that :mod:`.compiler` turns into SQL.
- :class:`IndicatorValue` — indicator × org unit × period → numerator, denominator, value.
  Screens, the API and ``ygt indicators`` read these rows only; nothing person-level is computed
  at request time.
- :class:`FactPartition` — one written Parquet partition (fact × month) with the fingerprint of its
  source rows: the next refresh rewrites only the months whose fingerprint changed.
- :class:`DirtyMonth` — months marked changed by the receivers (edits in place that a row count
  cannot see: a status change, a transfer); consumed by the next refresh.
- :class:`RefreshRun` — one ``ygt analytics refresh``: when, which engine, what it rewrote, how it ended.
- :class:`Population` — 常住人口 per village and year (statistics bureau), the denominator of
  电子健康档案建档率 and the per-1,000-population indicators.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from yigongti.registry.models import Division


class Direction(models.TextChoices):
    HIGHER = "higher", _("越高越好")
    LOWER = "lower", _("越低越好")
    NONE = "none", _("无方向")


class OrgLevel(models.TextChoices):
    COUNTY = "county", _("县")
    TOWNSHIP = "township", _("乡镇")
    VILLAGE = "village", _("村")


class PeriodType(models.TextChoices):
    MONTH = "month", _("月")
    QUARTER = "quarter", _("季度")
    YEAR = "year", _("年")
    ROLLING = "r12", _("滚动12个月")


class Indicator(models.Model):
    """指标定义 — numerator ÷ denominator × factor, as data (see docs/rules.md "Indicators")."""

    code = models.CharField(_("指标代码"), max_length=64, unique=True)
    name = models.CharField(_("指标名称"), max_length=100)
    name_en = models.CharField(_("英文名称"), max_length=200)
    group = models.CharField(_("分组"), max_length=32)
    group_en = models.CharField(_("分组（英文）"), max_length=64, blank=True)
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)
    unit = models.CharField(_("单位"), max_length=16, blank=True)
    factor = models.FloatField(_("系数"), default=1)
    decimals = models.PositiveSmallIntegerField(_("小数位"), default=1)
    direction = models.CharField(_("方向"), max_length=8, choices=Direction.choices, default=Direction.HIGHER)
    periods = models.JSONField(_("适用周期"), default=list)  # ["year", "quarter", "month", "r12"]
    formula = models.TextField(_("计算公式"))
    formula_en = models.TextField(_("计算公式（英文）"))
    numerator_label = models.CharField(_("分子"), max_length=200)
    numerator_label_en = models.CharField(_("分子（英文）"), max_length=200)
    denominator_label = models.CharField(_("分母"), max_length=200, blank=True)
    denominator_label_en = models.CharField(_("分母（英文）"), max_length=200, blank=True)
    source = models.TextField(_("依据"))
    target = models.FloatField(_("目标值"), null=True, blank=True)
    definition = models.JSONField(_("计算定义"))  # numerator / denominator / compare, as loaded
    digest = models.CharField(_("摘要"), max_length=64)  # sha256 of the canonical definition
    computed_digest = models.CharField(_("已计算的定义摘要"), max_length=64, blank=True)  # recompute when it differs
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("指标")
        verbose_name_plural = _("指标")
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class IndicatorValue(models.Model):
    """指标值 — one indicator for one org unit and one period, as the last refresh computed it.

    ``value`` is ``None`` when the denominator is zero (shown as "—", never 0).
    """

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="values")
    org_code = models.CharField(_("区划代码"), max_length=12)
    org_level = models.CharField(_("层级"), max_length=8, choices=OrgLevel.choices)
    org_path = models.CharField(_("路径"), max_length=255)
    period = models.CharField(_("周期"), max_length=12)
    period_type = models.CharField(_("周期类型"), max_length=8, choices=PeriodType.choices)
    numerator = models.FloatField(_("分子"))
    denominator = models.FloatField(_("分母"), null=True, blank=True)
    value = models.FloatField(_("指标值"), null=True, blank=True)
    computed_at = models.DateTimeField(_("计算时间"))

    class Meta:
        verbose_name = _("指标值")
        verbose_name_plural = _("指标值")
        constraints = [
            models.UniqueConstraint(fields=["indicator", "org_code", "period"], name="indicator_value_unique"),
        ]
        indexes = [
            models.Index(fields=["org_code", "period"], name="indicator_value_org_period"),
            models.Index(fields=["indicator", "org_path", "period"], name="indicator_value_path"),
        ]


class FactPartition(models.Model):
    """事实表分区 — one Parquet partition (fact × month) and the fingerprint of its source rows."""

    fact = models.CharField(_("事实表"), max_length=32)
    month = models.IntegerField(_("月份"))  # YYYYMM
    fingerprint = models.CharField(_("指纹"), max_length=200)
    rows = models.PositiveIntegerField(_("行数"), default=0)
    written_at = models.DateTimeField(_("写入时间"))

    class Meta:
        verbose_name = _("事实表分区")
        verbose_name_plural = _("事实表分区")
        constraints = [models.UniqueConstraint(fields=["fact", "month"], name="fact_partition_unique")]


class DirtyMonth(models.Model):
    """待刷新月份 — a month of a fact whose rows changed in place (``month`` 0: every month)."""

    fact = models.CharField(_("事实表"), max_length=32)
    month = models.IntegerField(_("月份"))
    marked_at = models.DateTimeField(_("标记时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("待刷新月份")
        verbose_name_plural = _("待刷新月份")
        constraints = [models.UniqueConstraint(fields=["fact", "month"], name="dirty_month_unique")]


class RefreshRun(models.Model):
    """指标刷新记录 — one run of ``ygt analytics refresh``."""

    class Status(models.TextChoices):
        RUNNING = "running", _("进行中")
        DONE = "done", _("完成")
        FAILED = "failed", _("失败")

    started_at = models.DateTimeField(_("开始时间"))
    finished_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    engine = models.CharField(_("引擎"), max_length=16)
    full = models.BooleanField(_("全量"), default=False)
    status = models.CharField(_("状态"), max_length=8, choices=Status.choices, default=Status.RUNNING)
    months = models.JSONField(_("刷新月份"), default=dict, blank=True)  # {fact: [YYYYMM, ...]}
    first_month = models.IntegerField(_("起始月"), null=True, blank=True)  # month index of the range computed
    last_month = models.IntegerField(_("截止月"), null=True, blank=True)
    periods = models.PositiveIntegerField(_("计算周期数"), default=0)
    values = models.PositiveIntegerField(_("写入指标值数"), default=0)
    skipped = models.JSONField(_("跳过的指标"), default=dict, blank=True)  # {code: reason}
    error = models.TextField(_("错误"), blank=True)

    class Meta:
        verbose_name = _("指标刷新记录")
        verbose_name_plural = _("指标刷新记录")
        ordering = ["-started_at"]


class Population(models.Model):
    """常住人口 — the resident population of a village for a year (statistics bureau / 统计年鉴)."""

    division = models.ForeignKey(Division, verbose_name=_("区划"), on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("年份"))
    population = models.PositiveIntegerField(_("常住人口"))
    source = models.CharField(_("来源"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("常住人口")
        verbose_name_plural = _("常住人口")
        constraints = [models.UniqueConstraint(fields=["division", "year"], name="population_unique")]
