"""Resident medical insurance policies as data (DOMAIN.md §5): one YAML file per county and period.

A policy (``kind: insurance.policy``) holds every parameter of adjudication for one county (or
``"*"``, any county) from ``effective_from`` until ``effective_to`` (exclusive):

- ``catalogue`` per kind of encounter (``inpatient`` / ``outpatient``) and cost category: the
  self-pay share before pooling (乙类先行自付, e.g. ``materials: {self_pay_share: 0.2}``) or
  ``excluded: true`` (not paid at all for that kind, e.g. registration for inpatients). A category
  not listed is fully within the catalogue.
- ``outpatient.levels`` (门诊统筹) per institution level (``village``, ``township``, ``county``):
  ``rate``, ``per_visit_cap``, ``year_cap`` and an optional per-visit ``deductible``. A level not
  listed is not pooled. The year caps share one accumulator (``ytd.outpatient_paid``): a visit at a
  level is paid only while the year's outpatient pooling total stays under that level's cap.
- ``inpatient`` (住院): ``annual_cap`` of the basic fund per person per year and ``levels``
  ``township`` (一级), ``county`` (二级), ``tertiary`` (三级), ``out_of_county`` (县外), each a
  ``deductible`` per stay and a ``rate``.
- ``catastrophic`` (大病保险, optional): ``threshold`` on the year's eligible self-pay, ``tiers``
  (``upto`` on the amount above the threshold, strictly increasing, the last one open) with their
  ``rate`` (≥ 50 %), ``annual_cap``, ``kinds`` (default ``[inpatient]``).
- ``medical_aid`` (医疗救助, optional): ``categories`` ``wubao`` (特困/五保), ``dibao`` (低保),
  ``poverty`` (脱贫/监测) each a ``rate``, a yearly ``deductible`` (default 0) and an ``annual_cap``;
  ``kinds`` (default both).
- ``enrolment`` (参保缴费, optional): ``individual`` contribution and fiscal ``subsidy`` per person
  per year, and ``exemptions`` — per assistance category, the share of the individual contribution
  medical aid pays (资助参保: 特困 fully, 低保 and 脱贫人口 in part).

:func:`policy_from_mapping` validates a document and names the key and the reason of the first
problem; :func:`policy_for` picks the one in force for a county on a day and refuses overlapping
effective dates (:func:`check_policies`). Nothing here touches the database.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from django.utils.translation import gettext_lazy as _

from yigongti.care.choices import CostCategory
from yigongti.core.rule_fixtures import parse_date

from .errors import NoPolicy, PolicyInvalid, PolicyOverlap
from .money import DEFAULT_ROUNDING, ROUNDINGS, ZERO, AmountError, checked_amount, quantize, to_decimal

POLICY_KIND = "insurance.policy"
POLICY_DIR = Path(__file__).resolve().parent / "fixtures"
POLICY_GLOB = "policy-*.yaml"
ANY_COUNTY = "*"

KINDS = ("outpatient", "inpatient")
OUTPATIENT_LEVELS = ("village", "township", "county")
INPATIENT_LEVELS = ("township", "county", "tertiary", "out_of_county")
LEVELS = ("village", "township", "county", "tertiary")  # the level of the institution on a case
AID_CATEGORIES = ("wubao", "dibao", "poverty")
CATEGORIES: tuple[str, ...] = tuple(CostCategory.values)
# 国办发〔2015〕57号《关于全面实施城乡居民大病保险的意见》: 大病保险 pays at least 50 % above its threshold.
CATASTROPHIC_MIN_RATE = Decimal("0.5")
RATE_DECIMALS = 6

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class CatalogueRule:
    """How one cost category is treated for one kind of encounter."""

    self_pay_share: Decimal = ZERO
    excluded: bool = False


IN_CATALOGUE = CatalogueRule()


@dataclass(frozen=True)
class OutpatientLevel:
    rate: Decimal
    per_visit_cap: Decimal
    year_cap: Decimal
    deductible: Decimal = ZERO  # per visit


@dataclass(frozen=True)
class InpatientLevel:
    deductible: Decimal  # per stay
    rate: Decimal


@dataclass(frozen=True)
class Tier:
    """A band of the year's eligible self-pay above the 大病 threshold: up to ``upto`` (None: no end)."""

    upto: Decimal | None
    rate: Decimal


