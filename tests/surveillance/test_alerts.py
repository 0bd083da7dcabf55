"""The daily early warning (:func:`alerts_run`, ``ygt alerts --date D``) on hand-built cards, and the
county CDC's answer to its signals (verify, dismiss, investigate, close the outbreak).

Cards are filed through the service with chosen report times (``file``: distinct non-resident
patients living in a village, reported an hour after diagnosis). The run counts live cards by
report day and the township of the address at onset; days before the first card anywhere are
missing, not zero. Today is 2026-11-02 and the evaluated day D = 2026-11-01: three years and three
weeks of history reach back to 2023-10-08, after the catalogue took effect (2023-09-20), so every
card of the history can be filed through the service.

Thresholds used: HFMD (手足口病) percentile P75, min_cases 2, C3 with alpha 0.025 (z 1.959964) and
min_sigma 1; influenza (流行性感冒) C2 with alpha 0.001 (z 3.090232), min_sigma 1, min_cases 3.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from typing import Any

import pytest
from django.db import connections

from tests.surveillance.conftest import SurvCounty, at
from yigongti.cli import main
from yigongti.core.models import AuditEntry
from yigongti.registry.models import Division
from yigongti.surveillance.alerts import (
    QUIET_DAYS,
    alerts_run,
    outbreak_close,
    outbreak_link,
    signal_dismiss,
    signal_investigate,
    signal_series,
    signal_verify,
)
from yigongti.surveillance.choices import CardAction, Method, OutbreakStatus, SignalStatus
from yigongti.surveillance.errors import IllegalOutbreakAction, IllegalSignalAction, NotReviewer, ReasonRequired
from yigongti.surveillance.models import CardEvent, CaseCard, Disease, Outbreak, Signal
from yigongti.surveillance.services import card_delete

TODAY = dt.date(2026, 11, 2)
D = dt.date(2026, 11, 1)
HFMD, MEASLES, INFLUENZA = "B08.4", "B05", "J10"
_names = itertools.count(1)


def day(offset: int) -> dt.date:
    """D + offset days."""
    return D + dt.timedelta(days=offset)


def file(surv: SurvCounty, on: dt.date, n: int = 1, *, icd10: str = HFMD, village: Division | None = None,
         hour: int = 9) -> list[CaseCard]:
    """``n`` cards of distinct patients living in ``village`` (default village A, township 1),
    diagnosed at ``hour`` on ``on`` and reported an hour later."""
    return [surv.report(patient_name=f"病例{next(_names)}", division=village or surv.village_a, icd10=icd10,
                        diagnosed=at(on, hour), reported=at(on, hour + 1), onset=on) for _ in range(n)]


def signals(disease: str | None = None, **filters: Any) -> list[tuple[str, str, dt.date]]:
    rows = Signal.objects.filter(**filters)
    if disease:
        rows = rows.filter(disease__code=disease)
    return sorted(rows.values_list("township__code", "method", "date"))


def percentile_diseases() -> int:
    return sum(1 for d in Disease.objects.all() if "percentile" in d.methods)


# ---------------------------------------------------------------- single case


def test_a_single_case_disease_raises_one_signal_per_township_and_day(surv: SurvCounty) -> None:
    """Measles: two cases in township 1 (villages A and B) on D−3, one in township 2 the same day,
    one in township 1 on D−1. Run D−3 … D: three signals, each with its cases; no quiet period."""
    t1, t2 = surv.townships
    first = file(surv, day(-3), icd10=MEASLES) + file(surv, day(-3), icd10=MEASLES, village=surv.village_b)
    other = file(surv, day(-3), icd10=MEASLES, village=surv.village_c)
    later = file(surv, day(-1), icd10=MEASLES)
    summary = alerts_run(day=day(-3), until=D)
    assert signals("measles") == [(t1.code, "single", day(-3)), (t1.code, "single", day(-1)),
                                  (t2.code, "single", day(-3))]
    assert len(summary.created) == 3 and summary.start == day(-3) and summary.end == D
    by_key = {(s.township_id, s.date): s for s in Signal.objects.filter(disease__code="measles")}
    two = by_key[(t1.pk, day(-3))]
    assert (two.observed, two.expected, two.threshold, two.window_start) == (2.0, 0.0, 0.0, day(-3))
    assert set(two.cases.values_list("pk", flat=True)) == {c.pk for c in first}
    assert set(by_key[(t2.pk, day(-3))].cases.values_list("pk", flat=True)) == {other[0].pk}
    assert set(by_key[(t1.pk, day(-1))].cases.values_list("pk", flat=True)) == {later[0].pk}
    assert all(s.status == SignalStatus.NEW and s.path == s.township.path for s in by_key.values())


def test_a_rerun_writes_nothing_new(surv: SurvCounty) -> None:
    file(surv, day(-3), icd10=MEASLES)
    file(surv, day(-1), icd10=MEASLES)
    assert len(alerts_run(day=day(-3), until=D).created) == 2
    again = alerts_run(day=day(-3), until=D)
    assert again.created == [] and again.already == 2
    assert Signal.objects.count() == 2


def test_a_run_that_collides_with_another_keeps_nothing_and_says_so(surv: SurvCounty,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Two runs of the same days at once (the cron and the CDC's button): the one that did not see the
    other's signals collides on the unique township × disease × day × method, is told, and keeps
    nothing; the other's signals stand. Simulated by hiding the existing signals from the second run."""
    from yigongti.surveillance import alerts as alerts_module
    from yigongti.surveillance.errors import AlertsBusy

    file(surv, day(-3), icd10=MEASLES)
    file(surv, day(-1), icd10=MEASLES)
    assert len(alerts_run(day=day(-3), until=D).created) == 2
    monkeypatch.setattr(alerts_module, "_existing", lambda start, end: {})
    with pytest.raises(AlertsBusy):
        alerts_run(day=day(-3), until=D)
    assert Signal.objects.count() == 2


