"""Writes of the insurance app: enrolment (参保登记), direct settlement (即时结算), reversal (冲销).

Guarantees, each in one transaction:

- **Enrolment** of a household for a year covers each member with the policy's contribution,
  subsidy and exemption (资助参保), creates the member's year accumulator and posts the income to
  the ledger; enrolling again adds only members not yet covered (a re-run writes nothing).
- **Settlement** locks the encounter row, then the person's year accumulator (in that order, so
  two settlements never deadlock), adjudicates with the stored policy in force on the discharge
  day, and writes the settlement, the new accumulators, the ledger postings and the audit entry.
  The same idempotency key, or a second settlement of a settled encounter, returns the first
  settlement and writes nothing. An uncovered person gets a settlement too: self-pay, with the
  reason on the slip.
- **Reversal** writes a reversal with the amounts negated, takes the settlement's own increments
  off the accumulators and posts the negated entries: the ledger still sums to zero, and the
  encounter may be settled again (re-settlement after a correction). A reversal cannot be reversed;
  a person's settlements of a year are reversed latest first (later ones were priced on it).

Every posting's entries sum to zero (institution + total, each fund and the patient − what they
pay; the fund + income, contributions, medical aid and the subsidy − what they give), so the sum
over every account is always zero (:func:`ledger_check`).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yigongti.accounts.models import Role
from yigongti.care.choices import EncounterKind
from yigongti.care.models import Encounter
from yigongti.care.services import encounter_costs_correct
from yigongti.core import audit, clock, scope
from yigongti.core.errors import NotFound, PermissionDenied, ValidationFailed
from yigongti.core.models import AuditAction
from yigongti.residents.choices import RecordStatus
from yigongti.residents.models import Household, Resident

from .adjudication import YTD_KEYS, Case, Ytd, adjudicate
from .errors import (
    AlreadyEnrolled,
    CaseInvalid,
    IdempotencyKeyReused,
    MemberInvalid,
    NotSettleable,
    ReversalRefused,
    SettlementBusy,
)
from .models import (
    Account,
    Accumulator,
    AidCategory,
    Coverage,
    EntrySource,
    HouseholdEnrolment,
    LedgerEntry,
    Settlement,
    SettlementKind,
    SettlementStatus,
)
from .money import ZERO, AmountError, parse_amount, plain
from .policy import CATEGORIES
from .selectors import account_balances, county_of, fen, policy_on, unbalanced_postings

SETTLEMENT = "insurance.settlement"
ENROLMENT = "insurance.enrolment"
# Who settles at the bedside or the desk: the staff of the institution that treated the patient (the
# village doctor settles the clinic's 门诊统筹 visits); the insurance
# office settles any encounter in its scope (and claims from outside the county, 手工报销).
SETTLING_ROLES = (Role.COUNTY_CLINICIAN, Role.TOWNSHIP_STAFF, Role.TOWNSHIP_DIRECTOR, Role.VILLAGE_DOCTOR)
OFFICE_ROLES = (Role.INSURANCE, Role.ADMIN)
ENROLLING_ROLES = (Role.VILLAGE_DOCTOR, Role.TOWNSHIP_STAFF, Role.TOWNSHIP_DIRECTOR, Role.INSURANCE, Role.ADMIN)
KEY_MAX = 100
BOTH_PATHS = ("path", "institution_path")  # an encounter/settlement is seen from the village and the institution


def _is_office(actor: Any) -> bool:
    return actor is scope.SYSTEM or getattr(actor, "is_superuser", False) or getattr(actor, "role", "") in OFFICE_ROLES


# ---------------------------------------------------------------- enrolment


def enrol_household(actor: Any, household_id: int, *, year: int, members: Mapping[int, str] | None = None,
                    paid_on: dt.date | None = None, receipt_no: str = "",
                    request: Any = None) -> tuple[HouseholdEnrolment, int]:
    """Enrol ``members`` (resident id → assistance category, ``""`` for none; default: every member
    in the register, no category) of a household for ``year``; returns the enrolment and how many
    members this call covered (0: all were covered already)."""
    if not (actor is scope.SYSTEM or getattr(actor, "is_superuser", False)
            or getattr(actor, "role", "") in ENROLLING_ROLES):
        raise PermissionDenied()
    today = clock.today()
    if not isinstance(year, int) or not 2000 <= year <= today.year + 1:
        raise ValidationFailed(field="year", reason=_("参保年度应在 2000 年至明年之间"))
    paid_on = paid_on or today
    if paid_on > today:
        raise ValidationFailed(field="paid_on", reason=_("缴费日期不能晚于今天"))
    if paid_on.year > year:
        raise ValidationFailed(field="paid_on", reason=_("缴费日期不能晚于参保年度"))
    with transaction.atomic():
        household = scope.get_visible(actor, Household.objects.select_for_update(), mode="entry", pk=household_id)
        register = {r.pk: r for r in Resident.objects.filter(household=household)}
        wanted = dict(members) if members is not None else {
            pk: "" for pk, r in register.items() if r.status == RecordStatus.ACTIVE}
        if not wanted:
            raise MemberInvalid(field="members", reason=_("该户没有在册成员"))
        for pk, category in wanted.items():
            resident = register.get(pk)
            where = f"members.{pk}"
            if resident is None:
                other = scope.visible(actor, Resident.objects.filter(pk=pk)).only("name").first()
                if other is None:
                    raise MemberInvalid(field=where, reason=_("不是该户成员"))
                raise MemberInvalid(field=where, reason=_("%(name)s 不是该户成员") % {"name": other.name})
            if resident.status != RecordStatus.ACTIVE:
                raise MemberInvalid(field=where, reason=_("%(name)s 的档案状态为“%(status)s”，不能参保") % {
                    "name": resident.name, "status": resident.get_status_display()})
            if category not in AidCategory.values:
                raise MemberInvalid(field=where, reason=_("未知的救助类别“%(value)s”") % {"value": category})
        policy = policy_on(county_of(household.path), dt.date(year, 1, 1))
        if policy.enrolment is None:
            raise ValidationFailed(field="year", reason=_("政策 %(code)s 未规定参保缴费标准") % {"code": policy.code})
        enrolment, _created = HouseholdEnrolment.objects.get_or_create(
            household=household, year=year,
            defaults={"path": household.path, "policy": policy.code, "paid_on": paid_on,
                      "receipt_no": receipt_no[:64], "collected_at": getattr(actor, "institution", None),
                      "created_by": actor if getattr(actor, "is_authenticated", False) else None})
        covered = dict(Coverage.objects.filter(resident_id__in=wanted, year=year).values_list("resident_id",
                                                                                              "enrolment_id"))
        for pk, enrolment_id in covered.items():
            if enrolment_id != enrolment.pk:
                raise AlreadyEnrolled(name=register[pk].name, year=year, enrolment=enrolment_id)
        new = [pk for pk in wanted if pk not in covered]
        if not new:
            return enrolment, 0
        rules = policy.enrolment
        totals = {"contribution": ZERO, "exempted": ZERO, "subsidy": ZERO}
        start, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
        for pk in new:
            resident, category = register[pk], wanted[pk]
            exempted = policy.q(rules.individual * rules.exempt_share(category or None))
            row = Coverage.objects.create(
                resident=resident, enrolment=enrolment, year=year, path=resident.path, category=category,
                contribution=rules.individual - exempted, exempted=exempted, subsidy=rules.subsidy,
                valid_from=start, valid_to=end)
            Accumulator.objects.get_or_create(resident=resident, year=year, defaults={"path": resident.path})
            for name in totals:
                totals[name] += getattr(row, name)
        enrolment.members += len(new)
        enrolment.contribution += totals["contribution"]
        enrolment.exempted += totals["exempted"]
        enrolment.subsidy += totals["subsidy"]
        enrolment.save(update_fields=["members", "contribution", "exempted", "subsidy"])
        posting = f"CB{enrolment.pk}-{enrolment.members}"
        income = totals["contribution"] + totals["exempted"] + totals["subsidy"]
        _post(posting, EntrySource.ENROLMENT, year, paid_on, enrolment=enrolment, entries=[
            (Account.BASIC, income), (Account.CONTRIBUTIONS, -totals["contribution"]),
            (Account.AID, -totals["exempted"]), (Account.SUBSIDY, -totals["subsidy"])])
        audit.record(user=actor, action=AuditAction.CREATE, object_type=ENROLMENT, object_id=enrolment.pk,
                     path=enrolment.path, request=request,
                     detail={"year": year, "members": new, "contribution": plain(totals["contribution"]),
                             "exempted": plain(totals["exempted"]), "subsidy": plain(totals["subsidy"])})
    return enrolment, len(new)


def _post(posting: str, source: str, year: int, on: dt.date, *, entries: list[tuple[str, Decimal]],
          institution: Any = None, settlement: Settlement | None = None,
          enrolment: HouseholdEnrolment | None = None) -> None:
    """One posting: entries that sum to zero (zero amounts are left out)."""
    assert sum((amount for _account, amount in entries), ZERO) == 0, (posting, entries)
    LedgerEntry.objects.bulk_create([
        LedgerEntry(posting=posting, source=source, account=account, amount=amount, year=year, on=on,
                    institution=institution if account == Account.INSTITUTION else None,
                    settlement=settlement, enrolment=enrolment)
        for account, amount in entries if amount])


# ---------------------------------------------------------------- settlement


@dataclass(frozen=True)
class Costs:
    """What an encounter costs by category, and the part outside the catalogue (目录外)."""

    costs: dict[str, Decimal]
    outside_catalogue: dict[str, Decimal]

    def as_dict(self) -> dict[str, dict[str, str]]:
        return {"costs": {k: plain(v) for k, v in self.costs.items()},
                "outside_catalogue": {k: plain(v) for k, v in self.outside_catalogue.items()}}


def _encounter_costs(encounter: Encounter, outside: Mapping[str, Any] | None) -> Costs:
    """The encounter's costs; a negative amount or an outside part larger than its category is refused.

    The case adjudicates ``costs`` (within the catalogue) and ``outside_catalogue`` separately, so
    the outside part is taken off its category here."""
    totals: dict[str, Decimal] = {}
    for category, amount in encounter.costs.values_list("category", "amount"):
        if amount < 0:
            raise NotSettleable(field=f"costs.{category}", reason=_("费用不能为负数：%(value)s") % {"value": amount})
        totals[category] = totals.get(category, ZERO) + amount
    parsed: dict[str, Decimal] = {}
    for category, value in (outside or {}).items():
        where = f"outside_catalogue.{category}"
        if category not in CATEGORIES:
            raise NotSettleable(field=where, reason=_("未知的费用类别"))
        try:
            amount = parse_amount(value)
        except AmountError as exc:
            raise NotSettleable(field=where, reason=exc.reason) from None
        if amount > totals.get(category, ZERO):
            raise NotSettleable(field=where, reason=_("目录外金额 %(value)s 超过该类费用 %(total)s") % {
                "value": plain(amount), "total": plain(totals.get(category, ZERO))})
        if amount:
            parsed[category] = amount
    within = {category: total - parsed.get(category, ZERO) for category, total in totals.items()}
    return Costs(costs=within, outside_catalogue=parsed)


def _level(encounter: Encounter) -> str:
    if not encounter.in_county or not encounter.tier:
        return "tertiary"  # outside the county: the out-of-county rules apply whatever the level
    return str(encounter.tier)


def check_may_settle(actor: Any, encounter: Encounter) -> None:
    """The treating institution's staff settle its encounters; the insurance office settles any."""
    if _is_office(actor):
        return
    if getattr(actor, "role", "") not in SETTLING_ROLES:
        raise PermissionDenied()
    if encounter.institution_id is None or encounter.institution_id != getattr(actor, "institution_id", None):
        raise PermissionDenied(_("只有就诊机构的工作人员或医保局可以结算该就诊。"))


