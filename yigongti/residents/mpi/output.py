"""Printing MPI pairs for ``ygt dedupe`` / ``ygt link``: csv, json or a Rich table."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _
from rich.console import Console
from rich.table import Table

from .engine import Pair

FORMATS = ("csv", "json", "table")
CSV_COLUMNS = ("id_l", "id_r", "match_probability", "cluster_id")


def reasons_text(reasons: list[dict[str, Any]]) -> str:
    """``身份证号:一位录入错误或相邻位对调(+14.9); 姓名:完全一致(+12.1)`` — the null levels left out."""
    return "; ".join(f"{r['field_label']}:{r['label']}({r['weight']:+.1f})" for r in reasons if r["level"] != "missing")


def render(pairs: list[Pair], fmt: str, *, tty: bool = False) -> str:
    if fmt == "json":
        return json.dumps(
            [{"id_l": p.id_l, "id_r": p.id_r, "match_probability": round(p.match_probability, 6),
              "match_weight": round(p.match_weight, 3), "cluster_id": p.cluster_id, "reasons": p.reasons}
             for p in pairs],
            ensure_ascii=False, indent=2,
        ) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        writer.writerows([p.id_l, p.id_r, f"{p.match_probability:.6f}", p.cluster_id] for p in pairs)
        return buffer.getvalue()
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=tty, width=shutil.get_terminal_size().columns if tty else 180)
    table = Table(title=_("疑似重复（%(n)s 对）") % {"n": len(pairs)}, title_justify="left")
    for name in CSV_COLUMNS:
        table.add_column(name, no_wrap=True)
    table.add_column(_("评分依据"), overflow="fold")
    for p in pairs:
        table.add_row(p.id_l, p.id_r, f"{p.match_probability:.4f}", p.cluster_id, reasons_text(p.reasons))
    console.print(table)
    return buffer.getvalue()


def write(text: str, *, stdout: Any, path: str | None) -> None:
    """To ``path``, else to the command's stdout (a Django OutputWrapper)."""
    if path:
        Path(path).write_text(text, encoding="utf-8")
    else:
        stdout.write(text, ending="")


@contextmanager
def progress_status(enabled: bool) -> Iterator[Callable[[str], None] | None]:
    """A Rich spinner on stderr for long runs (only on a terminal, so pipes and tests stay clean)."""
    if not enabled:
        yield None
        return
    console = Console(stderr=True)
    with console.status("") as status:
        yield lambda message: status.update(message)