def test_deleted_cards_are_left_out(surv: SurvCounty) -> None:
    [card] = file(surv, day(-1), icd10=MEASLES)
    file(surv, day(-1), icd10=MEASLES, village=surv.village_c)  # a live one in township 2: a signal
    card_delete(user=surv.cdc_user, card=card, reason="误诊，实为风疹")
    alerts_run(day=day(-1))
    assert signals("measles") == [(surv.townships[1].code, "single", day(-1))]


def test_cards_of_patients_outside_the_county_are_not_counted(surv: SurvCounty) -> None:
    surv.report(patient_name="过客", address="邻县某镇", icd10=MEASLES, diagnosed=at(day(-1), 9),
                reported=at(day(-1), 10), onset=day(-1))
    summary = alerts_run(day=day(-1))
    assert summary.created == [] and CaseCard.objects.count() == 1


def test_the_cards_count_for_the_township_of_the_address_not_of_the_reporter(surv: SurvCounty) -> None:
    """The village A doctor reports a measles case living in village C (township 2)."""
    file(surv, day(-1), icd10=MEASLES, village=surv.village_c)
    alerts_run(day=day(-1))
    assert signals("measles") == [(surv.townships[1].code, "single", day(-1))]


# ---------------------------------------------------------------- moving percentile


def _weekly_background_and_cluster(surv: SurvCounty) -> list[CaseCard]:
    """HFMD in township 1. One case a week on D−7k (k = 1 … 160, back to D−1120, before the first
    day of the 3-year history D−1115): every 7-day window holds exactly one, the window of D (D−6 … D)
    none. Extra cases on the last day of five of D's 15 baseline windows (ending D − 365y ± 7s):
      +1 on D−365, D−372 (a year before), D−730 (two years), D−1095 (three years); +2 on D−737.
    Window sums: 1 ×10, 2 ×4, 3 ×1. Sorted v1…v15 = 1 1 1 1 1 1 1 1 1 1 2 2 2 2 3:
      median v8 = 1 (expected); P75: h = 14 × 0.75 + 1 = 11.5 → v11 + 0.5 (v12 − v11) = 2 (threshold).
    The cluster: 1 case on D−2, 2 on D−1, 2 on D → the week's count 5 > 2 and ≥ min_cases 2: alarm."""
    for k in range(1, 161):
        file(surv, day(-7 * k))
    for offset, extra in ((-365, 1), (-372, 1), (-730, 1), (-1095, 1), (-737, 2)):
        file(surv, day(offset), extra, hour=14)
    return file(surv, day(-2)) + file(surv, day(-1), 2) + file(surv, D, 2, hour=0)


