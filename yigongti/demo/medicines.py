"""Demo module ``medicines``: a year of essential medicines (基本药物三统一) in the demo county.

Over the year up to ``core.clock.today()`` (:data:`DAYS`):

- **Opening stock** (期初入库) at every institution that keeps stock (the county hospitals, the
  township centres, the village clinics): every item of its tier's list, between the reorder and the
  target level, one or two lots each.
- **Requisitions** (请领) through the real flow shape: each village clinic asks its township centre
  early in the month for what fell below its reorder level (up to the target); the centre approves
  what it can give and ships first-expiry-first-out the next day, the clinic receives two to four days
  later. Each township centre asks the county hospital around the 8th; the hospital approves in full.
- **Procurement** (统一采购): mid-month the hospital consolidates the township requisitions and its own
  shortfall into one purchase order per contracted supplier (the TCM and MCH hospitals their own
  shortfall), approved the same day and delivered three to seven days later; about
  :data:`DIRECT_SHARE` of the township requisitions are delivered directly to the centre (直送),
  the rest shipped down by the hospital on the 24th.
- **Prescriptions** for :data:`RX_SHARE` of the outpatient encounters (by tier), items chosen by the
  encounter's primary diagnosis (:data:`DX_ITEMS`), dispensed first-expiry-first-out at the batch's
  price (零差率); what is not in stock is left off (a prescription with nothing in stock is voided).
- **Planted**: :data:`SHORT_CLINICS` village clinics whose requisition is still waiting and whose
  common items ran low or out in the last fortnight; lots expiring within 30–90 days at some
  institutions and a few already expired with stock — some written off (报损), some not yet.
- **Stock takes** (盘点): one posted per township centre on the last day, a few differences found.

**Bulk, same as the services.** The year is simulated in memory (:mod:`.medicines_ledger`) and
written in bulk with exactly the rows the services would write (``tests/demo/test_medicines_demo.py``
replays a sample through them and compares); the write-offs, stock takes and the planted clinics'
pending requisitions go through the services themselves. The ledger passes ``services.ledger_check()``.

Randomness: one stream per institution, encounter and month from the seed (:func:`unit_rng`).
Leaves in ``ctx.made``: ``medicines`` — ``prescriptions``, ``movements``, ``requisitions``,
``orders``, ``short_clinics`` (institution codes), ``expiring`` / ``expired`` (lots planted).
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from yigongti.care.choices import EncounterKind
from yigongti.care.models import Diagnosis, Encounter
from yigongti.core import clock
from yigongti.core.rule_fixtures import rules_load
from yigongti.core.scope import SYSTEM
from yigongti.medicines import services, services_flow
from yigongti.medicines.choices import MovementKind, RequisitionStatus, WriteOffReason
from yigongti.medicines.models import ContractPrice, Medicine, Movement, Requisition, StockTake
from yigongti.medicines.selectors import formulary
from yigongti.registry.choices import InstitutionType, Tier
from yigongti.registry.models import Institution

from .context import BuildContext
from .medicines_flow import Flow
from .medicines_ledger import Ledger, Place
from .surveillance import demo_now

DAYS = 365
RX_SHARE: dict[str, float] = {Tier.VILLAGE: 0.55, Tier.TOWNSHIP: 0.5, Tier.COUNTY: 0.25}
DIRECT_SHARE = 0.25
SHORT_CLINICS = 4
EXPIRING_PLACES, EXPIRED_PLACES, WRITTEN_OFF = 8, 4, 2
# Items by primary diagnosis (ICD-10 of the care demo); an encounter's lines are drawn from its list,
# those not on the institution tier's list left out.
DX_ITEMS: dict[str, list[str]] = {
    "J06.9": ["XY0001", "XY0037", "XY0036", "XY0064", "XY0066", "XY0068", "XY0046", "XY0050", "XY0069"],
    "J20.9": ["XY0001", "XY0005", "XY0046", "XY0047", "XY0003", "XY0066", "XY0011"],
    "J18.9": ["XY0010", "XY0006", "XY0005", "XY0056", "XY0046", "XY0075", "XY0011", "XY0074"],
    "J44.1": ["XY0048", "XY0049", "XY0006", "XY0046", "XY0061", "XY0076"],
    "K29.7": ["XY0039", "XY0040", "XY0043", "XY0044", "XY0073"],
    "K80.1": ["XY0039", "XY0043", "XY0010"],
    "A09": ["XY0041", "XY0042", "XY0007", "XY0012", "XY0065", "XY0057"],
    "M54.5": ["XY0036", "XY0038", "XY0037", "XY0078"],
    "M17.9": ["XY0038", "XY0036", "XY0078"],
    "R51": ["XY0037", "XY0036", "XY0068"],
    "T14.0": ["XY0036", "XY0060", "XY0037", "XY0062"],
    "L30.9": ["XY0050", "XY0059", "XY0051", "XY0060"],
    "N39.0": ["XY0008", "XY0012", "XY0013", "XY0006", "XY0003"],
    "I10": ["XY0002", "XY0014", "XY0019", "XY0015", "XY0016", "XY0017", "XY0018", "XY0020", "XY0021", "XY0071"],
    "E11.9": ["XY0022", "XY0023", "XY0024", "XY0025", "XY0026", "XY0027", "XY0072"],
    "I25.1": ["XY0030", "XY0028", "XY0031", "XY0032", "XY0033", "XY0029", "XY0063", "XY0070"],
    "I63.9": ["XY0030", "XY0028", "XY0033", "XY0063"],
    "N18.9": ["XY0035", "XY0054", "XY0014"],
    "Z34.9": ["XY0055", "XY0054", "XY0053"],
}
GENERAL = ["XY0037", "XY0036", "XY0039", "XY0046", "XY0053", "XY0064", "XY0067"]
CHRONIC = {"I10", "E11.9", "I25.1"}  # a month's supply: two or three packs, 30 days
LINES = [(1, 0.55), (2, 0.33), (3, 0.12)]
USAGE = {"注射剂": "遵医嘱", "颗粒剂": "开水冲服，一次1袋，一日3次", "散剂": "口服，一次1袋，一日3次",
         "乳膏剂": "外用，一日2次", "软膏剂": "外用，一日2次", "气雾剂": "吸入，必要时1～2揿",
         "口服溶液剂": "口服，一次10ml，一日3次", "酊剂": "口服，一次1支，一日2次"}


def unit_rng(seed: int, *unit: object) -> random.Random:
    """The stream of one unit (an institution, an encounter, a month) of the county built with ``seed``."""
    return random.Random(":".join(["yigongti.demo.medicines", str(seed), *(str(u) for u in unit)]))


def places_load() -> list[Place]:
    """Every institution that keeps stock (all but the CDC), county level first, then by code."""
    rows = (Institution.objects.exclude(type=InstitutionType.CDC).order_by("code")
            .values_list("id", "code", "path", "tier", "parent_id", "type"))
    order: dict[str, int] = {Tier.COUNTY: 0, Tier.TOWNSHIP: 1, Tier.VILLAGE: 2}
    return sorted((Place(*row) for row in rows), key=lambda p: (order.get(p.tier, 3), p.code))


def encounters_load(start: dt.date, end: dt.date) -> list[tuple[Any, ...]]:
    """Outpatient encounters at a county institution in [start, end], by day then id, with their primary
    diagnosis: (id, resident, path, institution, day, clinician, diagnosis)."""
    visits = Encounter.objects.filter(kind=EncounterKind.OUTPATIENT, institution__isnull=False,
                                      start_date__gte=start, start_date__lte=end)
    primary = dict(Diagnosis.objects.filter(is_primary=True, encounter__in=visits).values_list("encounter_id", "code"))
    return [(*row, primary.get(row[0], "")) for row in visits.order_by("start_date", "id").values_list(
        "id", "resident_id", "path", "institution_id", "start_date", "clinician_name")]


def flow_for(seed: int, today: dt.date, places: list[Place] | None = None) -> Flow:
    """The simulation of the year up to ``today`` with the stored catalogue (nothing written yet)."""
    medicines = {m.pk: m for m in Medicine.objects.all()}
    prices: dict[int, list[tuple[dt.date, dt.date | None, Decimal, int]]] = defaultdict(list)
    for row in ContractPrice.objects.order_by("-valid_from").values_list("medicine_id", "valid_from", "valid_to",
                                                                          "unit_price", "supplier_id"):
        prices[row[0]].append(row[1:])
    listed = {tier: formulary(tier, today) for tier in Tier.values}
    return Flow(seed, today, demo_now(today), places if places is not None else places_load(), medicines, prices,
                listed, Ledger())


def build(ctx: BuildContext) -> None:
    """Stock, requisitions, orders and prescriptions of the year up to today, then the planted cases."""
    today = clock.today()
    places = places_load()
    if not places:
        ctx.step(_("没有医疗机构，跳过基本药物"))
        return
    if not Medicine.objects.exists():
        rules_load(kinds=["medicines.catalogue"])
    start = max(today - dt.timedelta(days=DAYS - 1), *Medicine.objects.values_list("valid_from", flat=True)[:1])
    now = demo_now(today)
    flow = flow_for(ctx.seed, today, places)
    ctx.step(_("期初库存"))
    flow.opening(start)
    ctx.step(_("请领、采购、配送与处方发药（%(start)s 至 %(end)s）") % {"start": start, "end": today})
    flow.run(start, encounters_load(start, today), RX_SHARE, DX_ITEMS, GENERAL, CHRONIC, LINES, USAGE)
    ctx.step(_("写入库存流水与单据"))
    for table, n in flow.ledger.flush().items():
        ctx.counts[f"medicines_{table}"] += n
    ctx.step(_("报损、待审批请领与盘点"))
    done = _through_services(ctx.seed, flow, today, now)
    counts = flow.counts
    ctx.made["medicines"] = {
        "prescriptions": counts["prescriptions"], "movements": Movement.objects.count(),
        "requisitions": Requisition.objects.count(), "orders": counts["orders"], "direct": counts["direct"],
        "short_clinics": [p.code for p in flow.short], "expiring": counts["expiring"], "expired": counts["expired"],
        **done}
    ctx.step(_("处方 %(rx)s 张，请领单 %(rq)s 张，采购订单 %(po)s 张") % {
        "rx": counts["prescriptions"], "rq": ctx.made["medicines"]["requisitions"], "po": counts["orders"]})


def _through_services(seed: int, flow: Flow, today: dt.date, now: dt.datetime) -> dict[str, int]:
    """The write-offs of planted expired lots, the short clinics' pending requisitions and one stock take per
    township centre, through the services (dated after everything the bulk wrote at those institutions)."""
    done: Counter[str] = Counter()
    for place, lot in flow.expired[:WRITTEN_OFF]:
        quantity = flow.ledger.stock[place.id][lot.medicine_id].get(lot, 0)
        if not quantity:
            continue
        day = min(lot.expiry + dt.timedelta(days=unit_rng(seed, "write-off", place.code).randint(2, 9)), today)
        movement = services.write_off(SYSTEM, Institution.objects.get(pk=place.id), lot.row["id"], quantity,
                                      reason=WriteOffReason.EXPIRED, note=_("过期药品报损，已交回县医院统一销毁"),
                                      day=day)
        Movement.objects.filter(pk=movement.pk).update(created_at=flow.at(day, unit_rng(seed, "wo", place.code)))
        done["written_off"] += 1
    for place in flow.short:
        wanted = flow.wanted(place, today)
        if not wanted:
            continue
        requisition = services_flow.requisition_submit(SYSTEM, Institution.objects.get(pk=place.id), wanted,
                                                       note=_("库存不足，请尽快配送"), day=today)
        Requisition.objects.filter(pk=requisition.pk).update(created_at=now - dt.timedelta(hours=2))
        done["pending"] += requisition.status == RequisitionStatus.SUBMITTED
    for place in flow.places:
        if place.tier != Tier.TOWNSHIP:
            continue
        rng = unit_rng(seed, "stocktake", place.code)
        take = services.stocktake_start(SYSTEM, Institution.objects.get(pk=place.id), day=today)
        lines = list(take.lines.order_by("pk").values_list("pk", "expected"))
        counts = {pk: expected for pk, expected in lines}
        for pk, expected in rng.sample(lines, min(len(lines), rng.randint(1, 3))):
            counts[pk] = max(0, expected + rng.choice([-1, -1, -2, 1]))
        services.stocktake_count(SYSTEM, take.pk, counts)
        services.stocktake_post(SYSTEM, take.pk)
        StockTake.objects.filter(pk=take.pk).update(created_at=now - dt.timedelta(hours=3), posted_at=now)
        Movement.objects.filter(stock_take=take).update(created_at=now)
        done["stock_takes"] += 1
        done["adjustments"] += Movement.objects.filter(stock_take=take, kind=MovementKind.ADJUSTMENT).count()
    return dict(done)
