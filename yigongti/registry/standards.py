"""Standards compliance — 三建成 / 三合格 / 三达标 (DOMAIN.md §1).

The *kinds* of check are code (one function each, below); which rules exist, what they check
(institution types, rooms, equipment, qualifications, minimum counts) and the norm they cite are
data: :class:`~yigongti.registry.models.StandardRule` rows loaded from ``fixtures/standards.yaml``
by ``ygt rules load``.

:func:`standards_check` reads the network of one subtree on one date in a fixed number of queries
(divisions, institutions, capacities, departments, qualified staff — each at most once, whatever
the size of the county) and evaluates every rule in memory. Institutions, divisions, qualifications
and rules count only when valid on the check date; staff only when active (在岗).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from yigongti.core.clock import today
from yigongti.core.errors import DomainError
from yigongti.core.rule_fixtures import LoadResult, RuleFixture, as_date, upsert_by_code
from yigongti.core.scope import scope_path
from yigongti.core.tree import SEP, subtree_q

from .choices import CapacityKind, DivisionLevel, InstitutionType, QualificationKind
from .models import (
    Capacity,
    Department,
    Division,
    Institution,
    Qualification,
    StandardCategory,
    StandardCheck,
    StandardRule,
)
from .selectors import current

FIXTURE_KIND = "registry.standards"


class StandardRulesMissing(DomainError):
    code = "standard_rules_missing"
    status = 409
    message = gettext_lazy("尚未加载达标规则，请先运行 ygt rules load。")


class StandardRuleInvalid(DomainError):
    code = "standard_rule_invalid"
    status = 422
    message = gettext_lazy("达标规则 %(rule)s 有误：%(reason)s")


@dataclass(frozen=True)
class Finding:
    """One shortfall: which rule, where (division, and institution when it is one), and why."""

    rule: str
    category: str
    category_label: str
    title: str
    division_code: str
    division_name: str
    path: str
    institution_code: str | None
    institution_name: str | None
    reason: str  # specific, in the active language


# ---------------------------------------------------------------- the network of one subtree


@dataclass(frozen=True)
class _Unit:
    """A division or an institution as the checks see it (plain values, no ORM objects)."""

    id: int
    code: str
    name: str
    path: str
    kind: str  # division level or institution type
    is_government: bool = True
    division_code: str = ""
    division_name: str = ""


class _Network:
    """The subtree under ``root`` on ``on``; each part is read once, on first use."""

    def __init__(self, root: Division | None, on: dt.date) -> None:
        self.root = root
        self.on = on

    def _within(self, field: str = "path") -> Q:
        return subtree_q(self.root.path, field) if self.root is not None else Q()

    @cached_property
    def divisions(self) -> list[_Unit]:
        rows = current(Division.objects.filter(self._within()), self.on).values_list(
            "id", "code", "name", "path", "level")
        return [_Unit(id=i, code=c, name=n, path=p, kind=lv, division_code=c, division_name=n)
                for i, c, n, p, lv in rows.order_by("path")]

    @cached_property
    def institutions(self) -> list[_Unit]:
        rows = current(Institution.objects.filter(self._within()), self.on).values_list(
            "id", "code", "name", "path", "type", "is_government", "division__code", "division__name")
        return [_Unit(id=i, code=c, name=n, path=p, kind=t, is_government=g, division_code=dc, division_name=dn)
                for i, c, n, p, t, g, dc, dn in rows.order_by("path", "code")]

    @cached_property
    def capacities(self) -> dict[int, dict[str, int]]:
        have: dict[int, dict[str, int]] = defaultdict(dict)
        rows = Capacity.objects.filter(self._within("institution__path")).values_list(
            "institution_id", "kind", "quantity")
        for institution_id, kind, quantity in rows:
            have[institution_id][kind] = quantity
        return have

    @cached_property
    def departments(self) -> list[tuple[int, int, str, str, bool]]:
        """``(id, institution_id, code, name, is_clinical)`` of every department in the subtree."""
        rows = Department.objects.filter(self._within("institution__path")).values_list(
            "id", "institution_id", "code", "name", "is_clinical")
        return list(rows.order_by("institution_id", "code"))

    @cached_property
    def qualified(self) -> list[tuple[int, int, int | None, str]]:
        """``(staff_id, institution_id, department_id, kind)`` per current qualification of active staff."""
        rows = current(Qualification.objects.filter(self._within("staff__path"), staff__active=True),
                       self.on).values_list("staff_id", "staff__institution_id", "staff__department_id", "kind")
        return list(rows)

    def staff_count(self, kinds: set[str], by: Callable[[tuple[int, int, int | None, str]], Any]) -> Counter[Any]:
        """Distinct staff holding one of ``kinds``, counted per ``by(row)``."""
        seen = {(by(row), row[0]) for row in self.qualified if row[3] in kinds}
        return Counter(key for key, _staff in seen)


# ---------------------------------------------------------------- the kinds of check

_Check = Callable[[StandardRule, _Network], Iterable[Finding]]


def _labels(choices: Any, values: Iterable[str]) -> list[str]:
    return [str(choices(value).label) for value in values]


def _all(labels: list[str]) -> str:
    return _("、").join(labels)


def _either(labels: list[str]) -> str:
    if len(labels) < 2:
        return "".join(labels)
    return _("%(head)s或%(last)s") % {"head": _("、").join(labels[:-1]), "last": labels[-1]}


def _finding(rule: StandardRule, unit: _Unit, reason: str, *, institution: bool = True) -> Finding:
    english = (translation.get_language() or "").startswith("en")
    return Finding(
        rule=rule.code,
        category=rule.category,
        category_label=str(StandardCategory(rule.category).label),
        title=(rule.name_en or rule.name) if english else rule.name,
        division_code=unit.division_code,
        division_name=unit.division_name,
        path=unit.path,
        institution_code=unit.code if institution else None,
        institution_name=unit.name if institution else None,
        reason=reason,
    )


def _division_has_institution(rule: StandardRule, net: _Network) -> Iterable[Finding]:
    """Every division of ``level`` has ≥ ``min_count`` institutions of ``types`` in its subtree."""
    p = rule.params
    types, government_only, need = set(p["types"]), bool(p.get("government_only")), int(p.get("min_count", 1))
    covered: Counter[str] = Counter()
    for inst in net.institutions:
        if inst.kind in types and (inst.is_government or not government_only):
            covered.update(inst.path.split(SEP))
    wanted = _either(_labels(InstitutionType, p["types"]))
    for division in net.divisions:
        if division.kind != p["level"] or covered[division.code] >= need:
            continue
        if government_only:
            reason = _("%(division)s没有政府办的%(types)s") % {"division": division.name, "types": wanted}
        else:
            reason = _("%(division)s没有%(types)s") % {"division": division.name, "types": wanted}
        if need > 1:
            reason += _("（应至少 %(n)s 所，实有 %(have)s 所）") % {"n": need, "have": covered[division.code]}
        yield _finding(rule, division, reason, institution=False)


def _institution_has_capacities(rule: StandardRule, net: _Network) -> Iterable[Finding]:
    """Every institution of ``types`` has each of ``kinds`` with quantity ≥ ``min_quantity``."""
    p = rule.params
    types, need = set(p["types"]), int(p.get("min_quantity", 1))
    for inst in net.institutions:
        if inst.kind not in types:
            continue
        have = net.capacities.get(inst.id, {})
        missing = [kind for kind in p["kinds"] if have.get(kind, 0) < need]
        if missing:
            yield _finding(rule, inst, _("缺少：%(items)s") % {"items": _all(_labels(CapacityKind, missing))})


def _department_has_qualified_staff(rule: StandardRule, net: _Network) -> Iterable[Finding]:
    """Every (clinical) department of an institution of ``institution_types`` has ≥ ``min_staff``
    active staff with a current qualification of ``qualifications``."""
    p = rule.params
    types, need = set(p["institution_types"]), int(p.get("min_staff", 1))
    clinical_only = bool(p.get("clinical_only", True))
    institutions = {inst.id: inst for inst in net.institutions if inst.kind in types}
    counts = net.staff_count(set(p["qualifications"]), by=lambda row: row[2])
    wanted = _either(_labels(QualificationKind, p["qualifications"]))
    for dept_id, institution_id, _code, name, is_clinical in net.departments:
        inst = institutions.get(institution_id)
        if inst is None or (clinical_only and not is_clinical) or counts[dept_id] >= need:
            continue
        reason = _("临床科室“%(department)s”没有持有效%(kinds)s资格的在岗人员") if clinical_only \
            else _("科室“%(department)s”没有持有效%(kinds)s资格的在岗人员")
        reason = reason % {"department": name, "kinds": wanted}
        if need > 1:
            reason += _("（应至少 %(n)s 人，实有 %(have)s 人）") % {"n": need, "have": counts[dept_id]}
        yield _finding(rule, inst, reason)


def _institution_has_qualified_staff(rule: StandardRule, net: _Network) -> Iterable[Finding]:
    """Every institution of ``types`` has ≥ ``min_staff`` active staff with a current
    qualification of ``qualifications``."""
    p = rule.params
    types, need = set(p["types"]), int(p.get("min_staff", 1))
    counts = net.staff_count(set(p["qualifications"]), by=lambda row: row[1])
    wanted = _either(_labels(QualificationKind, p["qualifications"]))
    for inst in net.institutions:
        if inst.kind not in types or counts[inst.id] >= need:
            continue
        reason = _("没有持有效%(kinds)s资格的在岗人员") % {"kinds": wanted}
        if need > 1:
            reason += _("（应至少 %(n)s 人，实有 %(have)s 人）") % {"n": need, "have": counts[inst.id]}
        yield _finding(rule, inst, reason)


CHECKS: dict[str, _Check] = {
    StandardCheck.DIVISION_HAS_INSTITUTION: _division_has_institution,
    StandardCheck.INSTITUTION_HAS_CAPACITIES: _institution_has_capacities,
    StandardCheck.DEPARTMENT_HAS_QUALIFIED_STAFF: _department_has_qualified_staff,
    StandardCheck.INSTITUTION_HAS_QUALIFIED_STAFF: _institution_has_qualified_staff,
}

# What each kind of check takes: name -> (required, allowed values of a code list / scalar type).
_CODE_LIST, _BOOL, _POSITIVE = "codes", "bool", "positive"
PARAMS: dict[str, dict[str, tuple[bool, str, list[str]]]] = {
    StandardCheck.DIVISION_HAS_INSTITUTION: {
        "level": (True, "code", DivisionLevel.values),
        "types": (True, _CODE_LIST, InstitutionType.values),
        "government_only": (False, _BOOL, []),
        "min_count": (False, _POSITIVE, []),
    },
    StandardCheck.INSTITUTION_HAS_CAPACITIES: {
        "types": (True, _CODE_LIST, InstitutionType.values),
        "kinds": (True, _CODE_LIST, CapacityKind.values),
        "min_quantity": (False, _POSITIVE, []),
    },
    StandardCheck.DEPARTMENT_HAS_QUALIFIED_STAFF: {
        "institution_types": (True, _CODE_LIST, InstitutionType.values),
        "qualifications": (True, _CODE_LIST, QualificationKind.values),
        "clinical_only": (False, _BOOL, []),
        "min_staff": (False, _POSITIVE, []),
    },
    StandardCheck.INSTITUTION_HAS_QUALIFIED_STAFF: {
        "types": (True, _CODE_LIST, InstitutionType.values),
        "qualifications": (True, _CODE_LIST, QualificationKind.values),
        "min_staff": (False, _POSITIVE, []),
    },
}


def params_problem(kind: str, params: Any) -> str | None:
    """Why ``params`` do not fit the check ``kind`` (in the active language), or ``None``."""
    spec = PARAMS.get(kind)
    if spec is None:
        return _("未知的检查方式“%(kind)s”") % {"kind": kind}
    if not isinstance(params, dict):
        return _("参数应为映射")
    unknown = sorted(set(params) - set(spec))
    if unknown:
        return _("未知参数：%(names)s") % {"names": ", ".join(unknown)}
    for name, (required, shape, allowed) in spec.items():
        if name not in params:
            if required:
                return _("缺少参数 %(name)s") % {"name": name}
            continue
        value = params[name]
        ok = {
            _CODE_LIST: isinstance(value, list) and bool(value) and all(v in allowed for v in value),
            "code": value in allowed,
            _BOOL: isinstance(value, bool),
            _POSITIVE: isinstance(value, int) and not isinstance(value, bool) and value >= 1,
        }[shape]
        if not ok:
            return _("参数 %(name)s 的值无效：%(value)s") % {"name": name, "value": value}
    return None


# ---------------------------------------------------------------- the public surface


def _effective(rule: StandardRule, on: dt.date) -> bool:
    return rule.effective_from <= on and (rule.effective_to is None or rule.effective_to > on)


def standards_check(*, root: Division | None = None, on: dt.date | None = None) -> list[Finding]:
    """Every shortfall of the rules in force on ``on`` (default today) under ``root`` (default all).

    A fixed number of queries whatever the size of the subtree. Raises
    :class:`StandardRulesMissing` when no rule has been loaded at all (an empty list would wrongly
    say that everything is up to standard).
    """
    day = on or today()
    rules = list(StandardRule.objects.all())
    if not rules:
        raise StandardRulesMissing()
    order = list(StandardCategory.values)
    net = _Network(root, day)
    findings: list[Finding] = []
    for rule in sorted(rules, key=lambda r: (order.index(r.category) if r.category in order else 99, r.code)):
        if not _effective(rule, day):
            continue
        problem = params_problem(rule.kind, rule.params)
        if problem is not None:
            raise StandardRuleInvalid(rule=rule.code, reason=problem)
        findings.extend(CHECKS[rule.kind](rule, net))
    return findings


def standards_findings_for(*, user: Any, on: dt.date | None = None) -> list[Finding]:
    """The shortfalls inside the caller's data-view subtree (none for a user without one)."""
    path = scope_path(user, "view")
    if path is None:
        return []
    if path == "":
        return standards_check(on=on)
    root = Division.objects.filter(path=path).first()
    return standards_check(root=root, on=on) if root is not None else []


