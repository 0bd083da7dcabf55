"""Demo module ``insurance``: three years of enrolment (参保缴费) and the direct settlement of every demo encounter.

**Enrolment.** The insurance years are the years of the demo's encounters and, for the trend, the
years before them back to two years before today's. Households enrol as a whole (every member in
the register born by the end of the year); the share that enrols rises year by year toward
:data:`ENROL_SHARE` (about 89.5 → 95 → 99.5 % of households, the county reports' 85 → 91 → 98 %),
a little lower in some villages (:data:`LOW_VILLAGES`: far from the township, many working away).
The planted duplicate records (``residents``) belong to no household and stay uninsured, so the
measured 参合率 (covered ÷ eligible) is about three points below the households' share. Assistance
categories (资助参保, 医疗救助): about :data:`DIBAO_SHARE` of the households are 低保, :data:`POVERTY_SHARE`
脱贫人口, and :data:`WUBAO_SHARE` of the people 特困/五保 — the same every year. Each household pays in
the collection campaign, between September and December of the year before.

**Settlement.** Every encounter of an insurance year — outpatient and emergency visits, discharged
inpatient stays — at the village clinics, township centres, county hospitals and outside the
county is settled at its discharge / visit day, each person's in date order so the year-to-date
accumulators build up (deductibles, caps, 大病 and 医疗救助 bite as they would). Some stays and
visits carry drugs or materials outside the catalogue (目录外). The encounters of the uninsured
are settled too: self-pay, with the reason on the slip. Then a few stays — each the person's
latest settlement of its year, since settlements are reversed latest first — are reversed (冲销)
and settled again through :func:`yigongti.insurance.services.resettle`, half with the drugs' cost
itself corrected (费用更正), half with the outside-catalogue part corrected; a few are just reversed
(the patient filed the claim elsewhere).

**Bulk, same as the services.** Enrolment and settlement are written in bulk (COPY on PostgreSQL)
with exactly the rows :func:`~yigongti.insurance.services.enrol_household` and
:func:`~yigongti.insurance.services.settle` would write — the same amounts, explanation lines,
accumulators and ledger postings (``tests/demo/test_insurance_demo.py`` proves it on a sample by
deleting the rows and writing them again through the services) — but not one audit entry per row
(the build records one for the whole county). A person's accumulators are written once, at their
final value, by the chunk of residents that settles them.

Randomness: one stream per village, household and person, derived from the seed
(:func:`unit_rng`), so the same seed gives the same rows whatever the earlier modules drew and a
part of the county can be rebuilt alone (the determinism test). Leaves in ``ctx.made``:
``insurance`` — ``years``, ``rates`` (covered ÷ eligible per year), ``settlements``, ``reversals``,
``resettled``, ``costs_corrected``.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Min
from django.utils.translation import gettext as _

from yigongti.care.choices import CostCategory as C
from yigongti.care.choices import EncounterKind
from yigongti.care.models import Encounter, EncounterCost
from yigongti.core import clock
from yigongti.core.rule_fixtures import rules_load
from yigongti.core.scope import SYSTEM
from yigongti.core.tree import subtree_q
from yigongti.insurance import services
from yigongti.insurance.adjudication import YTD_KEYS, Case, Ytd, adjudicate
from yigongti.insurance.errors import NoPolicy
from yigongti.insurance.models import (
    Account,
    Accumulator,
    Coverage,
    EntrySource,
    HouseholdEnrolment,
    LedgerEntry,
    PolicyVersion,
    Settlement,
    SettlementStatus,
)
from yigongti.insurance.money import ZERO, plain
from yigongti.insurance.policy import Policy, policy_for
from yigongti.insurance.selectors import county_of, eligible_residents, stored_policies
from yigongti.residents.choices import RecordStatus
from yigongti.residents.models import Household, Resident

from .bulk_rows import ids_draw, table_insert
from .context import BuildContext
from .surveillance import demo_now

# Share of the households that enrol, by years before the latest insurance year.
ENROL_SHARE = {0: 0.995, 1: 0.95, 2: 0.895}
EARLIER_DROP = 0.04  # each year before those
VILLAGE_SPREAD = 0.01  # ± per village
LOW_VILLAGES = 0.10  # share of villages that enrol less …
LOW_DROP = (0.03, 0.08)  # … by this much
DIBAO_SHARE, POVERTY_SHARE, WUBAO_SHARE = 0.04, 0.08, 0.005
# Outside the catalogue (目录外): chance and share of the category, by kind of encounter.
OUTSIDE_DRUGS = {"inpatient": (0.7, 0.03, 0.12), "outpatient": (0.08, 0.05, 0.25)}
OUTSIDE_MATERIALS = (0.3, 0.10, 0.30)  # inpatient stays with materials
REVERSAL_SHARE = 0.03  # of the stays that are the person's latest settlement of the year …
RESETTLE_SHARE = 0.75  # … most settled again (costs or outside-catalogue part corrected), the rest only reversed
REVERSAL_NOTES = ["目录外药品金额录入有误，冲销后按更正后的费用重新结算", "出院带药费用漏传，冲销后重新结算",
                  "乙类耗材目录对照错误，冲销后重新结算"]
COST_NOTES = ["西药费重复录入，更正费用后重新结算", "出院结算后退药，更正药品费用后重新结算"]
REVERSAL_ONLY_NOTES = ["患者已办理异地就医备案，改为回参保地手工报销", "患者申请转为商业保险理赔，本次结算冲销"]
HOUSEHOLDS_PER_CHUNK = 5_000
RESIDENTS_PER_CHUNK = 5_000

Row = dict[str, Any]


def unit_rng(seed: int, *unit: object) -> random.Random:
    """The stream of one unit (a village, a household, a person) of the county built with ``seed``."""
    return random.Random(":".join(["yigongti.demo.insurance", str(seed), *(str(u) for u in unit)]))


def insurance_years(today: dt.date, first_encounter: dt.date | None) -> list[int]:
    """Two years before today's, today's, and any earlier year with encounters (the module keeps
    those with a policy in force)."""
    first = today.year - 2 if first_encounter is None else min(today.year - 2, first_encounter.year)
    return list(range(first, today.year + 1))


def enrol_share(offset: int) -> float:
    """The share of households that enrol ``offset`` years before the latest year."""
    if offset in ENROL_SHARE:
        return ENROL_SHARE[offset]
    return ENROL_SHARE[max(ENROL_SHARE)] - EARLIER_DROP * (offset - max(ENROL_SHARE))


class Policies:
    """The stored policies, looked up once per county and day."""

    def __init__(self) -> None:
        if not PolicyVersion.objects.exists():
            rules_load(kinds=["insurance.policy"])
        self.all = stored_policies()
        self.found: dict[tuple[str | None, dt.date], Policy] = {}

    def on(self, path: str, day: dt.date) -> Policy:
        county = county_of(path)
        key = (county, day)
        if key not in self.found:
            self.found[key] = policy_for(self.all, county=county, on=day)
        return self.found[key]

    def enrols(self, path: str, year: int) -> bool:
        """Whether a policy with contributions is in force for the county on 1 January of ``year``."""
        try:
            return self.on(path, dt.date(year, 1, 1)).enrolment is not None
        except NoPolicy:
            return False


# ---------------------------------------------------------------- enrolment


@dataclass
class EnrolmentPlan:
    """One household's enrolment for one year, as :func:`services.enrol_household` takes it."""

    household_id: int
    path: str
    year: int
    paid_on: dt.date
    receipt_no: str
    members: dict[int, str]  # resident id → assistance category ("" none)
    paths: dict[int, str]  # resident id → the resident's path


