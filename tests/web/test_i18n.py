"""The English translation is complete and compiled (msgids are 简体中文; English is the translation)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest
from django.utils import translation

from yigongti.web import messages

EN_PO = messages.LOCALE_DIR / "en" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[sdfir]")
HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def en_po() -> polib.POFile:
    assert EN_PO.exists(), f"{EN_PO} is missing"
    return polib.pofile(str(EN_PO))


def test_every_msgid_is_translated_and_none_is_fuzzy(en_po: polib.POFile) -> None:
    untranslated = [e.msgid for e in en_po.untranslated_entries()]
    fuzzy = [e.msgid for e in en_po.fuzzy_entries()]
    assert not untranslated, f"untranslated in {EN_PO.name}: {untranslated}"
    assert not fuzzy, f"fuzzy in {EN_PO.name}: {fuzzy}"
    assert len(en_po.translated_entries()) > 100


def test_translations_keep_their_placeholders(en_po: polib.POFile) -> None:
    for entry in en_po.translated_entries():
        wanted = set(PLACEHOLDER.findall(entry.msgid))
        for text in ([entry.msgstr] if not entry.msgid_plural else list(entry.msgstr_plural.values())):
            assert set(PLACEHOLDER.findall(text)) == wanted, (entry.msgid, text)


def test_translations_are_english(en_po: polib.POFile) -> None:
    # A Chinese term may stay in brackets as a gloss (“Built (三建成)”), never as the whole text.
    for entry in en_po.translated_entries():
        text = re.sub(r"（[^）]*）|\([^)]*\)|“[^”]*”", "", entry.msgstr)
        if entry.msgid == "“%(value)s”不是是/否（可填 是/否、1/0、true/false）":
            continue  # names the Chinese words a file may contain
        assert not HAN.search(text), (entry.msgid, entry.msgstr)


def test_every_catalogue_is_compiled_and_fresh() -> None:
    found = {path.name: messages.problems(path) for path in messages.catalogues()}
    assert found, "no catalogue under yigongti/locale"
    assert all(not problems for problems in found.values()), found


def test_stale_mo_is_detected(tmp_path: Path) -> None:
    po_path = tmp_path / "django.po"
    po = polib.POFile()
    po.metadata = {"Content-Type": "text/plain; charset=UTF-8"}
    po.append(polib.POEntry(msgid="首页", msgstr="Home"))
    po.save(str(po_path))
    messages.compile_catalogue(po_path)
    assert messages.problems(po_path) == []
    po.append(polib.POEntry(msgid="退出", msgstr="Sign out"))
    po.save(str(po_path))
    assert any(p.startswith("stale") for p in messages.problems(po_path))
    po.append(polib.POEntry(msgid="登录", msgstr=""))
    po.save(str(po_path))
    assert any(p.startswith("untranslated") for p in messages.problems(po_path))


def test_django_uses_the_translation() -> None:
    with translation.override("en"):
        assert translation.gettext("机构树") == "Org tree"
        assert translation.ngettext("共 %(n)s 人", "共 %(n)s 人", 2) % {"n": 2} == "2 people"
    with translation.override("zh-hans"):
        assert translation.gettext("机构树") == "机构树"


def test_the_catalogue_has_every_msgid_of_the_source(tmp_path: Path, en_po: polib.POFile) -> None:
    """makemessages over a copy of the source finds no msgid missing from the committed .po."""
    if shutil.which("xgettext") is None:
        pytest.skip("GNU gettext is not installed (apt-get install gettext)")
    source = tmp_path / "src"
    shutil.copytree(messages.LOCALE_DIR.parent, source,
                    ignore=shutil.ignore_patterns("locale", "migrations", "__pycache__", "static", "fixtures"))
    # A conf/locale directory makes makemessages write there and ignore settings.LOCALE_PATHS.
    (source / "conf" / "locale").mkdir(parents=True)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "yigongti.settings"}
    django_admin = Path(sys.executable).parent / "django-admin"
    subprocess.run([str(django_admin), "makemessages", "-l", "en", "--ignore=conf"], cwd=source, env=env,
                   check=True, capture_output=True)
    fresh = polib.pofile(str(source / "conf" / "locale" / "en" / "LC_MESSAGES" / "django.po"))
    committed = {(e.msgctxt, e.msgid) for e in en_po if not e.obsolete}
    missing = sorted(e.msgid for e in fresh if (e.msgctxt, e.msgid) not in committed)
    assert not missing, ("msgids missing from the English catalogue — run makemessages, translate, then "
                         f"python -m yigongti.web.messages: {missing}")