@dataclass(frozen=True)
class Catastrophic:
    threshold: Decimal
    annual_cap: Decimal
    tiers: tuple[Tier, ...]
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class AidRule:
    rate: Decimal
    annual_cap: Decimal
    deductible: Decimal = ZERO  # per year, on the aid base accumulated


@dataclass(frozen=True)
class MedicalAid:
    categories: Mapping[str, AidRule]
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class Enrolment:
    """参保缴费: the yearly contribution per person, the fiscal subsidy per person, and the share of
    the individual contribution that medical aid pays for each assistance category (资助参保)."""

    individual: Decimal
    subsidy: Decimal
    exemptions: Mapping[str, Decimal]

    def exempt_share(self, category: str | None) -> Decimal:
        return self.exemptions.get(category, ZERO) if category else ZERO


@dataclass(frozen=True)
class Policy:
    """One county's resident insurance policy for one period (see the module docstring)."""

    code: str
    name: str
    name_en: str
    county: str
    effective_from: dt.date
    effective_to: dt.date | None
    source: str
    rounding: str
    catalogue: Mapping[str, Mapping[str, CatalogueRule]]
    outpatient: Mapping[str, OutpatientLevel]
    inpatient: Mapping[str, InpatientLevel]
    inpatient_annual_cap: Decimal
    catastrophic: Catastrophic | None
    medical_aid: MedicalAid | None
    enrolment: Enrolment | None = None

    def in_force(self, on: dt.date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on < self.effective_to)

    def catalogue_rule(self, kind: str, category: str) -> CatalogueRule:
        return self.catalogue.get(kind, {}).get(category, IN_CATALOGUE)

    def q(self, amount: Decimal) -> Decimal:
        """``amount`` to the fen with this policy's rounding."""
        return quantize(amount, self.rounding)


# ---------------------------------------------------------------- validation