def enrolment_rows(plan: EnrolmentPlan, policy: Policy, enrolment_id: int) -> tuple[Row, list[Row], list[Row]]:
    """The enrolment, its coverages and its ledger posting, as ``enrol_household`` writes them."""
    rules = policy.enrolment
    assert rules is not None, policy.code
    start, end = dt.date(plan.year, 1, 1), dt.date(plan.year + 1, 1, 1)
    coverages: list[Row] = []
    totals = {"contribution": ZERO, "exempted": ZERO, "subsidy": ZERO}
    for resident_id, category in plan.members.items():
        exempted = policy.q(rules.individual * rules.exempt_share(category or None))
        amounts = {"contribution": rules.individual - exempted, "exempted": exempted, "subsidy": rules.subsidy}
        row = {"resident_id": resident_id, "enrolment_id": enrolment_id, "year": plan.year,
               "path": plan.paths[resident_id], "category": category, **amounts,
               "valid_from": start, "valid_to": end}
        coverages.append(row)
        for name in totals:
            totals[name] += amounts[name]
    enrolment = {"id": enrolment_id, "household_id": plan.household_id, "year": plan.year, "path": plan.path,
                 "policy": policy.code, "paid_on": plan.paid_on, "receipt_no": plan.receipt_no[:64],
                 "members": len(coverages), "collected_at_id": None, "created_by_id": None, **totals}
    income = totals["contribution"] + totals["exempted"] + totals["subsidy"]
    entries = _posting(f"CB{enrolment_id}-{len(coverages)}", EntrySource.ENROLMENT, plan.year, plan.paid_on,
                       [(Account.BASIC, income), (Account.CONTRIBUTIONS, -totals["contribution"]),
                        (Account.AID, -totals["exempted"]), (Account.SUBSIDY, -totals["subsidy"])],
                       enrolment_id=enrolment_id)
    return enrolment, coverages, entries


