"""Demo module ``referrals``: two-way referrals, booked slots and teleconsultations.

- Up: about :data:`UP_SHARE` of the county hospital's and TCM hospital's encounters came up by
  referral from the patient's township centre or village clinic (linked to the encounter;
  ``completed`` with feedback, or ``arrived`` when recent), plus the referrals that never became an
  encounter there — still ``requested`` (some inside the answer deadline, some overdue and
  escalated), ``accepted`` (awaiting arrival, most with a booked slot), ``rejected`` and
  ``cancelled`` — in the shares of :data:`OPEN_STATUSES`.
- Down: about half of the completed up-referrals are sent back down (``parent`` the up one) to
  where they came from with a care plan (``care_plan``: programme, follow-up days, instructions —
  for I10 / E11 the hypertension / diabetes programme, no programme writes: bulk demo data).
- Every referral has its :class:`~yigongti.referrals.models.ReferralEvent` rows, a legal path of
  :data:`yigongti.referrals.machine.TRANSITIONS` from ``request`` to its status (plus
  ``escalate`` where the job would have escalated it).
- Slots: the county hospital's clinical departments, morning and afternoon, for the next
  :data:`SLOT_DAYS` days (no Sundays), nearer days more booked; ``Slot.booked`` equals its
  ``booked`` bookings.
- Teleconsultations: township centres asking the county hospital, most answered, some pending.

Deterministic from ``ctx.rng``; written with bulk paths. Answer deadlines come from the
``referrals.deadlines`` rules when loaded (else the same working values).
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from yigongti.accounts.models import User
from yigongti.care.models import Diagnosis, Encounter
from yigongti.core import clock
from yigongti.referrals.choices import BookingStatus, ConsultStatus, Direction, ReferralKind, ReferralStatus, Urgency
from yigongti.referrals.models import (
    Booking,
    Referral,
    ReferralEvent,
    ResponseDeadline,
    Slot,
    Teleconsultation,
)
from yigongti.registry.choices import InstitutionType
from yigongti.registry.models import Department, Institution
from yigongti.residents.choices import RecordStatus
from yigongti.residents.models import Resident

from .bulk_rows import ids_draw, table_insert
from .care import DX
from .context import BuildContext, weighted_choice

S = ReferralStatus
UP_SHARE = 0.02
FROM_CENTRE_SHARE = 0.6  # the rest from the village clinic
ARRIVED_DAYS = 3  # encounters this recent are still "arrived" (feedback not yet written)
# Referrals that never became an encounter, relative to the arrived/completed ones.
OPEN_STATUSES = [(S.REQUESTED, 0.08), (S.ACCEPTED, 0.06), (S.ARRIVED, 0.02), (S.REJECTED, 0.07),
                 (S.CANCELLED, 0.06)]
OVERDUE_SHARE = 0.5  # of the requested ones
ACCEPTED_BEFORE_CANCEL = 0.4
DOWN_SHARE = 0.5
DOWN_STATUSES = [(S.COMPLETED, 0.7), (S.ARRIVED, 0.1), (S.ACCEPTED, 0.1), (S.REQUESTED, 0.1)]
URGENCIES = [(Urgency.ROUTINE, 0.8), (Urgency.URGENT, 0.15), (Urgency.EMERGENCY, 0.05)]
# Working values when the referrals.deadlines rules are not loaded (hours: respond, escalate).
DEFAULT_DEADLINES: dict[str, tuple[int, int]] = {Urgency.ROUTINE: (24, 48), Urgency.URGENT: (4, 8),
                                                 Urgency.EMERGENCY: (1, 2)}
OPEN_DX = ["I63.9", "J18.9", "I25.1", "K80.1", "C34.9", "N18.9", "J44.1", "I10", "E11.9", "S72.0"]
CARE_PLANS = {"I10": ("hypertension", 14), "E11.9": ("diabetes", 14), "E11": ("diabetes", 14),
              "I63.9": ("hypertension", 14)}
SLOT_DAYS = 14
BANDS = [(dt.time(8, 0), dt.time(12, 0)), (dt.time(14, 30), dt.time(17, 30))]
SLOT_CAPACITY = (4, 12)
CANCELLED_BOOKING_SHARE = 0.05
CONSULTS_PER_RESIDENT = 1 / 500
CONSULT_ANSWERED_SHARE = 0.75
CONSULT_DEPARTMENTS = ["XXGNK", "HXNK", "NFMK", "SJNK", "PFK", "EK", "XHNK", "GK"]
REASONS = ["基层诊疗条件有限，需上级医院进一步诊治", "病情加重，需住院治疗", "需完善检查明确诊断",
           "专科会诊后制定治疗方案"]
REJECT_REASONS = ["本院该专科床位已满，建议转诊至州级医院", "病情适宜在基层继续治疗"]
CANCEL_REASONS = ["患者病情好转，暂不转诊", "患者及家属要求至县外就诊"]
FEEDBACK = "诊断明确，经治疗病情好转，出院带药，建议基层继续随访管理。"
INSTRUCTIONS = "按时服药，两周内到村卫生室/乡镇卫生院随访，监测血压血糖，如有不适及时就诊。"
QUESTIONS = ["患者血压控制不佳，已联合用药，请协助调整治疗方案。", "胸片示肺部阴影，请协助判断是否需上转。",
             "皮疹反复发作一月，请协助诊断。", "血糖波动大，请协助评估是否需胰岛素治疗。",
             "儿童反复咳嗽，请协助制定治疗方案。"]
DOWN_REASON = "病情稳定，转回基层继续治疗与随访"
ANSWER = "已阅资料，建议调整用药并两周后复诊；如症状加重请上转我院专科门诊。"

Row = dict[str, Any]



def _now(today: dt.date) -> dt.datetime:
    """The demo's "now": the real time when today is the real date, else noon of the pinned day."""
    real = dt.datetime.now(clock.LOCAL_TZ)
    return real if real.date() == today else dt.datetime.combine(today, dt.time(12, 0), tzinfo=clock.LOCAL_TZ)


