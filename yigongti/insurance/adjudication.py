"""Adjudication (理赔计算): a pure function from a case and a policy to a settlement.

``adjudicate(case, policy)`` reads nothing and writes nothing; the same inputs give the same
settlement. The order of the rules (each one a line of the explanation):

1. the total; an uncovered person (未参保) pays it all, with the reason, and nothing else applies;
2. the catalogue: amounts outside it (目录外) and excluded categories are self-paid, a category's
   self-pay share (乙类先行自付) is taken off; what remains is the eligible cost (合规费用);
3. the basic fund (统筹基金): inpatient — the deductible per stay (起付线) by level (县外 when not in
   the county), the rate on the rest, the annual cap; outpatient (门诊统筹) — a per-visit
   deductible, the rate, the per-visit cap, the year cap of the level;
4. 大病保险: what the patient still bears of the eligible cost is added to the year's base; the part
   of this case above the threshold is paid tier by tier, within the annual cap;
5. 医疗救助 for an assistance category: of what the patient still bears, the part above the
   year's aid deductible at the category's rate, within its annual cap;
6. the patient pays the rest: ``basic + catastrophic + aid + patient == total`` exactly.

Every product is rounded to the fen once, with the policy's rounding; caps and deductibles are
exact. Each layer pays only out of what the layer before left to the patient, so no layer pays
more than the eligible remainder and raising a cost never lowers either the patient's share or
what the funds pay (``tests/insurance/test_properties.py``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from yigongti.care.choices import CostCategory

from .errors import CaseInvalid
from .money import ZERO, AmountError, fmt, parse_amount, percent, plain, quantize
from .policy import AID_CATEGORIES, CATEGORIES, KINDS, LEVELS, Policy

# ---------------------------------------------------------------- the case


@dataclass(frozen=True)
class Ytd:
    """Year-to-date accumulators of one person (all in yuan).

    ``catastrophic_base`` is the eligible self-pay counted toward the 大病 threshold so far,
    ``aid_base`` what counted toward the medical-aid deductible so far.
    """

    outpatient_paid: Decimal = ZERO
    basic_paid: Decimal = ZERO
    catastrophic_base: Decimal = ZERO
    catastrophic_paid: Decimal = ZERO
    aid_base: Decimal = ZERO
    aid_paid: Decimal = ZERO

    def as_dict(self) -> dict[str, str]:
        return {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}


YTD_KEYS = tuple(f.name for f in dataclasses.fields(Ytd))


@dataclass(frozen=True)
class Case:
    """One encounter to adjudicate, with the person's coverage and year-to-date accumulators."""

    date: dt.date
    kind: str  # outpatient | inpatient
    level: str  # village | township | county | tertiary
    costs: Mapping[str, Decimal]
    county: str | None = None
    in_county: bool = True
    outside_catalogue: Mapping[str, Decimal] = field(default_factory=dict)
    covered: bool = True
    reason: str = ""  # why not covered, shown on the settlement
    aid_category: str | None = None
    ytd: Ytd = Ytd()
    id: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise CaseInvalid(field="kind", reason=_choices_reason(self.kind, KINDS))
        if self.level not in LEVELS:
            raise CaseInvalid(field="level", reason=_choices_reason(self.level, LEVELS))
        if self.kind == "inpatient" and self.level == "village":
            raise CaseInvalid(field="level", reason=_("村卫生室没有住院服务"))
        if self.aid_category is not None and self.aid_category not in AID_CATEGORIES:
            raise CaseInvalid(field="aid_category", reason=_choices_reason(self.aid_category, AID_CATEGORIES))
        for name, amounts in (("costs", self.costs), ("outside_catalogue", self.outside_catalogue)):
            for category, amount in amounts.items():
                if category not in CATEGORIES:
                    raise CaseInvalid(field=f"{name}.{category}", reason=_unknown_category())
                _check_amount(f"{name}.{category}", amount)
        for name in YTD_KEYS:
            _check_amount(f"ytd.{name}", getattr(self.ytd, name))


def _check_amount(where: str, amount: Decimal) -> None:
    if not isinstance(amount, Decimal) or not amount.is_finite() or amount < 0 or amount != quantize(amount):
        raise CaseInvalid(field=where, reason=_("应为不小于 0、到分的金额，收到 %(value)s") % {"value": amount})