def _posting(posting: str, source: str, year: int, on: dt.date, entries: Sequence[tuple[str, Decimal]], *,
             institution_id: int | None = None, settlement_id: int | None = None,
             enrolment_id: int | None = None) -> list[Row]:
    """The entries of one posting (zero amounts left out), as ``services._post`` writes them."""
    assert sum((amount for _account, amount in entries), ZERO) == 0, (posting, entries)
    return [{"posting": posting, "source": source, "account": account, "amount": amount, "year": year, "on": on,
             "institution_id": institution_id if account == Account.INSTITUTION else None,
             "settlement_id": settlement_id, "enrolment_id": enrolment_id}
            for account, amount in entries if amount]


@dataclass
class Enroller:
    """Draws who enrols and writes the enrolments a chunk of households at a time."""

    seed: int
    years: list[int]
    today: dt.date
    policies: Policies
    village_shift: dict[str, float] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)

    def shift(self, village: str) -> float:
        if village not in self.village_shift:
            rng = unit_rng(self.seed, "village", village)
            drop = rng.uniform(*LOW_DROP) if rng.random() < LOW_VILLAGES else 0.0
            self.village_shift[village] = rng.uniform(-VILLAGE_SPREAD, VILLAGE_SPREAD) - drop
        return self.village_shift[village]

    def plans(self, household: tuple[int, str, str, str], members: Sequence[tuple[int, str, dt.date]]) \
            -> list[EnrolmentPlan]:
        """The household's enrolments, one per year it enrols (its own stream: same draws every build)."""
        pk, code, path, village = household
        rng = unit_rng(self.seed, "household", code)
        draw = rng.random()
        category = "dibao" if draw < DIBAO_SHARE else "poverty" if draw < DIBAO_SHARE + POVERTY_SHARE else ""
        categories = {m[0]: "wubao" if rng.random() < WUBAO_SHARE else category for m in members}
        shift = self.shift(village)
        latest = self.years[-1]
        plans = []
        for year in self.years:
            enrols = rng.random() < enrol_share(latest - year) + shift
            campaign = dt.date(year - 1, 9, 1)
            paid_on = min(campaign + dt.timedelta(days=rng.randint(0, 121)), self.today)
            born = [m for m in members if m[2] < dt.date(year + 1, 1, 1)]
            if not enrols or not born:
                continue
            plans.append(EnrolmentPlan(household_id=pk, path=path, year=year, paid_on=paid_on,
                                       receipt_no=f"JF{year}{code}", members={m[0]: categories[m[0]] for m in born},
                                       paths={m[0]: m[1] for m in born}))
        return plans

    def chunk(self, households: Sequence[tuple[int, str, str, str]]) -> None:
        members: defaultdict[int, list[tuple[int, str, dt.date]]] = defaultdict(list)
        for pk, household_id, path, born in (Resident.objects.filter(
                household_id__in=[h[0] for h in households], status=RecordStatus.ACTIVE).order_by("id")
                .values_list("id", "household_id", "path", "birth_date")):
            members[household_id].append((pk, path, born))
        plans = [plan for h in households for plan in self.plans(h, members.get(h[0], []))]
        enrolments: list[Row] = []
        coverages: list[Row] = []
        entries: list[Row] = []
        for pk, plan in zip(ids_draw(HouseholdEnrolment, len(plans)), plans, strict=True):
            enrolment, covered, posting = enrolment_rows(plan, self.policies.on(plan.path, dt.date(plan.year, 1, 1)),
                                                         pk)
            enrolments.append(enrolment)
            coverages.extend(covered)
            entries.extend(posting)
        self.counts["insurance_enrolments"] += table_insert(HouseholdEnrolment, enrolments)
        self.counts["coverages"] += table_insert(Coverage, coverages)
        self.counts["ledger_entries"] += table_insert(LedgerEntry, entries)