def _encounters(actor: Any) -> Any:
    return scope.visible(actor, Encounter.objects.all(), path_field=BOTH_PATHS)


def settlements_visible(actor: Any) -> Any:
    """Settlements in the caller's scope: the patient's village or the settling institution."""
    return scope.visible(actor, Settlement.objects.all(), path_field=BOTH_PATHS)


def settle(actor: Any, encounter_id: int, *, key: str, outside_catalogue: Mapping[str, Any] | None = None,
           request: Any = None) -> tuple[Settlement, bool]:
    """Settle one encounter at discharge; returns the settlement and whether this call created it.

    The same ``key`` again, or any second settlement of a settled encounter, returns the first."""
    key = (key or "").strip()
    if not key or len(key) > KEY_MAX:
        raise ValidationFailed(field="idempotency_key", reason=_("幂等键必填，最长 %(n)s 个字符") % {"n": KEY_MAX})
    for attempt in range(3):
        existing = Settlement.objects.filter(idempotency_key=key).first()
        if existing is not None:
            if existing.encounter_id != encounter_id:
                raise IdempotencyKeyReused(key=key, number=existing.number)
            return scope.get_visible(actor, Settlement.objects.all(), path_field=BOTH_PATHS, pk=existing.pk), False
        try:
            return _settle(actor, encounter_id, key=key, outside=outside_catalogue, request=request)
        except IntegrityError:
            # A simultaneous request took the key or settled the encounter first: read what it wrote.
            if attempt == 2:
                raise SettlementBusy() from None
        except OperationalError:
            raise SettlementBusy() from None
    raise SettlementBusy()


