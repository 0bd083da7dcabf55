"""The requisition flow: submitted → approved (per line) or rejected (with a note) → shipped (FEFO,
partly when allowed) → received; cancelled while submitted. Every other transition is WrongStatus;
a village doctor of another clinic is refused (403), another township does not see it (404)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.medicines.conftest import AMOX, DAY, NIFE, Med
from yigongti.core.errors import NotFound, PermissionDenied
from yigongti.medicines import services, services_flow
from yigongti.medicines.errors import OutOfStock, StockInputInvalid, WrongStatus
from yigongti.medicines.models import Movement, Requisition


def _submit(med: Med, lines: dict[str, int] | None = None) -> Requisition:
    return services_flow.requisition_submit(med.county.village_doctor, med.village_clinic,
                                            lines or {AMOX: 20, NIFE: 10}, day=DAY)


def test_approve_per_line_ship_and_receive(med: Med) -> None:
    c = med.county
    med.stock(med.centre, AMOX, 50)
    med.stock(med.centre, NIFE, 50)
    req = _submit(med)
    assert (req.status, req.supplier, req.institution) == ("submitted", med.centre, med.village_clinic)
    amox = req.lines.get(medicine__code=AMOX)
    req = services_flow.requisition_decide(c.director, req.pk, approve=True, approved={amox.pk: 15}, note="够用")
    assert req.status == "approved" and req.decided_by == c.director
    assert dict(req.lines.values_list("medicine__code", "approved")) == {AMOX: 15, NIFE: 10}
    req = services_flow.requisition_ship(c.director, req.pk, day=DAY)
    assert req.status == "shipped" and med.balance(med.centre) == 35
    assert med.balance(med.village_clinic) == 0  # in transit
    req = services_flow.requisition_receive(c.village_doctor, req.pk, day=DAY)
    assert req.status == "received"
    assert (med.balance(med.village_clinic), med.balance(med.village_clinic, code=NIFE)) == (15, 10)
    assert dict(req.lines.values_list("medicine__code", "received")) == {AMOX: 15, NIFE: 10}
    assert services.ledger_check().ok


def test_refused_transitions(med: Med) -> None:
    c = med.county
    med.stock(med.centre, AMOX, 50)
    med.stock(med.centre, NIFE, 50)
    req = _submit(med)
    with pytest.raises(WrongStatus):
        services_flow.requisition_ship(c.director, req.pk, day=DAY)
    with pytest.raises(WrongStatus):
        services_flow.requisition_receive(c.village_doctor, req.pk, day=DAY)
    services_flow.requisition_decide(c.director, req.pk, approve=True)
    for step in (lambda: services_flow.requisition_decide(c.director, req.pk, approve=True),
                 lambda: services_flow.requisition_cancel(c.village_doctor, req.pk),
                 lambda: services_flow.requisition_receive(c.village_doctor, req.pk, day=DAY)):
        with pytest.raises(WrongStatus):
            step()
    services_flow.requisition_ship(c.director, req.pk, day=DAY)
    with pytest.raises(WrongStatus):
        services_flow.requisition_ship(c.director, req.pk, day=DAY)
    services_flow.requisition_receive(c.village_doctor, req.pk, day=DAY)
    with pytest.raises(WrongStatus):
        services_flow.requisition_receive(c.village_doctor, req.pk, day=DAY)
    cancelled = services_flow.requisition_cancel(c.village_doctor, _submit(med).pk)
    assert cancelled.status == "cancelled"
    with pytest.raises(WrongStatus):
        services_flow.requisition_decide(c.director, cancelled.pk, approve=True)


def test_reject_needs_a_note(med: Med) -> None:
    c = med.county
    req = _submit(med)
    with pytest.raises(StockInputInvalid) as caught:
        services_flow.requisition_decide(c.director, req.pk, approve=False, note="  ")
    assert caught.value.params["field"] == "note"
    assert Requisition.objects.get(pk=req.pk).status == "submitted"
    req = services_flow.requisition_decide(c.director, req.pk, approve=False, note="上月刚配送过")
    assert (req.status, req.decision_note) == ("rejected", "上月刚配送过")
    with pytest.raises(WrongStatus):
        services_flow.requisition_ship(c.director, req.pk, day=DAY)


def test_all_zero_approval_is_refused(med: Med) -> None:
    req = _submit(med, {AMOX: 5})
    line = req.lines.get()
    with pytest.raises(StockInputInvalid):
        services_flow.requisition_decide(med.county.director, req.pk, approve=True, approved={line.pk: 0})
    with pytest.raises(StockInputInvalid):
        services_flow.requisition_decide(med.county.director, req.pk, approve=True, approved={line.pk + 999: 1})


def test_partial_shipping(med: Med) -> None:
    """The centre holds 12 of the 20 asked: without ``partial`` nothing moves; with it the 12 go, earliest
    expiry first, and the village receives exactly those batches."""
    c = med.county
    early = med.stock(med.centre, AMOX, 5, expiry=DAY + dt.timedelta(days=60))
    late = med.stock(med.centre, AMOX, 7, expiry=DAY + dt.timedelta(days=600))
    req = _submit(med, {AMOX: 20})
    services_flow.requisition_decide(c.director, req.pk, approve=True)
    with pytest.raises(OutOfStock):
        services_flow.requisition_ship(c.director, req.pk, day=DAY)
    assert not Movement.objects.filter(kind="transfer_out").exists()
    req = services_flow.requisition_ship(c.director, req.pk, partial=True, day=DAY)
    assert req.status == "shipped" and req.lines.get().shipped == 12
    services_flow.requisition_receive(c.village_doctor, req.pk, day=DAY)
    assert (med.balance(med.village_clinic, early), med.balance(med.village_clinic, late)) == (5, 7)
    assert med.balance(med.centre) == 0


def test_partial_with_nothing_in_stock_ships_nothing(med: Med) -> None:
    c = med.county
    req = _submit(med, {AMOX: 3})
    services_flow.requisition_decide(c.director, req.pk, approve=True)
    with pytest.raises(OutOfStock):
        services_flow.requisition_ship(c.director, req.pk, partial=True, day=DAY)
    assert Requisition.objects.get(pk=req.pk).status == "approved"


def test_who_may_act(med: Med) -> None:
    c = med.county
    other_clinic = c.clinics[c.village_b.code]  # same township, another village
    with pytest.raises(PermissionDenied):
        services_flow.requisition_submit(c.village_doctor, other_clinic, {AMOX: 1}, day=DAY)
    req = _submit(med)
    with pytest.raises(PermissionDenied):  # a village doctor does not approve
        services_flow.requisition_decide(c.village_doctor, req.pk, approve=True)
    with pytest.raises(NotFound):  # the other township does not see it
        services_flow.requisition_decide(c.other_director, req.pk, approve=True)
    with pytest.raises(NotFound):
        services_flow.requisition_cancel(c.other_director, req.pk)
    with pytest.raises(PermissionDenied):  # the health commission reads only
        services_flow.requisition_decide(c.commission, req.pk, approve=True)
    assert services_flow.requisition_decide(c.director, req.pk, approve=True).status == "approved"


def test_a_township_requisitions_from_the_county(med: Med) -> None:
    c = med.county
    with pytest.raises(StockInputInvalid):  # the county hospital buys from suppliers instead
        services_flow.requisition_submit(c.clinician, med.hospital, {AMOX: 1}, day=DAY)
    med.stock(med.hospital, AMOX, 100)
    req = services_flow.requisition_submit(c.director, med.centre, {AMOX: 60}, day=DAY)
    assert req.supplier == med.hospital
    with pytest.raises(PermissionDenied):  # the centre does not approve its own requisition
        services_flow.requisition_decide(c.director, req.pk, approve=True)
    services_flow.requisition_decide(c.clinician, req.pk, approve=True)
    services_flow.requisition_ship(c.clinician, req.pk, day=DAY)
    services_flow.requisition_receive(c.director, req.pk, day=DAY)
    assert (med.balance(med.hospital), med.balance(med.centre)) == (40, 60)
