"""The daily early warning (``ygt alerts --date D``) and the CDC's answer to its signals.

:func:`alerts_run` evaluates every township × disease of the catalogue in force for each day of a
range: the single-case rule for the diseases that alarm on one case, and each disease's ``methods``
(:mod:`.methods`) with its ``params`` on the daily count of live cards (deleted duplicates left
out) by report day and township of the address at onset. A signal is written once per township ×
disease × day × method (a re-run writes nothing new); after a signal a method stays quiet for the
same township and disease for :data:`QUIET_DAYS` days, as CIDARS does, so one rise is one signal.

Signals go to the county CDC's queue: :func:`signal_verify` (with a note), :func:`signal_dismiss`,
or :func:`signal_investigate`, which opens an :class:`~.models.Outbreak` and links the cases.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.db import IntegrityError, transaction
from django.db.models import Min
from django.utils.translation import gettext_lazy as _

from yigongti.core import audit
from yigongti.core.clock import LOCAL_TZ, now
from yigongti.core.models import AuditAction
from yigongti.registry.choices import DivisionLevel
from yigongti.registry.models import Division

from . import methods
from .choices import CardAction, CardStatus, Method, OutbreakStatus, SignalStatus
from .errors import AlertsBusy, IllegalOutbreakAction, IllegalSignalAction, NotReviewer, ReasonRequired, RulesNotLoaded
from .models import CardEvent, CaseCard, Disease, Outbreak, Signal
from .services import CARD, by, diseases_in_force, is_county_reviewer

QUIET_DAYS = 7
PERCENTILE_WINDOW = 7
# Days of history each method reads before the first day it judges (CUSUM gets a run-in).
HISTORY_DAYS = {"percentile": 3 * 365 + 2 * PERCENTILE_WINDOW + PERCENTILE_WINDOW - 1, "c1": 7, "c2": 9, "c3": 11,
                "cusum": 60, "single": 0}


@dataclass
class RunSummary:
    """What one run did (``ygt alerts`` prints it)."""

    start: dt.date
    end: dt.date
    townships: int = 0
    diseases: int = 0
    series: int = 0
    created: list[Signal] = field(default_factory=list)
    already: int = 0
    too_short: dict[str, int] = field(default_factory=dict)  # method → series it could not judge
    seconds: float = 0.0


def townships_in_force(day: dt.date) -> list[Division]:
    from django.db.models import Q

    return list(Division.objects.filter(Q(valid_to__isnull=True) | Q(valid_to__gt=day), level=DivisionLevel.TOWNSHIP,
                                        valid_from__lte=day).order_by("path"))


def _param(disease: Disease, key: str, default: float) -> float:
    return float((disease.params or {}).get(key, default))


def evaluate_disease(disease: Disease, method: str, counts: np.ndarray) -> methods.Evaluation:
    """One method of ``disease`` on a daily count series, with the disease's parameters."""
    if method in {"c1", "c2", "c3"}:
        alpha = _param(disease, "alpha_c3" if method == "c3" else "alpha", 0.025 if method == "c3" else 0.001)
        return methods.ears(counts, method, alpha=alpha, min_sigma=_param(disease, "min_sigma", 0.0))
    if method == "percentile":
        return methods.moving_percentile(counts, percentile=_param(disease, "percentile", 50),
                                         min_cases=_param(disease, "min_cases", 1))
    if method == "cusum":
        return methods.cusum(counts, k=_param(disease, "cusum_k", 0.5), h=_param(disease, "cusum_h", 4.0),
                             min_sigma=_param(disease, "min_sigma", 0.0))
    raise ValueError(method)


def daily_cards(start: dt.date, end: dt.date, *, township_ids: list[int] | None = None,
                disease_ids: list[int] | None = None) -> dict[tuple[int, int], dict[dt.date, list[int]]]:
    """Live cards by (township, disease) → report day → card ids, for days ``start`` … ``end``."""
    # A range on the indexed ``reported_at`` (local midnights), the local day worked out here.
    since = dt.datetime.combine(start, dt.time(), tzinfo=LOCAL_TZ)
    before = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=LOCAL_TZ)
    queryset = (CaseCard.objects.exclude(status=CardStatus.DELETED).filter(township__isnull=False)
                .filter(reported_at__gte=since, reported_at__lt=before))
    if township_ids is not None:
        queryset = queryset.filter(township_id__in=township_ids)
    if disease_ids is not None:
        queryset = queryset.filter(disease_id__in=disease_ids)
    found: dict[tuple[int, int], dict[dt.date, list[int]]] = defaultdict(lambda: defaultdict(list))
    for pk, township_id, disease_id, reported in queryset.order_by().values_list("pk", "township_id", "disease_id",
                                                                                 "reported_at"):
        found[(township_id, disease_id)][reported.astimezone(LOCAL_TZ).date()].append(pk)
    return found


