"""Reads of the referrals app. Person-level rows (referrals, bookings, consultations) reach a
caller only through :func:`yigongti.core.scope.visible` — a referral is seen from the patient's
village and from both institutions (``path``, ``from_path``, ``to_path``) — and every read is
audited. Absent and out of scope are the same 404.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Prefetch, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yigongti.core import audit
from yigongti.core.errors import NotFound, ValidationFailed
from yigongti.core.scope import covers, get_visible, scope_path, visible
from yigongti.core.tree import subtree_q
from yigongti.registry.models import Department, Division, Institution
from yigongti.residents.models import Resident

from .choices import BookingStatus, ConsultStatus, Direction, ReferralStatus
from .machine import CLOSED, OPEN
from .models import Booking, ConsultAttachment, Referral, ReferralEvent, Slot, Teleconsultation

SIDES = ("path", "from_path", "to_path")
BOXES = ("incoming", "outgoing", "overdue", "done")
MAX_PER_PAGE = 200
LIST_LIMIT = 500


@dataclass(frozen=True)
class Page:
    """One page of a desk: ``items`` with the ``total`` count, 1-based ``page`` of ``pages``.
    (``count``/``limit``/``offset`` mirror :class:`yigongti.core.api.Page` for the API.)"""

    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def count(self) -> int:
        return self.total

    @property
    def limit(self) -> int:
        return self.per_page

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def _referrals() -> QuerySet[Referral]:
    return Referral.objects.select_related("resident", "from_institution", "to_institution", "to_department")


def _miss(user: Any, object_type: str, pk: Any, request: Any) -> None:
    audit.read_missed(user=user, object_type=object_type, object_id=pk, request=request)


def _institution_in_scope(user: Any, institution: Institution) -> None:
    """An institution's desk is for its own staff and for those whose scope covers it."""
    if getattr(user, "institution_id", None) == institution.pk:
        return
    if not covers(user, institution.path):
        raise NotFound()


# ---------------------------------------------------------------- referrals


def referral_get(*, user: Any, pk: int, request: Any = None) -> Referral:
    """One referral seen from the patient's village or either institution, with its history,
    results, bookings and down-referrals (audited)."""
    qs = _referrals().select_related("parent", "requested_by", "responded_by").prefetch_related(
        Prefetch("events", queryset=ReferralEvent.objects.select_related("by")),
        "results__item", "results__performed_by",
        Prefetch("bookings", queryset=Booking.objects.select_related("slot__department", "slot__institution")),
        Prefetch("down_referrals", queryset=Referral.objects.select_related("to_institution")),
    )
    try:
        referral = get_visible(user, qs, path_field=SIDES, pk=pk)
    except NotFound:
        _miss(user, "referrals.referral", pk, request)
        raise
    audit.read(user=user, objects=[referral], request=request)
    return referral


def _desk_queryset(user: Any, institution: Institution, box: str) -> QuerySet[Referral]:
    if box not in BOXES:
        raise ValidationFailed(field="box", reason=_("box 应为 %(allowed)s") % {"allowed": "、".join(BOXES)})
    _institution_in_scope(user, institution)
    qs = _referrals()
    if box == "incoming":
        qs = qs.filter(to_institution=institution, status__in=OPEN).order_by("-requested_at", "-pk")
    elif box == "outgoing":
        qs = qs.filter(from_institution=institution).order_by("-requested_at", "-pk")
    elif box == "overdue":
        qs = qs.filter(to_institution=institution, status=ReferralStatus.REQUESTED,
                       respond_by__lt=timezone.now()).order_by("respond_by", "pk")
    else:
        qs = qs.filter(to_institution=institution, status__in=CLOSED).order_by("-requested_at", "-pk")
    # The rows of one institution's desk all carry its path on that side, so a caller whose scope
    # covers the institution sees every one of them; anyone else is narrowed as usual.
    if not covers(user, institution.path):
        qs = visible(user, qs, path_field=SIDES)
    return qs


def referral_desk(*, user: Any, institution: Institution, box: str, page: int = 1, per_page: int = 50,
                  request: Any = None) -> Page:
    """The referral desk of ``institution``: ``incoming`` (to it, open), ``outgoing`` (from it, any
    status, newest first), ``overdue`` (to it, requested past its answer deadline, oldest deadline
    first) or ``done`` (to it, completed / rejected / cancelled). Paginated; each box is served by
    one of the model's desk indexes; the page's rows are audited."""
    qs = _desk_queryset(user, institution, box)
    per_page = max(1, min(int(per_page), MAX_PER_PAGE))
    page = max(1, int(page))
    total = qs.count()
    pages = max(1, math.ceil(total / per_page))
    page = min(page, pages)
    # A deferred join: the page's ids come from the desk index alone (a deep page skips thousands
    # of rows without joining the resident and institutions for each), then those rows are loaded.
    ids = list(qs.select_related(None).values_list("pk", flat=True)[(page - 1) * per_page: page * per_page])
    found = _referrals().in_bulk(ids)
    items = [found[pk] for pk in ids if pk in found]
    audit.read(user=user, objects=items, request=request)
    return Page(items=items, total=total, page=page, per_page=per_page)