def _choices_reason(value: object, allowed: tuple[str, ...]) -> Any:
    return _("“%(value)s”无效（可用：%(allowed)s）") % {"value": value, "allowed": "、".join(allowed)}


def _unknown_category() -> Any:
    return _("未知的费用类别（可用：%(allowed)s）") % {"allowed": "、".join(CATEGORIES)}


CASE_KEYS = ("id", "note", "date", "county", "kind", "level", "in_county", "costs", "outside_catalogue", "covered",
             "reason", "aid_category", "ytd")


def case_from_mapping(data: Any) -> Case:
    """The :class:`Case` a JSON object describes; amounts (numbers or strings) are parsed as Decimal
    and rounded half-up to the fen. Raises :class:`CaseInvalid` naming the field."""
    if not isinstance(data, Mapping):
        raise CaseInvalid(field="/", reason=_("应为 JSON 对象"))
    for key in data:
        if key not in CASE_KEYS:
            raise CaseInvalid(field=str(key), reason=_("未知字段（可用：%(allowed)s）") % {
                "allowed": "、".join(CASE_KEYS)})
    for key in ("date", "kind", "level", "costs"):
        if data.get(key) in (None, ""):
            raise CaseInvalid(field=key, reason=_("必须填写"))
    try:
        date = dt.date.fromisoformat(str(data["date"]))
    except ValueError:
        raise CaseInvalid(field="date", reason=_("不是有效日期（YYYY-MM-DD）：%(value)s") % {
            "value": data["date"]}) from None
    county = data.get("county")
    if county not in (None, ""):
        county = str(county)
        if not (len(county) == 6 and county.isdigit()):
            raise CaseInvalid(field="county", reason=_("应为 6 位县级区划代码，收到“%(value)s”") % {"value": county})
    else:
        county = None
    ytd_data = data.get("ytd") or {}
    if not isinstance(ytd_data, Mapping):
        raise CaseInvalid(field="ytd", reason=_("应为 JSON 对象"))
    for key in ytd_data:
        if key not in YTD_KEYS:
            raise CaseInvalid(field=f"ytd.{key}", reason=_("未知字段（可用：%(allowed)s）") % {
                "allowed": "、".join(YTD_KEYS)})
    ytd = Ytd(**{key: _amount(f"ytd.{key}", value) for key, value in ytd_data.items() if value is not None})
    aid_category = data.get("aid_category") or None
    return Case(
        id=str(data.get("id") or ""), date=date, county=county, kind=str(data["kind"]), level=str(data["level"]),
        in_county=_flag(data, "in_county"), covered=_flag(data, "covered"), reason=str(data.get("reason") or ""),
        costs=_amounts(data, "costs"), outside_catalogue=_amounts(data, "outside_catalogue"),
        aid_category=None if aid_category is None else str(aid_category), ytd=ytd)


def _flag(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key, True)
    if not isinstance(value, bool):
        raise CaseInvalid(field=key, reason=_("应为 true 或 false，收到 %(value)s") % {"value": value})
    return value


def _amounts(data: Mapping[str, Any], key: str) -> dict[str, Decimal]:
    rows = data.get(key) or {}
    if not isinstance(rows, Mapping):
        raise CaseInvalid(field=key, reason=_("应为 {费用类别: 金额}"))
    amounts: dict[str, Decimal] = {}
    for category, value in rows.items():
        if category not in CATEGORIES:
            raise CaseInvalid(field=f"{key}.{category}", reason=_unknown_category())
        amounts[category] = _amount(f"{key}.{category}", value)
    return amounts


def _amount(where: str, value: Any) -> Decimal:
    try:
        return parse_amount(value)
    except AmountError as exc:
        raise CaseInvalid(field=where, reason=exc.reason) from None


# ---------------------------------------------------------------- the settlement


@dataclass(frozen=True)
class Line:
    """One step of the explanation: the rule applied, in Chinese and English, and its amount."""

    rule: str
    zh: str
    en: str
    amount: Decimal

    def as_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "zh": self.zh, "en": self.en, "amount": plain(self.amount)}