# ---------------------------------------------------------------- loading the rules (ygt rules load)

_FIELDS = ("code", "category", "name", "name_en", "check", "params", "source", "effective_from", "effective_to")


@transaction.atomic
def standard_rules_load(fixture: RuleFixture) -> LoadResult:
    """Upsert the rules of a ``registry.standards`` fixture by code (idempotent).

    Every rule must cite its ``source`` and say from when it applies; its check kind and
    parameters are validated here, so a rule that is loaded can always run. Rules in the
    database that the file does not name are left alone (an administrator may have added them).
    """
    result = LoadResult()
    seen: set[str] = set()
    for row in fixture.rows("rules"):
        code = str(row.get("code") or "").strip()
        if not code:
            raise fixture.invalid(_("有规则缺少 code"))
        if code in seen:
            raise fixture.invalid(_("规则 %(code)s 重复") % {"code": code})
        seen.add(code)
        unknown = sorted(set(row) - set(_FIELDS))
        if unknown:
            raise fixture.invalid(
                _("规则 %(code)s 有未知字段：%(names)s") % {"code": code, "names": ", ".join(unknown)})
        if row.get("category") not in StandardCategory.values:
            raise fixture.invalid(
                _("规则 %(code)s 的类别无效：%(value)s") % {"code": code, "value": row.get("category")})
        for required in ("name", "source"):
            if not str(row.get(required) or "").strip():
                raise fixture.invalid(_("规则 %(code)s 缺少 %(field)s") % {"code": code, "field": required})
        kind, params = row.get("check"), row.get("params") or {}
        problem = params_problem(str(kind), params)
        if problem is not None:
            raise fixture.invalid(f"{code}: {problem}")
        values = {
            "category": row["category"],
            "name": str(row["name"]).strip(),
            "name_en": str(row.get("name_en") or "").strip(),
            "kind": kind,
            "params": params,
            "source": str(row["source"]).strip(),
            "effective_from": as_date(fixture, row.get("effective_from"), f"{code}.effective_from"),
            "effective_to": as_date(fixture, row.get("effective_to"), f"{code}.effective_to", required=False),
        }
        result.add(upsert_by_code(StandardRule, code=code, values=values), code)
    return result
