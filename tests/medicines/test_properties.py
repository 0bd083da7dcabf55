"""Property: any sequence of operations through the services — receipts, dispensing, write-offs,
requisitions shipped and received, returns, stock takes — keeps every balance the sum of its movements,
never below zero anywhere, and ``ledger_check().ok``; an operation asking for too much is refused and
leaves the ledger exactly as it was. Each example runs in its own savepoint, rolled back after it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.medicines.conftest import AMOX, DAY, NIFE, Med
from yigongti.core import scope
from yigongti.core.errors import DomainError
from yigongti.medicines import services, services_dispensing, services_flow
from yigongti.medicines.models import Movement
from yigongti.medicines.selectors import batch_balances

ITEMS = (AMOX, NIFE)
quantities = st.integers(1, 30)
ops = st.one_of(
    st.tuples(st.just("receive"), st.integers(0, 1), st.sampled_from(ITEMS), quantities, st.integers(10, 400)),
    st.tuples(st.just("dispense"), st.sampled_from(ITEMS), quantities),
    st.tuples(st.just("write_off"), st.integers(0, 1), st.integers(0, 9), quantities),
    st.tuples(st.just("requisition"), st.sampled_from(ITEMS), quantities, st.booleans()),
    st.tuples(st.just("return"), st.integers(0, 9), quantities),
    st.tuples(st.just("stocktake"), st.integers(0, 1), st.lists(st.integers(-5, 5), min_size=1, max_size=4)),
)


def _ledger() -> list[tuple[int, int]]:
    return sorted(Movement.objects.values_list("pk", "quantity"))


def _apply(med: Med, op: tuple[Any, ...]) -> None:
    c = med.county
    places = (med.village_clinic, med.centre)
    if op[0] == "receive":
        _name, where, code, quantity, days = op
        med.stock(places[where], code, quantity, expiry=DAY + dt.timedelta(days=days))
    elif op[0] == "dispense":
        _name, code, quantity = op
        services_dispensing.dispense(c.village_doctor, med.prescription({code: quantity}).pk, day=DAY)
    elif op[0] == "write_off":
        _name, where, pick, quantity = op
        held = sorted(batch_balances(places[where].pk).items())
        if held:
            batch_id, _q = held[pick % len(held)]
            services.write_off(scope.SYSTEM, places[where], batch_id, quantity, reason="damaged", day=DAY)
    elif op[0] == "requisition":
        _name, code, quantity, partial = op
        req = services_flow.requisition_submit(c.village_doctor, med.village_clinic, {code: quantity}, day=DAY)
        services_flow.requisition_decide(c.director, req.pk, approve=True)
        services_flow.requisition_ship(c.director, req.pk, partial=partial, day=DAY)
        services_flow.requisition_receive(c.village_doctor, req.pk, day=DAY)
    elif op[0] == "return":
        _name, pick, quantity = op
        lines = list(Movement.objects.filter(kind="dispense").values_list("prescription_line_id", flat=True)
                     .distinct().order_by("prescription_line_id"))
        if lines:
            services_dispensing.return_dispensed(c.village_doctor, lines[pick % len(lines)], quantity, day=DAY)
    else:
        _name, where, deltas = op
        take = services.stocktake_start(scope.SYSTEM, places[where], day=DAY)
        lines = list(take.lines.order_by("pk"))
        services.stocktake_count(scope.SYSTEM, take.pk, {
            line.pk: max(0, line.expected + deltas[i % len(deltas)]) for i, line in enumerate(lines)})
        services.stocktake_post(scope.SYSTEM, take.pk)


def _check_invariants() -> None:
    assert services.ledger_check().ok
    sums = Movement.objects.values_list("institution_id", "batch_id").annotate(q=Sum("quantity")).order_by()
    for institution_id, batch_id, quantity in sums:
        assert quantity >= 0, (institution_id, batch_id, quantity)
        assert batch_balances(institution_id).get(batch_id, 0) == quantity


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sequence=st.lists(ops, min_size=1, max_size=8))
def test_any_sequence_keeps_the_ledger(med: Med, sequence: list[tuple[Any, ...]]) -> None:
    with transaction.atomic():
        for op in sequence:
            before = _ledger()
            try:
                _apply(med, op)
            except DomainError:
                # Too much asked (out of stock, more than dispensed …): refused, nothing written.
                assert _ledger() == before, op
            _check_invariants()
        transaction.set_rollback(True)  # the next example starts from the empty ledger
    assert not Movement.objects.exists()