def referral_desk_counts(*, user: Any, institution: Institution) -> dict[str, int]:
    """How many referrals each box of ``institution``'s desk holds (counts only: no row is read,
    nothing to audit)."""
    return {box: _desk_queryset(user, institution, box).count() for box in BOXES}


def referrals_of(*, user: Any, resident: Resident, request: Any = None) -> list[Referral]:
    """A resident's referrals, newest first (audited)."""
    rows = list(visible(user, _referrals().filter(resident=resident), path_field=SIDES)[:LIST_LIMIT])
    audit.read(user=user, objects=rows, request=request)
    return rows


def _org_path(user: Any, org_code: str | None) -> str:
    if org_code:
        division = Division.objects.filter(code=org_code.strip()).first()
        if division is not None:
            path = division.path
        else:
            institution = Institution.objects.filter(code=org_code.strip()).first()
            if institution is None:
                raise NotFound()
            path = institution.path
        if not covers(user, path):
            raise NotFound()
        return path
    own = scope_path(user)
    if own is None:
        raise NotFound()
    return own


def referral_counts(*, user: Any, org_code: str | None = None, year: int) -> list[dict[str, Any]]:
    """Up/down referrals by institution and month of ``year`` (aggregates, not audited): ``up_out``
    sent up from the institution, ``up_in`` received from below, ``down_out`` sent down,
    ``down_in`` received from above. ``org_code`` (a division or an institution code; default the
    caller's scope) limits the institutions counted."""
    path = _org_path(user, org_code)
    start = dt.datetime(year, 1, 1, tzinfo=timezone.get_current_timezone())
    end = dt.datetime(year + 1, 1, 1, tzinfo=timezone.get_current_timezone())
    base = Referral.objects.filter(requested_at__gte=start, requested_at__lt=end)
    table: dict[tuple[int, str], dict[str, Any]] = {}
    for side, field, path_field in (("out", "from_institution", "from_path"), ("in", "to_institution", "to_path")):
        qs = base.filter(subtree_q(path, path_field)) if path else base
        rows = (qs.annotate(month=TruncMonth("requested_at")).values(field, "direction", "month")
                .annotate(n=Count("pk")).order_by())
        for row in rows:
            month = row["month"]
            key = (row[field], f"{month.year:04d}-{month.month:02d}")
            entry = table.setdefault(key, {"institution_id": row[field], "month": key[1], "up_out": 0, "up_in": 0,
                                           "down_out": 0, "down_in": 0})
            direction = "up" if row["direction"] == Direction.UP else "down"
            entry[f"{direction}_{side}"] += row["n"]
    names = {i.pk: i for i in Institution.objects.filter(pk__in={k[0] for k in table})}
    out = []
    for (inst_id, month), entry in sorted(table.items(), key=lambda kv: (names[kv[0][0]].code, kv[0][1])):
        institution = names[inst_id]
        out.append({"institution": institution.code, "institution_name": institution.name, "month": month,
                    "up_out": entry["up_out"], "up_in": entry["up_in"], "down_out": entry["down_out"],
                    "down_in": entry["down_in"]})
    return out


# ---------------------------------------------------------------- slots and bookings


def slots_for(*, institution: Institution, date_from: dt.date, date_to: dt.date,
              department: Department | None = None) -> QuerySet[Slot]:
    """Published slots of ``institution`` between two dates (reference data: no person, no scope)."""
    qs = Slot.objects.filter(institution=institution, date__gte=date_from, date__lte=date_to).select_related(
        "department", "institution")
    if department is not None:
        qs = qs.filter(department=department)
    return qs.order_by("date", "start_time", "department__code")


def bookings_for(*, user: Any, institution: Institution, side: str, request: Any = None) -> list[Booking]:
    """Bookings on ``institution``'s slots (``host``) or made by it (``referrer``), live ones first by
    slot date (audited)."""
    if side not in ("host", "referrer"):
        raise ValidationFailed(field="side", reason=_("side 应为 host 或 referrer"))
    _institution_in_scope(user, institution)
    qs = Booking.objects.select_related("slot__department", "slot__institution", "resident", "referral",
                                        "booked_from")
    qs = qs.filter(slot__institution=institution) if side == "host" else qs.filter(booked_from=institution)
    qs = visible(user, qs) if side == "referrer" or not covers(user, institution.path) else qs
    rows = list(qs.order_by("-slot__date", "-slot__start_time", "-pk")[:LIST_LIMIT])
    rows.sort(key=lambda b: b.status != BookingStatus.BOOKED)
    audit.read(user=user, objects=rows, request=request)
    return rows


