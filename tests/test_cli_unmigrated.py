"""A command run against a database behind the code says to migrate, in one line, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_a_command_on_an_unmigrated_database_says_to_migrate(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "YGT_DB_PASS"}}
    env["YGT_DATA_DIR"] = str(tmp_path)
    done = subprocess.run([sys.executable, "-m", "yigongti.cli", "referrals", "escalate"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "ygt migrate" in lines[0] and "Traceback" not in done.stderr
