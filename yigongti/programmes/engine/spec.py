"""A programme's YAML document → :class:`~.types.ProgrammeSpec` (strict: every problem names the file
and the key), and :func:`fixture_specs` — the specs of ``programmes/fixtures/*.yaml`` without a
database (``ygt plan``, tests). The schema is documented in docs/rules.md ("Programmes") and in the
header of each fixture.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NoReturn, cast

import yaml
from django.utils.translation import gettext_lazy as _

from yigongti.core.errors import DomainError

from .compiled import (
    AgeItem,
    AnnualItem,
    Classifier,
    ClassRule,
    Condition,
    DeliveryAnchor,
    Dose,
    Escalation,
    IntervalRules,
    Offset,
    Phase,
    Schedule,
    Window,
)
from .types import Choice, Eligibility, FieldSpec, ItemSpec, ProgrammeSpec, Text

KIND = "programmes.programme"
FIXTURES_DIR = Path(__file__).resolve().parent.parent / "fixtures"
ANCHORS = ("birth", "lmp", "diagnosis", "enrolment", "notice")
FIELD_TYPES = ("integer", "decimal", "choice", "multichoice", "boolean", "text", "date")
ENROL = ("at_registration", "at_age", "manual")
OPS = ("lt", "le", "gt", "ge", "eq", "ne", "in", "any", "none", "is_true", "not_true")
# Form fields with a column of their own on Visit; every other field goes to Visit.data[code].
VISIT_COLUMNS = frozenset({"sbp", "dbp", "heart_rate", "fpg", "weight_kg", "height_cm", "bmi", "waist_cm",
                           "hb", "adherence", "symptoms", "danger_signs", "risk_grade", "lot_no"})
NOTE = "note"  # allowed on every mapping: a human remark (*to confirm*), ignored by the engine


class SpecInvalid(DomainError):
    """A programme definition that cannot be used; names the file and the key."""

    code = "programme_spec_invalid"
    status = 422
    message = _("项目定义 %(file)s 中 %(key)s 有误：%(reason)s")


class _Reader:
    """Walks the document keeping the dotted path of where it is, for the error message."""

    def __init__(self, name: str) -> None:
        self.name = name or "?"

    def fail(self, key: str, reason: Any) -> NoReturn:
        raise SpecInvalid(file=self.name, key=key or "(top)", reason=reason)

    def mapping(self, value: Any, key: str, allowed: Sequence[str], required: Sequence[str] = ()) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            self.fail(key, _("应为映射（键: 值）"))
        unknown = [str(k) for k in value if k not in allowed and k != NOTE]
        if unknown:
            self.fail(key, _("未知的键 %(keys)s（允许：%(allowed)s）") % {
                "keys": ", ".join(unknown), "allowed": ", ".join(allowed)})
        for name in required:
            if value.get(name) is None:
                self.fail(f"{key}.{name}" if key else name, _("缺少此项"))
        return dict(value)

    def seq(self, value: Any, key: str) -> list[Any]:
        if not isinstance(value, list):
            self.fail(key, _("应为列表"))
        return value

    def text(self, value: Any, key: str) -> Text:
        data = self.mapping(value, key, ("zh-hans", "en"), ("zh-hans", "en"))
        return Text(zh=str(data["zh-hans"]), en=str(data["en"]))

    def string(self, value: Any, key: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(key, _("应为非空文字"))
        return value.strip()

    def integer(self, value: Any, key: str, *, minimum: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(key, _("应为整数"))
        if minimum is not None and value < minimum:
            self.fail(key, _("不应小于 %(min)s") % {"min": minimum})
        return value

    def decimal(self, value: Any, key: str) -> Decimal:
        if isinstance(value, bool):
            self.fail(key, _("应为数值"))
        try:
            return Decimal(str(value))
        except InvalidOperation:
            self.fail(key, _("应为数值"))

    def date(self, value: Any, key: str) -> dt.date:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.fail(key, _("应为日期 YYYY-MM-DD"))

    def choice(self, value: Any, key: str, choices: Sequence[str]) -> str:
        if value not in choices:
            self.fail(key, _("应为 %(choices)s 之一") % {"choices": ", ".join(choices)})
        return str(value)

    def offset(self, value: Any, key: str) -> Offset:
        data = self.mapping(value, key, ("years", "months", "weeks", "days"))
        if not data:
            self.fail(key, _("应至少有 years/months/weeks/days 之一"))
        parts = {name: self.integer(data.get(name, 0), f"{key}.{name}")
                 for name in ("years", "months", "weeks", "days")}
        return Offset(months=parts["years"] * 12 + parts["months"], days=parts["weeks"] * 7 + parts["days"])

    def window(self, value: Any, key: str) -> Window:
        """``[before, after]`` in days around the due date."""
        pair = self.seq(value, key)
        if len(pair) != 2:
            self.fail(key, _("应为 [提前天数, 延后天数]"))
        # Both >= 0: the window always contains the due date.
        return Window(before=self.integer(pair[0], f"{key}[0]", minimum=0),
                      after=self.integer(pair[1], f"{key}[1]", minimum=0))


def document_json(document: Mapping[str, Any]) -> dict[str, Any]:
    """The document with dates as ISO strings (what ProgrammeVersion.definition stores)."""

    def convert(value: Any) -> Any:
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, Mapping):
            return {str(k): convert(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [convert(v) for v in value]
        return value

    return cast(dict[str, Any], convert(document))


def document_digest(document: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of the document (sorted keys, no spaces)."""
    canonical = json.dumps(document_json(document), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


TOP_KEYS = ("kind", "code", "name", "sort_order", "source", "effective_from", "effective_to", "anchor",
            "eligibility", "variants", "items", "fields", "schedule", "classification")


def spec_from_document(document: Mapping[str, Any], *, name: str = "") -> ProgrammeSpec:
    """Parse and check one programme version; raise :class:`SpecInvalid` naming file and key."""
    r = _Reader(name)
    doc = r.mapping(document, "", TOP_KEYS, ("kind", "code", "name", "source", "effective_from", "anchor",
                                              "eligibility", "items", "schedule"))
    if doc["kind"] != KIND:
        r.fail("kind", _("应为 %(kind)s") % {"kind": KIND})
    code = r.string(doc["code"], "code")
    effective_from = r.date(doc["effective_from"], "effective_from")
    effective_to = r.date(doc["effective_to"], "effective_to") if doc.get("effective_to") is not None else None
    if effective_to is not None and effective_to < effective_from:
        r.fail("effective_to", _("早于 effective_from"))
    fields = _fields(r, doc.get("fields") or {})
    variants = _variants(r, doc.get("variants") or {})
    schedule, generated = _schedule(r, doc["schedule"], variants)
    items = _items(r, doc["items"], fields, generated)
    _check_schedule_items(r, schedule, items)
    classifier = _classifier(r, doc["classification"], items, fields) if doc.get("classification") else None
    return ProgrammeSpec(
        code=code,
        name=r.text(doc["name"], "name"),
        source=r.string(doc["source"], "source"),
        effective_from=effective_from,
        effective_to=effective_to,
        anchor=cast(Any, r.choice(doc["anchor"], "anchor", ANCHORS)),
        eligibility=_eligibility(r, doc["eligibility"]),
        items=items,
        fields=fields,
        variants=variants,
        document=document_json(doc),
        schedule=schedule,
        classifier=classifier,
        sort_order=r.integer(doc.get("sort_order", 0), "sort_order", minimum=0),
        name_of_file=name,
    )


def _eligibility(r: _Reader, value: Any) -> Eligibility:
    key = "eligibility"
    data = r.mapping(value, key, ("enrol", "min_age_years", "max_age_years", "sex", "diagnoses",
                                  "requires_confirmation"), ("enrol",))

    def age(name: str) -> int | None:
        return r.integer(data[name], f"{key}.{name}", minimum=0) if data.get(name) is not None else None

    sex = r.choice(data["sex"], f"{key}.sex", ("M", "F")) if data.get("sex") is not None else None
    diagnoses = tuple(r.string(d, f"{key}.diagnoses[{i}]") for i, d in enumerate(r.seq(data.get("diagnoses", []),
                                                                                         f"{key}.diagnoses")))
    return Eligibility(enrol=cast(Any, r.choice(data["enrol"], f"{key}.enrol", ENROL)),
                       min_age_years=age("min_age_years"), max_age_years=age("max_age_years"),
                       sex=cast(Any, sex), diagnoses=diagnoses,
                       requires_confirmation=bool(data.get("requires_confirmation", False)))


def _variants(r: _Reader, value: Any) -> dict[str, tuple[str, ...]]:
    data = r.mapping(value, "variants", tuple(value) if isinstance(value, Mapping) else ())
    out: dict[str, tuple[str, ...]] = {}
    for group, options in data.items():
        key = f"variants.{group}"
        opts = tuple(r.string(o, f"{key}[{i}]") for i, o in enumerate(r.seq(options, key)))
        if not opts or len(set(opts)) != len(opts):
            r.fail(key, _("应为不重复的非空列表（第一项为默认）"))
        out[str(group)] = opts
    return out


def _fields(r: _Reader, value: Any) -> dict[str, FieldSpec]:
    data = r.mapping(value, "fields", tuple(value) if isinstance(value, Mapping) else ())
    out: dict[str, FieldSpec] = {}
    for code, raw in data.items():
        key = f"fields.{code}"
        f = r.mapping(raw, key, ("label", "type", "unit", "required", "min", "max", "decimals", "choices",
                                 "unit_hints"), ("label", "type"))
        ftype = r.choice(f["type"], f"{key}.type", FIELD_TYPES)
        choices: list[Choice] = []
        for i, c in enumerate(r.seq(f.get("choices", []), f"{key}.choices")):
            cm = r.mapping(c, f"{key}.choices[{i}]", ("code", "label"), ("code", "label"))
            choices.append(Choice(code=r.string(cm["code"], f"{key}.choices[{i}].code"),
                                  label=r.text(cm["label"], f"{key}.choices[{i}].label")))
        if ftype in ("choice", "multichoice") and not choices:
            r.fail(f"{key}.choices", _("选择题须列出选项"))
        hints: list[tuple[Decimal, Text]] = []
        for i, h in enumerate(r.seq(f.get("unit_hints", []), f"{key}.unit_hints")):
            hm = r.mapping(h, f"{key}.unit_hints[{i}]", ("factor", "label"), ("factor", "label"))
            hints.append((r.decimal(hm["factor"], f"{key}.unit_hints[{i}].factor"),
                          r.text(hm["label"], f"{key}.unit_hints[{i}].label")))
        low = r.decimal(f["min"], f"{key}.min") if f.get("min") is not None else None
        high = r.decimal(f["max"], f"{key}.max") if f.get("max") is not None else None
        if low is not None and high is not None and low > high:
            r.fail(f"{key}.min", _("大于 max"))
        out[str(code)] = FieldSpec(
            code=str(code), label=r.text(f["label"], f"{key}.label"), type=cast(Any, ftype),
            unit=str(f.get("unit", "")), required=bool(f.get("required", False)), min=low, max=high,
            decimals=r.integer(f.get("decimals", 0), f"{key}.decimals", minimum=0), choices=tuple(choices),
            column=str(code) if code in VISIT_COLUMNS else None, unit_hints=tuple(hints))
    return out


def _items(r: _Reader, value: Any, fields: Mapping[str, FieldSpec],
           generated: Sequence[ItemSpec]) -> dict[str, ItemSpec]:
    out: dict[str, ItemSpec] = {}
    for i, raw in enumerate(r.seq(value, "items")):
        key = f"items[{i}]"
        m = r.mapping(raw, key, ("code", "label", "form"), ("code", "label"))
        code = r.string(m["code"], f"{key}.code")
        if code in out:
            r.fail(f"{key}.code", _("重复的服务项 %(code)s") % {"code": code})
        form = tuple(r.string(f, f"{key}.form[{j}]") for j, f in enumerate(r.seq(m.get("form", []), f"{key}.form")))
        for j, f in enumerate(form):
            if f not in fields:
                r.fail(f"{key}.form[{j}]", _("未在 fields 中定义的字段 %(code)s") % {"code": f})
        out[code] = ItemSpec(code=code, label=r.text(m["label"], f"{key}.label"), form=form)
    for item in generated:
        if item.code in out:
            r.fail("items", _("服务项 %(code)s 已由疫苗程序生成，不应重复列出") % {"code": item.code})
        for f in item.form:
            if f not in fields:
                r.fail("schedule.form", _("未在 fields 中定义的字段 %(code)s") % {"code": f})
        out[item.code] = item
    return out


def _schedule(r: _Reader, value: Any, variants: Mapping[str, tuple[str, ...]]) -> tuple[Schedule, list[ItemSpec]]:
    key = "schedule"
    s = r.mapping(value, key, ("followup", "ages", "annual", "anchors", "vaccines", "form"))
    interval = _interval(r, s["followup"]) if s.get("followup") is not None else None
    ages = tuple(_age_item(r, a, f"{key}.ages[{i}]") for i, a in enumerate(r.seq(s.get("ages", []), f"{key}.ages")))
    annual: list[AnnualItem] = []
    for i, a in enumerate(r.seq(s.get("annual", []), f"{key}.annual")):
        m = r.mapping(a, f"{key}.annual[{i}]", ("item", "start"), ("item",))
        annual.append(AnnualItem(item=r.string(m["item"], f"{key}.annual[{i}].item"),
                                 start=r.offset(m["start"], f"{key}.annual[{i}].start") if m.get("start")
                                 else Offset()))
    anchors: list[DeliveryAnchor] = []
    for i, a in enumerate(r.seq(s.get("anchors", []), f"{key}.anchors")):
        k = f"{key}.anchors[{i}]"
        m = r.mapping(a, k, ("name", "from_item", "default"), ("name", "from_item", "default"))
        anchors.append(DeliveryAnchor(name=r.string(m["name"], f"{k}.name"),
                                      from_item=r.string(m["from_item"], f"{k}.from_item"),
                                      default=r.offset(m["default"], f"{k}.default")))
    names = {a.name for a in anchors}
    for i, a in enumerate(ages):
        if a.anchor and a.anchor not in names:
            r.fail(f"{key}.ages[{i}].anchor", _("未在 schedule.anchors 中定义"))
    form = tuple(r.string(f, f"{key}.form[{j}]") for j, f in enumerate(r.seq(s.get("form", []), f"{key}.form")))
    doses, generated = _vaccines(r, s.get("vaccines", []), variants, form)
    kind = "interval" if interval else "doses" if doses else "age" if ages else "annual"
    if not (interval or ages or annual or doses):
        r.fail(key, _("没有任何服务项"))
    return Schedule(type=cast(Any, kind), interval=interval, ages=ages, annual=tuple(annual), doses=doses,
                    anchors=tuple(anchors)), generated


def _interval(r: _Reader, value: Any) -> IntervalRules:
    key = "schedule.followup"
    m = r.mapping(value, key, ("item", "first_window", "phases", "end"), ("item", "first_window", "phases"))
    phases: list[Phase] = []
    for i, p in enumerate(r.seq(m["phases"], f"{key}.phases")):
        k = f"{key}.phases[{i}]"
        pm = r.mapping(p, k, ("until", "every", "window"), ("every", "window"))
        phases.append(Phase(until=r.offset(pm["until"], f"{k}.until") if pm.get("until") else None,
                            every=r.offset(pm["every"], f"{k}.every"), window=r.window(pm["window"], f"{k}.window")))
    if not phases:
        r.fail(f"{key}.phases", _("至少需要一个阶段"))
    if any(p.until is None for p in phases[:-1]):
        r.fail(f"{key}.phases", _("只有最后一个阶段可以没有 until"))
    return IntervalRules(item=r.string(m["item"], f"{key}.item"),
                         first=r.window(m["first_window"], f"{key}.first_window"),
                         phases=tuple(phases), end=r.offset(m["end"], f"{key}.end") if m.get("end") else None)


def _age_item(r: _Reader, value: Any, key: str) -> AgeItem:
    m = r.mapping(value, key, ("item", "at", "window", "window_from", "window_to", "anchor", "drop_after"),
                  ("item", "at"))
    if m.get("window") is None and (m.get("window_from") is None or m.get("window_to") is None):
        r.fail(key, _("需要 window，或 window_from 与 window_to"))
    item = AgeItem(item=r.string(m["item"], f"{key}.item"), at=r.offset(m["at"], f"{key}.at"),
                   window=r.window(m["window"], f"{key}.window") if m.get("window") is not None else Window(),
                   window_from=r.offset(m["window_from"], f"{key}.window_from") if m.get("window_from") else None,
                   window_to=r.offset(m["window_to"], f"{key}.window_to") if m.get("window_to") else None,
                   anchor=str(m.get("anchor") or ""),
                   drop_after=r.offset(m["drop_after"], f"{key}.drop_after") if m.get("drop_after") else None)
    base = dt.date(2000, 1, 1)
    if item.window_from and item.window_to and not (
            item.window_from.after(base) <= item.at.after(base) <= item.window_to.after(base)):
        r.fail(key, _("窗口应包含应服务日期"))
    return item


def _vaccines(r: _Reader, value: Any, variants: Mapping[str, tuple[str, ...]],
              form: tuple[str, ...]) -> tuple[tuple[Dose, ...], list[ItemSpec]]:
    doses: list[Dose] = []
    generated: list[ItemSpec] = []
    options = {o for opts in variants.values() for o in opts}
    for i, v in enumerate(r.seq(value, "schedule.vaccines")):
        key = f"schedule.vaccines[{i}]"
        m = r.mapping(v, key, ("series", "label", "option", "window", "catch_up_until", "doses"),
                      ("series", "label", "window", "doses"))
        series = r.string(m["series"], f"{key}.series")
        label = r.text(m["label"], f"{key}.label")
        option = str(m.get("option") or "")
        if option and option not in options:
            r.fail(f"{key}.option", _("未在 variants 中定义的方案 %(option)s") % {"option": option})
        window = r.window(m["window"], f"{key}.window")
        limit = r.offset(m["catch_up_until"], f"{key}.catch_up_until") if m.get("catch_up_until") else None
        for j, d in enumerate(r.seq(m["doses"], f"{key}.doses")):
            k = f"{key}.doses[{j}]"
            dm = r.mapping(d, k, ("item", "at", "min_age", "min_interval", "window", "catch_up_until"), ("item", "at"))
            at = r.offset(dm["at"], f"{k}.at")
            item = r.string(dm["item"], f"{k}.item")
            doses.append(Dose(
                item=item, series=series, at=at,
                min_age=r.offset(dm["min_age"], f"{k}.min_age") if dm.get("min_age") else at,
                min_interval=r.offset(dm["min_interval"], f"{k}.min_interval") if dm.get("min_interval") else None,
                window=r.window(dm["window"], f"{k}.window") if dm.get("window") is not None else window,
                catch_up_until=r.offset(dm["catch_up_until"], f"{k}.catch_up_until") if dm.get("catch_up_until")
                else limit,
                option=option))
            number = item.rsplit("-", 1)[-1]
            dose_label = Text(zh=f"{label.zh} 第{number}剂", en=f"{label.en} dose {number}")
            generated.append(ItemSpec(code=item, label=dose_label, form=form))
    seen: set[str] = set()
    for d in doses:
        if d.item in seen:
            r.fail("schedule.vaccines", _("重复的剂次 %(code)s") % {"code": d.item})
        seen.add(d.item)
    return tuple(doses), generated


def _check_schedule_items(r: _Reader, schedule: Schedule, items: Mapping[str, ItemSpec]) -> None:
    codes = [a.item for a in schedule.ages] + [a.item for a in schedule.annual]
    codes += [a.from_item for a in schedule.anchors]
    if schedule.interval:
        codes.append(schedule.interval.item)
    for code in codes:
        if code not in items:
            r.fail("schedule", _("服务项 %(code)s 未在 items 中定义") % {"code": code})


def _condition(r: _Reader, value: Any, key: str, fields: Mapping[str, FieldSpec]) -> Condition:
    m = r.mapping(value, key, ("field", "op", "value"), ("field", "op"))
    code = r.string(m["field"], f"{key}.field")
    if code not in fields:
        r.fail(f"{key}.field", _("未在 fields 中定义的字段 %(code)s") % {"code": code})
    op = r.choice(m["op"], f"{key}.op", OPS)
    raw = m.get("value")
    val: Decimal | str | tuple[str, ...] | None
    if op in ("lt", "le", "gt", "ge"):
        val = r.decimal(raw, f"{key}.value")
    elif op == "in":
        val = tuple(str(x) for x in r.seq(raw, f"{key}.value"))
    elif op in ("eq", "ne"):
        if raw is None:
            r.fail(f"{key}.value", _("缺少此项"))
        val = str(raw)
    else:
        val = None
    return Condition(field=code, op=cast(Any, op), value=val)


def _classifier(r: _Reader, value: Any, items: Mapping[str, ItemSpec], fields: Mapping[str, FieldSpec]) -> Classifier:
    key = "classification"
    m = r.mapping(value, key, ("items", "rules", "escalations"), ("items", "rules"))
    for_items = tuple(r.string(x, f"{key}.items[{i}]") for i, x in enumerate(r.seq(m["items"], f"{key}.items")))
    for i, code in enumerate(for_items):
        if code not in items:
            r.fail(f"{key}.items[{i}]", _("服务项 %(code)s 未在 items 中定义") % {"code": code})
    rules: list[ClassRule] = []
    for i, raw in enumerate(r.seq(m["rules"], f"{key}.rules")):
        k = f"{key}.rules[{i}]"
        rm = r.mapping(raw, k, ("code", "label", "any", "all", "otherwise", "next", "window", "refer", "reason"),
                       ("code", "label"))
        anys = tuple(_condition(r, c, f"{k}.any[{j}]", fields)
                     for j, c in enumerate(r.seq(rm.get("any", []), f"{k}.any")))
        alls = tuple(_condition(r, c, f"{k}.all[{j}]", fields)
                     for j, c in enumerate(r.seq(rm.get("all", []), f"{k}.all")))
        otherwise = bool(rm.get("otherwise", False))
        if not (anys or alls or otherwise):
            r.fail(k, _("需要 any、all 或 otherwise"))
        rules.append(ClassRule(code=r.string(rm["code"], f"{k}.code"), label=r.text(rm["label"], f"{k}.label"),
                               any=anys, all=alls, otherwise=otherwise,
                               next=r.offset(rm["next"], f"{k}.next") if rm.get("next") else None,
                               window=r.window(rm["window"], f"{k}.window") if rm.get("window") is not None
                               else Window(), refer=bool(rm.get("refer", False)),
                               reason=r.text(rm["reason"], f"{k}.reason") if rm.get("reason") else None))
    if not rules or not rules[-1].otherwise:
        r.fail(f"{key}.rules", _("最后一条规则应为 otherwise: true"))
    codes = {x.code for x in rules}
    escalations: list[Escalation] = []
    for i, raw in enumerate(r.seq(m.get("escalations", []), f"{key}.escalations")):
        k = f"{key}.escalations[{i}]"
        em = r.mapping(raw, k, ("code", "previous", "to", "reason"), ("code", "previous", "to", "reason"))
        esc = Escalation(code=r.string(em["code"], f"{k}.code"),
                         previous=tuple(str(x) for x in r.seq(em["previous"], f"{k}.previous")),
                         to=r.string(em["to"], f"{k}.to"), reason=r.text(em["reason"], f"{k}.reason"))
        for code in (esc.code, esc.to, *esc.previous):
            if code not in codes:
                r.fail(k, _("未定义的分类 %(code)s") % {"code": code})
        escalations.append(esc)
    return Classifier(items=for_items, rules=tuple(rules), escalations=tuple(escalations))


# ---------------------------------------------------------------- the fixtures, without a database

_cache: dict[tuple[str, float], ProgrammeSpec | None] = {}


def fixture_documents() -> list[tuple[str, dict[str, Any]]]:
    """``(name, document)`` of every ``programmes.programme`` fixture file, sorted by file name."""
    found: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(FIXTURES_DIR.glob("*.yaml")):
        name = f"programmes/fixtures/{path.name}"
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise SpecInvalid(file=name, key="(yaml)", reason=str(exc).splitlines()[0]) from exc
        if isinstance(document, dict) and document.get("kind") == KIND:
            found.append((name, document))
    return found


def _fixture_spec(path: Path) -> ProgrammeSpec | None:
    key = (str(path), path.stat().st_mtime)
    if key not in _cache:
        name = f"programmes/fixtures/{path.name}"
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise SpecInvalid(file=name, key="(yaml)", reason=str(exc).splitlines()[0]) from exc
        is_programme = isinstance(document, dict) and document.get("kind") == KIND
        _cache[key] = spec_from_document(document, name=name) if is_programme else None
    return _cache[key]


def effective(spec: ProgrammeSpec, on: dt.date) -> bool:
    """Whether ``spec`` is in force on ``on`` (effective_to inclusive)."""
    return spec.effective_from <= on and (spec.effective_to is None or on <= spec.effective_to)


def fixture_specs(on: dt.date | None = None) -> dict[str, ProgrammeSpec]:
    """The spec of each programme in the fixtures: the version in force on ``on`` (default: the latest).

    Parsed once per file (cached by path and modification time); sorted by ``sort_order``.
    """
    best: dict[str, ProgrammeSpec] = {}
    for path in sorted(FIXTURES_DIR.glob("*.yaml")):
        spec = _fixture_spec(path)
        if spec is None or (on is not None and not effective(spec, on)):
            continue
        current = best.get(spec.code)
        if current is None or spec.effective_from > current.effective_from:
            best[spec.code] = spec
    return dict(sorted(best.items(), key=lambda kv: (kv[1].sort_order, kv[0])))
