"""Compile the translations: every ``.po`` under ``yigongti/locale`` to the ``.mo`` beside it.

Run as ``python -m yigongti.web.messages`` (``make messages``). Pure Python (polib), so an
installation needs no GNU gettext; the ``.mo`` files are committed. ``--check`` compiles nothing
and exits 1 when a catalogue has an untranslated or fuzzy entry or its ``.mo`` is stale.

To add strings: ``cd yigongti && django-admin makemessages -l en --ignore=migrations`` (needs
gettext), translate the new entries in ``locale/en/LC_MESSAGES/django.po``, then run this module.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import polib

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def catalogues(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    """Every ``.po`` file under ``locale_dir``, sorted."""
    return sorted(locale_dir.glob("*/LC_MESSAGES/*.po"))


def entry_key(entry: Any) -> tuple[Any, ...]:
    """What a compiled entry means: its context, ids and translation(s)."""
    plural = tuple(sorted(entry.msgstr_plural.items())) if entry.msgid_plural else ()
    return (entry.msgctxt or None, entry.msgid, entry.msgid_plural or None, entry.msgstr, plural)


def problems(po_path: Path) -> list[str]:
    """Untranslated or fuzzy entries of one catalogue, and whether its ``.mo`` is missing or stale."""
    po = polib.pofile(str(po_path))
    found = [f"untranslated: {e.msgid!r}" for e in po.untranslated_entries()]
    found += [f"fuzzy: {e.msgid!r}" for e in po.fuzzy_entries()]
    mo_path = po_path.with_suffix(".mo")
    if not mo_path.exists():
        return [*found, f"missing: {mo_path.name}"]
    mo = polib.mofile(str(mo_path))
    compiled = {entry_key(e) for e in mo if e.msgid}
    expected = {entry_key(e) for e in po.translated_entries()}
    if compiled != expected:
        found.append(f"stale: {mo_path.name} differs from {po_path.name} "
                     f"({len(expected - compiled)} to add, {len(compiled - expected)} to drop)")
    return found


def compile_catalogue(po_path: Path) -> Path:
    """Write the ``.mo`` of one ``.po`` (fuzzy and untranslated entries are left out)."""
    mo_path = po_path.with_suffix(".mo")
    polib.pofile(str(po_path)).save_as_mofile(str(mo_path))
    return mo_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m yigongti.web.messages", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report problems, compile nothing")
    args = parser.parse_args(argv)
    status = 0
    for po_path in catalogues():
        name = po_path.relative_to(LOCALE_DIR.parent)
        if args.check:
            for problem in problems(po_path):
                print(f"{name}: {problem}", file=sys.stderr)
                status = 1
            continue
        untranslated = polib.pofile(str(po_path)).untranslated_entries()
        mo_path = compile_catalogue(po_path)
        note = f" ({len(untranslated)} untranslated left out)" if untranslated else ""
        print(f"{mo_path.relative_to(LOCALE_DIR.parent)}{note}")
    return status


if __name__ == "__main__":
    sys.exit(main())