def data_since() -> dt.date | None:
    """The first day the county reported any card: before it the counts are unknown, not zero."""
    first = CaseCard.objects.aggregate(first=Min("reported_at"))["first"]
    return first.astimezone(LOCAL_TZ).date() if first is not None else None


def count_series(by_day: dict[dt.date, list[int]], first: dt.date, days: int,
                 since: dt.date | None = None) -> np.ndarray:
    """Daily counts from ``first`` for ``days`` days; days before ``since`` are missing (NaN)."""
    counts = np.zeros(days)
    if since is not None and since > first:
        counts[: min(days, (since - first).days)] = np.nan
    for day, ids in by_day.items():
        index = (day - first).days
        if 0 <= index < days:
            counts[index] = len(ids)
    return counts


def alerts_run(*, day: dt.date, until: dt.date | None = None) -> RunSummary:
    """Evaluate every township × disease for each day ``day`` … ``until`` (one day by default) and
    write the signals found, in one transaction. Idempotent."""
    started = time.perf_counter()
    end = until or day
    if end < day:
        day, end = end, day
    diseases = [d for d in diseases_in_force(end) if d.single_case or d.methods]
    if not diseases:
        raise RulesNotLoaded()
    townships = townships_in_force(end)
    summary = RunSummary(start=day, end=end, townships=len(townships), diseases=len(diseases))
    history = max(max((HISTORY_DAYS[m] for m in d.methods), default=0) for d in diseases)
    first = day - dt.timedelta(days=history)
    length = (end - first).days + 1
    cards = daily_cards(first, end, township_ids=[t.pk for t in townships], disease_ids=[d.pk for d in diseases])
    existing = _existing(day - dt.timedelta(days=QUIET_DAYS - 1), end)
    judged_from = (day - first).days
    since = data_since()
    new: list[tuple[Signal, list[int]]] = []
    for township in townships:
        for disease in diseases:
            by_day = cards.get((township.pk, disease.pk), {})
            if not by_day and not disease.methods:
                continue  # single-case rule with no case: nothing to look at
            counts = count_series(by_day, first, length, since)
            plans = [("single", None)] if disease.single_case else [(m, None) for m in disease.methods]
            for method, _unused in plans:
                summary.series += 1
                found = _signals_of(township, disease, method, counts, first, judged_from, summary)
                for signal, window in found:
                    key = (township.pk, disease.pk, method)
                    taken = existing.get(key, [])
                    if signal.date in taken:
                        summary.already += 1
                        continue
                    if method != "single" and any(0 < (signal.date - d).days < QUIET_DAYS for d in taken):
                        continue
                    existing.setdefault(key, []).append(signal.date)
                    ids = [pk for offset in range(window)
                           for pk in by_day.get(signal.date - dt.timedelta(days=offset), [])]
                    new.append((signal, ids))
    try:
        with transaction.atomic():
            created = Signal.objects.bulk_create([s for s, _ids in new])
            links = [Signal.cases.through(signal_id=s.pk, casecard_id=pk)
                     for s, (_s, ids) in zip(created, new, strict=True) for pk in ids]
            Signal.cases.through.objects.bulk_create(links, batch_size=2000)
    except IntegrityError:
        # Two runs of the same days at once: the other wrote first (unique township × disease × day ×
        # method); nothing of this one was kept, and running again finds them all written.
        raise AlertsBusy() from None
    summary.created = created
    summary.seconds = time.perf_counter() - started
    return summary


def _existing(start: dt.date, end: dt.date) -> dict[tuple[int, int, str], list[dt.date]]:
    found: dict[tuple[int, int, str], list[dt.date]] = {}
    for township_id, disease_id, method, date in (Signal.objects.filter(date__gte=start, date__lte=end)
                                                  .values_list("township_id", "disease_id", "method", "date")):
        found.setdefault((township_id, disease_id, method), []).append(date)
    return found


