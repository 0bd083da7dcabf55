"""Rules as fixtures (DESIGN.md "Rules as fixtures"): discovery and loading, generic over the apps.

A rule fixture is a YAML file ``yigongti/<app>/fixtures/*.yaml`` whose top level is a mapping with
a ``kind:`` (other YAML files there — Django ``loaddata`` lists — are ignored). The app that owns a
kind registers its loader in a ``rules`` module beside its ``apps.py``::

    # yigongti/registry/rules.py
    LOADERS = {"registry.standards": standard_rules_load}

:func:`rules_load` (``ygt rules load``) imports every installed yigongti app's ``rules`` module by
the app config's module path — so ``core`` imports no app — and hands each fixture to the loader of
its kind, all in one transaction: a bad file leaves nothing half-loaded. Loaders upsert by a
natural key (usually ``code``) so that loading again changes nothing.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _

from .errors import DomainError

# libyaml's loader when built (same documents, ~8× faster: every test loads the rules).
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
Outcome = Literal["created", "updated", "unchanged"]
APP_PREFIX = "yigongti."


class RuleFixtureInvalid(DomainError):
    """A rule fixture that cannot be loaded; nothing from any fixture was written."""

    code = "rule_fixture_invalid"
    status = 422
    message = _("规则文件 %(file)s 有误：%(reason)s")


class RuleKindUnknown(DomainError):
    code = "rule_kind_unknown"
    status = 422
    message = _("规则文件 %(file)s 的类型“%(kind)s”没有对应的加载程序。")


@dataclass(frozen=True)
class RuleFixture:
    """One YAML rule file: where it is, its ``kind`` and its parsed document."""

    app_label: str
    path: Path
    name: str  # shown to the user, e.g. ``registry/fixtures/standards.yaml``
    kind: str
    document: dict[str, Any]

    def invalid(self, reason: Any) -> RuleFixtureInvalid:
        """The error a loader raises for a problem in this file."""
        return RuleFixtureInvalid(file=self.name, reason=reason)

    def rows(self, key: str) -> list[dict[str, Any]]:
        """The list of mappings under ``key`` (e.g. ``rules``), or :class:`RuleFixtureInvalid`."""
        rows = self.document.get(key)
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise self.invalid(_("“%(key)s”应为列表，每项为一条规则") % {"key": key})
        return rows


@dataclass
class LoadResult:
    """How many rows a loader created, updated and left unchanged."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    codes: dict[str, list[str]] = field(default_factory=dict)

    def add(self, outcome: Outcome, code: str = "") -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)
        if code:
            self.codes.setdefault(outcome, []).append(code)


RuleLoader = Callable[[RuleFixture], LoadResult]


def rule_loaders() -> dict[str, RuleLoader]:
    """Every loader registered by an installed yigongti app (``<app>.rules.LOADERS``), by kind."""
    loaders: dict[str, RuleLoader] = {}
    for config in apps.get_app_configs():
        if not config.name.startswith(APP_PREFIX):
            continue
        module_name = f"{config.name}.rules"
        if importlib.util.find_spec(module_name) is None:
            continue
        module = importlib.import_module(module_name)
        for kind, loader in getattr(module, "LOADERS", {}).items():
            if kind in loaders:
                raise ImproperlyConfigured(f"Rule kind {kind!r} is registered twice ({module_name}).")
            loaders[kind] = loader
    return loaders


def rule_fixtures() -> list[RuleFixture]:
    """Every rule fixture of the installed yigongti apps, in app order then file name."""
    found: list[RuleFixture] = []
    for config in apps.get_app_configs():
        if not config.name.startswith(APP_PREFIX):
            continue
        app_dir = Path(config.path)
        for path in sorted((app_dir / "fixtures").glob("*.yaml")):
            name = path.relative_to(app_dir.parent).as_posix()
            try:
                document = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
            except yaml.YAMLError as exc:
                raise RuleFixtureInvalid(file=name, reason=str(exc).splitlines()[0]) from exc
            if isinstance(document, dict) and "kind" in document:
                found.append(RuleFixture(app_label=config.label, path=path, name=name,
                                         kind=str(document["kind"]), document=document))
    return found


@transaction.atomic
def rules_load(*, kinds: Iterable[str] | None = None) -> list[tuple[RuleFixture, LoadResult]]:
    """Load every rule fixture (or those of ``kinds``) with its app's loader, in one transaction.

    Guarantees: all or nothing — a fixture that fails rolls back every fixture loaded before it;
    idempotent — a second run reports every row unchanged; a fixture of a kind that no app loads
    is an error, not silently skipped.
    """
    wanted = set(kinds) if kinds is not None else None
    loaders = rule_loaders()
    results: list[tuple[RuleFixture, LoadResult]] = []
    for fixture in rule_fixtures():
        if wanted is not None and fixture.kind not in wanted:
            continue
        loader = loaders.get(fixture.kind)
        if loader is None:
            raise RuleKindUnknown(file=fixture.name, kind=fixture.kind)
        results.append((fixture, loader(fixture)))
    return results


# ---------------------------------------------------------------- helpers for the apps' loaders


def as_date(fixture: RuleFixture, value: Any, what: str, *, required: bool = True) -> dt.date | None:
    """A YAML date (``2019-07-01``, parsed or as text) or ``None`` when optional and absent."""
    if value is None or value == "":
        if required:
            raise fixture.invalid(_("缺少 %(field)s") % {"field": what})
        return None
    try:
        return parse_date(value)
    except ValueError as exc:
        raise fixture.invalid(_("%(field)s 不是有效日期：%(value)s") % {"field": what, "value": value}) from exc


def parse_date(value: Any) -> dt.date:
    """A YAML/JSON date: a parsed ``date``/``datetime`` or ISO text; :class:`ValueError` otherwise."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def upsert_by_code(model: type[models.Model], *, code: str, values: dict[str, Any],
                   key: str = "code") -> Outcome:
    """Create the row with ``key=code`` or bring its fields to ``values``; say which happened."""
    return upsert(model, lookup={key: code}, values=values)


def upsert(model: type[models.Model], *, lookup: dict[str, Any], values: dict[str, Any]) -> Outcome:
    """Create the row that ``lookup`` finds (its natural key) or bring its fields to ``values``;
    say which happened — a second load of an unchanged fixture changes nothing."""
    row = model._default_manager.filter(**lookup).first()
    if row is None:
        model._default_manager.create(**lookup, **values)
        return "created"
    changed = [name for name, value in values.items() if getattr(row, name) != value]
    if not changed:
        return "unchanged"
    for name in changed:
        setattr(row, name, values[name])
    row.save(update_fields=changed)
    return "updated"