@dataclass(frozen=True)
class Settlement:
    """What each layer pays and what the patient pays, with the new accumulators and the explanation.

    ``outside_catalogue + category_share + excluded + uncovered == total - eligible`` and
    ``basic + catastrophic + aid + patient == total``.
    """

    case_id: str
    policy: str
    policy_name: str
    date: dt.date
    kind: str
    level: str
    in_county: bool
    covered: bool
    total: Decimal
    eligible: Decimal
    outside_catalogue: Decimal
    category_share: Decimal
    excluded: Decimal
    uncovered: Decimal
    basic: Decimal
    catastrophic: Decimal
    aid: Decimal
    patient: Decimal
    ytd: Ytd
    lines: tuple[Line, ...]

    @property
    def fund(self) -> Decimal:
        """What the funds pay together (basic + 大病 + 救助)."""
        return self.basic + self.catastrophic + self.aid

    def as_dict(self) -> dict[str, Any]:
        """The settlement as JSON-ready data: every amount a string with two decimals."""
        return {
            "case": self.case_id, "policy": self.policy, "policy_name": self.policy_name,
            "date": self.date.isoformat(), "kind": self.kind, "level": self.level, "in_county": self.in_county,
            "covered": self.covered, "total": plain(self.total), "eligible": plain(self.eligible),
            "self_pay": {"outside_catalogue": plain(self.outside_catalogue),
                         "category_share": plain(self.category_share), "excluded": plain(self.excluded),
                         "uncovered": plain(self.uncovered)},
            "layers": {"basic": plain(self.basic), "catastrophic": plain(self.catastrophic), "aid": plain(self.aid)},
            "patient": plain(self.patient), "ytd": self.ytd.as_dict(),
            "lines": [line.as_dict() for line in self.lines],
        }


# Labels for the explanation (both languages on every line, whatever the active language).
INPATIENT_LABELS = {"township": ("一级医院", "level 1"), "county": ("二级医院", "level 2"),
                    "tertiary": ("三级医院", "level 3"), "out_of_county": ("县外医院", "outside the county")}
OUTPATIENT_LABELS = {"village": ("村卫生室", "village clinic"), "township": ("乡镇卫生院", "township health centre"),
                     "county": ("县级医院", "county hospital"), "tertiary": ("三级医院", "level-3 hospital")}
KIND_LABELS = {"inpatient": ("住院", "inpatient"), "outpatient": ("门诊", "outpatient")}
AID_LABELS = {"wubao": ("特困/五保", "wubao / extreme poverty"), "dibao": ("低保", "dibao / minimum living allowance"),
              "poverty": ("脱贫人口", "lifted out of poverty")}


@functools.cache
def _category_names() -> dict[str, tuple[str, str]]:
    names: dict[str, tuple[str, str]] = {}
    for choice in CostCategory:
        with translation.override("zh-hans"):
            zh = str(choice.label)
        with translation.override("en"):
            en = str(choice.label)
        names[choice.value] = (zh, en)
    return names


class _Explanation:
    def __init__(self) -> None:
        self.lines: list[Line] = []

    def add(self, rule: str, zh: str, en: str, amount: Decimal) -> None:
        self.lines.append(Line(rule=rule, zh=zh, en=en, amount=amount))


# ---------------------------------------------------------------- adjudication


def adjudicate(case: Case, policy: Policy) -> Settlement:
    """The settlement of ``case`` under ``policy`` (pure; see the module docstring for the rules)."""
    out = _Explanation()
    total = sum(case.costs.values(), ZERO) + sum(case.outside_catalogue.values(), ZERO)
    out.add("costs.total", f"医疗总费用 {fmt(total)} 元", f"Total cost {fmt(total)} yuan", total)
    common: dict[str, Any] = {"case_id": case.id, "policy": policy.code, "policy_name": policy.name, "date": case.date,
              "kind": case.kind, "level": case.level, "in_county": case.in_county, "covered": case.covered,
              "total": total}
    if not case.covered:
        zh_reason = case.reason or "本年度未参加城乡居民医保"
        en_reason = case.reason or "not enrolled in the resident medical insurance for the year"
        out.add("coverage.uncovered", f"未参保（{zh_reason}）：全部费用 {fmt(total)} 元由个人自付",
                f"Not covered ({en_reason}): the whole cost {fmt(total)} yuan is self-paid", total)
        _closing(out, ZERO, total)
        return Settlement(**common, eligible=ZERO, outside_catalogue=ZERO, category_share=ZERO, excluded=ZERO,
                          uncovered=total, basic=ZERO, catastrophic=ZERO, aid=ZERO, patient=total, ytd=case.ytd,
                          lines=tuple(out.lines))

    outside, share, excluded, eligible = _catalogue(case, policy, out)
    ytd = case.ytd
    if case.kind == "inpatient":
        basic = _inpatient(case, policy, eligible, out)
        ytd = dataclasses.replace(ytd, basic_paid=ytd.basic_paid + basic)
    else:
        basic = _outpatient(case, policy, eligible, out)
        ytd = dataclasses.replace(ytd, outpatient_paid=ytd.outpatient_paid + basic)
    catastrophic, ytd = _catastrophic(case, policy, eligible - basic, ytd, out)
    aid, ytd = _aid(case, policy, eligible - basic - catastrophic, ytd, out)
    patient = total - basic - catastrophic - aid
    _closing(out, basic + catastrophic + aid, patient)
    return Settlement(**common, eligible=eligible, outside_catalogue=outside, category_share=share,
                      excluded=excluded, uncovered=ZERO, basic=basic, catastrophic=catastrophic, aid=aid,
                      patient=patient, ytd=ytd, lines=tuple(out.lines))


