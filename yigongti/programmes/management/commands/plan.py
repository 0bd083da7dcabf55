"""``ygt plan`` — the visit/dose plan of one person, from the fixtures, without a database.

    ygt plan --programme immunisation --start 2025-03-01 --history doses.csv --as-of 2025-09-01
    ygt plan --programme hypertension --start 2025-01-06 --format json

The history CSV has a header ``item,date`` plus optional measurement columns (``sbp``, ``dbp``,
``fpg`` …, empty allowed) and ``classification``; UTF-8 with or without BOM, or GB18030.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from yigongti.core.clock import today
from yigongti.core.errors import RowError
from yigongti.programmes.engine import fixture_specs, plan
from yigongti.programmes.engine.fields import parse_value
from yigongti.programmes.engine.types import PlanRow, ProgrammeSpec, Service, Value

COLUMNS = ("item", "due", "window_start", "window_end", "status")
FORMATS = ("table", "json", "csv")
CLASSIFICATION = "classification"


def _date(text: str, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip().replace("/", "-"))
    except ValueError:
        raise CommandError(_("%(what)s 不是有效日期（应为 YYYY-MM-DD）：%(value)s") % {
            "what": what, "value": text}) from None


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise CommandError(_("历史文件的编码无法识别（应为 UTF-8 或 GB18030）。")) from None


def read_history(path: Path, spec: ProgrammeSpec) -> list[Service]:
    """The services of a history CSV; :class:`CommandError` naming the first bad row, column and reason."""
    try:
        text = _decode(path.read_bytes())
    except OSError as exc:
        raise CommandError(_("无法读取历史文件 %(file)s：%(reason)s") % {"file": path, "reason": exc.strerror}) from exc
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    for required in ("item", "date"):
        if required not in header:
            raise CommandError(str(RowError(1, required, _("缺少此列（表头应为 item,date,…）"))))
    reader.fieldnames = header
    services: list[Service] = []
    for number, row in enumerate(reader, start=2):
        item = (row.get("item") or "").strip()
        if item not in spec.items:
            raise CommandError(str(RowError(number, "item", _("项目 %(programme)s 没有服务项“%(item)s”") % {
                "programme": spec.code, "item": item})))
        raw_date = (row.get("date") or "").strip()
        try:
            day = dt.date.fromisoformat(raw_date.replace("/", "-"))
        except ValueError:
            raise CommandError(str(RowError(number, "date", _("不是有效日期（应为 YYYY-MM-DD）：%(value)s") % {
                "value": raw_date}))) from None
        values: dict[str, Value] = {}
        for column, raw in row.items():
            text_value = (raw or "").strip() if isinstance(raw, str) else ""
            if column in ("item", "date", CLASSIFICATION) or not text_value:
                continue
            if column is None or column not in spec.fields:
                raise CommandError(str(RowError(number, str(column or "?"), _("未知的列"))))
            if column not in spec.items[item].form:
                raise CommandError(str(RowError(number, column, _("服务项 %(item)s 不记录此项") % {"item": item})))
            try:
                values[column] = parse_value(spec.fields[column], text_value)
            except ValueError as exc:
                raise CommandError(str(RowError(number, column, str(exc)))) from None
        services.append(Service(item=item, date=day, values=values,
                                classification=(row.get(CLASSIFICATION) or "").strip()))
    return services


def render(rows: list[PlanRow], fmt: str) -> str:
    records = [{"item": r.item, "due": r.due.isoformat(), "window_start": r.window_start.isoformat(),
                "window_end": r.window_end.isoformat(), "status": r.status} for r in rows]
    if fmt == "json":
        return json.dumps(records, ensure_ascii=False, indent=2)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
        return out.getvalue().rstrip("\n")
    widths = {c: max([len(c), *(len(rec[c]) for rec in records)]) for c in COLUMNS}
    lines = ["  ".join(c.ljust(widths[c]) for c in COLUMNS).rstrip()]
    lines += ["  ".join(rec[c].ljust(widths[c]) for c in COLUMNS).rstrip() for rec in records]
    return "\n".join(lines)


class Command(BaseCommand):
    help = ("The plan of one person from the programme fixtures (no database): "
            "ygt plan --programme CODE --start DATE [--history FILE.csv] [--as-of DATE] [--format table|json|csv]")
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--programme", required=True, help="programme code, e.g. hypertension, immunisation")
        parser.add_argument("--start", required=True, help="the anchor date (birth, LMP, diagnosis …), YYYY-MM-DD")
        parser.add_argument("--history", help="CSV: item,date[,sbp,dbp,fpg,…]")
        parser.add_argument("--as-of", dest="as_of", help="the date statuses are computed at (default: today)")
        parser.add_argument("--format", default="table", help="table | json | csv")
        parser.add_argument("--variant", action="append", default=[], help="e.g. JE=JE-I or HepA=HepA-I (repeatable)")

    def handle(self, *args: Any, **options: Any) -> None:
        fmt = options["format"]
        if fmt not in FORMATS:
            raise CommandError(_("--format 应为 %(choices)s 之一") % {"choices": ", ".join(FORMATS)})
        start = _date(options["start"], "--start")
        as_of = _date(options["as_of"], "--as-of") if options.get("as_of") else today()
        code = options["programme"]
        specs = fixture_specs(as_of)
        if code not in specs:
            known = fixture_specs()
            if code in known:
                raise CommandError(_("项目 %(code)s 在 %(on)s 没有生效的规则版本。") % {
                    "code": code, "on": as_of.isoformat()})
            raise CommandError(_("未知的项目“%(code)s”，可选：%(codes)s") % {"code": code, "codes": ", ".join(known)})
        spec = specs[code]
        variant: dict[str, str] = {}
        for text in options["variant"]:
            group, sep, value = text.partition("=")
            if not sep or not group.strip() or not value.strip():
                raise CommandError(_("--variant 应为 组=方案，例如 JE=JE-I：%(value)s") % {"value": text})
            variant[group.strip()] = value.strip()
        history = read_history(Path(options["history"]), spec) if options.get("history") else []
        rows = plan(spec, anchor=start, history=history, as_of=as_of, variant=variant or None)
        self.stdout.write(render(rows, fmt))
