"""``ygt serve [--host 127.0.0.1] [--port 8000]`` — the web UI and API under waitress.

Applies pending migrations first, then serves :data:`yigongti.wsgi.application` with 8 threads;
static files come through WhiteNoise (``WHITENOISE_USE_FINDERS``: no collectstatic needed).
Ctrl-C (or SIGTERM) stops it cleanly.
"""

from __future__ import annotations

import importlib
import os
import signal
import threading
from argparse import ArgumentParser
from pathlib import Path
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils.translation import gettext as _
from waitress.server import create_server

THREADS = 8


def pending_migrations() -> int:
    """How many migrations the default database still lacks."""
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def _stop(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Serve the web UI and API with waitress: ygt serve [--host 127.0.0.1] [--port 8000]"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default=os.environ.get("YGT_HOST", "127.0.0.1"),
                            help="address to listen on ($YGT_HOST, default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=int(os.environ.get("YGT_PORT", "8000")),
                            help="port to listen on ($YGT_PORT, default 8000)")

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = options["host"], int(options["port"])
        if pending_migrations():
            self.stdout.write(_("正在更新数据库结构…"))
            call_command("migrate", interactive=False, verbosity=0)
        # WhiteNoise warns about a missing STATIC_ROOT; files come from the finders anyway.
        Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)
        application = importlib.import_module("yigongti.wsgi").application
        try:
            server = create_server(application, host=host, port=port, threads=THREADS)
        except OSError as error:
            raise CommandError(_("无法在 %(host)s:%(port)s 上启动：%(reason)s")
                               % {"host": host, "port": port, "reason": error.strerror or error}) from error
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _stop)
        self.stdout.write(_("yigongti 已启动: http://%(host)s:%(port)s/") % {"host": host, "port": port})
        self.stdout.write(_("按 Ctrl-C 停止。"))
        self.stdout.flush()
        try:
            server.run()
        except KeyboardInterrupt:
            pass
        finally:
            server.close()
        self.stdout.write(_("yigongti 已停止。"))