# ---------------------------------------------------------------- settlement


@dataclass
class Visit:
    """What settlement reads of one encounter."""

    id: int
    resident_id: int
    path: str
    kind: str
    institution_id: int | None
    institution_path: str
    in_county: bool
    tier: str
    service_date: dt.date
    costs: dict[str, Decimal]  # by category, in the order of the cost rows

    @property
    def settle_kind(self) -> str:
        return "inpatient" if self.kind == EncounterKind.INPATIENT else "outpatient"

    @property
    def level(self) -> str:
        return "tertiary" if not self.in_county or not self.tier else self.tier


def outside_draw(rng: random.Random, visit: Visit) -> dict[str, Decimal]:
    """The part of the drugs (and a stay's materials) outside the catalogue, if any."""
    found: dict[str, Decimal] = {}
    chance, low, high = OUTSIDE_DRUGS[visit.settle_kind]
    drugs = visit.costs.get(C.DRUGS_WESTERN, ZERO)
    if drugs > 0 and rng.random() < chance:
        found[C.DRUGS_WESTERN] = (drugs * Decimal(str(round(rng.uniform(low, high), 3)))).quantize(Decimal("0.01"))
    materials = visit.costs.get(C.MATERIALS, ZERO)
    if visit.settle_kind == "inpatient" and materials > 0 and rng.random() < OUTSIDE_MATERIALS[0]:
        share = Decimal(str(round(rng.uniform(*OUTSIDE_MATERIALS[1:]), 3)))
        found[C.MATERIALS] = (materials * share).quantize(Decimal("0.01"))
    return {category: amount for category, amount in found.items() if amount > 0}


def uncovered_reason(coverage: tuple[str, dt.date, dt.date] | None, year: int, day: dt.date) -> str:
    """Why a person is not covered on ``day`` ("" when covered), worded as :func:`services.settle` does."""
    if coverage is None:
        return _("%(year)s 年度未参加城乡居民医保") % {"year": year}
    if not coverage[1] <= day < coverage[2]:
        return _("就诊日期不在待遇期内（%(start)s 至 %(end)s）") % {"start": coverage[1], "end": coverage[2]}
    return ""


def settlement_row(visit: Visit, outside: Mapping[str, Decimal], policy: Policy, ytd: Ytd,
                   coverage: tuple[str, dt.date, dt.date] | None, *, pk: int, key: str, settled_at: dt.datetime,
                   text: Callable[[Ytd], dict[str, str]] | None = None) -> tuple[Row, Ytd]:
    """The settlement ``services.settle`` writes for ``visit`` (costs with ``outside`` taken off), and
    the person's accumulators after it (unchanged for the uninsured). ``text`` writes accumulators
    as JSON-ready text (a memo of :func:`ytd_dict` when given)."""
    text = text or ytd_dict
    year = visit.service_date.year
    within = {category: total - outside.get(category, ZERO) for category, total in visit.costs.items()}
    reason = "" if coverage is not None and coverage[1] <= visit.service_date < coverage[2] else \
        uncovered_reason(coverage, year, visit.service_date)
    covered = not reason
    if not covered:
        ytd = Ytd()
    case = Case(id=str(visit.id), date=visit.service_date, kind=visit.settle_kind, level=visit.level, costs=within,
                county=county_of(visit.path), in_county=visit.in_county, outside_catalogue=dict(outside),
                covered=covered, reason=reason, aid_category=(coverage[0] or None) if coverage else None, ytd=ytd)
    result = adjudicate(case, policy)
    row = {"id": pk, "number": f"JS{year}{pk:08d}", "kind": "settlement", "status": SettlementStatus.SETTLED,
           "encounter_id": visit.id, "resident_id": visit.resident_id, "path": visit.path,
           "institution_id": visit.institution_id, "institution_path": visit.institution_path,
           "in_county": visit.in_county, "encounter_kind": visit.settle_kind, "level": visit.level, "year": year,
           "service_date": visit.service_date, "policy": policy.code, "covered": covered, "reason": reason,
           "aid_category": case.aid_category or "", "total": result.total, "eligible": result.eligible,
           "outside_catalogue": result.outside_catalogue, "category_share": result.category_share,
           "excluded": result.excluded, "basic": result.basic, "catastrophic": result.catastrophic, "aid": result.aid,
           "patient": result.patient, "lines": [line.as_dict() for line in result.lines],
           "costs": {"costs": {k: plain(v) for k, v in within.items()},
                     "outside_catalogue": {k: plain(v) for k, v in outside.items()}},
           "ytd_before": text(ytd), "ytd_after": text(result.ytd), "idempotency_key": key,
           "reverses_id": None, "note": "", "settled_at": settled_at, "settled_by_id": None}
    return row, (result.ytd if covered else ytd)


