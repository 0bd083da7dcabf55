"""``ygt programmes sync [--date D]`` — the nightly upkeep of the programmes.

Enrols residents who reached old age (elderly, TCM) and children not yet enrolled (child health,
immunisation), closes the child enrolments of those who reached 7, and extends the plans older
than a month; prints the counts. Idempotent: a second run on the same day changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from yigongti.core.clock import today
from yigongti.programmes.services import programmes_sync


class Command(BaseCommand):
    help = "ygt programmes sync [--date D] [--format text|json] — auto-enrol, close aged-out, extend plans"

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sync = sub.add_parser("sync", help=_("自动纳入、到龄结案、延展计划"))
        sync.add_argument("--date", help=_("按此日期执行 YYYY-MM-DD（默认今天）"))
        sync.add_argument("--format", choices=["text", "json"], default="text")

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("date"):
            try:
                on = dt.date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(_("日期无效（应为 YYYY-MM-DD）：%(value)s") % {"value": options["date"]}) from None
        else:
            on = today()
        result = programmes_sync(on=on)
        if options["format"] == "json":
            self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
            return
        self.stdout.write(_("项目维护 %(on)s") % {"on": on.isoformat()})
        for code, count in sorted(result.enrolled.items()):
            self.stdout.write(_("  新纳入 %(programme)s：%(count)s") % {"programme": code, "count": count})
        for code, count in sorted(result.closed.items()):
            self.stdout.write(_("  到龄结案 %(programme)s：%(count)s") % {"programme": code, "count": count})
        self.stdout.write(_("  重新生成计划：%(count)s") % {"count": result.replanned})
