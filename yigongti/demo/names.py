"""Realistic Chinese data for the synthetic county: places, people, hospital departments.

Pure data and small samplers over a caller's :class:`random.Random` — no global random state,
so the same seed gives the same county. The county (云溪县) is fictional; township stems are
typical of 黔西南 (Qianxinan) place names, surnames are weighted to the region (罗, 韦, 岑 and
陆 are common among the 布依族 there).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence

PROVINCE = ("52", "贵州省")
PREFECTURE = ("5223", "黔西南布依族苗族自治州")
COUNTY = ("522399", "云溪县")
AREA_CODE = "0859"  # 黔西南 telephone area code

SUBDISTRICT_NAMES = ["城关", "云溪", "玉屏", "龙泉", "文峰"]  # + 街道

TOWNSHIP_STEMS = [
    "顶效", "马岭", "郑屯", "鲁屯", "万屯", "敬南", "威舍", "乌沙", "捧乍", "泥凼", "七舍", "雄武",
    "洛万", "则戎", "沧江", "仓更", "招堤", "龙广", "德卧", "木咱", "洒雨", "普坪", "戈塘", "钱相",
    "平乐", "者相", "北盘江", "白层", "坡妹", "丰都", "沙子", "龙场", "长田", "鲁容", "巧马", "花贡",
    "格沙屯", "楼下", "大山", "青山", "石门", "白岩", "桃源", "新桥", "鸡场", "猪场", "兔场", "牛场",
    "碧痕", "岩脚", "坡脚", "打易", "回龙", "民建", "烂泥", "鲁布格",
]

# Village stems: a first and a second character, combined; plus the common socialist-era names.
_VILLAGE_FIRST = list("大小上下新老高坡岩石龙凤青白黑红黄马牛羊水竹松桃李花田平长河沙金银茶团联和兴安云溪湾塘冲坝箐寨")
_VILLAGE_SECOND = list("寨坝坡沟岩山田湾冲塘坪河洞井林园场脚头口桥关屯铺箐堡庄营哨")
_VILLAGE_WORDS = [
    "团结", "联合", "新民", "和平", "光明", "红旗", "民主", "胜利", "建设", "先锋", "幸福", "前进",
    "永兴", "太平", "新华", "向阳", "东风", "红星", "富强", "丰收",
]
COMMUNITY_STEMS = ["东门", "西门", "南街", "北街", "城南", "城北", "河滨", "迎宾", "文昌", "星光", "桂花", "和谐"]

# Surnames with rough relative frequencies in 黔西南 (national top names plus the regional ones).
SURNAMES: list[tuple[str, int]] = [
    ("王", 90), ("李", 85), ("张", 70), ("刘", 55), ("陈", 55), ("杨", 65), ("黄", 50), ("罗", 50),
    ("吴", 35), ("周", 30), ("韦", 40), ("赵", 25), ("陆", 25), ("岑", 18), ("梁", 20), ("何", 22),
    ("谢", 15), ("胡", 18), ("余", 14), ("邓", 14), ("田", 16), ("龙", 18), ("蒙", 10), ("潘", 14),
    ("肖", 10), ("朱", 14), ("徐", 12), ("郭", 10), ("马", 10), ("孙", 8), ("彭", 9), ("付", 8),
    ("沈", 5), ("蒋", 7), ("曾", 8), ("唐", 9), ("班", 5), ("卢", 8), ("邹", 5), ("熊", 6),
]
_SURNAME_CHARS = [s for s, _ in SURNAMES]
_SURNAME_WEIGHTS = list(itertools.accumulate(w for _, w in SURNAMES))

_GIVEN_MALE = list("伟强军勇杰涛斌明超辉刚华平建国文武志俊鹏飞林峰磊浩宇波成兴贵富忠发荣祥永")
_GIVEN_FEMALE = list("芳丽娟敏静燕艳霞玲梅兰英红琴凤秀莉萍婷雪丹慧琳珍美桂春月云")
_GIVEN_ANY = list("小德正光海学金福天开昌顺安明宏云")

# 县人民医院 — 48 clinical departments (code, name) and the non-clinical ones.
COUNTY_HOSPITAL_CLINICAL: list[tuple[str, str]] = [
    ("XXGNK", "心血管内科"), ("HXNK", "呼吸内科"), ("XHNK", "消化内科"), ("SJNK", "神经内科"),
    ("SNK", "肾内科"), ("NFMK", "内分泌科"), ("XYNK", "血液内科"), ("FSMY", "风湿免疫科"),
    ("GRK", "感染性疾病科"), ("LNYX", "老年医学科"), ("QKYX", "全科医学科"), ("ZLK", "肿瘤科"),
    ("PWK", "普外科"), ("GDWK", "肝胆外科"), ("WCWK", "胃肠外科"), ("JRWK", "甲状腺乳腺外科"),
    ("SJWK", "神经外科"), ("XWK", "胸外科"), ("MNWK", "泌尿外科"), ("GK", "骨科"),
    ("JZWK", "脊柱外科"), ("GJWK", "关节外科"), ("CSWK", "创伤外科"), ("SSZX", "烧伤整形科"),
    ("XGWK", "血管外科"), ("GCK", "肛肠科"), ("XEWK", "小儿外科"), ("FK", "妇科"),
    ("CK", "产科"), ("EK", "儿科"), ("XSEK", "新生儿科"), ("JZK", "急诊科"),
    ("ZZYX", "重症医学科"), ("MZK", "麻醉科"), ("TTK", "疼痛科"), ("YK", "眼科"),
    ("EBHK", "耳鼻喉科"), ("KQK", "口腔科"), ("PFK", "皮肤科"), ("ZYK", "中医科"),
    ("ZJTN", "针灸推拿科"), ("KFYX", "康复医学科"), ("JSXL", "精神心理科"), ("JRK", "介入科"),
    ("JHBK", "结核病科"), ("ZYBK", "职业病科"), ("YYK", "营养科"), ("JKGL", "健康管理科"),
]
COUNTY_HOSPITAL_OTHER: list[tuple[str, str]] = [
    ("JYK", "检验科"), ("FSK", "放射科"), ("YJK", "药剂科"), ("CSK", "超声医学科"), ("BLK", "病理科"),
    ("SXK", "输血科"), ("GNJC", "功能检查科"), ("YWK", "医务科"), ("HLB", "护理部"), ("XXK", "信息科"),
]
TCM_HOSPITAL_CLINICAL: list[tuple[str, str]] = [
    ("ZYNK", "中医内科"), ("ZYWK", "中医外科"), ("ZJK", "针灸科"), ("TNK", "推拿科"), ("GSK", "骨伤科"),
    ("FK", "妇科"), ("EK", "儿科"), ("KFK", "康复科"), ("ZWB", "治未病科"), ("JZK", "急诊科"),
]
TCM_HOSPITAL_OTHER: list[tuple[str, str]] = [("JYK", "检验科"), ("FSK", "放射科"), ("ZYF", "中药房")]
MCH_CLINICAL: list[tuple[str, str]] = [
    ("FK", "妇科"), ("CK", "产科"), ("EK", "儿科"), ("ETBJ", "儿童保健科"), ("FNBJ", "妇女保健科"),
    ("XSEK", "新生儿科"),
]
MCH_OTHER: list[tuple[str, str]] = [("JYK", "检验科"), ("CSK", "超声科"), ("YJK", "药剂科")]
CDC_OTHER: list[tuple[str, str]] = [
    ("CRB", "传染病防制科"), ("MYGH", "免疫规划科"), ("MBK", "慢性非传染性疾病防制科"), ("JYK", "检验科"),
    ("JKJY", "健康教育科"), ("WSJC", "卫生监测科"),
]

PHYSICIAN_TITLES = ["主任医师", "副主任医师", "主治医师", "主治医师", "住院医师", "住院医师"]
ASSISTANT_TITLES = ["医士", "住院医师"]
NURSE_TITLES = ["主任护师", "副主任护师", "主管护师", "主管护师", "护师", "护师", "护士"]
TECH_TITLES = ["主管检验技师", "检验技师", "主管技师", "技师", "药师", "主管药师", "公卫医师"]


def surname(rng: random.Random) -> str:
    """A surname drawn by regional frequency."""
    return rng.choices(_SURNAME_CHARS, cum_weights=_SURNAME_WEIGHTS)[0]


def given_name(rng: random.Random, sex: str) -> str:
    """A 1–2 character given name (so full names are 2–3 characters, mostly 3)."""
    pool = _GIVEN_MALE if sex == "M" else _GIVEN_FEMALE
    first = rng.choice(pool + _GIVEN_ANY)
    if rng.random() < 0.18:
        return first
    second = rng.choice(pool)
    return first + second if second != first else first + rng.choice(_GIVEN_ANY)


def full_name(rng: random.Random, sex: str) -> str:
    return surname(rng) + given_name(rng, sex)


def township_names(rng: random.Random, n: int) -> list[str]:
    """``n`` distinct township stems (without 镇/乡)."""
    if n > len(TOWNSHIP_STEMS):
        raise ValueError(f"at most {len(TOWNSHIP_STEMS)} townships")
    return rng.sample(TOWNSHIP_STEMS, n)


def village_names(rng: random.Random, n: int) -> list[str]:
    """``n`` distinct two-character village stems (without 村)."""
    stems = [a + b for a, b in itertools.product(_VILLAGE_FIRST, _VILLAGE_SECOND) if a != b]
    rng.shuffle(stems)
    words = list(_VILLAGE_WORDS)
    rng.shuffle(words)
    pool = list(dict.fromkeys(words[: max(0, n // 8)] + stems))
    if n > len(pool):
        raise ValueError(f"at most {len(pool)} villages")
    return pool[:n]


def community_names(rng: random.Random, n: int) -> list[str]:
    return rng.sample(COMMUNITY_STEMS, n)


def mobile(rng: random.Random) -> str:
    return rng.choice(["135", "136", "138", "139", "150", "151", "158", "177", "182", "187", "189", "199"]) + (
        f"{rng.randrange(10**8):08d}")


def landline(rng: random.Random) -> str:
    return f"{AREA_CODE}-{rng.randrange(3_000_000, 8_999_999)}"


def pick(rng: random.Random, items: Sequence[str]) -> str:
    return items[rng.randrange(len(items))]
