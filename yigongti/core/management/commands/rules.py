"""``ygt rules load`` — load every rule fixture of every app (see :mod:`yigongti.core.rule_fixtures`)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from yigongti.core.rule_fixtures import rules_load


class Command(BaseCommand):
    help = "Rule fixtures (programmes, indicators, policies, standards): ygt rules load [--kind KIND]"

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", metavar="load")
        load = sub.add_parser("load", help="load every */fixtures/*.yaml with a top-level kind: (idempotent)")
        load.add_argument("--kind", action="append", dest="kinds",
                          help="only fixtures of this kind (repeatable), e.g. registry.standards")

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("action") != "load":
            raise CommandError(_("用法：ygt rules load [--kind KIND]"))
        results = rules_load(kinds=options.get("kinds"))
        if not results:
            self.stdout.write(_("没有找到规则文件。"))
            return
        for fixture, result in results:
            self.stdout.write(
                _("%(file)s（%(kind)s）：新增 %(created)s，更新 %(updated)s，未变 %(unchanged)s") % {
                    "file": fixture.name, "kind": fixture.kind, "created": result.created,
                    "updated": result.updated, "unchanged": result.unchanged})
            for outcome in ("created", "updated"):
                for code in result.codes.get(outcome, []):
                    self.stdout.write(f"  {'+' if outcome == 'created' else '~'} {code}")
