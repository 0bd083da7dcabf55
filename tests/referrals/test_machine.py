"""The referral state machine: the pure table, then every (status, action) pair through the
services — legal ones move the referral and write an event and an audit entry, illegal ones are
409 naming the status and the action, and change nothing."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tests.factories.referrals import request_up, walk
from tests.referrals.conftest import ReferralCounty
from yigongti.core.models import AuditEntry
from yigongti.referrals import services
from yigongti.referrals.choices import ReferralStatus
from yigongti.referrals.errors import IllegalTransition
from yigongti.referrals.machine import TRANSITIONS, Action, allowed_actions, next_status
from yigongti.referrals.models import Referral, ReferralEvent

STATUSES = list(ReferralStatus.values)
ACTIONS = [a.value for a in Action]
PAIRS = list(itertools.product(STATUSES, ACTIONS))
EXPECTED = {
    ("requested", "accept"): "accepted",
    ("requested", "reject"): "rejected",
    ("requested", "cancel"): "cancelled",
    ("accepted", "cancel"): "cancelled",
    ("accepted", "arrive"): "arrived",
    ("arrived", "complete"): "completed",
}


def test_the_table_is_the_documented_one() -> None:
    assert {(s, str(a)): str(t) for (s, a), t in TRANSITIONS.items()} == EXPECTED
    assert allowed_actions("requested") == ["accept", "reject", "cancel"]
    assert allowed_actions("completed") == []


@pytest.mark.parametrize(("status", "action"), PAIRS)
def test_next_status_pure(status: str, action: str) -> None:
    if (status, action) in EXPECTED:
        assert next_status(status, action) == EXPECTED[(status, action)]
    else:
        with pytest.raises(IllegalTransition) as caught:
            next_status(status, action)
        assert caught.value.status == 409 and caught.value.code == "illegal_transition"


def _in_status(rules: ReferralCounty, status: str) -> Referral:
    referral = request_up(rules.village_doctor, rules.resident, rules.hospital)
    if status in ("accepted", "arrived", "completed"):
        return walk(referral, receiver=rules.clinician, to=status)
    if status == "rejected":
        return services.referral_reject(user=rules.clinician, referral=referral, reason="床位已满")
    if status == "cancelled":
        return services.referral_cancel(user=rules.village_doctor, referral=referral, reason="患者不去了")
    return referral


def _act(rules: ReferralCounty, referral: Referral, action: str) -> Referral:
    receiver, sender = rules.clinician, rules.village_doctor
    calls: dict[str, Any] = {
        "accept": lambda: services.referral_accept(user=receiver, referral=referral),
        "reject": lambda: services.referral_reject(user=receiver, referral=referral, reason="不收"),
        "cancel": lambda: services.referral_cancel(user=sender, referral=referral, reason="撤销"),
        "arrive": lambda: services.referral_arrive(user=receiver, referral=referral),
        "complete": lambda: services.referral_complete(user=receiver, referral=referral, feedback="好转出院"),
    }
    return calls[action]()


@pytest.mark.parametrize(("status", "action"), PAIRS)
def test_every_transition_through_the_services(rules: ReferralCounty, status: str, action: str) -> None:
    referral = _in_status(rules, status)
    assert referral.status == status
    events = ReferralEvent.objects.filter(referral=referral).count()
    audits = AuditEntry.objects.filter(object_type="referrals.referral", object_id=str(referral.pk)).count()
    if (status, action) in EXPECTED:
        moved = _act(rules, referral, action)
        assert moved.status == EXPECTED[(status, action)]
        last = ReferralEvent.objects.filter(referral=referral).last()
        assert last is not None and (last.action, last.from_status, last.to_status) == (
            action, status, EXPECTED[(status, action)])
        assert AuditEntry.objects.filter(object_type="referrals.referral", object_id=str(referral.pk)).count() == (
            audits + 1)
    else:
        with pytest.raises(IllegalTransition) as caught:
            _act(rules, referral, action)
        assert str(ReferralStatus(status).label) in str(caught.value)
        referral.refresh_from_db()
        assert referral.status == status
        assert ReferralEvent.objects.filter(referral=referral).count() == events


def test_accept_twice_and_accept_a_cancelled_referral(rules: ReferralCounty) -> None:
    referral = request_up(rules.village_doctor, rules.resident, rules.hospital)
    services.referral_accept(user=rules.clinician, referral=referral)
    with pytest.raises(IllegalTransition, match="已接收"):
        services.referral_accept(user=rules.clinician, referral=referral)
    other = request_up(rules.village_doctor, rules.resident, rules.hospital)
    services.referral_cancel(user=rules.village_doctor, referral=other, reason="家属改变主意")
    with pytest.raises(IllegalTransition) as caught:
        services.referral_accept(user=rules.clinician, referral=other)
    assert str(caught.value) == "转诊单当前为“已撤销”，不能接收。"