def test_moving_percentile_finds_a_cluster_above_three_years_of_background(surv: SurvCounty) -> None:
    cluster = _weekly_background_and_cluster(surv)
    summary = alerts_run(day=D)
    assert summary.too_short == {}
    t1 = surv.townships[0]
    signal = Signal.objects.get(disease__code="hfmd", method=Method.PERCENTILE)
    assert (signal.township, signal.date, signal.window_start) == (t1, D, day(-6))
    assert (signal.observed, signal.expected, signal.threshold) == (5.0, 1.0, 2.0)
    assert set(signal.cases.values_list("pk", flat=True)) == {c.pk for c in cluster}
    # C3 on D (baseline D−9 … D−3 holds the case of D−7: mean 1/7, σ floored to 1):
    # terms D−2: max(0, 1 − 1/7 − 1) = 0; D−1: 2 − 1/7 − 1 = 0.857; D: 0.857 → 1.714 ≤ 1.96: no C3 signal.
    assert signals("hfmd") == [(t1.code, "percentile", D)]
    assert signals() == [(t1.code, "percentile", D)]


def test_moving_percentile_is_quiet_without_the_cluster(surv: SurvCounty) -> None:
    """The same background with a week of 2 (not above P75 = 2): no signal."""
    for k in range(1, 161):
        file(surv, day(-7 * k))
    for offset, extra in ((-365, 1), (-372, 1), (-730, 1), (-1095, 1), (-737, 2)):
        file(surv, day(offset), extra, hour=14)
    file(surv, day(-1), 2)
    assert alerts_run(day=D).created == []


def test_without_three_years_of_history_the_percentile_says_so_and_stays_quiet(surv: SurvCounty) -> None:
    """Cards only since a year ago: every percentile series (each township × each disease that
    uses it) is counted as too short, and the cluster raises no percentile signal."""
    for k in range(1, 53):
        file(surv, day(-7 * k))
    file(surv, day(-1), 6)
    summary = alerts_run(day=D)
    assert summary.too_short["percentile"] == 2 * percentile_diseases()
    assert not Signal.objects.filter(method=Method.PERCENTILE).exists()


# ---------------------------------------------------------------- EARS C3 and C2


def _c3_cluster(surv: SurvCounty) -> list[CaseCard]:
    """HFMD in township 1, the county's first card on D−14 (before it: missing days):
      D−14: 1 · D−10: 1 · D−6: 1 · D−1: 2 · D: 3 (every other day 0).
    C2 standardisation, baseline t−9 … t−3 (guard 2), σ = max(sd, 1) = 1 (a 0/1 baseline has sd < 1):
      D−2: baseline D−11 … D−5 holds D−10, D−6 → mean 2/7; x = 0 → term 0
      D−1: baseline D−10 … D−4 holds D−10, D−6 → mean 2/7; C2 = 2 − 2/7 = 1.714286 → term 0.714286
      D: baseline D−9 … D−3 holds D−6 → mean 1/7 = 0.142857; C2 = 3 − 1/7 = 2.857143 → term 1.857143
    C3(D) = 0 + 0.714286 + 1.857143 = 2.571429 > 1.959964: alarm; observed 3 ≥ min_cases 2.
    threshold = mean + σ (1 + z − s) = 0.142857 + (1 + 1.959964 − 0.714286) = 2.388535."""
    file(surv, day(-14))
    file(surv, day(-10))
    file(surv, day(-6))
    return file(surv, day(-1), 2) + file(surv, D, 3, hour=0)


