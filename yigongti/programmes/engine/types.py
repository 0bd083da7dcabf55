"""The plan engine's value types — the contract between the engine and everything that uses it.

The engine is pure: functions over dates and these frozen values, no database and no clock
(``as_of`` is always passed in), so ``ygt plan`` runs without a database and hypothesis can
drive it. A programme's definition (YAML, ``programmes/fixtures/*.yaml``) parses into a
:class:`ProgrammeSpec` (:func:`yigongti.programmes.engine.spec.spec_from_document`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from .compiled import Classifier, Schedule

# Where a programme's plan starts (``ygt plan --start``).
Anchor = Literal["birth", "lmp", "diagnosis", "enrolment", "notice"]
# The status of a planned item at ``as_of`` (``ygt plan`` prints these words).
Status = Literal["done", "due", "overdue", "catch-up", "not-yet"]
FieldType = Literal["integer", "decimal", "choice", "multichoice", "boolean", "text", "date"]
Value = int | Decimal | str | bool | dt.date | tuple[str, ...]

STATUSES: tuple[Status, ...] = ("done", "due", "overdue", "catch-up", "not-yet")


@dataclass(frozen=True)
class Text:
    """A label in both UI languages."""

    zh: str
    en: str

    def get(self, language: str | None) -> str:
        return self.en if (language or "").startswith("en") else self.zh


@dataclass(frozen=True)
class Choice:
    code: str
    label: Text


@dataclass(frozen=True)
class FieldSpec:
    """One typed field of a visit form (随访表的一项).

    ``min``/``max`` are the physiological range (outside: refused). ``unit_hint`` names the
    likely wrong unit when a value falls outside by a known factor (kg entered in 斤 or g, height
    in m) so the message can say so. ``column`` is the :class:`~yigongti.programmes.models.Visit`
    column the value is stored in, or ``None`` for ``Visit.data[code]``.
    """

    code: str
    label: Text
    type: FieldType
    unit: str = ""
    required: bool = False
    min: Decimal | None = None
    max: Decimal | None = None
    decimals: int = 0
    choices: tuple[Choice, ...] = ()
    column: str | None = None
    unit_hints: tuple[tuple[Decimal, Text], ...] = ()  # (factor, "looks like 斤/grams/metres")


@dataclass(frozen=True)
class ItemSpec:
    """One kind of service in a plan: a follow-up, a check, a child visit, a vaccine dose …

    ``code`` is what the history CSV and :class:`~yigongti.programmes.models.Visit.item` hold
    (``followup``, ``check``, ``child-3m``, ``antenatal-2``, ``HepB-1``). ``form`` lists the codes
    of the fields recorded for it (keys of :attr:`ProgrammeSpec.fields`).
    """

    code: str
    label: Text
    form: tuple[str, ...] = ()


@dataclass(frozen=True)
class Classification:
    """What a visit's measurements mean and when the next visit is due (分类与下次随访)."""

    code: str  # e.g. satisfactory | unsatisfactory | refer | stable | basically_stable | unstable
    label: Text
    next_in_days: int | None  # None: the plan's regular interval
    refer: bool = False
    reasons: tuple[Text, ...] = ()  # which rule fired, for the screen
    next_in_months: int | None = None  # calendar months (3 months), when the rule says months


@dataclass(frozen=True)
class Service:
    """A service received: one row of the history (``item,date`` plus measurements)."""

    item: str
    date: dt.date
    values: Mapping[str, Value] = field(default_factory=dict)
    classification: str = ""  # as stored; the engine recomputes it when empty


@dataclass(frozen=True)
class Directive:
    """A follow-up asked for from outside the schedule (照护计划, e.g. a down-referral): the next
    interval follow-up is due within ``within_days`` of ``date`` (window ``date`` .. due)."""

    date: dt.date
    within_days: int


@dataclass(frozen=True)
class PlanRow:
    """One visit or dose of a plan, with its status at ``as_of``.

    ``due`` is when it should happen; ``window_start``..``window_end`` (inclusive) is the
    tolerance window in which it counts as on time. ``done_on`` is the date of the service that
    fulfilled it. ``catch_up`` marks a dose whose date the catch-up rules moved (补种);
    ``refer`` a follow-up that follows a referral; ``flags`` carries notes such as
    ``before_min_age`` / ``interval_too_short`` for a dose given too early (recorded, flagged).
    """

    item: str
    due: dt.date
    window_start: dt.date
    window_end: dt.date
    status: Status
    done_on: dt.date | None = None
    catch_up: bool = False
    refer: bool = False
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Eligibility:
    """Who a programme is for (服务对象) and how they enter it."""

    enrol: Literal["at_registration", "at_age", "manual"]
    min_age_years: int | None = None
    max_age_years: int | None = None  # exclusive: a child leaves child health at 7
    sex: Literal["M", "F"] | None = None
    diagnoses: tuple[str, ...] = ()  # ICD-10 prefixes, e.g. ("I10",)
    requires_confirmation: bool = False


@dataclass(frozen=True)
class ProgrammeSpec:
    """A programme's definition as the engine uses it (parsed from one YAML version)."""

    code: str
    name: Text
    source: str
    effective_from: dt.date
    effective_to: dt.date | None
    anchor: Anchor
    eligibility: Eligibility
    items: Mapping[str, ItemSpec]  # by item code, in plan order
    fields: Mapping[str, FieldSpec]  # by field code
    variants: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # {"JE": ("JE-L", "JE-I")}
    document: Mapping[str, object] = field(default_factory=dict)  # the YAML document, for storage
    # Added by the engine (engineer A): the compiled rules that plan()/classify() walk.
    schedule: Schedule | None = None
    classifier: Classifier | None = None
    sort_order: int = 0
    name_of_file: str = ""  # where the spec came from, for error messages
