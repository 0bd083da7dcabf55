"""Reads of the surveillance app. Cards are person-level: they reach a caller only through
:func:`yigongti.core.scope.visible` (the address at onset or the reporting institution inside the
caller's data-view unit), and every card read is audited. Signals and outbreaks are seen by the
township they concern and the county."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from yigongti.core import audit
from yigongti.core.errors import NotFound
from yigongti.core.scope import get_visible, visible
from yigongti.registry.choices import DivisionLevel
from yigongti.registry.models import Division, Institution
from yigongti.registry.selectors import current

from .choices import CardStatus, SignalStatus
from .errors import CardInvalid
from .models import CaseCard, Disease, Outbreak, Signal
from .services import TOWNSHIP_ROLES, diseases_in_force, is_county_reviewer, role_of

CARD_PATHS = ("path", "institution_path")


def cards_visible(user: Any) -> QuerySet[CaseCard]:
    """Every card the caller may see (not audited: list pages audit the rows they show)."""
    return visible(user, CaseCard.objects.select_related("disease", "institution", "resident", "township"),
                   path_field=CARD_PATHS)


def card_get(*, user: Any, pk: int, request: Any = None) -> CaseCard:
    """One card in scope (404 otherwise, the miss audited); the read is audited."""
    try:
        card = get_visible(user, CaseCard.objects.select_related(
            "disease", "institution", "resident", "township", "division", "encounter", "duplicate_of", "outbreak"),
            path_field=CARD_PATHS, pk=pk)
    except NotFound:
        audit.read_missed(user=user, object_type="surveillance.casecard", object_id=pk, request=request)
        raise
    audit.read(user=user, objects=[card], request=request, path_field="path" if card.path else "institution_path")
    return card


def cards_list(*, user: Any, status: str = "", disease: str = "", start: dt.date | None = None,
               end: dt.date | None = None, institution: str = "") -> QuerySet[CaseCard]:
    """Cards in scope, newest report first, filtered by status, disease code, report dates, institution code."""
    queryset = cards_visible(user)
    if status:
        queryset = queryset.filter(status=status)
    if disease:
        queryset = queryset.filter(disease__code=disease)
    if start:
        queryset = queryset.filter(reported_at__date__gte=start)
    if end:
        queryset = queryset.filter(reported_at__date__lte=end)
    if institution:
        queryset = queryset.filter(institution__code=institution)
    return queryset.order_by("-reported_at", "-pk")


def cards_for_encounter(*, user: Any, encounter_id: int) -> list[CaseCard]:
    return list(cards_visible(user).filter(encounter_id=encounter_id).order_by("pk"))


@dataclass(frozen=True)
class Timeliness:
    """报告及时率 of one institution: live cards reported, on time, the rate and the median delay."""

    institution: Institution
    reported: int
    on_time: int
    median_hours: float | None

    @property
    def rate(self) -> float | None:
        return 100.0 * self.on_time / self.reported if self.reported else None


def timeliness_by_institution(*, user: Any, start: dt.date, end: dt.date) -> list[Timeliness]:
    """Per reporting institution, the live cards reported in [start, end] (deleted duplicates left
    out): how many, how many within the deadline, and the median hours from diagnosis to report."""
    rows = (cards_visible(user).exclude(status=CardStatus.DELETED)
            .filter(reported_at__date__gte=start, reported_at__date__lte=end)
            .values_list("institution_id", "on_time", "diagnosed_at", "reported_at"))
    per: dict[int, list[tuple[bool, float]]] = {}
    for institution_id, on_time, diagnosed, reported in rows:
        per.setdefault(institution_id, []).append((on_time, (reported - diagnosed).total_seconds() / 3600))
    institutions = Institution.objects.in_bulk(list(per))
    result = []
    for institution_id, items in per.items():
        delays = sorted(d for _ok, d in items)
        middle = len(delays) // 2
        median = delays[middle] if len(delays) % 2 else (delays[middle - 1] + delays[middle]) / 2
        result.append(Timeliness(institutions[institution_id], len(items), sum(1 for ok, _d in items if ok), median))
    return sorted(result, key=lambda t: (t.rate if t.rate is not None else 101, t.institution.code))


def signals_visible(user: Any) -> QuerySet[Signal]:
    return visible(user, Signal.objects.select_related("disease", "township", "outbreak"))


def signals_queue(*, user: Any, status: str = "", disease: str = "", start: dt.date | None = None,
                  end: dt.date | None = None) -> QuerySet[Signal]:
    """The signal queue: waiting ones first by default (``status`` "" = 待核实 and 已核实), newest first."""
    queryset = signals_visible(user)
    if status == "all":
        pass
    elif status:
        queryset = queryset.filter(status=status)
    else:
        queryset = queryset.filter(status__in=[SignalStatus.NEW, SignalStatus.VERIFIED])
    if disease:
        queryset = queryset.filter(disease__code=disease)
    if start:
        queryset = queryset.filter(date__gte=start)
    if end:
        queryset = queryset.filter(date__lte=end)
    return queryset.annotate(case_count=Count("cases")).order_by("-date", "township__path", "disease__position")


def signal_get(*, user: Any, pk: int) -> Signal:
    return get_visible(user, Signal.objects.select_related("disease", "township", "outbreak", "handled_by"), pk=pk)


def signal_cases(*, user: Any, signal: Signal, request: Any = None) -> list[CaseCard]:
    """The cases a signal counted, those in the caller's scope, audited."""
    cards = list(cards_visible(user).filter(pk__in=signal.cases.values("pk")).order_by("reported_at"))
    audit.read(user=user, objects=cards, request=request)
    return cards