def ytd_dict(ytd: Ytd) -> dict[str, str]:
    """``Ytd.as_dict()`` without walking the dataclass's fields each time."""
    return {name: plain(getattr(ytd, name)) for name in YTD_KEYS}


class YtdText(dict[Ytd, dict[str, str]]):
    """A memo of :func:`ytd_dict`: a settlement's accumulators after are the next one's before."""

    def __call__(self, ytd: Ytd) -> dict[str, str]:
        found = self.get(ytd)
        if found is None:
            found = self[ytd] = ytd_dict(ytd)
        return found


def settlement_entries(row: Row) -> list[Row]:
    """The settlement's posting, as ``services._post_settlement`` writes it."""
    return _posting(row["number"], EntrySource.SETTLEMENT, row["year"], row["service_date"], [
        (Account.INSTITUTION, row["total"]), (Account.BASIC, -row["basic"]),
        (Account.CATASTROPHIC, -row["catastrophic"]), (Account.AID, -row["aid"]), (Account.PATIENT, -row["patient"])],
        institution_id=row["institution_id"], settlement_id=row["id"])


def demo_key(encounter_id: int) -> str:
    return f"demo-{encounter_id}"


@dataclass
class Settler:
    """Settles the encounters of a chunk of residents and writes their year accumulators."""

    seed: int
    years: set[int]
    now: dt.datetime
    policies: Policies
    under: str | None = None  # only the residents under this division path
    counts: Counter[str] = field(default_factory=Counter)
    corrections: list[tuple[int, int]] = field(default_factory=list)  # (settlement id, encounter id)

    def narrow(self, queryset: Any, path: str = "path") -> Any:
        return queryset.filter(subtree_q(self.under, path)) if self.under else queryset

    def visits(self, low: int, high: int) -> list[Visit]:
        found: dict[int, Visit] = {}
        encounters = self.narrow(Encounter.objects.filter(resident_id__gte=low, resident_id__lte=high)).order_by("id")
        for pk, resident_id, path, kind, inst, inst_path, in_county, tier, start, end in encounters.values_list(
                "id", "resident_id", "path", "kind", "institution_id", "institution_path", "in_county", "tier",
                "start_date", "end_date"):
            if kind == EncounterKind.INPATIENT and end is None:
                continue  # still in hospital: settled at discharge
            day = end or start
            if day.year not in self.years or day > self.now.date():
                continue
            found[pk] = Visit(pk, resident_id, path, kind, inst, inst_path, in_county, tier, day, {})
        costs = self.narrow(EncounterCost.objects.filter(encounter__resident_id__gte=low,
                                                          encounter__resident_id__lte=high), "encounter__path")
        for encounter_id, category, amount in costs.order_by("id").values_list("encounter_id", "category", "amount"):
            visit = found.get(encounter_id)
            if visit is not None:
                visit.costs[category] = visit.costs.get(category, ZERO) + amount
        # What the service refuses (a stay at a village clinic, a negative cost) is left unsettled.
        return [v for v in found.values() if not (v.settle_kind == "inpatient" and v.level == "village")
                and min(v.costs.values(), default=ZERO) >= 0]

    def chunk(self, low: int, high: int) -> None:
        """Residents ``low`` … ``high`` (ids): their settlements in date order, then their accumulators."""
        coverages = {(r, y): (c, f, t, p) for r, y, c, f, t, p in self.narrow(Coverage.objects.filter(
            resident_id__gte=low, resident_id__lte=high)).values_list("resident_id", "year", "category", "valid_from",
                                                                      "valid_to", "path")}
        visits = sorted(self.visits(low, high), key=lambda v: (v.resident_id, v.service_date, v.id))
        ytds: dict[tuple[int, int], Ytd] = {key: Ytd() for key in coverages}
        settled: Counter[tuple[int, int]] = Counter()
        rows: list[Row] = []
        entries: list[Row] = []
        rng, person = random.Random(), None
        text = YtdText()
        last: dict[tuple[int, int], tuple[int, Visit]] = {}  # the person's latest settlement of the year
        for pk, visit in zip(ids_draw(Settlement, len(visits)), visits, strict=True):
            if visit.resident_id != person:  # one stream per person, drawn in the order of their visits
                rng, person = unit_rng(self.seed, "resident", visit.resident_id), visit.resident_id
            outside = outside_draw(rng, visit)
            minutes = rng.randint(8 * 60, 17 * 60 + 30)
            at = dt.datetime.combine(visit.service_date, dt.time(minutes // 60, minutes % 60), tzinfo=clock.LOCAL_TZ)
            key = (visit.resident_id, visit.service_date.year)
            coverage = coverages.get(key)
            row, after = settlement_row(
                visit, outside, self.policies.on(visit.path, visit.service_date), ytds.get(key, Ytd()),
                coverage[:3] if coverage else None, pk=pk, key=demo_key(visit.id), settled_at=min(at, self.now),
                text=text)
            if row["covered"]:
                ytds[key] = after
                settled[key] += 1
                last[key] = (pk, visit)
            rows.append(row)
            entries.extend(settlement_entries(row))
        # A person's settlements of a year are reversed latest first: corrections are of a latest one.
        for pk, visit in last.values():
            chosen = unit_rng(self.seed, "correction", visit.id).random() < REVERSAL_SHARE
            if chosen and visit.settle_kind == "inpatient":
                self.corrections.append((pk, visit.id))
        accumulators = [{"resident_id": r, "year": y, "path": coverages[(r, y)][3], "settlements": settled[(r, y)],
                         **{name: getattr(ytd, name) for name in YTD_KEYS}} for (r, y), ytd in ytds.items()]
        self.counts["settlements"] += table_insert(Settlement, rows)
        self.counts["ledger_entries"] += table_insert(LedgerEntry, entries)
        self.counts["accumulators"] += table_insert(Accumulator, accumulators)


def corrections_apply(seed: int, corrections: Iterable[tuple[int, int]], now: dt.datetime) -> Counter[str]:
    """Reverse (冲销) the chosen settlements through the services; most are settled again
    (:func:`services.resettle`), half of those with the drugs' cost corrected (费用更正, the
    encounter's costs rewritten), the others with the outside-catalogue part corrected. Their times
    are put a few days after the first settlement."""
    done: Counter[str] = Counter()
    for settlement_id, encounter_id in corrections:
        rng = unit_rng(seed, "correction", encounter_id)
        rng.random()  # the draw that chose it
        original = Settlement.objects.get(pk=settlement_id)
        reversed_at = min(original.settled_at + dt.timedelta(days=rng.randint(1, 5), hours=rng.randint(0, 6)), now)
        if rng.random() >= RESETTLE_SHARE:
            reversal = services.reverse(SYSTEM, settlement_id, reason=rng.choice(REVERSAL_ONLY_NOTES))
        else:
            outside = {k: Decimal(v) for k, v in original.costs["outside_catalogue"].items()}
            drugs = Decimal(original.costs["costs"].get(C.DRUGS_WESTERN, "0")) + outside.get(C.DRUGS_WESTERN, ZERO)
            costs: dict[str, str] | None = None
            if drugs and rng.random() < 0.5:  # drugs entered twice: the encounter's costs corrected
                costs = {category: plain(amount) for category, amount in EncounterCost.objects.filter(
                    encounter_id=encounter_id).order_by("id").values_list("category", "amount")}
                factor = Decimal(1) - Decimal(str(round(rng.uniform(0.03, 0.12), 3)))
                costs[C.DRUGS_WESTERN] = plain((drugs * factor).quantize(Decimal("0.01")))
                if C.DRUGS_WESTERN in outside:
                    outside[C.DRUGS_WESTERN] = (outside[C.DRUGS_WESTERN] * factor).quantize(Decimal("0.01"))
                reason = rng.choice(COST_NOTES)
            elif drugs:  # the outside-catalogue part was wrong
                outside[C.DRUGS_WESTERN] = (drugs * Decimal(str(round(rng.uniform(0.0, 0.08), 3)))).quantize(
                    Decimal("0.01"))
                reason = rng.choice(REVERSAL_NOTES)
            else:
                reason = rng.choice(REVERSAL_NOTES)
            reversal, again = services.resettle(SYSTEM, settlement_id, reason=reason, key=f"{demo_key(encounter_id)}-2",
                                                outside_catalogue={k: plain(v) for k, v in outside.items() if v},
                                                costs=costs)
            Settlement.objects.filter(pk=again.pk).update(settled_at=min(reversed_at + dt.timedelta(minutes=10), now))
            done["resettled"] += 1
            done["costs_corrected"] += costs is not None
        Settlement.objects.filter(pk=reversal.pk).update(settled_at=reversed_at)
        done["reversals"] += 1
    return done


# ---------------------------------------------------------------- the module


def build(ctx: BuildContext, *, under: str | None = None) -> None:
    """Enrol and settle the county (or the households and residents ``under`` a division path)."""
    today = clock.today()
    if not Household.objects.exists():
        ctx.step(_("没有家庭户，跳过医保参保与结算"))
        return
    now = demo_now(today)
    policies = Policies()
    first = Encounter.objects.aggregate(first=Min("start_date"))["first"]
    county_path = Household.objects.values_list("path", flat=True).first() or ""
    years = [year for year in insurance_years(today, first) if policies.enrols(county_path, year)]
    if not years:
        ctx.step(_("没有适用的医保政策，跳过医保参保与结算"))
        return
    enroller = Enroller(ctx.seed, years, today, policies)
    households = Household.objects.order_by("id")
    if under:
        households = households.filter(subtree_q(under, "path"))
    rows = list(households.values_list("id", "code", "path", "village__code"))
    for start in range(0, len(rows), HOUSEHOLDS_PER_CHUNK):
        chunk = rows[start:start + HOUSEHOLDS_PER_CHUNK]
        ctx.step(_("参保登记 %(done)s/%(total)s 户") % {"done": start + len(chunk), "total": len(rows)})
        enroller.chunk(chunk)

    settler = Settler(ctx.seed, set(years), now, policies, under)
    residents = Resident.objects.order_by("id")
    if under:
        residents = residents.filter(subtree_q(under, "path"))
    ids = list(residents.values_list("id", flat=True))
    for start in range(0, len(ids), RESIDENTS_PER_CHUNK):
        part = ids[start:start + RESIDENTS_PER_CHUNK]
        ctx.step(_("医保结算 %(done)s/%(total)s 人") % {"done": start + len(part), "total": len(ids)})
        settler.chunk(part[0], part[-1])
    ctx.step(_("冲销与重新结算"))
    done = corrections_apply(ctx.seed, settler.corrections, now)
    rates = {}
    for year in years:
        eligible = eligible_residents(year)
        covered = Coverage.objects.filter(year=year)
        if under:
            eligible, covered = eligible.filter(subtree_q(under, "path")), covered.filter(subtree_q(under, "path"))
        n = eligible.count()
        rates[year] = covered.count() / n if n else None
    for counts in (enroller.counts, settler.counts):
        ctx.counts.update(counts)
    ctx.made["insurance"] = {"years": years, "rates": rates, "settlements": settler.counts["settlements"],
                             "reversals": done["reversals"], "resettled": done["resettled"],
                             "costs_corrected": done["costs_corrected"]}
    ctx.step(_("参合率 %(rates)s；结算 %(n)s 笔，冲销 %(r)s 笔") % {
        "rates": ", ".join(f"{y}: {r:.1%}" for y, r in rates.items() if r is not None),
        "n": settler.counts["settlements"], "r": done["reversals"]})