def _signals_of(township: Division, disease: Disease, method: str, counts: np.ndarray, first: dt.date,
                judged_from: int, summary: RunSummary) -> list[tuple[Signal, int]]:
    """The signals one method raises on one series in the judged days (with their window length)."""
    found = []
    if method == "single":
        for index in np.flatnonzero(counts[judged_from:] > 0) + judged_from:
            date = first + dt.timedelta(days=int(index))
            found.append((Signal(township=township, path=township.path, disease=disease, date=date,
                                 method=Method.SINGLE, observed=float(counts[index]), expected=0.0, threshold=0.0,
                                 window_start=date), 1))
        return found
    try:
        result = evaluate_disease(disease, method, counts)
    except methods.SeriesTooShort:
        result = None
    if result is None or not result.ready[judged_from:].any():
        summary.too_short[method] = summary.too_short.get(method, 0) + 1
        return found
    min_cases = _param(disease, "min_cases", 1)
    window = PERCENTILE_WINDOW if method == "percentile" else 1
    alarms = np.flatnonzero(result.alarm[judged_from:] & (result.observed[judged_from:] >= min_cases)) + judged_from
    for index in alarms:
        date = first + dt.timedelta(days=int(index))
        found.append((Signal(township=township, path=township.path, disease=disease, date=date, method=method,
                             observed=float(result.observed[index]), expected=round(float(result.expected[index]), 4),
                             threshold=_bound(result.upperbound[index]),
                             window_start=date - dt.timedelta(days=window - 1)), window))
    return found


def _bound(number: float) -> float:
    """A signal's threshold; C3 has none when the two days before alone alarm (any count does): 0."""
    return 0.0 if np.isnan(number) else round(float(number), 4)


def _value(number: float) -> float | None:
    """A count of the series, ``None`` for a missing day (NaN is not JSON)."""
    return None if np.isnan(number) else float(number)


def signal_series(signal: Signal, *, before: int = 56, after: int = 14) -> list[dict[str, Any]]:
    """The series around a signal for its chart: per day the count the method judged (``None`` on a
    day before the county's first card, when the count is unknown), the expected value and the
    threshold (what the chart draws), and whether it alarmed."""
    method = signal.method
    history = HISTORY_DAYS.get(method, 0)
    last = min(signal.date + dt.timedelta(days=after), now().date())
    last = max(last, signal.date)
    first = signal.date - dt.timedelta(days=before + history)
    length = (last - first).days + 1
    by_day = daily_cards(first, last, township_ids=[signal.township_id], disease_ids=[signal.disease_id]).get(
        (signal.township_id, signal.disease_id), {})
    counts = count_series(by_day, first, length, data_since())
    shown_from = history
    rows = []
    if method == Method.SINGLE:
        for index in range(shown_from, length):
            rows.append({"date": first + dt.timedelta(days=index), "observed": _value(counts[index]),
                         "expected": 0.0, "upperbound": 0.0, "alarm": bool(counts[index] > 0)})
        return rows
    try:
        result = evaluate_disease(signal.disease, method, counts)
    except methods.SeriesTooShort:
        return rows
    for index in range(shown_from, length):
        ready = bool(result.ready[index])
        rows.append({"date": first + dt.timedelta(days=index), "observed": _value(result.observed[index]),
                     "expected": float(result.expected[index]) if ready else None,
                     "upperbound": _value(result.upperbound[index]) if ready else None,
                     "alarm": bool(result.alarm[index])})
    return rows


# ---------------------------------------------------------------- the CDC's answer


def _require_cdc(user: Any, action: Any) -> None:
    if not is_county_reviewer(user):
        raise NotReviewer(who=_("县疾控"), action=action)


def _locked_signal(signal: Signal) -> Signal:
    return Signal.objects.select_for_update().select_related("disease", "township").get(pk=signal.pk)


def _note(note: str, what: Any) -> str:
    text = (note or "").strip()
    if not text:
        raise ReasonRequired(what=what, field="note")
    return text