# ---------------------------------------------------------------- teleconsultation


def bookings_of(*, user: Any, resident: Resident, request: Any = None) -> list[Booking]:
    """A resident's bookings, live ones first by slot date (audited)."""
    qs = Booking.objects.select_related("slot__department", "slot__institution", "referral", "booked_from")
    rows = list(visible(user, qs.filter(resident=resident)).order_by("-slot__date", "-slot__start_time", "-pk")
                [:LIST_LIMIT])
    rows.sort(key=lambda b: b.status != BookingStatus.BOOKED)
    audit.read(user=user, objects=rows, request=request)
    return rows


def _consults() -> QuerySet[Teleconsultation]:
    return Teleconsultation.objects.select_related("resident", "requesting_institution", "specialist_institution",
                                                   "department")


def consults_desk(*, user: Any, institution: Institution, box: str, request: Any = None) -> list[Teleconsultation]:
    """Consultations asked of ``institution`` (``incoming``, unanswered first) or by it
    (``outgoing``), newest first (audited)."""
    if box not in ("incoming", "outgoing"):
        raise ValidationFailed(field="box", reason=_("box 应为 incoming 或 outgoing"))
    _institution_in_scope(user, institution)
    qs = _consults()
    if box == "incoming":
        qs = qs.filter(specialist_institution=institution)
    else:
        qs = qs.filter(requesting_institution=institution)
    rows = list(visible(user, qs, path_field=SIDES).order_by("-requested_at", "-pk")[:LIST_LIMIT])
    if box == "incoming":
        rows.sort(key=lambda c: c.status != ConsultStatus.REQUESTED)
    audit.read(user=user, objects=rows, request=request)
    return rows


def consults_of(*, user: Any, resident: Resident, request: Any = None) -> list[Teleconsultation]:
    """A resident's teleconsultations, newest first (audited)."""
    rows = list(visible(user, _consults().filter(resident=resident), path_field=SIDES)
                .order_by("-requested_at", "-pk")[:LIST_LIMIT])
    audit.read(user=user, objects=rows, request=request)
    return rows


def consult_get(*, user: Any, pk: int, request: Any = None) -> Teleconsultation:
    """One consultation with its results and attachments (their content not loaded), audited."""
    qs = _consults().select_related("requested_by", "answered_by").prefetch_related(
        "results__item", "results__performed_by",
        Prefetch("attachments", queryset=ConsultAttachment.objects.defer("content").order_by("pk")))
    try:
        consult = get_visible(user, qs, path_field=SIDES, pk=pk)
    except NotFound:
        _miss(user, "referrals.teleconsultation", pk, request)
        raise
    audit.read(user=user, objects=[consult], request=request)
    return consult


def attachment_get(*, user: Any, pk: int, request: Any = None) -> ConsultAttachment:
    """One attachment, with its content, if its consultation is visible (the read is audited
    against the consultation)."""
    consults = visible(user, Teleconsultation.objects.all(), path_field=SIDES)
    attachment = ConsultAttachment.objects.select_related("consultation").filter(
        pk=pk, consultation__in=consults).first()
    if attachment is None:
        _miss(user, "referrals.consultattachment", pk, request)
        raise NotFound()
    audit.read(user=user, objects=[attachment.consultation], request=request)
    return attachment


# ---------------------------------------------------------------- reference lookups for the API and views


def institution_by_code(code: str, *, field: str) -> Institution:
    """An institution by code (reference data, unscoped: a village doctor names the county
    hospital); 422 naming ``field`` when unknown."""
    found = Institution.objects.filter(code=(code or "").strip()).first()
    if found is None:
        raise ValidationFailed(field=field, reason=_("机构代码“%(code)s”不存在") % {"code": code})
    return found


def department_by_code(institution: Institution, code: str, *, field: str) -> Department:
    found = Department.objects.filter(institution=institution, code=(code or "").strip()).first()
    if found is None:
        raise ValidationFailed(field=field, reason=_("“%(name)s”没有科室“%(code)s”") % {
            "name": institution.name, "code": code})
    return found


def slot_get(*, pk: int) -> Slot:
    """A published slot (reference data)."""
    slot = Slot.objects.select_related("institution", "department").filter(pk=pk).first()
    if slot is None:
        raise NotFound()
    return slot


def booking_get(*, user: Any, pk: int, request: Any = None) -> Booking:
    """One booking the caller can see (the patient's village, the host or the booking institution)."""
    qs = Booking.objects.select_related("slot__institution", "slot__department", "resident", "booked_from")
    booking = qs.filter(pk=pk).first()
    if booking is None or not (covers(user, booking.path) or covers(user, booking.slot.institution.path)
                               or (booking.booked_from is not None and covers(user, booking.booked_from.path))):
        _miss(user, "referrals.booking", pk, request)
        raise NotFound()
    audit.read(user=user, objects=[booking], request=request)
    return booking
