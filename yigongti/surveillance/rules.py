"""``ygt rules load`` for the notifiable diseases (kind ``surveillance.diseases``): upsert by ``code``,
so loading the same file again writes nothing.

Each row: ``code``, ``name``, ``name_en``, ``class`` (A/B/C), ``icd10`` (code prefixes, may be empty
for a disease chosen only by hand), ``deadline_hours`` (2 or 24), ``single_case``, ``methods`` and
``params`` (over the file's ``defaults``), ``episode_days``, ``managed_as_a``, an optional ``note``
(appended to the file's ``source``), and ``effective_from`` / ``effective_to`` where a disease was
added to (or left) the list on its own date (the file's dates otherwise).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from yigongti.core.rule_fixtures import LoadResult, RuleFixture, as_date, upsert_by_code

from .choices import DiseaseClass
from .models import Disease

DISEASES = "surveillance.diseases"
ALARM_METHODS = ("percentile", "c1", "c2", "c3", "cusum")
# The parameters the methods read, and their ranges (a value outside is a fixture error).
PARAMS: dict[str, tuple[float, float]] = {
    "alpha": (1e-9, 0.5), "alpha_c3": (1e-9, 0.5), "min_sigma": (0, 100), "min_cases": (1, 10_000),
    "percentile": (1, 99), "cusum_k": (0, 10), "cusum_h": (0.1, 100),
}


def _params(fixture: RuleFixture, code: str, defaults: dict[str, Any], own: Any) -> dict[str, float]:
    if own is not None and not isinstance(own, dict):
        raise fixture.invalid(_("%(code)s：params 应为映射") % {"code": code})
    merged = {**defaults, **(own or {})}
    for key, value in merged.items():
        if key not in PARAMS:
            raise fixture.invalid(_("%(code)s：未知参数 %(key)s（可用：%(allowed)s）") % {
                "code": code, "key": key, "allowed": "、".join(PARAMS)})
        low, high = PARAMS[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise fixture.invalid(_("%(code)s：参数 %(key)s 应在 %(low)s–%(high)s 之间，收到 %(value)s") % {
                "code": code, "key": key, "low": low, "high": high, "value": value})
    return {key: float(value) for key, value in merged.items()}


def diseases_load(fixture: RuleFixture) -> LoadResult:
    """Upsert every disease of the file by its ``code``."""
    result = LoadResult()
    document = fixture.document
    source = str(document.get("source") or "").strip()
    if not source:
        raise fixture.invalid(_("缺少 source（规则依据）"))
    defaults = document.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise fixture.invalid(_("defaults 应为映射"))
    effective_from = as_date(fixture, document.get("effective_from"), "effective_from")
    effective_to = as_date(fixture, document.get("effective_to"), "effective_to", required=False)
    seen: set[str] = set()
    for position, row in enumerate(fixture.rows("diseases")):
        code = str(row.get("code") or "").strip()
        if not code or code in seen:
            raise fixture.invalid(_("每个病种须有唯一的 code（%(code)s）") % {"code": code or "—"})
        seen.add(code)
        if row.get("class") not in DiseaseClass.values:
            raise fixture.invalid(_("%(code)s：class 应为 A、B 或 C") % {"code": code})
        hours = row.get("deadline_hours")
        if hours not in (2, 24):
            raise fixture.invalid(_("%(code)s：deadline_hours 应为 2 或 24") % {"code": code})
        icd10 = row.get("icd10")
        if not isinstance(icd10, list) or not all(isinstance(c, str) and c.strip() for c in icd10):
            raise fixture.invalid(_("%(code)s：icd10 应为编码列表") % {"code": code})
        methods = row.get("methods") or []
        if not isinstance(methods, list) or any(m not in ALARM_METHODS for m in methods):
            raise fixture.invalid(_("%(code)s：methods 只能取 %(allowed)s") % {
                "code": code, "allowed": "、".join(ALARM_METHODS)})
        single = bool(row.get("single_case", False))
        if single and methods:
            raise fixture.invalid(_("%(code)s：单病例预警的病种不再设置其他预警方法") % {"code": code})
        episode = row.get("episode_days", 30)
        if not isinstance(episode, int) or isinstance(episode, bool) or episode < 1:
            raise fixture.invalid(_("%(code)s：episode_days 应为正整数") % {"code": code})
        note = str(row.get("note") or "").strip()
        values = {
            "name": str(row.get("name") or "").strip(), "name_en": str(row.get("name_en") or "").strip(),
            "disease_class": row["class"], "managed_as_a": bool(row.get("managed_as_a", False)),
            "icd10": [c.strip().upper() for c in icd10], "deadline_hours": hours, "single_case": single,
            "methods": list(methods), "params": _params(fixture, code, defaults, row.get("params")),
            "episode_days": episode, "position": position,
            "source": f"{source}\n{note}" if note else source,
            "effective_from": as_date(fixture, row.get("effective_from"), f"{code}.effective_from",
                                      required=False) or effective_from,
            "effective_to": as_date(fixture, row.get("effective_to"), f"{code}.effective_to",
                                    required=False) or effective_to,
        }
        if not values["name"] or not values["name_en"]:
            raise fixture.invalid(_("%(code)s：name 与 name_en 不能为空") % {"code": code})
        result.add(upsert_by_code(Disease, code=code, values=values), code)
    return result


LOADERS = {DISEASES: diseases_load}