class _Reader:
    """Reads one policy document, raising :class:`PolicyInvalid` naming the file, the key and why."""

    def __init__(self, name: str) -> None:
        self.name = name

    def fail(self, key: str, reason: Any) -> PolicyInvalid:
        return PolicyInvalid(name=self.name, key=key or "/", reason=reason)

    def mapping(self, value: Any, key: str, allowed: Iterable[str] | None = None,
                required: Iterable[str] = ()) -> Mapping[str, Any]:
        if value is None and key:
            raise self.fail(key, _("必须填写"))
        if not isinstance(value, Mapping):
            raise self.fail(key, _("应为映射（键: 值）"))
        if allowed is not None:
            allowed = tuple(allowed)
            for name in value:
                if name not in allowed:
                    raise self.fail(_join(key, str(name)), _("未知的键（可用：%(allowed)s）") % {
                        "allowed": "、".join(allowed)})
        for name in required:
            if value.get(name) is None:
                raise self.fail(_join(key, name), _("必须填写"))
        return value

    def text(self, data: Mapping[str, Any], key: str, path: str = "", *, required: bool = True) -> str:
        value = data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise self.fail(_join(path, key), _("必须填写"))
            return ""
        if not isinstance(value, str | int):
            raise self.fail(_join(path, key), _("应为文字"))
        return str(value).strip()

    def date(self, data: Mapping[str, Any], key: str, *, required: bool = True) -> dt.date | None:
        value = data.get(key)
        if value is None or value == "":
            if required:
                raise self.fail(key, _("必须填写"))
            return None
        try:
            return parse_date(value)
        except ValueError:
            raise self.fail(key, _("不是有效日期（YYYY-MM-DD）：%(value)s") % {"value": value}) from None

    def amount(self, data: Mapping[str, Any], key: str, path: str, *, default: Decimal | None = None) -> Decimal:
        where = _join(path, key)
        value = data.get(key)
        if value is None:
            if default is None:
                raise self.fail(where, _("必须填写"))
            return default
        try:
            number = checked_amount(value)
        except AmountError as exc:
            raise self.fail(where, exc.reason) from None
        if number != quantize(number):
            raise self.fail(where, _("金额最多两位小数（到分），收到 %(value)s") % {"value": value})
        return quantize(number)

    def rate(self, data: Mapping[str, Any], key: str, path: str, *, minimum: Decimal = ZERO,
             default: Decimal | None = None) -> Decimal:
        where = _join(path, key)
        value = data.get(key)
        if value is None:
            if default is None:
                raise self.fail(where, _("必须填写"))
            return default
        try:
            number = to_decimal(value)
        except AmountError as exc:
            raise self.fail(where, exc.reason) from None
        if not minimum <= number <= 1:
            raise self.fail(where, _("应在 %(low)s 与 1 之间，收到 %(value)s") % {
                "low": minimum.normalize(), "value": value})
        exponent = number.normalize().as_tuple().exponent
        if isinstance(exponent, int) and -exponent > RATE_DECIMALS:
            raise self.fail(where, _("比例最多 %(n)s 位小数，收到 %(value)s") % {"n": RATE_DECIMALS, "value": value})
        return number

    def kinds(self, data: Mapping[str, Any], path: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = data.get("kinds")
        if value is None:
            return default
        if not isinstance(value, list) or not value:
            raise self.fail(_join(path, "kinds"), _("应为非空列表（inpatient、outpatient）"))
        for kind in value:
            if kind not in KINDS:
                raise self.fail(_join(path, "kinds"), _("未知的就诊类型“%(value)s”（可用：%(allowed)s）") % {
                    "value": kind, "allowed": "、".join(KINDS)})
        return tuple(kind for kind in KINDS if kind in value)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


TOP_KEYS = ("kind", "code", "name", "name_en", "county", "effective_from", "effective_to", "source", "rounding",
            "catalogue", "outpatient", "inpatient", "catastrophic", "medical_aid", "enrolment")


def policy_from_mapping(data: Any, *, name: str) -> Policy:
    """The :class:`Policy` a YAML/JSON document describes, or :class:`PolicyInvalid` naming the key.

    ``name`` (usually the file name) is how errors refer to the document.
    """
    read = _Reader(name)
    doc = read.mapping(data, "", TOP_KEYS)
    if doc.get("kind", POLICY_KIND) != POLICY_KIND:
        raise read.fail("kind", _("应为 %(kind)s，收到“%(value)s”") % {"kind": POLICY_KIND, "value": doc.get("kind")})
    code = read.text(doc, "code")
    county = read.text(doc, "county")
    if county != ANY_COUNTY and not (len(county) == 6 and county.isdigit()):
        raise read.fail("county", _("应为 6 位县级区划代码或 \"*\"，收到“%(value)s”") % {"value": county})
    effective_from = read.date(doc, "effective_from")
    effective_to = read.date(doc, "effective_to", required=False)
    assert effective_from is not None
    if effective_to is not None and effective_to <= effective_from:
        raise read.fail("effective_to", _("应晚于 effective_from（%(start)s）") % {"start": effective_from})
    rounding = read.text(doc, "rounding", required=False) or DEFAULT_ROUNDING
    if rounding not in ROUNDINGS:
        raise read.fail("rounding", _("未知的舍入方式“%(value)s”（可用：%(allowed)s）") % {
            "value": rounding, "allowed": "、".join(ROUNDINGS)})
    inpatient = read.mapping(doc.get("inpatient"), "inpatient", ("annual_cap", "levels"), ("annual_cap", "levels"))
    return Policy(
        code=code, name=read.text(doc, "name"), name_en=read.text(doc, "name_en", required=False),
        county=county, effective_from=effective_from, effective_to=effective_to,
        source=read.text(doc, "source"), rounding=rounding,
        catalogue=_catalogue(read, doc.get("catalogue")),
        outpatient=_outpatient(read, doc.get("outpatient")),
        inpatient=_inpatient_levels(read, inpatient["levels"]),
        inpatient_annual_cap=read.amount(inpatient, "annual_cap", "inpatient"),
        catastrophic=_catastrophic(read, doc.get("catastrophic")),
        medical_aid=_medical_aid(read, doc.get("medical_aid")),
        enrolment=_enrolment(read, doc.get("enrolment")),
    )


def _catalogue(read: _Reader, value: Any) -> dict[str, dict[str, CatalogueRule]]:
    if value is None:
        return {}
    catalogue: dict[str, dict[str, CatalogueRule]] = {}
    for kind, rules in read.mapping(value, "catalogue", KINDS).items():
        path = f"catalogue.{kind}"
        catalogue[kind] = {}
        for category, entry in read.mapping(rules or {}, path, CATEGORIES).items():
            where = f"{path}.{category}"
            rule = read.mapping(entry, where, ("self_pay_share", "excluded"))
            excluded = rule.get("excluded", False)
            if not isinstance(excluded, bool):
                raise read.fail(f"{where}.excluded", _("应为 true 或 false"))
            if excluded and "self_pay_share" in rule:
                raise read.fail(where, _("不予支付（excluded）的类别不能再设先行自付比例"))
            catalogue[kind][category] = CatalogueRule(
                self_pay_share=read.rate(rule, "self_pay_share", where, default=ZERO), excluded=excluded)
    return catalogue


def _outpatient(read: _Reader, value: Any) -> dict[str, OutpatientLevel]:
    if value is None:
        return {}
    section = read.mapping(value, "outpatient", ("levels",), ("levels",))
    levels: dict[str, OutpatientLevel] = {}
    for level, entry in read.mapping(section["levels"], "outpatient.levels", OUTPATIENT_LEVELS).items():
        path = f"outpatient.levels.{level}"
        row = read.mapping(entry, path, ("rate", "per_visit_cap", "year_cap", "deductible"))
        levels[level] = OutpatientLevel(
            rate=read.rate(row, "rate", path), per_visit_cap=read.amount(row, "per_visit_cap", path),
            year_cap=read.amount(row, "year_cap", path), deductible=read.amount(row, "deductible", path, default=ZERO))
    return levels


def _inpatient_levels(read: _Reader, value: Any) -> dict[str, InpatientLevel]:
    rows = read.mapping(value, "inpatient.levels", INPATIENT_LEVELS, INPATIENT_LEVELS)
    levels: dict[str, InpatientLevel] = {}
    for level in INPATIENT_LEVELS:
        path = f"inpatient.levels.{level}"
        row = read.mapping(rows[level], path, ("deductible", "rate"))
        levels[level] = InpatientLevel(deductible=read.amount(row, "deductible", path),
                                       rate=read.rate(row, "rate", path))
    return levels


def _catastrophic(read: _Reader, value: Any) -> Catastrophic | None:
    if value is None:
        return None
    path = "catastrophic"
    section = read.mapping(value, path, ("threshold", "annual_cap", "tiers", "kinds"), ("threshold", "annual_cap"))
    rows = section.get("tiers")
    if not isinstance(rows, list) or not rows:
        raise read.fail(f"{path}.tiers", _("应为非空列表，每段 {upto, rate}，最后一段不设 upto"))
    tiers: list[Tier] = []
    for index, entry in enumerate(rows):
        where = f"{path}.tiers[{index}]"
        row = read.mapping(entry, where, ("upto", "rate"))
        last = index == len(rows) - 1
        upto = read.amount(row, "upto", where) if row.get("upto") is not None else None
        if upto is None and not last:
            raise read.fail(f"{where}.upto", _("只有最后一段可以不设上限"))
        if upto is not None and last:
            raise read.fail(f"{where}.upto", _("最后一段不设上限（超过前一段的部分全部按此比例）"))
        previous = tiers[-1].upto if tiers else ZERO
        if upto is not None and previous is not None and upto <= previous:
            raise read.fail(f"{where}.upto", _("分段上限应递增：%(upto)s 不大于前一段的 %(previous)s") % {
                "upto": upto, "previous": previous})
        tiers.append(Tier(upto=upto, rate=read.rate(row, "rate", where, minimum=CATASTROPHIC_MIN_RATE)))
    return Catastrophic(threshold=read.amount(section, "threshold", path),
                        annual_cap=read.amount(section, "annual_cap", path), tiers=tuple(tiers),
                        kinds=read.kinds(section, path, ("inpatient",)))


def _medical_aid(read: _Reader, value: Any) -> MedicalAid | None:
    if value is None:
        return None
    path = "medical_aid"
    section = read.mapping(value, path, ("categories", "kinds"), ("categories",))
    categories: dict[str, AidRule] = {}
    for category, entry in read.mapping(section["categories"], f"{path}.categories", AID_CATEGORIES).items():
        where = f"{path}.categories.{category}"
        row = read.mapping(entry, where, ("rate", "deductible", "annual_cap"))
        categories[category] = AidRule(rate=read.rate(row, "rate", where),
                                       annual_cap=read.amount(row, "annual_cap", where),
                                       deductible=read.amount(row, "deductible", where, default=ZERO))
    return MedicalAid(categories=categories, kinds=read.kinds(section, path, KINDS))


def _enrolment(read: _Reader, value: Any) -> Enrolment | None:
    if value is None:
        return None
    path = "enrolment"
    section = read.mapping(value, path, ("individual", "subsidy", "exemptions"), ("individual", "subsidy"))
    exemptions: dict[str, Decimal] = {}
    for category in read.mapping(section.get("exemptions") or {}, f"{path}.exemptions", AID_CATEGORIES):
        exemptions[category] = read.rate(section["exemptions"], category, f"{path}.exemptions")
    return Enrolment(individual=read.amount(section, "individual", path), subsidy=read.amount(section, "subsidy", path),
                     exemptions=exemptions)


# ---------------------------------------------------------------- files


def policy_from_file(path: Path | str) -> Policy:
    """The policy in one YAML (or JSON) file; errors name the file."""
    path = Path(path)
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyInvalid(name=name, key="/", reason=exc.strerror or str(exc)) from None
    except UnicodeDecodeError:
        raise PolicyInvalid(name=name, key="/", reason=_("文件不是 UTF-8 编码")) from None
    try:
        document = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise PolicyInvalid(name=name, key="/", reason=str(exc).splitlines()[0]) from None
    return policy_from_mapping(document, name=name)


def shipped_policies(directory: Path = POLICY_DIR) -> list[Policy]:
    """Every policy file ``fixtures/policy-*.yaml`` (read from the files, no database), checked together."""
    policies = [policy_from_file(path) for path in sorted(directory.glob(POLICY_GLOB))]
    check_policies(policies)
    return policies


# ---------------------------------------------------------------- which one is in force


def check_policies(policies: Iterable[Policy]) -> None:
    """Refuse two policies with one code, or two for one county whose effective dates overlap."""
    by_code: dict[str, Policy] = {}
    by_county: dict[str, list[Policy]] = {}
    for policy in policies:
        if policy.code in by_code:
            raise PolicyInvalid(name=policy.code, key="code", reason=_("两份政策使用同一编码"))
        by_code[policy.code] = policy
        by_county.setdefault(policy.county, []).append(policy)
    for county, group in by_county.items():
        group.sort(key=lambda p: p.effective_from)
        for first, second in itertools.pairwise(group):
            if first.effective_to is None or first.effective_to > second.effective_from:
                raise PolicyOverlap(first=first.code, second=second.code, county=county,
                                    start=second.effective_from.isoformat())


def policy_for(policies: Iterable[Policy], *, county: str | None, on: dt.date) -> Policy:
    """The policy in force on ``on`` for ``county``: the county's own before a ``"*"`` one.

    Raises :class:`PolicyOverlap` when the policies overlap for one county, :class:`NoPolicy`
    when none is in force.
    """
    policies = list(policies)
    check_policies(policies)
    in_force = [p for p in policies if p.in_force(on)]
    for wanted in ([county] if county else []) + [ANY_COUNTY]:
        for policy in in_force:
            if policy.county == wanted:
                return policy
    raise NoPolicy(date=on.isoformat(), county=county or ANY_COUNTY)
