"""Prescriptions and dispensing of the medicines app (处方与发药).

:func:`prescribe` writes an encounter's prescription; :func:`dispense` takes every line
first-expiry-first-out from the unexpired batches at their price (零差率), all lines or none, refusing
an item not on the institution tier's list or not in stock; :func:`return_dispensed` (退药) puts units
back into the batches they left; :func:`prescription_cancel` voids an undispensed prescription.
Prescriptions are person-level: read through ``selectors.prescriptions_visible``, every read and write
audited. Stock moves through the ledger's writer in :mod:`.services`, under its locks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import OperationalError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yigongti.care.models import Encounter
from yigongti.core import clock, scope
from yigongti.core.errors import NotFound
from yigongti.core.models import AuditAction
from yigongti.registry.models import Institution

from .choices import MovementKind, PrescriptionStatus
from .errors import StockBusy
from .models import Batch, Movement, Prescription, PrescriptionLine
from .selectors import BOTH_PATHS, prescriptions_visible
from .services import (
    _audit,
    _check_listed,
    _invalid,
    _lock,
    _move,
    _number,
    _placeholder,
    _require_status,
    _user,
    check_may_act,
    fefo,
    medicine_of,
    quantity_of,
)

# ---------------------------------------------------------------- prescriptions and dispensing


@dataclass(frozen=True)
class PrescribedItem:
    medicine: Any
    quantity: Any
    usage: str = ""
    days: Any = None


@transaction.atomic
def prescribe(actor: Any, encounter_id: int, items: Sequence[PrescribedItem], *, prescriber: str = "",
              request: Any = None) -> Prescription:
    """开处方 for an encounter at an institution of the county: items of the catalogue, whole quantities."""
    encounter = scope.get_visible(actor, Encounter.objects.select_related("institution"),
                                  path_field=("path", "institution_path"), pk=encounter_id)
    if encounter.institution is None:
        raise _invalid("encounter", _("县外就诊不能在本系统开处方"))
    check_may_act(actor, encounter.institution)
    day = encounter.start_date
    if not items:
        raise _invalid("items", _("至少一种药品"))
    lines = []
    for index, item in enumerate(items):
        prefix = f"items[{index}]."
        medicine = medicine_of(item.medicine, f"{prefix}medicine", day)
        days = None
        if item.days not in (None, ""):
            days = quantity_of(item.days, f"{prefix}days")
            if days > 366:
                raise _invalid(f"{prefix}days", _("天数过大"))
        lines.append(PrescriptionLine(medicine=medicine, quantity=quantity_of(item.quantity, f"{prefix}quantity"),
                                      usage=str(item.usage or "")[:100], days=days))
    prescription = Prescription.objects.create(
        number=_placeholder(), encounter=encounter, resident_id=encounter.resident_id, path=encounter.path,
        institution=encounter.institution, institution_path=encounter.institution.path, prescribed_on=day,
        prescriber=(prescriber or encounter.clinician_name or getattr(actor, "get_full_name", lambda: "")() or
                    getattr(actor, "username", ""))[:50], created_by=_user(actor))
    _number(prescription, day)
    for line in lines:
        line.prescription = prescription
    PrescriptionLine.objects.bulk_create(lines)
    _audit(actor, AuditAction.CREATE, prescription, prescription.path, request, number=prescription.number,
           encounter=encounter.pk, lines=len(lines))
    return prescription


@transaction.atomic
def dispense(actor: Any, prescription_id: int, *, day: dt.date | None = None, request: Any = None) -> Prescription:
    """发药: every line first-expiry-first-out at the batches' price (零差率), all lines or none.

    Refused: an item not on the institution tier's list, not enough unexpired stock, a prescription
    already dispensed or cancelled."""
    try:
        prescription = scope.get_visible(actor, Prescription.objects.select_for_update(), path_field=BOTH_PATHS,
                                         pk=prescription_id)
    except OperationalError as exc:
        raise StockBusy() from exc
    institution = Institution.objects.get(pk=prescription.institution_id)
    check_may_act(actor, institution)
    _require_status(prescription, _("发药"), PrescriptionStatus.OPEN)
    day = day or clock.today()
    lines = list(prescription.lines.select_related("medicine"))
    for index, line in enumerate(lines):
        _check_listed(line.medicine, institution, day, f"items[{index}].medicine")
    _lock(institution, sorted({line.medicine_id for line in lines}))
    amount = essential = Decimal("0")
    for line in lines:
        line.amount = Decimal("0")
        for batch, quantity in fefo(institution, line.medicine, line.quantity, day):
            movement = _move(actor, institution, batch, MovementKind.DISPENSE, -quantity, day,
                             document=prescription.number, prescription_line=line)
            line.amount -= movement.amount
        line.save(update_fields=["amount"])
        amount += line.amount
        if line.medicine.essential:
            essential += line.amount
    prescription.status, prescription.amount, prescription.essential_amount = (
        PrescriptionStatus.DISPENSED, amount, essential)
    prescription.dispensed_at, prescription.dispensed_by = timezone.now(), _user(actor)
    prescription.save(update_fields=["status", "amount", "essential_amount", "dispensed_at", "dispensed_by"])
    _audit(actor, AuditAction.UPDATE, prescription, prescription.path, request, status="dispensed",
           amount=str(amount))
    return prescription


@transaction.atomic
def prescription_cancel(actor: Any, prescription_id: int, *, request: Any = None) -> Prescription:
    prescription = scope.get_visible(actor, Prescription.objects.select_for_update(), path_field=BOTH_PATHS,
                                     pk=prescription_id)
    check_may_act(actor, Institution.objects.get(pk=prescription.institution_id))
    _require_status(prescription, _("作废"), PrescriptionStatus.OPEN)
    prescription.status = PrescriptionStatus.CANCELLED
    prescription.save(update_fields=["status"])
    _audit(actor, AuditAction.UPDATE, prescription, prescription.path, request, status="cancelled")
    return prescription


@transaction.atomic
def return_dispensed(actor: Any, line_id: int, quantity: Any, *, day: dt.date | None = None,
                     request: Any = None) -> list[Movement]:
    """退药: units of a dispensed line come back into the batches they left (latest-expiry first)."""
    line = PrescriptionLine.objects.select_related("prescription", "medicine").filter(
        pk=line_id, prescription__in=prescriptions_visible(actor)).first()
    if line is None:
        raise NotFound()
    prescription = Prescription.objects.select_for_update().get(pk=line.prescription_id)
    institution = Institution.objects.get(pk=prescription.institution_id)
    check_may_act(actor, institution)
    _require_status(prescription, _("退药"), PrescriptionStatus.DISPENSED)
    day = day or clock.today()
    count = quantity_of(quantity, "quantity")
    net = dict(line.movements.values_list("batch_id").annotate(q=Sum("quantity")).order_by())
    out = -sum(net.values())
    if count > out:
        raise _invalid("quantity", _("退药数量超过实发数量 %(dispensed)s") % {"dispensed": out})
    movements = []
    for batch in Batch.objects.filter(pk__in=[pk for pk, q in net.items() if q < 0]).order_by("-expiry", "-pk"):
        if count == 0:
            break
        back = min(count, -net[batch.pk])
        movements.append(_move(actor, institution, batch, MovementKind.RETURN, back, day, document=prescription.number,
                               prescription_line=line))
        count -= back
    refund = sum((movement.amount for movement in movements), Decimal("0"))
    line.amount -= refund
    line.save(update_fields=["amount"])
    prescription.amount -= refund
    if line.medicine.essential:
        prescription.essential_amount -= refund
    prescription.save(update_fields=["amount", "essential_amount"])
    _audit(actor, AuditAction.UPDATE, prescription, prescription.path, request, returned=str(refund))
    return movements