def _handle(user: Any, signal: Signal, status: str, note: str, action: Any, allowed: set[str]) -> Signal:
    _require_cdc(user, action)
    signal = _locked_signal(signal)
    if signal.status not in allowed:
        raise IllegalSignalAction(status=SignalStatus(signal.status).label, action=action)
    signal.status, signal.handled_at, signal.handled_by = status, now(), by(user)
    signal.note = "\n".join(filter(None, [signal.note, note]))
    signal.save(update_fields=["status", "handled_at", "handled_by", "note"])
    audit.record(user=user, action=AuditAction.UPDATE, object_type="surveillance.signal", object_id=signal.pk,
                 path=signal.path, detail={"status": status, "note": note[:500]})
    return signal


@transaction.atomic
def signal_verify(*, user: Any, signal: Signal, note: str) -> Signal:
    """核实: the CDC confirms the rise is real (with what it found)."""
    return _handle(user, signal, SignalStatus.VERIFIED, _note(note, _("核实记录")), _("核实"), {SignalStatus.NEW})


@transaction.atomic
def signal_dismiss(*, user: Any, signal: Signal, note: str) -> Signal:
    """排除: not an outbreak (a data artefact, a known cluster already handled …), with the reason."""
    return _handle(user, signal, SignalStatus.DISMISSED, _note(note, _("排除原因")), _("排除"),
                   {SignalStatus.NEW, SignalStatus.VERIFIED})


@transaction.atomic
def signal_investigate(*, user: Any, signal: Signal, title: str = "", note: str = "",
                       card_ids: list[int] | None = None) -> Outbreak:
    """开展暴发调查: open an investigation from the signal and link its cases (or those chosen)."""
    signal = _handle(user, signal, SignalStatus.INVESTIGATING, note.strip(), _("开展暴发调查"),
                     {SignalStatus.NEW, SignalStatus.VERIFIED})
    at = now()
    outbreak = Outbreak.objects.create(
        code=f"tmp-{signal.pk}-{at.timestamp()}", disease=signal.disease, township=signal.township, path=signal.path,
        title=(title.strip() or f"{signal.township.name}{signal.disease.name}暴发调查")[:200], summary=note.strip(),
        opened_at=at, opened_by=by(user))
    outbreak.code = f"OB{at:%Y%m%d}{outbreak.pk:05d}"
    outbreak.save(update_fields=["code"])
    signal.outbreak = outbreak
    signal.save(update_fields=["outbreak"])
    ids = list(signal.cases.values_list("pk", flat=True)) if card_ids is None else card_ids
    outbreak_link(user=user, outbreak=outbreak, card_ids=ids)
    return outbreak


@transaction.atomic
def outbreak_link(*, user: Any, outbreak: Outbreak, card_ids: list[int]) -> int:
    """Link cards of the outbreak's disease to it (each audited, with a ``link`` event); returns how many."""
    _require_cdc(user, _("关联病例"))
    cards = list(CaseCard.objects.select_for_update().filter(pk__in=card_ids, disease=outbreak.disease)
                 .exclude(status=CardStatus.DELETED))
    at = now()
    for card in cards:
        card.outbreak = outbreak
        card.save(update_fields=["outbreak", "updated_at"])
        CardEvent.objects.create(card=card, action=CardAction.LINK, at=at, by=by(user), note=outbreak.code)
        audit.record(user=user, action=AuditAction.UPDATE, object_type=CARD, object_id=card.pk,
                     path=card.path or card.institution_path, detail={"outbreak": outbreak.code})
    return len(cards)


@transaction.atomic
def outbreak_close(*, user: Any, outbreak: Outbreak, summary: str) -> Outbreak:
    """结案 with the investigation's conclusion."""
    _require_cdc(user, _("结案"))
    outbreak = Outbreak.objects.select_for_update().get(pk=outbreak.pk)
    if outbreak.status != OutbreakStatus.OPEN:
        raise IllegalOutbreakAction(status=OutbreakStatus(outbreak.status).label, action=_("结案"))
    outbreak.summary = "\n".join(filter(None, [outbreak.summary, _note(summary, _("调查结论"))]))
    outbreak.status, outbreak.closed_at = OutbreakStatus.CLOSED, now()
    outbreak.save(update_fields=["summary", "status", "closed_at"])
    audit.record(user=user, action=AuditAction.UPDATE, object_type="surveillance.outbreak", object_id=outbreak.pk,
                 path=outbreak.path, detail={"status": "closed"})
    return outbreak
