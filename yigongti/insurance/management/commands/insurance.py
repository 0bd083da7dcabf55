"""``ygt insurance adjudicate CASE.json [--policy FILE]`` — a settlement with its explanation, no database.

Reads one case (a JSON object: ``date``, ``kind``, ``level``, ``in_county``, ``costs`` by category,
optional ``county``, ``outside_catalogue``, ``covered``/``reason``, ``aid_category``, ``ytd``; ``-``
reads standard input), picks the shipped policy in force for its date and county (read from
``yigongti/insurance/fixtures/policies/*.yaml``) or the one of ``--policy FILE``, and prints the
settlement as JSON. Bad input is one line on stderr and exit 2. It never opens the database, so
it works before ``ygt migrate``.
"""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from yigongti.insurance.adjudication import adjudicate, case_from_mapping
from yigongti.insurance.policy import policy_for, policy_from_file, shipped_policies


class Command(BaseCommand):
    help = "ygt insurance adjudicate CASE.json [--policy FILE] — a settlement with its explanation (JSON)"
    requires_system_checks: list[str] = []  # a pure computation: no checks, no database

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        adjudicate_ = sub.add_parser("adjudicate", help=_("按医保政策计算一次就诊的结算（JSON），无需数据库"))
        adjudicate_.add_argument("case", metavar="CASE.json", help=_("病例 JSON 文件（- 表示标准输入）"))
        adjudicate_.add_argument("--policy", metavar="FILE",
                                 help=_("医保政策 YAML 文件（默认：按日期和地区选用内置政策）"))

    def handle(self, *args: Any, **options: Any) -> None:
        case = case_from_mapping(_read_json(options["case"]))
        if options.get("policy"):
            policies = [policy_from_file(options["policy"])]
        else:
            policies = shipped_policies()
        policy = policy_for(policies, county=case.county, on=case.date)
        settlement = adjudicate(case, policy)
        self.stdout.write(json.dumps(settlement.as_dict(), ensure_ascii=False, indent=1))


def _read_json(name: str) -> Any:
    try:
        text = sys.stdin.read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(_("无法读取 %(file)s：%(reason)s") % {"file": name, "reason": exc.strerror or exc}) from None
    except UnicodeDecodeError:
        raise CommandError(_("%(file)s 不是 UTF-8 编码的文本") % {"file": name}) from None
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise CommandError(_("%(file)s 不是有效的 JSON（第 %(line)s 行第 %(column)s 列：%(reason)s）") % {
            "file": name, "line": exc.lineno, "column": exc.colno, "reason": exc.msg}) from None