def _closing(out: _Explanation, fund: Decimal, patient: Decimal) -> None:
    out.add("fund.total", f"基本医保、大病保险、医疗救助合计支付 {fmt(fund)} 元",
            f"Basic fund, catastrophic insurance and medical aid pay {fmt(fund)} yuan in total", fund)
    out.add("patient", f"个人负担 {fmt(patient)} 元", f"The patient pays {fmt(patient)} yuan", patient)


def _catalogue(case: Case, policy: Policy, out: _Explanation) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """Outside the catalogue, self-pay shares, excluded categories; returns them and the eligible cost."""
    names = _category_names()
    kind_zh, kind_en = KIND_LABELS[case.kind]
    outside = share = excluded = eligible = ZERO
    for category in CATEGORIES:
        amount = case.outside_catalogue.get(category, ZERO)
        if amount:
            outside += amount
            zh, en = names[category]
            out.add("catalogue.outside", f"目录外费用（{zh}）{fmt(amount)} 元，全部自付",
                    f"Outside the catalogue ({en}) {fmt(amount)} yuan, all self-paid", amount)
    for category in CATEGORIES:
        amount = case.costs.get(category, ZERO)
        if not amount:
            continue
        zh, en = names[category]
        rule = policy.catalogue_rule(case.kind, category)
        if rule.excluded:
            excluded += amount
            out.add("catalogue.excluded", f"{zh}不予支付（{kind_zh}）{fmt(amount)} 元，全部自付",
                    f"{en} not covered ({kind_en}) {fmt(amount)} yuan, all self-paid", amount)
            continue
        part = policy.q(amount * rule.self_pay_share) if rule.self_pay_share else ZERO
        if part:
            share += part
            rate = percent(rule.self_pay_share)
            out.add("catalogue.self_pay_share", f"{zh} {fmt(amount)} 元 × 先行自付 {rate} = {fmt(part)} 元，由个人负担",
                    f"{en} {fmt(amount)} yuan × self-pay share {rate} = {fmt(part)} yuan, borne by the patient", part)
        eligible += amount - part
    out.add("eligible", f"合规费用 {fmt(eligible)} 元", f"Eligible cost {fmt(eligible)} yuan", eligible)
    return outside, share, excluded, eligible


