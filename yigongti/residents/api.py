"""``/api/v1/residents/`` — resident records: search, registration, updates, transfer, the review
queue of the master patient index, and undoing a merge.

Thin: each route validates its input and calls one service or selector with the caller. A record
outside the caller's scope is 404 exactly like one that does not exist (and the attempt is
audited). Errors are problem details; a validation error of a service carries ``field``; a
duplicate at registration is 409 with ``existing`` ({record_no, name, village} — ``null`` when the
existing record lies outside the caller's scope) and ``basis``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status

from yigongti.core import audit
from yigongti.core.api import (
    PROBLEMS,
    WRITE_PROBLEMS,
    Page,
    PageParams,
    caller,
    domain_problem,
    page_of,
)
from yigongti.core.errors import DomainError, NotFound
from yigongti.registry.choices import Sex

from .choices import (
    Allergy,
    BloodType,
    Condition,
    Disability,
    Fuel,
    Kitchen,
    LivestockPen,
    RecordStatus,
    Relation,
    Toilet,
    Water,
)
from .errors import DuplicateResident
from .models import MatchPair, Resident, ResidentMerge, ResidentTransfer
from .selectors import merge_get, pair_get, resident_get, resident_history, resident_search, review_queue
from .services import pair_decide, resident_register, resident_transfer, resident_unmerge, resident_update

router = Router(tags=["residents"])


# ---------------------------------------------------------------- schemas: basic record items


class PastCondition(Schema):
    """既往史 — one disease with the date it was diagnosed."""

    condition: Condition
    diagnosed: dt.date | None = None


class Surgery(Schema):
    """手术史 — one operation."""

    name: str = Field(..., max_length=100)
    date: dt.date | None = None


class FamilyHistory(Schema):
    """家族史 — diseases of the father, mother, siblings and children."""

    father: list[Condition] = Field(default_factory=list)
    mother: list[Condition] = Field(default_factory=list)
    siblings: list[Condition] = Field(default_factory=list)
    children: list[Condition] = Field(default_factory=list)


class BasicItems(Schema):
    """个人基本信息表 — the basic record items of the national form (all optional)."""

    blood_type: BloodType | None = None
    allergies: list[Allergy] | None = None
    allergy_other: str | None = Field(None, max_length=100)
    exposures: str | None = Field(None, max_length=100)
    past_history: list[PastCondition] | None = None
    surgeries: list[Surgery] | None = None
    family_history: FamilyHistory | None = None
    genetic_disease: str | None = Field(None, max_length=100)
    disabilities: list[Disability] | None = None
    kitchen: Kitchen | None = None
    fuel: Fuel | None = None
    water: Water | None = None
    toilet: Toilet | None = None
    livestock_pen: LivestockPen | None = None


# ---------------------------------------------------------------- schemas: records


class RegisterIn(BasicItems):
    """建档 — a new resident record."""

    name: str = Field(..., min_length=1, max_length=50)
    sex: Sex
    birth_date: dt.date
    village_code: str = Field(..., description="12-digit code of the village (统计用区划代码)")
    id_number: str = Field("", description="resident ID, 18 characters (a 15-digit one is upgraded)")
    phone: str = Field("", max_length=32)
    address: str = Field("", max_length=255)
    ethnicity: str = Field("01", description="GB/T 3304 code")
    household_code: str | None = None
    relation_to_head: Relation | Literal[""] = ""
    insurance_no: str = Field("", max_length=32)
    passport_no: str = Field("", max_length=32)
    hkmt_permit_no: str = Field("", max_length=32)
    confirm_distinct: bool = Field(False, description="register although a record with the same name, "
                                                      "sex and birth date exists (a different person)")


class ResidentPatch(BasicItems):
    """Fields to change (only those sent); the village changes by transfer."""

    name: str | None = Field(None, min_length=1, max_length=50)
    sex: Sex | None = None
    birth_date: dt.date | None = None
    id_number: str | None = None
    phone: str | None = Field(None, max_length=32)
    address: str | None = Field(None, max_length=255)
    ethnicity: str | None = None
    household_code: str | None = Field(None, description='"" to leave the household')
    relation_to_head: Relation | Literal[""] | None = None
    insurance_no: str | None = Field(None, max_length=32)
    passport_no: str | None = Field(None, max_length=32)
    hkmt_permit_no: str | None = Field(None, max_length=32)
    status: Literal["active", "moved_out", "deceased"] | None = None


class ResidentBrief(Schema):
    """A record in a list: identity, village and status."""

    record_no: str
    name: str
    name_pinyin: str
    sex: str
    birth_date: dt.date
    id_number: str
    village_code: str
    village_name: str
    status: str
    status_label: str

    @staticmethod
    def resolve_village_code(obj: Resident) -> str:
        return obj.village.code

    @staticmethod
    def resolve_village_name(obj: Resident) -> str:
        return obj.village.name

    @staticmethod
    def resolve_status_label(obj: Resident) -> str:
        return str(obj.get_status_display())


class ResidentOut(ResidentBrief):
    """居民健康档案 — one record with the basic record items (every read is audited)."""

    sex_label: str
    ethnicity: str
    phone: str
    address: str
    passport_no: str
    hkmt_permit_no: str
    insurance_no: str
    clinic_code: str | None
    clinic_name: str | None
    township_centre_code: str | None
    township_centre_name: str | None
    household_code: str | None
    relation_to_head: str
    status_date: dt.date | None
    merged_into: str | None = Field(None, description="record number of the survivor, when merged")
    blood_type: str
    allergies: list[str]
    allergy_other: str
    exposures: str
    past_history: list[dict[str, Any]]
    surgeries: list[dict[str, Any]]
    family_history: dict[str, Any]
    genetic_disease: str
    disabilities: list[str]
    kitchen: str
    fuel: str
    water: str
    toilet: str
    livestock_pen: str
    created_at: dt.datetime

    @staticmethod
    def resolve_sex_label(obj: Resident) -> str:
        return str(obj.get_sex_display())

    @staticmethod
    def resolve_clinic_code(obj: Resident) -> str | None:
        return obj.clinic.code if obj.clinic else None

    @staticmethod
    def resolve_clinic_name(obj: Resident) -> str | None:
        return obj.clinic.name if obj.clinic else None

    @staticmethod
    def resolve_township_centre_code(obj: Resident) -> str | None:
        return obj.township_centre.code if obj.township_centre else None

    @staticmethod
    def resolve_township_centre_name(obj: Resident) -> str | None:
        return obj.township_centre.name if obj.township_centre else None

    @staticmethod
    def resolve_household_code(obj: Resident) -> str | None:
        return obj.household.code if obj.household else None

    @staticmethod
    def resolve_merged_into(obj: Resident) -> str | None:
        return obj.merged_into.record_no if obj.merged_into else None


class TransferIn(Schema):
    to_village_code: str
    on: dt.date | None = None
    reason: str = Field("", max_length=200)
    with_household: bool = Field(False, description="a household head takes the household along")


class TransferOut(Schema):
    """档案迁移 — one move of a record."""

    id: int
    record_no: str
    from_village_code: str
    from_village_name: str
    to_village_code: str
    to_village_name: str
    on: dt.date
    reason: str
    at: dt.datetime

    @staticmethod
    def resolve_record_no(obj: ResidentTransfer) -> str:
        return obj.resident.record_no

    @staticmethod
    def resolve_from_village_code(obj: ResidentTransfer) -> str:
        return obj.from_village.code

    @staticmethod
    def resolve_from_village_name(obj: ResidentTransfer) -> str:
        return obj.from_village.name

    @staticmethod
    def resolve_to_village_code(obj: ResidentTransfer) -> str:
        return obj.to_village.code

    @staticmethod
    def resolve_to_village_name(obj: ResidentTransfer) -> str:
        return obj.to_village.name


class MergeOut(Schema):
    """档案合并 — ``merged`` folded into ``survivor``; ``moved`` counts the rows that followed."""

    id: int
    survivor: str
    merged: str
    reason: str
    at: dt.datetime
    undone_at: dt.datetime | None
    moved: dict[str, int]

    @staticmethod
    def resolve_survivor(obj: ResidentMerge) -> str:
        return obj.survivor.record_no

    @staticmethod
    def resolve_merged(obj: ResidentMerge) -> str:
        return obj.merged.record_no

    @staticmethod
    def resolve_moved(obj: ResidentMerge) -> dict[str, int]:
        return {label: len(pks) for label, pks in (obj.moved or {}).get("rows", {}).items()}


class HistoryOut(Schema):
    transfers: list[TransferOut]
    merges: list[MergeOut]


class PairOut(Schema):
    """疑似重复 — a scored pair with the reasons of its score."""

    id: int
    probability: float
    match_weight: float
    cluster: str
    reasons: list[Any]
    status: str
    left: ResidentBrief
    right: ResidentBrief


class DecisionIn(Schema):
    decision: Literal["merge", "distinct"]
    survivor: str | None = Field(None, description="record number of the survivor (default: the older record)")


class ResidentFilters(Schema):
    q: str | None = Field(None, max_length=100, description="resident ID, record number, name, pinyin, "
                                                             "birth date YYYY-MM-DD, or name and birth date")
    village: str | None = Field(None, description="only in this division's subtree (division code)")
    status: RecordStatus | None = None


# ---------------------------------------------------------------- errors with their fields


def _problem(exc: DomainError) -> HttpResponse:
    """Problem details of a service error, with ``field`` and (for duplicates) ``existing``/``basis``."""
    if not isinstance(exc, DuplicateResident):
        return domain_problem(exc)
    existing = None if exc.existing is None else {
        "record_no": exc.existing.record_no, "name": exc.existing.name,
        "village": {"code": exc.existing.village.code, "name": exc.existing.village.name}}
    return domain_problem(exc, extra={"basis": exc.basis, "existing": existing})


def _pk(value: str) -> int:
    """A numeric id from the path; anything else is simply not found (like an id out of scope)."""
    if not value.isascii() or not value.isdigit():
        raise NotFound()
    return int(value)


def _fields(data: Schema, **dump: Any) -> dict[str, Any]:
    """The fields sent, as JSON-ready values (enums as codes) — dates stay dates."""
    fields = {k: v for k, v in data.model_dump(mode="json", **dump).items() if v is not None}
    if "birth_date" in fields:
        fields["birth_date"] = data.birth_date  # type: ignore[attr-defined]
    return fields


# ---------------------------------------------------------------- routes


@router.get("", response={200: Page[ResidentBrief], **PROBLEMS}, summary="Search resident records")
def resident_index(request: HttpRequest, filters: Query[ResidentFilters], page: Query[PageParams]) -> dict[str, Any]:
    """Records in the caller's scope matching ``q``; each record returned leaves an audit entry."""
    qs = resident_search(user=caller(request), q=filters.q or "", village_code=filters.village,
                         status=filters.status.value if filters.status else None)
    result = page_of(qs, page)
    audit.read(user=caller(request), objects=result["items"], request=request)
    return result


