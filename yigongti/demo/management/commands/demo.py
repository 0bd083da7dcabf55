"""``ygt demo [--scale small|county] [--seed N] [--no-serve] [--host H] [--port N] [--rebuild]``.

Migrates the database, loads the rule fixtures (``ygt rules load``), builds the synthetic county
with a progress line per demo module, prints the row counts, computes the indicators once
(``ygt analytics refresh --full``, when the ``analytics`` demo module is built) so that the
dashboards open with values, prints the demo logins, then serves (``ygt serve``). A database
that already holds the demo county is not built again; ``--rebuild``
wipes it first (see :func:`yigongti.demo.builder.database_reset`).
"""

from __future__ import annotations

import io
import os
import sys
from argparse import ArgumentParser
from typing import Any, TextIO

from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from yigongti.analytics.models import RefreshRun
from yigongti.analytics.refresh import refresh
from yigongti.core.errors import DomainError
from yigongti.demo.accounts import DEMO_LOGINS, DEMO_PASSWORD
from yigongti.demo.builder import (
    MODULE_LABELS,
    Observer,
    county_build,
    database_reset,
    demo_present,
    modules_selected,
)
from yigongti.demo.context import DEFAULT_SEED, SCALES


class _RichObserver(Observer):
    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {
            name: progress.add_task(str(MODULE_LABELS.get(name, name)), total=1, start=False)
            for name, _build in modules_selected()
        }
        self.current = ""

    def module_started(self, name: str) -> None:
        self.current = name
        self.progress.start_task(self.tasks[name])

    def step(self, label: str) -> None:
        base = str(MODULE_LABELS.get(self.current, self.current))
        self.progress.update(self.tasks[self.current], description=f"{base} · {label}")

    def module_finished(self, name: str, seconds: float) -> None:
        base = str(MODULE_LABELS.get(name, name))
        self.progress.update(self.tasks[name], completed=1, description=f"{base} ({seconds:.1f} s)")


def default_host() -> str:
    return os.environ.get("YGT_HOST", "127.0.0.1")


def default_port() -> int:
    return int(os.environ.get("YGT_PORT", "8000"))


class Command(BaseCommand):
    help = "Build a synthetic county (云溪县) into the database, then serve it: ygt demo [--scale small|county]"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--scale", choices=sorted(SCALES), default="small",
                            help="small (17 townships, ~143 villages) or county (25 townships, ~300 villages)")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="the same seed gives the same county")
        parser.add_argument("--no-serve", action="store_true", help="build, print the logins, and exit")
        parser.add_argument("--host", default=default_host(), help="address to serve on ($YGT_HOST)")
        parser.add_argument("--port", type=int, default=default_port(), help="port to serve on ($YGT_PORT)")
        parser.add_argument("--rebuild", action="store_true",
                            help="wipe the database first (SQLite: delete the file; PostgreSQL: truncate)")

    def handle(self, *args: Any, **options: Any) -> None:
        out: TextIO = getattr(self.stdout, "_out", sys.stdout)
        console = Console(file=out, highlight=False, soft_wrap=True)
        if options["rebuild"]:
            console.print(database_reset())
        call_command("migrate", interactive=False, verbosity=0)
        self._rules_load(console)

        if demo_present():
            console.print(_("数据库中已有演示县，跳过生成（要重新生成请加 --rebuild）。"))
        else:
            console.print(_("正在生成演示县（规模 %(scale)s，种子 %(seed)s）…")
                          % {"scale": options["scale"], "seed": options["seed"]})
            with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                          console=console) as progress:
                result = county_build(seed=options["seed"], scale=options["scale"],
                                      observer=_RichObserver(progress))
            console.print(_("生成完成，用时 %(seconds).1f 秒。") % {"seconds": sum(result.seconds.values())})
            counts = Table(title=_("数据量"), show_header=True)
            counts.add_column(_("数据表"))
            counts.add_column(_("行数"), justify="right")
            for label, n in result.counts.items():
                counts.add_row(label, f"{n:,}")
            console.print(counts)
            self._dedupe(console)
        self._analytics(console)

        logins = Table(title=_("演示账号"), show_header=True)
        for column in (_("用户名"), _("密码"), _("角色"), _("单位")):
            logins.add_column(column)
        for username, role, unit in DEMO_LOGINS:
            logins.add_row(username, DEMO_PASSWORD, str(role), unit)
        console.print(logins)
        console.print(_("每个乡镇另有 yuanzhang_<乡镇代码>、weisheng_<乡镇代码>，每个村卫生室另有 "
                        "cunyi_<村代码>，密码相同。"))
        host, port = options["host"], options["port"]
        console.print(_("地址：http://%(host)s:%(port)s/") % {"host": host, "port": port})
        if not options["no_serve"]:
            call_command("serve", host=host, port=port, stdout=self.stdout, stderr=self.stderr)

    def _dedupe(self, console: Console) -> None:
        """Run the master patient index once, so that the review queue holds the planted duplicates."""
        buffer = io.StringIO()
        call_command("dedupe", stdout=buffer)
        for line in buffer.getvalue().splitlines():
            if line.strip():
                console.print(line)

    def _analytics(self, console: Console) -> None:
        """The indicators computed once from the new county (a full ``ygt analytics refresh``), when the
        ``analytics`` demo module is part of the build and no refresh has completed yet."""
        if "analytics" not in dict(modules_selected()) or RefreshRun.objects.filter(
                status=RefreshRun.Status.DONE).exists():
            return
        console.print(_("正在计算指标（ygt analytics refresh --full，小规模约需 1 分钟）…"))
        try:
            with console.status(_("计算指标")) as status:
                report = refresh(full=True, progress=lambda message: status.update(message))
        except DomainError as problem:
            console.print(_("指标未能计算：%(reason)s（稍后可运行 ygt analytics refresh --full）")
                          % {"reason": problem})
            return
        console.print(_("指标计算完成：%(indicators)d 个指标，%(values)s 个指标值，用时 %(seconds).1f 秒。") % {
            "indicators": report.indicators, "values": f"{report.values:,}", "seconds": report.seconds})

    def _rules_load(self, console: Console) -> None:
        """``ygt rules load`` when that command exists; its summary lines only."""
        if "rules" not in get_commands():
            console.print(_("未找到 ygt rules load 命令，跳过加载规则。"))
            return
        buffer = io.StringIO()
        call_command("rules", "load", stdout=buffer)
        for line in buffer.getvalue().splitlines():
            if line.strip() and not line.startswith(" "):
                console.print(_("规则：%(line)s") % {"line": line})
