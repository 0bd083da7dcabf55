"""Code tables of the resident record (《国家基本公共卫生服务规范（第三版）》居民健康档案 个人基本信息表)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RecordStatus(models.TextChoices):
    ACTIVE = "active", _("在册")
    MOVED_OUT = "moved_out", _("迁出")
    DECEASED = "deceased", _("死亡")
    MERGED = "merged", _("已合并")


class Relation(models.TextChoices):
    """与户主关系 (GB/T 4761, abridged)."""

    HEAD = "head", _("户主")
    SPOUSE = "spouse", _("配偶")
    CHILD = "child", _("子女")
    CHILD_IN_LAW = "child_in_law", _("儿媳/女婿")
    GRANDCHILD = "grandchild", _("孙子女/外孙子女")
    PARENT = "parent", _("父母")
    GRANDPARENT = "grandparent", _("祖父母/外祖父母")
    SIBLING = "sibling", _("兄弟姐妹")
    OTHER = "other", _("其他")


class BloodType(models.TextChoices):
    A = "A", "A"
    B = "B", "B"
    O = "O", "O"  # noqa: E741
    AB = "AB", "AB"
    UNKNOWN = "unknown", _("不详")


class OtherIdType(models.TextChoices):
    PASSPORT = "passport", _("护照")
    HKMT_PERMIT = "hkmt_permit", _("港澳台居民来往内地通行证")
    INSURANCE = "insurance", _("医保号")


class Allergy(models.TextChoices):
    """药物过敏史."""

    PENICILLIN = "penicillin", _("青霉素")
    SULFONAMIDE = "sulfonamide", _("磺胺")
    STREPTOMYCIN = "streptomycin", _("链霉素")
    OTHER = "other", _("其他")


class Disability(models.TextChoices):
    """残疾情况."""

    VISUAL = "visual", _("视力残疾")
    HEARING = "hearing", _("听力残疾")
    SPEECH = "speech", _("言语残疾")
    PHYSICAL = "physical", _("肢体残疾")
    INTELLECTUAL = "intellectual", _("智力残疾")
    MENTAL = "mental", _("精神残疾")
    OTHER = "other", _("其他残疾")


class Condition(models.TextChoices):
    """既往史 / 家族史 diseases of the national form."""

    HYPERTENSION = "hypertension", _("高血压")
    DIABETES = "diabetes", _("糖尿病")
    CHD = "chd", _("冠心病")
    COPD = "copd", _("慢性阻塞性肺疾病")
    CANCER = "cancer", _("恶性肿瘤")
    STROKE = "stroke", _("脑卒中")
    MENTAL = "severe_mental", _("严重精神障碍")
    TB = "tb", _("结核病")
    HEPATITIS = "hepatitis", _("肝炎")
    CONGENITAL = "congenital", _("先天畸形")
    OCCUPATIONAL = "occupational", _("职业病")
    OTHER = "other", _("其他")


class Kitchen(models.TextChoices):
    NONE = "none", _("无")
    HOOD = "hood", _("油烟机")
    FAN = "fan", _("换气扇")
    CHIMNEY = "chimney", _("烟囱")


class Fuel(models.TextChoices):
    LPG = "lpg", _("液化气")
    COAL = "coal", _("煤")
    GAS = "gas", _("天然气")
    BIOGAS = "biogas", _("沼气")
    FIREWOOD = "firewood", _("柴火")
    OTHER = "other", _("其他")


class Water(models.TextChoices):
    TAP = "tap", _("自来水")
    PURIFIED = "purified", _("经净化过滤的水")
    WELL = "well", _("井水")
    RIVER = "river", _("河湖水")
    POND = "pond", _("塘水")
    OTHER = "other", _("其他")


class Toilet(models.TextChoices):
    SANITARY = "sanitary", _("卫生厕所")
    ONE_PIT = "one_pit", _("一格或二格粪池式")
    LATRINE = "latrine", _("马桶")
    OPEN_PIT = "open_pit", _("露天粪坑")
    SIMPLE = "simple", _("简易棚厕")


class LivestockPen(models.TextChoices):
    NONE = "none", _("无")
    SEPARATE = "separate", _("单设")
    INDOOR = "indoor", _("室内")
    OUTDOOR = "outdoor", _("室外")


class PairStatus(models.TextChoices):
    PENDING = "pending", _("待审核")
    MERGED = "merged", _("已合并")
    DISTINCT = "distinct", _("非同一人")
    AUTO_LINKED = "auto_linked", _("自动关联")


# 56 ethnic groups (GB/T 3304): code → name; the form stores the 2-digit code.
ETHNICITIES: list[tuple[str, str]] = [
    ("01", "汉族"), ("02", "蒙古族"), ("03", "回族"), ("04", "藏族"), ("05", "维吾尔族"), ("06", "苗族"),
    ("07", "彝族"), ("08", "壮族"), ("09", "布依族"), ("10", "朝鲜族"), ("11", "满族"), ("12", "侗族"),
    ("13", "瑶族"), ("14", "白族"), ("15", "土家族"), ("16", "哈尼族"), ("17", "哈萨克族"), ("18", "傣族"),
    ("19", "黎族"), ("20", "傈僳族"), ("21", "佤族"), ("22", "畲族"), ("23", "高山族"), ("24", "拉祜族"),
    ("25", "水族"), ("26", "东乡族"), ("27", "纳西族"), ("28", "景颇族"), ("29", "柯尔克孜族"), ("30", "土族"),
    ("31", "达斡尔族"), ("32", "仫佬族"), ("33", "羌族"), ("34", "布朗族"), ("35", "撒拉族"), ("36", "毛南族"),
    ("37", "仡佬族"), ("38", "锡伯族"), ("39", "阿昌族"), ("40", "普米族"), ("41", "塔吉克族"), ("42", "怒族"),
    ("43", "乌孜别克族"), ("44", "俄罗斯族"), ("45", "鄂温克族"), ("46", "德昂族"), ("47", "保安族"),
    ("48", "裕固族"), ("49", "京族"), ("50", "塔塔尔族"), ("51", "独龙族"), ("52", "鄂伦春族"), ("53", "赫哲族"),
    ("54", "门巴族"), ("55", "珞巴族"), ("56", "基诺族"), ("97", "其他"), ("98", "外国血统中国籍人士"),
]