@router.post("", response={201: ResidentOut, **WRITE_PROBLEMS}, summary="Register a resident (建档)")
def resident_create(request: HttpRequest, data: RegisterIn) -> Any:
    """409 ``duplicate_resident`` with ``existing`` when the person is already registered."""
    try:
        resident = resident_register(user=caller(request), request=request, **_fields(data))
    except DomainError as exc:
        return _problem(exc)
    return Status(201, resident)


@router.get("/review", response={200: Page[PairOut], **PROBLEMS}, summary="The review queue of suspected duplicates")
def review_index(request: HttpRequest, page: Query[PageParams]) -> dict[str, Any]:
    """Pending pairs whose both records the caller can see, most probable first."""
    result = page_of(review_queue(user=caller(request)), page)
    audit.read(user=caller(request), objects=[r for p in result["items"] for r in (p.left, p.right)],
               request=request)
    return result


@router.post("/review/{pair_id}", response={200: PairOut, **WRITE_PROBLEMS}, summary="Decide a suspected duplicate")
def review_decide(request: HttpRequest, pair_id: str, data: DecisionIn) -> Any:
    user = caller(request)
    try:
        pair: MatchPair = pair_get(user=user, pk=_pk(pair_id), request=request)
        survivor = None
        if data.survivor:
            survivor = resident_get(user=user, record_no=data.survivor, request=request)
        return pair_decide(user=user, pair=pair, decision=data.decision, survivor=survivor, request=request)
    except DomainError as exc:
        return _problem(exc)


