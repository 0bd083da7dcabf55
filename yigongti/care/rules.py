"""``ygt rules load`` for the care app: the item catalogue and the recognition rules.

- ``care.result_items`` (``fixtures/result_items.yaml``): one :class:`~.models.ResultItem` per row,
  upserted by ``code``.
- ``care.recognition`` (``fixtures/recognition.yaml``): one :class:`~.models.RecognitionRule` per
  item of each rule, upserted by (item, ``effective_from``). Items must exist: when one is missing
  the catalogue beside the file is loaded first (fixtures load in file-name order, and
  ``recognition.yaml`` sorts before ``result_items.yaml``).

Both are idempotent — loading again writes nothing and reports every row unchanged — and a file
with a bad row stops the whole load (one transaction, see :mod:`yigongti.core.rule_fixtures`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from django.utils.translation import gettext as _

from yigongti.core.rule_fixtures import LoadResult, RuleFixture, as_date, upsert, upsert_by_code
from yigongti.registry.choices import Tier

from .choices import ResultKind
from .models import RecognitionRule, ResultItem

ITEMS_KIND = "care.result_items"
RECOGNITION_KIND = "care.recognition"
ITEMS_FILE = "result_items.yaml"


def _decimal(fixture: RuleFixture, value: Any, what: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as exc:
        raise fixture.invalid(_("%(field)s 不是数字：%(value)s") % {"field": what, "value": value}) from exc


def _text(fixture: RuleFixture, row: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = row.get(key)
    if value is None or str(value).strip() == "":
        if required:
            raise fixture.invalid(_("条目 %(code)s 缺少 %(field)s") % {"code": row.get("code", "?"), "field": key})
        return ""
    return str(value).strip()


def _item_values(fixture: RuleFixture, row: dict[str, Any], source: str) -> dict[str, Any]:
    code = _text(fixture, row, "code")
    kind = _text(fixture, row, "kind")
    if kind not in ResultKind.values:
        raise fixture.invalid(_("条目 %(code)s 的类别“%(kind)s”无效（lab / imaging）") % {"code": code, "kind": kind})
    ref = row.get("ref") or [None, None]
    if not isinstance(ref, list) or len(ref) != 2:
        raise fixture.invalid(_("条目 %(code)s 的 ref 应为 [下限, 上限]") % {"code": code})
    low, high = _decimal(fixture, ref[0], f"{code}.ref"), _decimal(fixture, ref[1], f"{code}.ref")
    if low is not None and high is not None and low > high:
        raise fixture.invalid(_("条目 %(code)s 的参考下限大于上限") % {"code": code})
    price = _decimal(fixture, row.get("price"), f"{code}.price")
    if price is None or price < 0:
        raise fixture.invalid(_("条目 %(code)s 缺少收费标准或为负数") % {"code": code})
    aliases = row.get("unit_aliases") or []
    if not isinstance(aliases, list):
        raise fixture.invalid(_("条目 %(code)s 的 unit_aliases 应为列表") % {"code": code})
    return {"name": _text(fixture, row, "name"), "name_en": _text(fixture, row, "name_en"), "kind": kind,
            "unit": _text(fixture, row, "unit", required=False), "unit_aliases": [str(a) for a in aliases],
            "ref_low": low, "ref_high": high, "price": price.quantize(Decimal("0.01")),
            "loinc": _text(fixture, row, "loinc", required=False), "source": source}


def _source(fixture: RuleFixture) -> str:
    source = " ".join(str(fixture.document.get("source") or "").split())
    if not source:
        raise fixture.invalid(_("缺少 source（依据）"))
    return source


def result_items_load(fixture: RuleFixture) -> LoadResult:
    """Load the item catalogue; idempotent (an unchanged row is not written)."""
    source = _source(fixture)
    as_date(fixture, fixture.document.get("effective_from"), "effective_from")
    result = LoadResult()
    seen: set[str] = set()
    for row in fixture.rows("items"):
        code = _text(fixture, row, "code")
        if code in seen:
            raise fixture.invalid(_("条目 %(code)s 重复") % {"code": code})
        seen.add(code)
        result.add(upsert_by_code(ResultItem, code=code, values=_item_values(fixture, row, source)), code)
    return result


def _ensure_items(fixture: RuleFixture, codes: set[str]) -> None:
    """Load the catalogue beside ``fixture`` when some of ``codes`` are not in the database yet."""
    if len(codes) == ResultItem.objects.filter(code__in=codes).count():
        return
    path = Path(fixture.path).with_name(ITEMS_FILE)
    if not path.exists():
        return
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if isinstance(document, dict) and document.get("kind") == ITEMS_KIND:
        result_items_load(RuleFixture(app_label=fixture.app_label, path=path,
                                      name=fixture.name.rsplit("/", 1)[0] + "/" + ITEMS_FILE,
                                      kind=ITEMS_KIND, document=document))


def _tiers(fixture: RuleFixture, value: Any, what: str) -> list[str]:
    if not isinstance(value, list) or not value or any(t not in Tier.values for t in value):
        raise fixture.invalid(_("%(field)s 应为层级列表（county / township / village）：%(value)s") % {
            "field": what, "value": value})
    return [str(t) for t in value]


def _rule_values(fixture: RuleFixture, rule: dict[str, Any], source: str,
                 effective_to: dt.date | None) -> dict[str, Any]:
    name = rule.get("name") or "?"
    days = rule.get("valid_days")
    if not isinstance(days, int) or isinstance(days, bool) or days <= 0:
        raise fixture.invalid(_("规则“%(name)s”的 valid_days 应为正整数") % {"name": name})
    basis = str(rule.get("basis") or "").strip()
    return {"performed_tiers": _tiers(fixture, rule.get("performed_tiers"), f"{name}.performed_tiers"),
            "ordering_tiers": _tiers(fixture, rule.get("ordering_tiers"), f"{name}.ordering_tiers"),
            "valid_days": days, "source": f"{source}；{basis}" if basis else source,
            "effective_to": (as_date(fixture, rule["effective_to"], f"{name}.effective_to", required=False)
                             if "effective_to" in rule else effective_to)}


def recognition_load(fixture: RuleFixture) -> LoadResult:
    """Load the recognition rules; idempotent (an unchanged rule is not written)."""
    source = _source(fixture)
    file_from = as_date(fixture, fixture.document.get("effective_from"), "effective_from") or dt.date.min
    file_to = as_date(fixture, fixture.document.get("effective_to"), "effective_to", required=False)
    rules = fixture.rows("rules")
    codes = {str(code) for rule in rules for code in (rule.get("items") or [])}
    _ensure_items(fixture, codes)
    items = {item.code: item for item in ResultItem.objects.filter(code__in=codes)}
    result = LoadResult()
    seen: set[tuple[str, dt.date]] = set()
    for rule in rules:
        name = rule.get("name") or "?"
        if not isinstance(rule.get("items"), list) or not rule["items"]:
            raise fixture.invalid(_("规则“%(name)s”缺少 items") % {"name": name})
        effective_from = as_date(fixture, rule.get("effective_from", file_from), f"{name}.effective_from") or file_from
        values = _rule_values(fixture, rule, source, file_to)
        if values["effective_to"] is not None and values["effective_to"] <= effective_from:
            raise fixture.invalid(_("规则“%(name)s”的失效日期应晚于生效日期") % {"name": name})
        for code in map(str, rule["items"]):
            item = items.get(code)
            if item is None:
                raise fixture.invalid(_("规则“%(name)s”的项目 %(code)s 不在目录中") % {"name": name, "code": code})
            if (code, effective_from) in seen:
                raise fixture.invalid(_("项目 %(code)s 在 %(date)s 有两条规则") % {
                    "code": code, "date": effective_from.isoformat()})
            seen.add((code, effective_from))
            outcome = upsert(RecognitionRule, lookup={"item": item, "effective_from": effective_from}, values=values)
            result.add(outcome, f"{code}@{effective_from.isoformat()}")
    return result


LOADERS = {ITEMS_KIND: result_items_load, RECOGNITION_KIND: recognition_load}