def _at(day: dt.date, rng: random.Random, hours: tuple[int, int] = (8, 17)) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(rng.randint(*hours), rng.randint(0, 59)), tzinfo=clock.LOCAL_TZ)


def deadlines(today: dt.date) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = dict(DEFAULT_DEADLINES)
    for urgency, respond, escalate in ResponseDeadline.objects.filter(
            Q(effective_to__isnull=True) | Q(effective_to__gt=today), effective_from__lte=today).order_by(
            "effective_from").values_list("urgency", "respond_hours", "escalate_hours"):
        found[urgency] = (respond, escalate)
    return found


class Maker:
    """Referrals with their events, slots with bookings, teleconsultations."""

    def __init__(self, rng: random.Random, today: dt.date, places: Mapping[int, tuple[str, str]],
                 users: Mapping[int, int], limits: Mapping[str, tuple[int, int]]) -> None:
        self.rng, self.today, self.now = rng, today, _now(today)
        self.places, self.users, self.limits = places, users, limits  # id → (path, tier); institution → user
        self.referrals: list[Row] = []
        self.events: list[list[Row]] = []

    def referral(self, *, resident: tuple[int, str, int | None, int | None], to: int, direction: str, kind: str,
                 requested_at: dt.datetime, status: str, dx: str, department: int | None = None,
                 from_institution: int | None = None, encounter: Row | None = None, parent: Row | None = None,
                 arrived_at: dt.datetime | None = None, completed_at: dt.datetime | None = None) -> Row:
        rng = self.rng
        requested_at = min(requested_at, self.now)
        resident_id, path, clinic_id, centre_id = resident
        if from_institution is None:
            from_institution = centre_id if clinic_id is None or rng.random() < FROM_CENTRE_SHARE else clinic_id
        assert from_institution is not None
        urgency = Urgency.ROUTINE if direction == Direction.DOWN else weighted_choice(rng, URGENCIES)
        respond, escalate = self.limits[urgency]
        name = DX[dx][0] if dx in DX else ""
        row: Row = {
            "resident_id": resident_id, "path": path, "direction": direction, "kind": kind, "urgency": urgency,
            "from_institution_id": from_institution, "to_institution_id": to, "to_department_id": department,
            "from_path": self.places[from_institution][0], "to_path": self.places[to][0],
            "reason": rng.choice(REASONS) if direction == Direction.UP else DOWN_REASON,
            "diagnosis_code": dx, "diagnosis_name": name, "summary": f"{name}，详见附件检查结果。",
            "_parent": parent, "encounter_id": encounter["id"] if encounter else None,
            "status": status, "requested_at": requested_at, "requested_by_id": self.users.get(from_institution),
            "respond_by": requested_at + dt.timedelta(hours=respond),
            "escalate_at": requested_at + dt.timedelta(hours=escalate), "care_plan": {},
        }
        now = self.now
        events = [self.event("request", "", S.REQUESTED, requested_at, from_institution)]
        receiver = self.users.get(to)
        # Every moment is at most now and after the one before (an encounter of today may be later today).
        answered = min(now, requested_at + dt.timedelta(minutes=rng.randint(10, max(11, int(respond * 54)))))
        if status == S.REQUESTED and row["escalate_at"] <= now:
            row["escalated_at"] = row["escalate_at"]
            events.append(self.event("escalate", S.REQUESTED, S.REQUESTED, row["escalate_at"], None))
        if status in (S.ACCEPTED, S.ARRIVED, S.COMPLETED) or (
                status == S.CANCELLED and rng.random() < ACCEPTED_BEFORE_CANCEL):
            row.update(responded_at=answered, responded_by_id=receiver)
            events.append(self.event("accept", S.REQUESTED, S.ACCEPTED, answered, to))
        if status == S.REJECTED:
            row.update(responded_at=answered, responded_by_id=receiver, reject_reason=rng.choice(REJECT_REASONS))
            events.append(self.event("reject", S.REQUESTED, S.REJECTED, answered, to, row["reject_reason"]))
        if status == S.CANCELLED:
            row["cancel_reason"] = rng.choice(CANCEL_REASONS)
            last = events[-1]
            at = min(now, last["at"] + dt.timedelta(hours=rng.randint(1, 48)))
            events.append(self.event("cancel", last["to_status"], S.CANCELLED, at, from_institution,
                                     row["cancel_reason"]))
        if status in (S.ARRIVED, S.COMPLETED):
            arrived = min(now, max(arrived_at or answered + dt.timedelta(hours=rng.randint(2, 48)), answered))
            row["arrived_at"] = arrived
            events.append(self.event("arrive", S.ACCEPTED, S.ARRIVED, arrived, to))
            if status == S.COMPLETED:
                done = min(now, max(completed_at or arrived + dt.timedelta(hours=rng.randint(2, 72)), arrived))
                row.update(completed_at=done, feedback=FEEDBACK)
                events.append(self.event("complete", S.ARRIVED, S.COMPLETED, done, to))
        self.referrals.append(row)
        self.events.append(events)
        return row

    def event(self, action: str, source: str, target: str, at: dt.datetime, institution: int | None,
              note: str = "") -> Row:
        return {"action": action, "from_status": source, "to_status": target, "at": at,
                "by_id": self.users.get(institution) if institution else None, "note": note}

    def down(self, up: Row) -> Row:
        """Back to where the patient came from, with a care plan."""
        rng = self.rng
        status = weighted_choice(rng, DOWN_STATUSES)
        requested = up["completed_at"]
        if status != S.COMPLETED and requested < self.now - dt.timedelta(days=14):
            status = S.COMPLETED  # an old down-referral is settled by now
        arrived = min(self.now, requested + dt.timedelta(hours=rng.randint(24, 96)))
        done = min(self.now, arrived + dt.timedelta(hours=rng.randint(1, 24)))
        tier = self.places[up["from_institution_id"]][1]
        kind = ReferralKind.CHRONIC if tier == "village" or up["diagnosis_code"] in CARE_PLANS \
            else ReferralKind.REHABILITATION
        row = self.referral(resident=(up["resident_id"], up["path"], None, None), to=up["from_institution_id"],
                            from_institution=up["to_institution_id"], direction=Direction.DOWN, kind=kind,
                            requested_at=requested, status=status, dx=up["diagnosis_code"], parent=up,
                            arrived_at=arrived, completed_at=done)
        programme, days = CARE_PLANS.get(up["diagnosis_code"], ("", 7 * rng.randint(1, 4)))
        row["care_plan"] = {"programme": programme, "follow_up_days": days, "instructions": INSTRUCTIONS}
        return row

    def flush(self) -> tuple[int, int]:
        ids = ids_draw(Referral, len(self.referrals))
        for pk, row in zip(ids, self.referrals, strict=True):
            row["id"] = pk
        for row in self.referrals:  # a down-referral follows its parent: the parent's id is drawn now
            parent = row.pop("_parent")
            row["parent_id"] = parent["id"] if parent else None
        events = [{**event, "referral_id": pk} for pk, made in zip(ids, self.events, strict=True) for event in made]
        return table_insert(Referral, self.referrals), table_insert(ReferralEvent, events)


