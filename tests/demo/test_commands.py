"""``ygt demo`` and ``ygt serve``: in-process on the test database, and end to end in a subprocess
on a fresh SQLite file (those run in the SQLite pass only: they touch no test database)."""

from __future__ import annotations

import io
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from tests.factories.registry import DivisionFactory
from yigongti.core.errors import DomainError
from yigongti.demo import builder
from yigongti.demo.builder import RebuildRefused, database_reset
from yigongti.demo.codes import COUNTY_CODE
from yigongti.demo.management.commands import demo as demo_command
from yigongti.registry.models import Division, Institution


def _run_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("demo", *args, stdout=out)
    return out.getvalue()


# The command's flow does not depend on how much of the county is built: the registry and the
# users are enough (the modules' content is tested in the other modules of tests/demo).
QUICK = "registry,accounts"


@pytest.fixture(autouse=True)
def _quick_demo(settings: Any) -> None:
    settings.YGT_DEMO_MODULES = QUICK.split(",")


def test_unknown_demo_module_is_named(settings: Any) -> None:
    settings.YGT_DEMO_MODULES = ["registry", "pharmacovigilance"]
    with pytest.raises(DomainError, match="pharmacovigilance"):
        builder.modules_selected()


@pytest.mark.django_db
def test_demo_builds_prints_logins_then_skips_on_a_second_run() -> None:
    first = _run_demo("--no-serve", "--host", "0.0.0.0", "--port", "8123")
    assert Division.objects.filter(code=COUNTY_CODE).exists()
    assert "admin" in first and "cunyi" in first and "demo1234" in first
    assert "http://0.0.0.0:8123/" in first
    institutions = Institution.objects.count()
    second = _run_demo("--no-serve", "--seed", "99")
    assert "已有演示县" in second and "cunyi" in second
    assert Institution.objects.count() == institutions


@pytest.mark.django_db
def test_demo_serves_unless_told_not_to(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []
    real = demo_command.call_command

    def spy(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "serve":
            calls.append((name, kwargs))
            return None
        return real(name, *args, **kwargs)

    monkeypatch.setattr(demo_command, "call_command", spy)
    _run_demo("--port", "8124")
    assert [(name, kw["host"], kw["port"]) for name, kw in calls] == [("serve", "127.0.0.1", 8124)]


def test_rebuild_is_refused_in_production(settings: Any) -> None:
    settings.ENV = "production"
    with pytest.raises(RebuildRefused):
        database_reset()


@pytest.mark.django_db
def test_rebuild_is_refused_when_the_database_holds_other_data(monkeypatch: pytest.MonkeyPatch) -> None:
    DivisionFactory(code="110101", name="东城区")
    monkeypatch.setattr(builder, "call_command", lambda *a, **k: pytest.fail("must not flush"))
    with pytest.raises(RebuildRefused):
        database_reset()
    assert Division.objects.filter(code="110101").exists()


# ---------------------------------------------------------------- end to end, fresh SQLite file


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "YGT_DB_PASS", "YGT_PORT"}}
    env["YGT_DATA_DIR"] = str(data_dir)
    env["YGT_DEMO_MODULES"] = QUICK
    return env


def _ygt(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "yigongti.cli", *args], env=_env(data_dir),
                          capture_output=True, text=True, timeout=300, check=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _institution_names(data_dir: Path) -> dict[str, str]:
    with sqlite3.connect(data_dir / "yigongti.sqlite3") as db:
        return dict(db.execute("SELECT code, name FROM registry_institution"))


def test_demo_rebuild_replaces_the_sqlite_database(tmp_path: Path) -> None:
    first = _ygt(tmp_path, "demo", "--no-serve", "--seed", "1")
    assert first.returncode == 0, first.stderr
    names_1 = _institution_names(tmp_path)
    rebuilt = _ygt(tmp_path, "demo", "--no-serve", "--seed", "2", "--rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "已删除数据库文件" in rebuilt.stdout
    names_2 = _institution_names(tmp_path)
    centres_1 = {code: name for code, name in names_1.items() if code.startswith("T")}
    centres_2 = {code: name for code, name in names_2.items() if code.startswith("T")}
    assert centres_1.keys() == centres_2.keys() and centres_1 != centres_2


def test_serve_migrates_answers_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "yigongti.cli", "serve", "--port", str(port)],
                              env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        status = None
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    status = response.status
            except urllib.error.HTTPError as error:
                status = error.code
            except OSError:
                assert server.poll() is None, server.communicate()
                time.sleep(0.1)
                continue
            break
        assert status is not None and status < 500
    finally:
        server.send_signal(signal.SIGTERM)
        stdout, stderr = server.communicate(timeout=30)
    assert server.returncode == 0, stderr
    assert f"yigongti 已启动: http://127.0.0.1:{port}/" in stdout
    assert "已停止" in stdout
    assert (tmp_path / "yigongti.sqlite3").exists()