def test_ears_c3_finds_a_rise_over_three_days(surv: SurvCounty) -> None:
    cluster = _c3_cluster(surv)
    summary = alerts_run(day=D)
    signal = Signal.objects.get(disease__code="hfmd", method=Method.C3)
    assert (signal.township, signal.date, signal.window_start) == (surv.townships[0], D, D)
    assert signal.observed == 3.0
    assert signal.expected == pytest.approx(0.1429, abs=1e-4)
    assert signal.threshold == pytest.approx(2.3885, abs=1e-4)
    assert set(signal.cases.values_list("pk", flat=True)) == {c.pk for c in cluster[2:]}
    # Two weeks of data: every percentile series is too short to judge.
    assert summary.too_short == {"percentile": 2 * percentile_diseases()}


def test_the_day_before_the_c3_alarm_is_quiet(surv: SurvCounty) -> None:
    """C3(D−1) = terms of D−3 (0), D−2 (0), D−1 (0.714286) = 0.714286 ≤ 1.96."""
    _c3_cluster(surv)
    alerts_run(day=day(-1))
    assert not Signal.objects.exists()


def test_a_cluster_on_the_first_day_of_data_is_not_judged_by_ears(surv: SurvCounty) -> None:
    """The county's first cards are today's cluster: the days before are unknown, not zero, so C3 has
    no baseline and says so rather than alarm."""
    file(surv, D, 5, hour=0)
    summary = alerts_run(day=D)
    assert summary.too_short["c3"] >= 1
    assert not Signal.objects.exists()


def _influenza(surv: SurvCounty, on: dt.date, n: int) -> None:
    file(surv, on, n, icd10=INFLUENZA)


@pytest.fixture
def influenza_history(surv: SurvCounty) -> dt.date:
    """The county's first card (measles, township 2) on D1 − 20, D1 = D − 20; influenza in
    township 1: 4 cases on D1, 4 on D1 + 2, 8 on D1 + 7 (zero otherwise). C2 (t−9 … t−3, σ ≥ 1):
      D1: baseline all 0 → threshold 0 + 3.090232 × 1 = 3.090232; 4 alarms
      D1 + 2: baseline D1−7 … D1−1, all 0 → 4 alarms again, within the quiet period
      D1 + 7: baseline D1−2 … D1+4 = 0 0 4 0 4 0 0: mean 8/7 = 1.142857, SS = 32 − 64/7 = 22.857143,
              sd = √(22.857143/6) = 1.951800, threshold 1.142857 + 3.090232 × 1.951800 = 7.174371;
              8 alarms, 7 days after the last signal."""
    d1 = day(-20)
    file(surv, d1 - dt.timedelta(days=20), icd10=MEASLES, village=surv.village_c)
    _influenza(surv, d1, 4)
    _influenza(surv, d1 + dt.timedelta(days=2), 4)
    _influenza(surv, d1 + dt.timedelta(days=7), 8)
    return d1


def test_a_second_alarm_within_the_quiet_period_gives_no_new_signal(surv: SurvCounty,
                                                                    influenza_history: dt.date) -> None:
    d1 = influenza_history
    assert QUIET_DAYS == 7
    for offset in range(8):  # run daily, as the scheduler does
        alerts_run(day=d1 + dt.timedelta(days=offset))
    t1 = surv.townships[0].code
    assert signals("influenza") == [(t1, "c2", d1), (t1, "c2", d1 + dt.timedelta(days=7))]
    first, second = Signal.objects.filter(disease__code="influenza").order_by("date")
    assert (first.observed, first.expected) == (4.0, 0.0)
    assert first.threshold == pytest.approx(3.0902, abs=1e-4)
    assert second.observed == 8.0 and second.expected == pytest.approx(1.1429, abs=1e-4)
    assert second.threshold == pytest.approx(7.1744, abs=1e-4)


def test_the_quiet_period_holds_inside_one_run_over_a_range(surv: SurvCounty, influenza_history: dt.date) -> None:
    d1 = influenza_history
    alerts_run(day=d1, until=d1 + dt.timedelta(days=7))
    t1 = surv.townships[0].code
    assert signals("influenza") == [(t1, "c2", d1), (t1, "c2", d1 + dt.timedelta(days=7))]