def _up_candidates(county: Sequence[int]) -> list[tuple[Any, ...]]:
    return list(Encounter.objects.filter(institution_id__in=county, in_county=True).order_by("id").values_list(
        "id", "resident_id", "path", "resident__clinic_id", "resident__township_centre_id", "kind", "start_date",
        "end_date", "institution_id", "department_id"))


def _primary_dx(encounter_ids: Sequence[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for start in range(0, len(encounter_ids), 500):
        found.update(Diagnosis.objects.filter(encounter_id__in=encounter_ids[start:start + 500], is_primary=True)
                     .values_list("encounter_id", "code"))
    return found


def build(ctx: BuildContext) -> None:
    rng, today = ctx.rng, clock.today()
    places = {pk: (path, tier) for pk, path, tier in Institution.objects.order_by("id").values_list("id", "path",
                                                                                                  "tier")}
    hospital = Institution.objects.filter(type=InstitutionType.COUNTY_HOSPITAL).order_by("id").first()
    if hospital is None:
        ctx.step(_("没有县医院，跳过转诊"))
        return
    county = list(Institution.objects.filter(type__in=[InstitutionType.COUNTY_HOSPITAL, InstitutionType.TCM_HOSPITAL])
                  .order_by("id").values_list("id", flat=True))
    users: dict[int, int] = {}
    for inst_id, user_id in User.objects.filter(institution__isnull=False).order_by("-id").values_list(
            "institution_id", "id"):
        users[inst_id] = user_id  # ordered by -id: the first user of each institution wins
    maker = Maker(rng, today, places, users, deadlines(today))
    departments = dict(Department.objects.filter(institution=hospital, is_clinical=True).order_by("id").values_list(
        "code", "id"))

    ctx.step(_("双向转诊"))
    candidates = [c for c in _up_candidates(county) if c[4] is not None and rng.random() < UP_SHARE]
    dx = _primary_dx([c[0] for c in candidates])
    ups: list[Row] = []
    for pk, resident_id, path, clinic_id, centre_id, kind, start, end, inst_id, dept_id in candidates:
        came = end or start
        status = S.ARRIVED if (today - came).days < ARRIVED_DAYS else S.COMPLETED
        requested = _at(start - dt.timedelta(days=rng.randint(0, 3)), rng, (7, 10))
        arrived = max(requested + dt.timedelta(hours=2), _at(start, rng, (11, 12)))
        completed = _at(came, rng, (15, 17)) if status == S.COMPLETED else None
        ups.append(maker.referral(
            resident=(resident_id, path, clinic_id, centre_id), to=inst_id, direction=Direction.UP,
            kind=ReferralKind.INPATIENT if kind == "inpatient" else ReferralKind.OUTPATIENT, requested_at=requested,
            status=status, dx=dx.get(pk, "J18.9"), department=dept_id, encounter={"id": pk}, arrived_at=arrived,
            completed_at=completed))
    residents = list(Resident.objects.filter(status=RecordStatus.ACTIVE, township_centre__isnull=False).order_by(
        "id").values_list("id", "path", "clinic_id", "township_centre_id"))
    accepted: list[Row] = []
    statuses = Counter({status: round(len(ups) * share) for status, share in OPEN_STATUSES})
    for status, n in statuses.items():
        for _i in range(n):
            code = rng.choice(OPEN_DX)
            if status == S.REQUESTED:
                overdue = rng.random() < OVERDUE_SHARE
                hours = rng.uniform(30, 24 * 10) if overdue else rng.uniform(0.2, 8)
                requested = maker.now - dt.timedelta(hours=hours)
            elif status in (S.ACCEPTED, S.ARRIVED):
                requested = maker.now - dt.timedelta(hours=rng.uniform(6, 24 * 6))
            else:
                requested = _at(today - dt.timedelta(days=rng.randint(1, 360)), rng)
            dept = next((departments[c] for c in DX[code][1] if c in departments), None)
            row = maker.referral(resident=rng.choice(residents), to=hospital.pk, direction=Direction.UP,
                                 kind=ReferralKind.OUTPATIENT, requested_at=requested, status=status, dx=code,
                                 department=dept)
            if status == S.ACCEPTED:
                accepted.append(row)
    ctx.step(_("下转与照护计划"))
    for up in ups:
        if up["status"] == S.COMPLETED and rng.random() < DOWN_SHARE:
            maker.down(up)
    made, events = maker.flush()
    ctx.counts["referrals"] += made
    ctx.counts["referral_events"] += events

    ctx.step(_("预约号源"))
    _slots(ctx, rng, today, maker, hospital, departments, residents, accepted)
    ctx.step(_("远程会诊"))
    _consults(ctx, rng, maker, hospital, departments, residents)


def _slots(ctx: BuildContext, rng: random.Random, today: dt.date, maker: Maker, hospital: Institution,
           departments: Mapping[str, int], residents: Sequence[tuple[int, str, int | None, int | None]],
           accepted: Sequence[Row]) -> None:
    factor = max(1, round(len(residents) / 200_000))
    slots: list[Row] = []
    for offset in range(SLOT_DAYS):
        day = today + dt.timedelta(days=offset)
        if day.weekday() == 6:
            continue
        for dept_id in departments.values():
            for start, end in BANDS:
                slots.append({"institution_id": hospital.pk, "department_id": dept_id, "date": day,
                              "start_time": start, "end_time": end, "booked": 0,
                              "capacity": rng.randint(*SLOT_CAPACITY) * factor,
                              "published_by_id": maker.users.get(hospital.pk), "_fill": 0.6 * (1 - offset / 16)})
    for pk, slot in zip(ids_draw(Slot, len(slots)), slots, strict=True):
        slot["id"] = pk
    by_department: dict[int, list[Row]] = {}
    for slot in slots:
        by_department.setdefault(slot["department_id"], []).append(slot)
    bookings: list[Row] = []
    taken: set[tuple[int, int]] = set()

    def book(slot: Row, resident: tuple[int, str, int | None, int | None], referral: Row | None) -> bool:
        if slot["booked"] >= slot["capacity"] or (slot["id"], resident[0]) in taken:
            return False
        cancelled = referral is None and rng.random() < CANCELLED_BOOKING_SHARE
        booked_at = maker.now - dt.timedelta(hours=rng.uniform(1, 24 * 5))
        source = referral["from_institution_id"] if referral else resident[3]
        bookings.append({"slot_id": slot["id"], "resident_id": resident[0], "path": resident[1],
                         "referral_id": referral["id"] if referral else None, "booked_from_id": source,
                         "status": BookingStatus.CANCELLED if cancelled else BookingStatus.BOOKED,
                         "booked_at": booked_at, "booked_by_id": maker.users.get(source) if source else None,
                         "cancelled_at": booked_at + dt.timedelta(hours=1) if cancelled else None})
        if not cancelled:
            slot["booked"] += 1
            taken.add((slot["id"], resident[0]))
        return True

    for referral in accepted:  # an accepted referral mostly has its slot
        options = by_department.get(referral["to_department_id"]) or slots
        if options and rng.random() < 0.8:
            book(rng.choice(options[:6]), (referral["resident_id"], referral["path"], None,
                                           referral["from_institution_id"]), referral)
    for slot in slots:
        for _i in range(int(slot["capacity"] * slot.pop("_fill") * rng.random() * 2)):
            book(slot, rng.choice(residents), None)
    ctx.counts["slots"] += table_insert(Slot, slots)
    ctx.counts["bookings"] += table_insert(Booking, bookings)


def _consults(ctx: BuildContext, rng: random.Random, maker: Maker, hospital: Institution,
              departments: Mapping[str, int], residents: Sequence[tuple[int, str, int | None, int | None]]) -> None:
    rows: list[Row] = []
    for _i in range(max(1, round(len(residents) * CONSULTS_PER_RESIDENT))):
        resident_id, path, _clinic, centre_id = rng.choice(residents)
        assert centre_id is not None
        answered = rng.random() < CONSULT_ANSWERED_SHARE
        hours = rng.uniform(30, 24 * 300) if answered else rng.uniform(1, 60)
        requested = maker.now - dt.timedelta(hours=hours)
        code = rng.choice(CONSULT_DEPARTMENTS)
        row: Row = {"resident_id": resident_id, "path": path, "requesting_institution_id": centre_id,
                    "specialist_institution_id": hospital.pk, "department_id": departments.get(code),
                    "from_path": maker.places[centre_id][0], "to_path": hospital.path,
                    "question": rng.choice(QUESTIONS), "requested_at": requested,
                    "requested_by_id": maker.users.get(centre_id),
                    "status": ConsultStatus.ANSWERED if answered else ConsultStatus.REQUESTED}
        if answered:
            row.update(answer=ANSWER, answered_at=requested + dt.timedelta(hours=rng.uniform(1, 24)),
                       answered_by_id=maker.users.get(hospital.pk))
        rows.append(row)
    ctx.counts["teleconsultations"] += table_insert(Teleconsultation, rows)
