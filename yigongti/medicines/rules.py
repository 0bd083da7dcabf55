"""``ygt rules load`` for the medicines catalogue (kind ``medicines.catalogue``,
``fixtures/catalogue.yaml``): suppliers, items with their tiers (the 医共体's list per institution
level with reorder and target levels) and contracted prices, effective-dated.

Each entry is validated with its key named (``medicines[3].tiers.village``) and stored by its natural
key (supplier and item ``code``; a tier entry by item, tier and ``valid_from``; a price by item and
``valid_from``), so loading the same file again writes nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from yigongti.core.rule_fixtures import LoadResult, RuleFixture, parse_date, upsert, upsert_by_code
from yigongti.registry.choices import Tier

from .choices import DrugClass
from .errors import CatalogueInvalid
from .models import ContractPrice, FormularyEntry, Medicine, Supplier

CATALOGUE_KIND = "medicines.catalogue"
MEDICINE_TEXT = ("generic_name", "dosage_form", "strength", "pack", "unit")
MEDICINE_OPTIONAL = ("national_code", "name_en", "category", "atc")


def _text(entry: dict[str, Any], name: str, key: str, *, required: bool = True) -> str:
    value = entry.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str | int):
        raise CatalogueInvalid(key=f"{key}.{name}", reason=_("应为文本"))
    value = str(value).strip()
    if required and not value:
        raise CatalogueInvalid(key=f"{key}.{name}", reason=_("必填"))
    return value


def _date(value: Any, key: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return parse_date(value)
    except (TypeError, ValueError):
        raise CatalogueInvalid(key=key, reason=_("日期格式应为 YYYY-MM-DD：%(value)s") % {"value": value}) from None


def _level(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CatalogueInvalid(key=key, reason=_("应为非负整数：%(value)s") % {"value": value})
    return value


def _price(value: Any, key: str) -> Decimal:
    try:
        price = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise CatalogueInvalid(key=key, reason=_("应为金额：%(value)s") % {"value": value}) from None
    if not price.is_finite() or price <= 0 or price != price.quantize(Decimal("0.0001")):
        raise CatalogueInvalid(key=key, reason=_("应为大于 0、最多 4 位小数的金额：%(value)s") % {"value": value})
    return price


def _rows(document: dict[str, Any], name: str) -> list[dict[str, Any]]:
    rows = document.get(name) or []
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise CatalogueInvalid(key=name, reason=_("应为列表"))
    return rows


def catalogue_load(fixture: RuleFixture) -> LoadResult:
    """Store the suppliers, items, tier lists and prices of the catalogue file."""
    try:
        return _load(fixture.document)
    except CatalogueInvalid as exc:
        raise fixture.invalid(str(exc)) from None


def _load(document: dict[str, Any]) -> LoadResult:
    result = LoadResult()
    start = _date(document.get("valid_from"), "valid_from")
    if start is None:
        raise CatalogueInvalid(key="valid_from", reason=_("必填"))
    suppliers: dict[str, Supplier] = {}
    for index, entry in enumerate(_rows(document, "suppliers")):
        key = f"suppliers[{index}]"
        code = _text(entry, "code", key)
        if code in suppliers:
            raise CatalogueInvalid(key=f"{key}.code", reason=_("重复的企业编码 %(code)s") % {"code": code})
        supplier_values = {"name": _text(entry, "name", key), "name_en": _text(entry, "name_en", key, required=False),
                  "licence": _text(entry, "licence", key, required=False),
                  "phone": _text(entry, "phone", key, required=False),
                  "valid_from": _date(entry.get("valid_from"), f"{key}.valid_from") or start,
                  "valid_to": _date(entry.get("valid_to"), f"{key}.valid_to")}
        result.add(upsert_by_code(Supplier, code=code, values=supplier_values), code)
        suppliers[code] = Supplier.objects.get(code=code)
    seen: set[str] = set()
    for index, entry in enumerate(_rows(document, "medicines")):
        key = f"medicines[{index}]"
        code = _text(entry, "code", key)
        if code in seen:
            raise CatalogueInvalid(key=f"{key}.code", reason=_("重复的药品编码 %(code)s") % {"code": code})
        seen.add(code)
        drug_class = _text(entry, "drug_class", key)
        if drug_class not in DrugClass.values:
            raise CatalogueInvalid(key=f"{key}.drug_class",
                                   reason=_("应为 %(values)s") % {"values": " / ".join(DrugClass.values)})
        essential = entry.get("essential", True)
        if not isinstance(essential, bool):
            raise CatalogueInvalid(key=f"{key}.essential", reason=_("应为 %(values)s") % {"values": "true / false"})
        valid_from = _date(entry.get("valid_from"), f"{key}.valid_from") or start
        values: dict[str, Any] = {name: _text(entry, name, key) for name in MEDICINE_TEXT}
        values.update({name: _text(entry, name, key, required=False) for name in MEDICINE_OPTIONAL})
        values.update({"drug_class": drug_class, "essential": essential, "valid_from": valid_from,
                       "valid_to": _date(entry.get("valid_to"), f"{key}.valid_to")})
        result.add(upsert_by_code(Medicine, code=code, values=values), code)
        medicine = Medicine.objects.get(code=code)
        tiers = entry.get("tiers") or {}
        if not isinstance(tiers, dict):
            raise CatalogueInvalid(key=f"{key}.tiers", reason=_("应为 {层级: [补货线, 目标库存]}"))
        for tier, levels in tiers.items():
            tier_key = f"{key}.tiers.{tier}"
            if tier not in Tier.values:
                raise CatalogueInvalid(key=tier_key,
                                       reason=_("层级应为 %(values)s") % {"values": " / ".join(Tier.values)})
            if not isinstance(levels, list) or len(levels) != 2:
                raise CatalogueInvalid(key=tier_key, reason=_("应为 [补货线, 目标库存]"))
            reorder, target = _level(levels[0], f"{tier_key}[0]"), _level(levels[1], f"{tier_key}[1]")
            if target < reorder:
                raise CatalogueInvalid(key=tier_key, reason=_("目标库存不能低于补货线"))
            result.add(upsert(FormularyEntry, lookup={"medicine": medicine, "tier": tier, "valid_from": valid_from},
                              values={"reorder_level": reorder, "target_level": target, "valid_to": None}))
        for p_index, price in enumerate(_rows(entry, "prices")):
            p_key = f"{key}.prices[{p_index}]"
            supplier_code = _text(price, "supplier", p_key)
            if supplier_code not in suppliers:
                raise CatalogueInvalid(key=f"{p_key}.supplier",
                                       reason=_("未登记的配送企业 %(code)s") % {"code": supplier_code})
            price_from = _date(price.get("valid_from"), f"{p_key}.valid_from") or valid_from
            result.add(upsert(ContractPrice, lookup={"medicine": medicine, "valid_from": price_from}, values={
                "supplier": suppliers[supplier_code],
                "unit_price": _price(price.get("unit_price"), f"{p_key}.unit_price"),
                "contract": _text(price, "contract", p_key, required=False),
                "valid_to": _date(price.get("valid_to"), f"{p_key}.valid_to")}))
    return result


LOADERS = {CATALOGUE_KIND: catalogue_load}