@router.post("/merges/{merge_id}/undo", response={200: ResidentOut, **WRITE_PROBLEMS}, summary="Undo a merge")
def merge_undo(request: HttpRequest, merge_id: str) -> Any:
    """Returns the restored record."""
    user = caller(request)
    try:
        merge = merge_get(user=user, pk=_pk(merge_id), request=request)
        return resident_unmerge(user=user, merge=merge, request=request)
    except DomainError as exc:
        return _problem(exc)


@router.get("/merges/{merge_id}", response={200: MergeOut, **PROBLEMS}, summary="One merge")
def merge_detail(request: HttpRequest, merge_id: str) -> ResidentMerge:
    return merge_get(user=caller(request), pk=_pk(merge_id), request=request)


@router.get("/{record_no}", response={200: ResidentOut, **PROBLEMS}, summary="One resident record (audited)")
def resident_detail(request: HttpRequest, record_no: str) -> Resident:
    return resident_get(user=caller(request), record_no=record_no, request=request)


@router.patch("/{record_no}", response={200: ResidentOut, **WRITE_PROBLEMS}, summary="Change a resident record")
def resident_patch(request: HttpRequest, record_no: str, data: ResidentPatch) -> Any:
    user = caller(request)
    try:
        resident = resident_get(user=user, record_no=record_no, request=request)
        resident_update(user=user, resident=resident, request=request, **_fields(data, exclude_unset=True))
        return resident_get(user=user, record_no=record_no, request=request)
    except DomainError as exc:
        return _problem(exc)


@router.post("/{record_no}/transfer", response={201: TransferOut, **WRITE_PROBLEMS},
             summary="Transfer a record to another village (档案迁移)")
def resident_move(request: HttpRequest, record_no: str, data: TransferIn) -> Any:
    user = caller(request)
    try:
        resident = resident_get(user=user, record_no=record_no, request=request)
        transfer = resident_transfer(user=user, resident=resident, to_village_code=data.to_village_code, on=data.on,
                                     reason=data.reason, with_household=data.with_household, request=request)
    except DomainError as exc:
        return _problem(exc)
    return Status(201, transfer)


@router.get("/{record_no}/history", response={200: HistoryOut, **PROBLEMS},
            summary="Transfers and merges of a record")
def resident_history_detail(request: HttpRequest, record_no: str) -> dict[str, list[Any]]:
    user = caller(request)
    resident = resident_get(user=user, record_no=record_no, request=request)
    return resident_history(user=user, resident=resident)