def _inpatient(case: Case, policy: Policy, eligible: Decimal, out: _Explanation) -> Decimal:
    """The basic fund for a stay: deductible per stay by level, the rate, the annual cap."""
    key = case.level if case.in_county else "out_of_county"
    level = policy.inpatient[key]
    label_zh, label_en = INPATIENT_LABELS[key]
    deductible = min(eligible, level.deductible)
    if level.deductible:
        if deductible == level.deductible:
            out.add("inpatient.deductible", f"起付线（{label_zh}）{fmt(deductible)} 元，由个人负担",
                    f"Deductible ({label_en}) {fmt(deductible)} yuan, borne by the patient", deductible)
        else:
            out.add("inpatient.deductible",
                    f"合规费用 {fmt(eligible)} 元未超过起付线（{label_zh}）{fmt(level.deductible)} 元，由个人负担",
                    f"Eligible cost {fmt(eligible)} yuan within the deductible ({label_en}) "
                    f"{fmt(level.deductible)} yuan, borne by the patient", deductible)
    base = eligible - deductible
    pay = policy.q(base * level.rate)
    rate = percent(level.rate)
    out.add("inpatient.rate", f"统筹基金支付（{label_zh}）{fmt(base)} 元 × {rate} = {fmt(pay)} 元",
            f"Basic fund pays ({label_en}) {fmt(base)} yuan × {rate} = {fmt(pay)} yuan", pay)
    remaining = max(ZERO, policy.inpatient_annual_cap - case.ytd.basic_paid)
    if pay > remaining:
        cap, paid = fmt(policy.inpatient_annual_cap), fmt(case.ytd.basic_paid)
        out.add("inpatient.annual_cap",
                f"统筹基金年度最高支付限额 {cap} 元，本年已支付 {paid} 元，本次支付 {fmt(remaining)} 元",
                f"Basic fund annual cap {cap} yuan, {paid} yuan paid this year: "
                f"pays {fmt(remaining)} yuan", remaining)
        pay = remaining
    return pay


def _outpatient(case: Case, policy: Policy, eligible: Decimal, out: _Explanation) -> Decimal:
    """Outpatient pooling (门诊统筹): per-visit deductible, rate, per-visit cap, the level's year cap."""
    label_zh, label_en = OUTPATIENT_LABELS[case.level]
    level = policy.outpatient.get(case.level) if case.in_county else None
    if level is None:
        if case.in_county:
            zh, en = f"门诊统筹不支付{label_zh}门诊费用", f"Outpatient pooling does not pay for visits to a {label_en}"
        else:
            zh, en = "门诊统筹不支付县外门诊费用", "Outpatient pooling does not pay for visits outside the county"
        out.add("outpatient.not_pooled", zh, en, ZERO)
        return ZERO
    deductible = min(eligible, level.deductible)
    if level.deductible:
        out.add("outpatient.deductible", f"门诊统筹起付线（{label_zh}）每次 {fmt(level.deductible)} 元，由个人负担",
                f"Outpatient deductible ({label_en}) {fmt(level.deductible)} yuan per visit, borne by the patient",
                deductible)
    base = eligible - deductible
    pay = policy.q(base * level.rate)
    rate = percent(level.rate)
    out.add("outpatient.rate", f"门诊统筹支付（{label_zh}）{fmt(base)} 元 × {rate} = {fmt(pay)} 元",
            f"Outpatient pooling pays ({label_en}) {fmt(base)} yuan × {rate} = {fmt(pay)} yuan", pay)
    if pay > level.per_visit_cap:
        pay = level.per_visit_cap
        out.add("outpatient.per_visit_cap", f"门诊统筹每次最高支付 {fmt(pay)} 元（{label_zh}）",
                f"Outpatient pooling pays at most {fmt(pay)} yuan per visit ({label_en})", pay)
    remaining = max(ZERO, level.year_cap - case.ytd.outpatient_paid)
    if pay > remaining:
        cap, paid = fmt(level.year_cap), fmt(case.ytd.outpatient_paid)
        out.add("outpatient.year_cap",
                f"门诊统筹年度限额（{label_zh}）{cap} 元，本年已支付 {paid} 元，本次支付 {fmt(remaining)} 元",
                f"Outpatient pooling year cap ({label_en}) {cap} yuan, {paid} yuan paid this year: "
                f"pays {fmt(remaining)} yuan", remaining)
        pay = remaining
    return pay