def test_a_week_under_min_cases_does_not_signal(surv: SurvCounty) -> None:
    """HFMD, min_cases 2. The county's first card (measles, township 2) on D − 1116: every HFMD
    baseline window of township 1 is known and 0, so P75 = 0. One case on D − 1: 1 > 0 but under
    min_cases 2, no signal. A second case on D: the week's count 2 → signal (expected 0, threshold 0).
    C3 stays quiet: each term is max(0, (1 − 0)/1 − 1) = 0."""
    file(surv, day(-1116), icd10=MEASLES, village=surv.village_c)
    file(surv, day(-1))
    alerts_run(day=day(-1))
    assert signals("hfmd") == []
    file(surv, D, hour=0)
    alerts_run(day=D)
    signal = Signal.objects.get(disease__code="hfmd")
    assert (signal.method, signal.date, signal.observed, signal.expected, signal.threshold) == (
        "percentile", D, 2.0, 0.0, 0.0)


# ---------------------------------------------------------------- the chart's series


def test_signal_series_ends_at_the_signal_with_its_baseline_and_threshold(surv: SurvCounty) -> None:
    """The C3 signal of D: 15 rows D−14 … D; the last is the signal's numbers; D−1: mean 2/7, s = 0 →
    threshold 2/7 + (1 + 1.959964) = 3.245678, observed 2, no alarm; D−14 has no baseline (the days
    before the first card are missing)."""
    _c3_cluster(surv)
    alerts_run(day=D)
    signal = Signal.objects.get(method=Method.C3)
    rows = signal_series(signal, before=14, after=0)
    assert [r["date"] for r in rows] == [day(-14 + i) for i in range(15)]
    last = rows[-1]
    assert last["observed"] == 3.0 and last["alarm"]
    assert last["expected"] == pytest.approx(signal.expected, abs=1e-4)
    assert last["upperbound"] == pytest.approx(signal.threshold, abs=1e-4)
    assert rows[-2]["observed"] == 2.0 and not rows[-2]["alarm"]
    assert rows[-2]["expected"] == pytest.approx(2 / 7) and rows[-2]["upperbound"] == pytest.approx(3.245678)
    assert rows[0]["expected"] is None and rows[0]["upperbound"] is None
    assert rows[0]["observed"] == 1.0  # D − 14, the first card
    json.dumps(signal_series(signal, before=20, after=0), default=str, allow_nan=False)  # days before: None


def test_signal_series_runs_on_after_the_signal_up_to_today(surv: SurvCounty) -> None:
    _c3_cluster(surv)
    alerts_run(day=D)
    rows = signal_series(Signal.objects.get(method=Method.C3), before=7)
    assert rows[0]["date"] == day(-7) and rows[-1]["date"] == TODAY == day(1)


def test_signal_series_of_a_percentile_signal_shows_the_seven_day_sums(surv: SurvCounty) -> None:
    _weekly_background_and_cluster(surv)
    alerts_run(day=D)
    signal = Signal.objects.get(method=Method.PERCENTILE)
    rows = signal_series(signal, before=7, after=0)
    assert rows[-1]["date"] == D and rows[-1]["observed"] == 5.0
    assert (rows[-1]["expected"], rows[-1]["upperbound"], rows[-1]["alarm"]) == (1.0, 2.0, True)
    # D−3's window D−9 … D−3 holds the weekly case of D−7 only
    assert rows[-4]["observed"] == 1.0 and not rows[-4]["alarm"]


def test_signal_series_of_a_single_case_signal(surv: SurvCounty) -> None:
    """The county's first card on D − 5 (HFMD), a measles case on D − 1: before D − 5 the count is
    unknown (None, which JSON can carry — NaN it cannot), after it 0."""
    file(surv, day(-5))
    file(surv, day(-1), icd10=MEASLES)
    alerts_run(day=day(-1))
    rows = signal_series(Signal.objects.get(disease__code="measles"), before=5, after=0)
    assert [(r["date"], r["observed"], r["alarm"]) for r in rows] == [
        (day(-6), None, False), (day(-5), 0.0, False), (day(-4), 0.0, False), (day(-3), 0.0, False),
        (day(-2), 0.0, False), (day(-1), 1.0, True)]
    json.dumps(rows, default=str, allow_nan=False)


