"""The import framework: all-or-nothing, row-level errors, counts, re-runnable.

An importer reads a file (:mod:`yigongti.interop.tabular`), parses every row into an item,
collecting every :class:`~yigongti.core.errors.RowError` (bad value, duplicate key in the file …),
then writes the items in dependency order through the registry services, all in ONE transaction;
a service's error becomes a row error too. If there is any error the transaction is rolled back and
:class:`~yigongti.core.errors.ImportRejected` lists them all: nothing is written. A dry run does
the same writes and rolls back, so database-level problems show as well. The services are
idempotent, so running the same file again counts everything as "unchanged".
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, TypeVar

from django.db import DatabaseError, transaction
from django.utils.translation import gettext as _

from yigongti.core import audit
from yigongti.core.clock import today
from yigongti.core.errors import DomainError, ImportRejected, RowError
from yigongti.core.models import AuditAction
from yigongti.interop.tabular import Column, Row, Table, read_table
from yigongti.registry.services import CREATED, UNCHANGED, UPDATED, Outcome

from .fields import BadValue, Parser, parse_date

Progress = Callable[[int, int], None]
OUTCOMES: tuple[Outcome, ...] = (CREATED, UPDATED, UNCHANGED)

VALID_FROM = Column("valid_from", ("生效日期", "起始日期", "启用日期", "effective_from"))


@dataclass
class Parsed:
    """One parsed row: its number as Excel shows it and its natural key inside the file."""

    row: int
    key: str


@dataclass
class ImportResult:
    """What an import did (or, on a dry run, would do): counts per model and outcome."""

    kind: str
    file: str
    rows: int
    dry_run: bool
    counts: dict[str, dict[str, int]]
    labels: dict[str, str]
    ignored_columns: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "file": self.file, "rows": self.rows, "dry_run": self.dry_run,
                "counts": self.counts, "ignored_columns": self.ignored_columns}


T = TypeVar("T", bound=Parsed)


class Importer(ABC, Generic[T]):
    """Base of every importer. Subclasses declare their columns and implement parse and write."""

    kind: ClassVar[str]
    columns: ClassVar[tuple[Column, ...]]
    key_column: ClassVar[str] = "code"
    # Count keys in display order, each with its label (a model's verbose name).
    models: ClassVar[tuple[tuple[str, Any], ...]]
    # A service's ``error.params["field"]`` → this file's column, where the two names differ.
    field_columns: ClassVar[dict[str, str]] = {}

    def __init__(self, *, user: Any = None, request: Any = None) -> None:
        self.user = user
        self.request = request
        self.errors: list[RowError] = []
        self.counts: dict[str, dict[str, int]] = {key: dict.fromkeys(OUTCOMES, 0) for key, _label in self.models}
        self.table = Table(name="", header=[], columns={}, rows=[])

    # ------------------------------------------------------------ hooks

    @abstractmethod
    def parse(self, row: Row) -> T | None:
        """The item of one row; report problems with :meth:`error` (the item is dropped if any)."""

    @abstractmethod
    def write(self, item: T) -> None:
        """Write one item through the services, counting each outcome with :meth:`count`."""

    def key_of(self, row: Row) -> str:
        """The row's natural key from its raw cells (duplicates inside the file are errors)."""
        return row.get(self.key_column)

    def depends_on(self, item: T) -> Iterable[str]:
        """Keys of other rows this one refers to: when one of them fails, this row is skipped."""
        return ()

    def order(self, item: T) -> Any:
        """Write order: a reference may point to a later row, so parents sort first."""
        return item.row

    # ------------------------------------------------------------ helpers for the hooks

    def error(self, row: int, column: str, reason: Any) -> None:
        self.errors.append(RowError(row, self.table.label(column) if column else "", str(reason)))

    def value(self, row: Row, column: str, parse: Parser | None = None, *, required: bool = False) -> Any:
        """The parsed cell, or ``None`` when empty (an error if ``required``) or invalid (an error)."""
        text = row.get(column)
        if not text:
            if required:
                self.error(row.number, column, _("不能为空"))
            return None
        if parse is None:
            return text
        try:
            return parse(text)
        except BadValue as problem:
            self.error(row.number, column, problem.reason)
            return None

    def optional(self, row: Row, column: str, parse: Parser | None = None) -> Any:
        """Like :meth:`value`, but ``None`` when the file has no such column (the service keeps the
        stored value) and the parsed value or ``""`` when it has (an empty cell clears it)."""
        if not self.table.has(column):
            return None
        result = self.value(row, column, parse)
        return "" if result is None and parse is None else result

    def valid_from(self, row: Row) -> Any:
        return self.value(row, VALID_FROM.name, parse_date) or today()

    def count(self, key: str, outcome: Outcome) -> None:
        self.counts[key][outcome] += 1

    # ------------------------------------------------------------ the run

    def run(self, source: str | Path, *, data: bytes | None = None, dry_run: bool = False,
            progress: Progress | None = None) -> ImportResult:
        """Import ``source`` all-or-nothing (see the module docstring); returns the counts.

        Raises :class:`~yigongti.interop.tabular.FileUnreadable` for a file that cannot be read
        and :class:`ImportRejected` with every row error otherwise; either way nothing is written.
        """
        self.table = table = read_table(source, self.columns, data=data)
        self.errors = list(table.problems)
        items, failed = self._parse_all(table)
        items.sort(key=lambda item: (self.order(item), item.row))
        with transaction.atomic():
            for done, item in enumerate(items, start=1):
                if failed.intersection(self.depends_on(item)):
                    failed.add(item.key)  # its parent row already has an error: that one is reported
                elif not self._write_one(item):
                    failed.add(item.key)
                if progress is not None:
                    progress(done, len(items))
            result = ImportResult(kind=self.kind, file=table.name, rows=len(table.rows), dry_run=dry_run,
                                  counts=self.counts, labels={k: str(label) for k, label in self.models},
                                  ignored_columns=table.ignored)
            if not self.errors and not dry_run:
                audit.record(user=self.user, action=AuditAction.IMPORT, object_type=f"interop.{self.kind}",
                             object_id=table.name, request=self.request,
                             detail={"kind": self.kind, "file": table.name, "rows": len(table.rows),
                                     "counts": self.counts})
            if self.errors or dry_run:
                transaction.set_rollback(True)
        if self.errors:
            raise ImportRejected(sorted(self.errors, key=lambda e: (e.row, e.column)))
        return result

    def _parse_all(self, table: Table) -> tuple[list[T], set[str]]:
        items: list[T] = []
        failed: set[str] = set()
        first_row: dict[str, int] = {}
        for row in table.rows:
            before = len(self.errors)
            key = self.key_of(row)
            if key and key in first_row:
                self.error(row.number, self.key_column, _("“%(key)s”与第 %(row)s 行重复") % {
                    "key": key, "row": first_row[key]})
                continue
            if key:
                first_row[key] = row.number
            item = self.parse(row)
            if item is None or len(self.errors) > before:
                failed.add(key)
                continue
            items.append(item)
        return items, failed

    def _write_one(self, item: T) -> bool:
        try:
            with transaction.atomic():  # a savepoint: a database error leaves the batch usable
                self.write(item)
        except DomainError as problem:
            field_name = str(problem.params.get("field", ""))
            self.error(item.row, self.field_columns.get(field_name, field_name), str(problem))
            return False
        except DatabaseError as problem:
            detail = (str(problem).strip().splitlines() or [type(problem).__name__])[0]
            self.error(item.row, "", _("数据库拒绝写入：%(detail)s") % {"detail": detail})
            return False
        return True