@transaction.atomic
def _settle(actor: Any, encounter_id: int, *, key: str, outside: Mapping[str, Any] | None,
            request: Any) -> tuple[Settlement, bool]:
    encounter = scope.get_visible(actor, Encounter.objects.select_for_update(), path_field=BOTH_PATHS, pk=encounter_id)
    check_may_settle(actor, encounter)
    live = Settlement.objects.filter(encounter=encounter, status=SettlementStatus.SETTLED).first()
    if live is not None:
        return live, False
    kind = "inpatient" if encounter.kind == EncounterKind.INPATIENT else "outpatient"
    if kind == "inpatient" and encounter.end_date is None:
        raise NotSettleable(field="end_date", reason=_("患者尚未出院，出院后结算"))
    level = _level(encounter)
    if kind == "inpatient" and level == "village":
        raise NotSettleable(field="tier", reason=_("村卫生室没有住院服务"))
    costs = _encounter_costs(encounter, outside)
    service_date = encounter.end_date or encounter.start_date
    year = service_date.year
    county = county_of(encounter.path)
    policy = policy_on(county, service_date)
    coverage = Coverage.objects.filter(resident_id=encounter.resident_id, year=year).first()
    reason = ""
    if coverage is None:
        reason = str(_("%(year)s 年度未参加城乡居民医保") % {"year": year})
    elif not coverage.valid_from <= service_date < coverage.valid_to:
        reason = str(_("就诊日期不在待遇期内（%(start)s 至 %(end)s）") % {
            "start": coverage.valid_from, "end": coverage.valid_to})
    covered = not reason
    accumulator = None
    ytd = Ytd()
    if covered:
        accumulator = Accumulator.objects.select_for_update().filter(
            resident_id=encounter.resident_id, year=year).first()
        if accumulator is None:
            Accumulator.objects.create(resident_id=encounter.resident_id, year=year, path=encounter.path)
            accumulator = Accumulator.objects.select_for_update().get(resident_id=encounter.resident_id, year=year)
        ytd = Ytd(**{name: getattr(accumulator, name) for name in YTD_KEYS})
    try:
        case = Case(id=str(encounter.pk), date=service_date, kind=kind, level=level, costs=costs.costs,
                    county=county, in_county=encounter.in_county, outside_catalogue=costs.outside_catalogue,
                    covered=covered, reason=reason, aid_category=(coverage.category or None) if coverage else None,
                    ytd=ytd)
    except CaseInvalid as exc:
        raise NotSettleable(field=exc.params.get("field", ""), reason=exc.params.get("reason", "")) from None
    result = adjudicate(case, policy)
    settlement = Settlement.objects.create(
        number=provisional_number(), encounter=encounter, resident_id=encounter.resident_id,
        path=encounter.path, institution_id=encounter.institution_id, institution_path=encounter.institution_path,
        in_county=encounter.in_county, encounter_kind=kind, level=level, year=year, service_date=service_date,
        policy=policy.code, covered=covered, reason=reason, aid_category=case.aid_category or "",
        total=result.total, eligible=result.eligible, outside_catalogue=result.outside_catalogue,
        category_share=result.category_share, excluded=result.excluded, basic=result.basic,
        catastrophic=result.catastrophic, aid=result.aid, patient=result.patient,
        lines=[line.as_dict() for line in result.lines], costs=costs.as_dict(),
        ytd_before=ytd.as_dict(), ytd_after=result.ytd.as_dict(), idempotency_key=key,
        settled_at=timezone.now(), settled_by=actor if getattr(actor, "is_authenticated", False) else None)
    settlement.number = f"JS{year}{settlement.pk:08d}"
    settlement.save(update_fields=["number"])
    if accumulator is not None:
        for name in YTD_KEYS:
            setattr(accumulator, name, getattr(result.ytd, name))
        accumulator.settlements += 1
        accumulator.save()
    _post_settlement(settlement, sign=1)
    audit.record(user=actor, action=AuditAction.CREATE, object_type=SETTLEMENT, object_id=settlement.pk,
                 path=settlement.path, request=request,
                 detail={"number": settlement.number, "encounter": encounter.pk, "total": plain(settlement.total),
                         "fund": plain(settlement.fund), "patient": plain(settlement.patient)})
    return settlement, True