# ---------------------------------------------------------------- the CDC's queue


@pytest.fixture
def signal(surv: SurvCounty) -> Signal:
    file(surv, day(-1), 2, icd10=MEASLES)
    alerts_run(day=day(-1))
    return Signal.objects.get()


def test_the_cdc_verifies_a_signal_with_a_note(surv: SurvCounty, signal: Signal) -> None:
    entries = AuditEntry.objects.count()
    verified = signal_verify(user=surv.cdc_user, signal=signal, note="电话核实，两例为同班同学")
    assert verified.status == SignalStatus.VERIFIED and verified.handled_by == surv.cdc_user
    assert verified.note == "电话核实，两例为同班同学" and verified.handled_at is not None
    assert AuditEntry.objects.count() == entries + 1


@pytest.mark.parametrize("action", [signal_verify, signal_dismiss])
def test_verifying_or_dismissing_needs_a_note(surv: SurvCounty, signal: Signal, action: Any) -> None:
    with pytest.raises(ReasonRequired):
        action(user=surv.cdc_user, signal=signal, note=" ")
    signal.refresh_from_db()
    assert signal.status == SignalStatus.NEW


@pytest.mark.parametrize("who", ["director", "village_doctor", "commission"])
def test_only_the_cdc_answers_a_signal(surv: SurvCounty, signal: Signal, who: str) -> None:
    user = getattr(surv, who)
    with pytest.raises(NotReviewer):
        signal_verify(user=user, signal=signal, note="已核实")
    with pytest.raises(NotReviewer):
        signal_dismiss(user=user, signal=signal, note="误报")
    with pytest.raises(NotReviewer):
        signal_investigate(user=user, signal=signal, note="立案")
    signal.refresh_from_db()
    assert signal.status == SignalStatus.NEW and not Outbreak.objects.exists()


def test_a_verified_signal_may_be_dismissed_but_a_dismissed_one_is_final(surv: SurvCounty, signal: Signal) -> None:
    signal_verify(user=surv.cdc_user, signal=signal, note="已核实")
    with pytest.raises(IllegalSignalAction):
        signal_verify(user=surv.cdc_user, signal=signal, note="再次核实")
    dismissed = signal_dismiss(user=surv.cdc_user, signal=signal, note="为已知聚集，已处置")
    assert dismissed.status == SignalStatus.DISMISSED and dismissed.note == "已核实\n为已知聚集，已处置"
    for action in (signal_verify, signal_dismiss, signal_investigate):
        with pytest.raises(IllegalSignalAction):
            action(user=surv.cdc_user, signal=signal, note="再处理")


def test_an_investigation_opens_an_outbreak_and_links_the_signals_cases(surv: SurvCounty, signal: Signal) -> None:
    cases = set(signal.cases.values_list("pk", flat=True))
    assert len(cases) == 2
    outbreak = signal_investigate(user=surv.cdc_user, signal=signal, note="学校聚集，开展流调")
    signal.refresh_from_db()
    assert signal.status == SignalStatus.INVESTIGATING and signal.outbreak == outbreak
    assert outbreak.status == OutbreakStatus.OPEN and outbreak.code.startswith("OB")
    assert (outbreak.disease, outbreak.township, outbreak.path) == (signal.disease, signal.township, signal.path)
    assert set(outbreak.cases.values_list("pk", flat=True)) == cases
    links = CardEvent.objects.filter(action=CardAction.LINK)
    assert set(links.values_list("card_id", flat=True)) == cases
    assert set(links.values_list("note", flat=True)) == {outbreak.code}
    with pytest.raises(IllegalSignalAction):
        signal_investigate(user=surv.cdc_user, signal=signal, note="再立案")


