"""Factories of the referrals app: the referral rules loaded, referrals moved through the services
(routes, deadlines, events, audit), and slots written directly for speed."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory

from yigongti.core.clock import today
from yigongti.core.rule_fixtures import rules_load
from yigongti.referrals import services
from yigongti.referrals.models import Referral, ReferralRoute, Slot
from yigongti.registry.models import Institution
from yigongti.residents.models import Resident

KINDS = ["referrals.routes", "referrals.deadlines"]


def load_referral_rules() -> None:
    """Load the referral fixtures (``ygt rules load``) unless they are loaded already."""
    if not ReferralRoute.objects.exists():
        rules_load(kinds=KINDS)


def request_up(user: Any, resident: Resident, to: Institution, **fields: Any) -> Referral:
    """An up-referral through :func:`referral_request` (defaults: outpatient, a reason, I10)."""
    fields.setdefault("kind", "outpatient")
    fields.setdefault("reason", "血压控制不佳，请上级医院调整用药")
    fields.setdefault("diagnosis_code", "I10")
    fields.setdefault("diagnosis_name", "原发性高血压")
    return services.referral_request(user=user, resident=resident, to_institution=to, **fields)


def walk(referral: Referral, *, receiver: Any, to: str) -> Referral:
    """Move ``referral`` as ``receiver`` (a user of its receiving institution) to status ``to``
    through accept → arrive → complete."""
    steps = {"accepted": 1, "arrived": 2, "completed": 3}[to]
    referral = services.referral_accept(user=receiver, referral=referral)
    if steps >= 2:
        referral = services.referral_arrive(user=receiver, referral=referral)
    if steps >= 3:
        referral = services.referral_complete(user=receiver, referral=referral, feedback="出院小结：血压已控制")
    return referral


class SlotFactory(factory.django.DjangoModelFactory):
    """A published slot written directly: pass ``department``; tomorrow 08:00–09:00, 3 places."""

    class Meta:
        model = Slot

    department = None
    institution = factory.LazyAttribute(lambda o: o.department.institution)
    date = factory.LazyFunction(lambda: today() + dt.timedelta(days=1))
    start_time = factory.Sequence(lambda n: dt.time(8 + n % 10, (n // 10) % 60))
    end_time = factory.LazyAttribute(lambda o: dt.time(o.start_time.hour, o.start_time.minute, 59))
    capacity = 3