def provisional_number() -> str:
    """A unique placeholder for the number until the row's id gives the real one (fits ``Settlement.number``)."""
    return f"tmp-{uuid.uuid4().hex}"[:32]


def _post_settlement(settlement: Settlement, *, sign: int) -> None:
    """Institution + total; basic, 大病, aid and the patient − what each pays (negated for a reversal)."""
    _post(settlement.number, EntrySource.SETTLEMENT, settlement.year, settlement.service_date,
          institution=settlement.institution, settlement=settlement, entries=[
              (Account.INSTITUTION, sign * settlement.total), (Account.BASIC, -sign * settlement.basic),
              (Account.CATASTROPHIC, -sign * settlement.catastrophic), (Account.AID, -sign * settlement.aid),
              (Account.PATIENT, -sign * settlement.patient)])


def reverse(actor: Any, settlement_id: int, *, reason: str, request: Any = None) -> Settlement:
    """Reverse (冲销) a settlement: a reversal with the amounts negated, the accumulators and the
    ledger put back; the encounter may then be settled again."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(field="reason", reason=_("请填写冲销原因"))
    try:
        return _reverse(actor, settlement_id, reason=reason[:200], request=request)
    except OperationalError:
        raise SettlementBusy() from None


@transaction.atomic
def _reverse(actor: Any, settlement_id: int, *, reason: str, request: Any) -> Settlement:
    original = scope.get_visible(actor, Settlement.objects.select_for_update(), path_field=BOTH_PATHS,
                                 pk=settlement_id)
    encounter = _encounters(actor).select_for_update().filter(pk=original.encounter_id).first()
    if encounter is None:
        raise NotFound()
    check_may_settle(actor, encounter)
    if original.kind == SettlementKind.REVERSAL:
        raise ReversalRefused(number=original.number, reason=_("这是一张冲销单，冲销单不能再冲销"))
    if original.status == SettlementStatus.REVERSED:
        done = Settlement.objects.filter(reverses=original).values_list("number", flat=True).first()
        raise ReversalRefused(number=original.number, reason=_("已被冲销（冲销单 %(number)s）") % {"number": done})
    before: dict[str, str] = {}
    after: dict[str, str] = {}
    if original.covered:
        accumulator = Accumulator.objects.select_for_update().get(resident_id=original.resident_id,
                                                                   year=original.year)
        # Later settlements of the year were priced on this one's accumulators (the 大病 threshold,
        # the aid deductible): taking it out under them would let them pay twice. So settlements are
        # reversed latest first (结算回退按时间倒序), and the accumulators go back exactly.
        later = (Settlement.objects.filter(resident_id=original.resident_id, year=original.year, covered=True,
                                           status=SettlementStatus.SETTLED, pk__gt=original.pk)
                 .order_by("-pk").values_list("number", flat=True).first())
        if later is not None:
            raise ReversalRefused(number=original.number, reason=_(
                "该参保人本年度之后还有结算单 %(later)s，请按时间倒序先冲销后面的结算单") % {"later": later})
        for name in YTD_KEYS:
            delta = Decimal(original.ytd_after[name]) - Decimal(original.ytd_before[name])
            current = getattr(accumulator, name)
            before[name] = plain(current)
            setattr(accumulator, name, max(ZERO, current - delta))
            after[name] = plain(getattr(accumulator, name))
        accumulator.settlements = max(0, accumulator.settlements - 1)
        accumulator.save()
    line = {"rule": "reversal", "zh": f"冲销结算单 {original.number}：{reason}",
            "en": f"Reversal of settlement {original.number}: {reason}", "amount": plain(-original.total)}
    reversal = Settlement.objects.create(
        number=provisional_number(), kind=SettlementKind.REVERSAL, status=SettlementStatus.REVERSAL,
        encounter_id=original.encounter_id, resident_id=original.resident_id, path=original.path,
        institution_id=original.institution_id, institution_path=original.institution_path,
        in_county=original.in_county, encounter_kind=original.encounter_kind, level=original.level,
        year=original.year, service_date=original.service_date, policy=original.policy, covered=original.covered,
        reason=original.reason, aid_category=original.aid_category,
        **{name: -getattr(original, name) for name in (
            "total", "eligible", "outside_catalogue", "category_share", "excluded", "basic", "catastrophic", "aid",
            "patient")},
        lines=[line], costs=original.costs, ytd_before=before, ytd_after=after,
        idempotency_key=f"reversal:{original.number}", reverses=original, note=reason,
        settled_at=timezone.now(), settled_by=actor if getattr(actor, "is_authenticated", False) else None)
    reversal.number = f"CX{original.year}{reversal.pk:08d}"
    reversal.save(update_fields=["number"])
    original.status = SettlementStatus.REVERSED
    original.save(update_fields=["status"])
    _post_settlement(reversal, sign=1)  # the reversal's amounts are already negated
    audit.record(user=actor, action=AuditAction.UPDATE, object_type=SETTLEMENT, object_id=original.pk,
                 path=original.path, request=request,
                 detail={"reversed_by": reversal.number, "reason": reason})
    return reversal


def resettle(actor: Any, settlement_id: int, *, reason: str, key: str, outside_catalogue: Mapping[str, Any] | None
             = None, costs: Mapping[str, Any] | None = None, request: Any = None) -> tuple[Settlement, Settlement]:
    """Reverse a settlement and settle its encounter again, in one transaction (both or neither);
    returns (reversal, new settlement). ``costs`` (category → amount), when given, are the
    encounter's corrected costs (费用更正), written between the two through
    :func:`yigongti.care.services.encounter_costs_correct`.

    The same ``key`` again (a replayed request) returns what the first call did; a key that already
    names another settlement (the reversed one's, say) is refused before anything is written, so the
    encounter is never left reversed and unsettled."""
    used = Settlement.objects.filter(idempotency_key=(key or "").strip()).first()
    if used is not None:
        reversal = Settlement.objects.filter(reverses_id=settlement_id).first()
        if (reversal is not None and used.kind == SettlementKind.SETTLEMENT
                and used.encounter_id == reversal.encounter_id and used.pk > reversal.pk):
            visible = settlements_visible(actor)
            return scope.get_visible(actor, visible, pk=reversal.pk), scope.get_visible(actor, visible, pk=used.pk)
        raise ValidationFailed(field="idempotency_key", reason=_(
            "幂等键 %(key)s 已用于结算单 %(number)s，重新结算请使用新的幂等键") % {"key": key, "number": used.number})
    with transaction.atomic():
        reversal = reverse(actor, settlement_id, reason=reason, request=request)
        if costs is not None:
            encounter = Encounter.objects.get(pk=reversal.encounter_id)
            encounter_costs_correct(user=actor, encounter=encounter, costs=costs, reason=reason, request=request)
        settlement, _created = settle(actor, reversal.encounter_id, key=key, outside_catalogue=outside_catalogue,
                                      request=request)
    return reversal, settlement


# ---------------------------------------------------------------- checks


@dataclass(frozen=True)
class LedgerCheck:
    """Money is never created or destroyed: the accounts sum to zero, every posting balances, and
    each person's accumulators equal the sum of their live settlements' increments."""

    balances: dict[str, Decimal]
    total: Decimal
    unbalanced: list[tuple[str, Decimal]]
    accumulator_mismatches: list[tuple[int, int, str]]

    @property
    def ok(self) -> bool:
        return self.total == 0 and not self.unbalanced and not self.accumulator_mismatches


def ledger_check(*, accumulators: bool = True) -> LedgerCheck:
    balances = account_balances()
    mismatches: list[tuple[int, int, str]] = []
    if accumulators:
        mismatches = _accumulator_mismatches()
    return LedgerCheck(balances=balances, total=sum(balances.values(), ZERO), unbalanced=unbalanced_postings(),
                       accumulator_mismatches=mismatches)


def _accumulator_mismatches(limit: int = 20) -> list[tuple[int, int, str]]:
    """Accumulators whose paid amounts differ from the sums over the person's settlements of the
    year (a reversal carries the negated amounts, so the sums are net of reversals)."""
    sums = {(row["resident_id"], row["year"]): row for row in Settlement.objects.filter(covered=True).values(
        "resident_id", "year").annotate(basic_=Sum("basic"), catastrophic_=Sum("catastrophic"), aid_=Sum("aid"))
        .order_by()}
    found: list[tuple[int, int, str]] = []
    for acc in Accumulator.objects.all().iterator(chunk_size=5000):
        row: Any = sums.get((acc.resident_id, acc.year)) or {}
        for name, have in (("basic", acc.basic_paid + acc.outpatient_paid),
                           ("catastrophic", acc.catastrophic_paid), ("aid", acc.aid_paid)):
            if have != fen(row.get(f"{name}_")):
                found.append((acc.resident_id, acc.year, name))
                if len(found) >= limit:
                    return found
    return found