def outbreaks_visible(user: Any) -> QuerySet[Outbreak]:
    return visible(user, Outbreak.objects.select_related("disease", "township")).annotate(
        case_count=Count("cases", filter=~Q(cases__status=CardStatus.DELETED)))


def outbreak_get(*, user: Any, pk: int) -> Outbreak:
    return get_visible(user, Outbreak.objects.select_related("disease", "township"), pk=pk)


# ---------------------------------------------------------------- the pages' reads (web and API)


def cards_to_review(*, user: Any) -> QuerySet[CaseCard]:
    """The cards waiting for the caller's review: for the county CDC those 待审核 or 乡镇已初审; for
    township staff those 待审核 inside their data-entry unit (reporting institution or address)."""
    if is_county_reviewer(user):
        return cards_visible(user).filter(status__in=[CardStatus.REPORTED, CardStatus.TOWNSHIP_CHECKED])
    if role_of(user) in TOWNSHIP_ROLES:
        return visible(user, cards_visible(user), mode="entry", path_field=CARD_PATHS).filter(
            status=CardStatus.REPORTED)
    return CaseCard.objects.none()


def cards_returned(*, user: Any) -> QuerySet[CaseCard]:
    """Cards returned for correction to the caller's institution (or to one in their data-entry unit)."""
    returned = cards_visible(user).filter(status=CardStatus.RETURNED)
    own = getattr(user, "institution_id", None)
    entry = visible(user, returned, mode="entry", path_field="institution_path")
    return (entry | returned.filter(institution_id=own)) if own else entry


def audit_cards(*, user: Any, cards: list[CaseCard], request: Any = None) -> None:
    """Audit the reads of the cards a page or file shows (each under its address, else its institution)."""
    audit.read(user=user, objects=[c for c in cards if c.path], request=request)
    audit.read(user=user, objects=[c for c in cards if not c.path], request=request, path_field="institution_path")


def cards_by_numbers(*, user: Any, numbers: list[str]) -> dict[str, CaseCard]:
    """The cards in the caller's scope among the card numbers given (a number not found is absent)."""
    wanted = [n.strip() for n in numbers if n.strip()]
    return {card.card_no: card for card in cards_visible(user).filter(card_no__in=wanted)}


def address_divisions(on: dt.date | None = None) -> list[Division]:
    """The townships and villages in force, in tree order: where an address at onset can be chosen."""
    return list(current(Division.objects.filter(level__in=[DivisionLevel.TOWNSHIP, DivisionLevel.VILLAGE]), on)
                .order_by("path"))


def outbreak_cases(*, user: Any, outbreak: Outbreak, request: Any = None) -> list[CaseCard]:
    """The cases linked to an outbreak that the caller may see (audited), deleted duplicates left out."""
    cards = list(cards_visible(user).filter(outbreak=outbreak).exclude(status=CardStatus.DELETED)
                 .order_by("reported_at", "pk"))
    audit_cards(user=user, cards=cards, request=request)
    return cards


def card_events(card: CaseCard) -> list[Any]:
    """A card's history, oldest first, with who did each step."""
    return list(card.events.select_related("by").order_by("at", "pk"))


def cards_export(**filters: Any) -> QuerySet[CaseCard]:
    """:func:`cards_list` with the address division joined (a download names it on every row)."""
    return cards_list(**filters).select_related("division")


def disease_by_code(code: str, *, field: str = "disease") -> Disease:
    """A disease of the catalogue in force by its code (422 naming ``field`` when unknown)."""
    found = diseases_in_force().filter(code=(code or "").strip()).first()
    if found is None:
        raise CardInvalid(reason=_("病种代码“%(code)s”不在法定传染病目录中。") % {"code": code}, field=field)
    return found


def address_division_by_code(code: str, *, field: str = "division") -> Division:
    """A township or village in force by its code (422 naming ``field`` otherwise)."""
    found = next((d for d in address_divisions() if d.code == (code or "").strip()), None)
    if found is None:
        raise CardInvalid(reason=_("区划代码“%(code)s”不是本县的乡镇或村。") % {"code": code}, field=field)
    return found
