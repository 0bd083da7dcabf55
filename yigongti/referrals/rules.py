"""``ygt rules load`` for the referrals: routes (kind ``referrals.routes``) and response deadlines
(kind ``referrals.deadlines``). Both idempotent: routes upsert by ``code``, deadlines by
(``urgency``, ``effective_from``); loading the same file again writes nothing.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from yigongti.core.rule_fixtures import LoadResult, Outcome, RuleFixture, as_date, upsert_by_code
from yigongti.registry.choices import InstitutionType, Tier

from .choices import Direction, ReferralKind, Urgency
from .models import ReferralRoute, ResponseDeadline

ROUTES = "referrals.routes"
DEADLINES = "referrals.deadlines"


def _source(fixture: RuleFixture, row: dict[str, Any]) -> str:
    source = str(row.get("source") or fixture.document.get("source") or "").strip()
    if not source:
        raise fixture.invalid(_("缺少 source（规则依据）"))
    return source


def _codes(fixture: RuleFixture, row: dict[str, Any], key: str, allowed: list[str]) -> list[str]:
    values = row.get(key)
    if not isinstance(values, list) or not values:
        raise fixture.invalid(_("%(key)s 应为非空列表") % {"key": key})
    bad = [str(v) for v in values if v not in allowed]
    if bad:
        raise fixture.invalid(_("%(key)s 中有无效代码：%(bad)s（可选：%(allowed)s）") % {
            "key": key, "bad": "、".join(bad), "allowed": "、".join(allowed)})
    return [str(v) for v in values]


def routes_load(fixture: RuleFixture) -> LoadResult:
    """Upsert every route of the file by its ``code``."""
    result = LoadResult()
    default_from = fixture.document.get("effective_from")
    default_to = fixture.document.get("effective_to")
    for row in fixture.rows("routes"):
        code = str(row.get("code") or "").strip()
        if not code:
            raise fixture.invalid(_("每条路径须有 code"))
        direction = row.get("direction")
        if direction not in Direction.values:
            raise fixture.invalid(_("%(code)s：direction 应为 up 或 down") % {"code": code})
        values = {
            "direction": direction,
            "from_tiers": _codes(fixture, row, "from_tiers", list(Tier.values)),
            "to_types": _codes(fixture, row, "to_types", list(InstitutionType.values)),
            "kinds": _codes(fixture, row, "kinds", list(ReferralKind.values)),
            "source": _source(fixture, row),
            "effective_from": as_date(fixture, row.get("effective_from", default_from), f"{code}.effective_from"),
            "effective_to": as_date(fixture, row.get("effective_to", default_to), f"{code}.effective_to",
                                    required=False),
        }
        outcome: Outcome = upsert_by_code(ReferralRoute, code=code, values=values)
        result.add(outcome, code)
    return result


def _hours(fixture: RuleFixture, row: dict[str, Any], key: str) -> int:
    value = row.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise fixture.invalid(_("%(key)s 应为正整数（小时）") % {"key": key})
    return value


def deadlines_load(fixture: RuleFixture) -> LoadResult:
    """Upsert every deadline of the file by (urgency, effective_from)."""
    result = LoadResult()
    default_from = fixture.document.get("effective_from")
    default_to = fixture.document.get("effective_to")
    for row in fixture.rows("deadlines"):
        urgency = row.get("urgency")
        if urgency not in Urgency.values:
            raise fixture.invalid(_("urgency 无效：%(value)s") % {"value": urgency})
        respond, escalate = _hours(fixture, row, "respond_hours"), _hours(fixture, row, "escalate_hours")
        if escalate < respond:
            raise fixture.invalid(_("%(urgency)s：escalate_hours 不能小于 respond_hours") % {"urgency": urgency})
        effective_from = as_date(fixture, row.get("effective_from", default_from), f"{urgency}.effective_from")
        assert effective_from is not None  # required
        values = {"respond_hours": respond, "escalate_hours": escalate, "source": _source(fixture, row),
                  "effective_to": as_date(fixture, row.get("effective_to", default_to), f"{urgency}.effective_to",
                                          required=False)}
        row_obj = ResponseDeadline.objects.filter(urgency=urgency, effective_from=effective_from).first()
        key = f"{urgency}@{effective_from}"
        if row_obj is None:
            ResponseDeadline.objects.create(urgency=urgency, effective_from=effective_from, **values)
            result.add("created", key)
            continue
        changed = [name for name, value in values.items() if getattr(row_obj, name) != value]
        if not changed:
            result.add("unchanged", key)
            continue
        for name in changed:
            setattr(row_obj, name, values[name])
        row_obj.save(update_fields=changed)
        result.add("updated", key)
    return result


LOADERS = {ROUTES: routes_load, DEADLINES: deadlines_load}