def test_linking_more_cases_takes_only_live_cards_of_the_outbreaks_disease(surv: SurvCounty, signal: Signal) -> None:
    outbreak = signal_investigate(user=surv.cdc_user, signal=signal)
    [more] = file(surv, day(-1), icd10=MEASLES, village=surv.village_b)
    [other_disease] = file(surv, day(-1), icd10=HFMD)
    [deleted] = file(surv, day(-1), icd10=MEASLES, village=surv.village_b)
    card_delete(user=surv.cdc_user, card=deleted, reason="重卡")
    assert outbreak_link(user=surv.cdc_user, outbreak=outbreak,
                         card_ids=[more.pk, other_disease.pk, deleted.pk]) == 1
    assert outbreak.cases.count() == 3
    with pytest.raises(NotReviewer):
        outbreak_link(user=surv.director, outbreak=outbreak, card_ids=[more.pk])


def test_closing_an_outbreak_needs_a_conclusion_and_happens_once(surv: SurvCounty, signal: Signal) -> None:
    outbreak = signal_investigate(user=surv.cdc_user, signal=signal, note="开展流调")
    with pytest.raises(ReasonRequired):
        outbreak_close(user=surv.cdc_user, outbreak=outbreak, summary="")
    with pytest.raises(NotReviewer):
        outbreak_close(user=surv.director, outbreak=outbreak, summary="结案")
    closed = outbreak_close(user=surv.cdc_user, outbreak=outbreak, summary="共 2 例，无续发，结案")
    assert closed.status == OutbreakStatus.CLOSED and closed.closed_at is not None
    assert closed.summary == "开展流调\n共 2 例，无续发，结案"
    with pytest.raises(IllegalOutbreakAction, match="暴发调查当前为“已结案”"):
        outbreak_close(user=surv.cdc_user, outbreak=outbreak, summary="再结案")


# ---------------------------------------------------------------- ygt alerts --date D


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> None:
    # ``ygt`` closes every connection when a command ends; inside the test's transaction that would
    # drop it (see tests/interop/test_import_cli.py).
    monkeypatch.setattr(connections, "close_all", lambda: None)


def test_ygt_alerts_prints_the_new_signals(surv: SurvCounty, cli: None, capsys: pytest.CaptureFixture[str]) -> None:
    file(surv, day(-1), 2, icd10=MEASLES)
    assert main(["alerts", "--date", day(-1).isoformat(), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    t1 = surv.townships[0]
    assert json.loads(out) == [{"date": day(-1).isoformat(), "township": t1.code, "township_name": t1.name,
                                "disease": "measles", "disease_name": "麻疹", "method": "single",
                                "observed": 2.0, "expected": 0.0, "threshold": 0.0}]
    assert "新预警信号 1 个" in err and "已有 0 个" in err
    assert main(["alerts", "--date", day(-1).isoformat(), "--format", "csv"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == ["date,township,township_name,disease,disease_name,method,observed,expected,threshold"]
    assert "新预警信号 0 个" in err and "已有 1 个" in err


def test_ygt_alerts_over_a_range_as_a_table(surv: SurvCounty, cli: None, capsys: pytest.CaptureFixture[str]) -> None:
    file(surv, day(-3), icd10=MEASLES)
    file(surv, day(-1), icd10=MEASLES, village=surv.village_c)
    assert main(["alerts", "--date", day(-3).isoformat(), "--until", D.isoformat()]) == 0
    out, err = capsys.readouterr()
    assert day(-3).isoformat() in out and day(-1).isoformat() in out and out.count("麻疹") == 2
    assert f"{day(-3)}…{D}" in err and "新预警信号 2 个" in err


def test_ygt_alerts_defaults_to_today(surv: SurvCounty, cli: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["alerts", "--format", "csv"]) == 0
    assert TODAY.isoformat() in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--date", "2026-11-03"], ["--date", "2026-10-30", "--until", "2026-11-03"],
                                  ["--date", "2026-02-30"], ["--date", "2026-10-30", "--until", "soon"]])
def test_ygt_alerts_refuses_a_future_or_bad_date(surv: SurvCounty, cli: None, capsys: pytest.CaptureFixture[str],
                                                 args: list[str]) -> None:
    assert main(["alerts", *args]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not Signal.objects.exists()