def _catastrophic(case: Case, policy: Policy, bears: Decimal, ytd: Ytd,
                  out: _Explanation) -> tuple[Decimal, Ytd]:
    """大病保险 on ``bears`` (the eligible cost the patient still bears after the basic fund)."""
    layer = policy.catastrophic
    if layer is None or case.kind not in layer.kinds or not bears:
        return ZERO, ytd
    old, new = ytd.catastrophic_base, ytd.catastrophic_base + bears
    threshold = fmt(layer.threshold)
    out.add("catastrophic.base",
            f"大病保险：本次合规自付 {fmt(bears)} 元，本年累计 {fmt(new)} 元（起付线 {threshold} 元）",
            f"Catastrophic insurance: eligible self-pay {fmt(bears)} yuan, {fmt(new)} yuan this year "
            f"(threshold {threshold} yuan)", bears)
    low, high = old - layer.threshold, new - layer.threshold  # this case's band above the threshold
    pay = ZERO
    if high <= 0:
        out.add("catastrophic.below_threshold", f"本年累计未超过大病保险起付线 {threshold} 元，大病保险不支付",
                f"The year's total is within the catastrophic threshold {threshold} yuan: nothing paid", ZERO)
    start = ZERO
    for number, tier in enumerate(layer.tiers, start=1):
        end = tier.upto
        part = (high if end is None else min(high, end)) - max(low, start)
        if part > 0:
            amount = policy.q(part * tier.rate)
            pay += amount
            band = f"{fmt(start)}–{fmt(end)}" if end is not None else f"{fmt(start)}+"
            rate = percent(tier.rate)
            out.add("catastrophic.tier",
                    f"大病保险第 {number} 段（超过起付线 {band} 元）{fmt(part)} 元 × {rate} = {fmt(amount)} 元",
                    f"Catastrophic tier {number} ({band} yuan above the threshold) {fmt(part)} yuan × {rate} "
                    f"= {fmt(amount)} yuan", amount)
        if end is None:
            break
        start = end
    remaining = max(ZERO, layer.annual_cap - ytd.catastrophic_paid)
    if pay > remaining:
        cap, paid = fmt(layer.annual_cap), fmt(ytd.catastrophic_paid)
        out.add("catastrophic.annual_cap",
                f"大病保险年度最高支付限额 {cap} 元，本年已支付 {paid} 元，本次支付 {fmt(remaining)} 元",
                f"Catastrophic annual cap {cap} yuan, {paid} yuan paid this year: pays {fmt(remaining)} yuan",
                remaining)
        pay = remaining
    return pay, dataclasses.replace(ytd, catastrophic_base=new, catastrophic_paid=ytd.catastrophic_paid + pay)


def _aid(case: Case, policy: Policy, bears: Decimal, ytd: Ytd, out: _Explanation) -> tuple[Decimal, Ytd]:
    """医疗救助 on ``bears`` (the eligible cost still borne after basic and 大病) for the case's category."""
    layer = policy.medical_aid
    if case.aid_category is None or layer is None or case.kind not in layer.kinds:
        return ZERO, ytd
    label_zh, label_en = AID_LABELS[case.aid_category]
    rule = layer.categories.get(case.aid_category)
    if rule is None:
        out.add("aid.not_in_policy", f"本政策未规定{label_zh}的医疗救助", f"This policy sets no medical aid for "
                f"{label_en}", ZERO)
        return ZERO, ytd
    if not bears:
        return ZERO, ytd
    old, new = ytd.aid_base, ytd.aid_base + bears
    part = max(ZERO, new - rule.deductible) - max(ZERO, old - rule.deductible)
    if part < bears:
        deductible = fmt(rule.deductible)
        out.add("aid.deductible",
                f"医疗救助年度起付线（{label_zh}）{deductible} 元：本次 {fmt(bears - part)} 元计入起付线，由个人负担",
                f"Medical aid yearly deductible ({label_en}) {deductible} yuan: {fmt(bears - part)} yuan "
                "counts toward it, borne by the patient", bears - part)
    pay = policy.q(part * rule.rate)
    rate = percent(rule.rate)
    out.add("aid.rate", f"医疗救助（{label_zh}）{fmt(part)} 元 × {rate} = {fmt(pay)} 元",
            f"Medical aid ({label_en}) {fmt(part)} yuan × {rate} = {fmt(pay)} yuan", pay)
    remaining = max(ZERO, rule.annual_cap - ytd.aid_paid)
    if pay > remaining:
        cap, paid = fmt(rule.annual_cap), fmt(ytd.aid_paid)
        out.add("aid.annual_cap",
                f"医疗救助年度限额（{label_zh}）{cap} 元，本年已救助 {paid} 元，本次救助 {fmt(remaining)} 元",
                f"Medical aid annual cap ({label_en}) {cap} yuan, {paid} yuan paid this year: pays "
                f"{fmt(remaining)} yuan", remaining)
        pay = remaining
    return pay, dataclasses.replace(ytd, aid_base=new, aid_paid=ytd.aid_paid + pay)
