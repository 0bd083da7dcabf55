"""Mark the months a change in place touches, for the next incremental refresh.

The fingerprint of each partition (row count, sum of ids, latest ``updated_at``) already sees rows
added, removed or moved between months, however they were written (forms, imports, bulk loads).
What it cannot see is a row edited in place — an enrolment closed, a referral answered, a
resident transferred (every fact row of that resident now counts for another village). These
receivers mark those months in :class:`~.models.DirtyMonth`; a change to the org tree marks every
month (``month`` 0).
"""

from __future__ import annotations

from typing import Any

from django.db.models import signals
from django.db.models.functions import TruncMonth

from .facts import FACTS, Fact, _yyyymm

ALL_MONTHS = 0


def mark(fact: str, months: set[int]) -> None:
    from .models import DirtyMonth

    DirtyMonth.objects.bulk_create([DirtyMonth(fact=fact, month=m) for m in sorted(months) if m is not None],
                                   ignore_conflicts=True)


def _partition_value(fact: Fact, instance: Any) -> Any:
    value = instance
    for part in fact.partition.split("__"):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value


def mark_instance(fact: Fact, instance: Any) -> None:
    value = _partition_value(fact, instance)
    if value is None:
        return
    if fact.yearly:
        mark(fact.name, {int(value) * 100 + 1})
        return
    if hasattr(value, "tzinfo") and value.tzinfo is not None:
        from django.utils import timezone

        value = timezone.localtime(value)
    mark(fact.name, {value.year * 100 + value.month})


def mark_resident(resident_id: int) -> None:
    """Every month of every fact that holds a row of this resident (transfer, merge, death)."""
    for fact in FACTS.values():
        if not fact.resident:
            continue
        months = (fact.queryset().order_by().filter(**{fact.resident: resident_id})
                  .annotate(m=TruncMonth(fact.partition)).values_list("m", flat=True).distinct())
        found = {_yyyymm(m) for m in months}
        mark(fact.name, {m for m in found if m is not None})


def _on_resident(sender: Any, instance: Any, **kwargs: Any) -> None:
    mark_resident(instance.pk)


def _on_tree(sender: Any, instance: Any, **kwargs: Any) -> None:
    for name in FACTS:
        mark(name, {ALL_MONTHS})


def _receiver(facts: list[Fact]) -> Any:
    def receive(sender: Any, instance: Any, **kwargs: Any) -> None:
        for fact in facts:
            mark_instance(fact, instance)
    return receive


def _referral_event(sender: Any, instance: Any, **kwargs: Any) -> None:
    mark_instance(FACTS["referrals"], instance.referral)


def _visit_doses(sender: Any, instance: Any, **kwargs: Any) -> None:
    if instance.programme.code == "immunisation":
        mark_instance(FACTS["doses"], instance)


_KEEP: list[Any] = []  # receivers are connected weakly by default; keep the closures alive


def connect() -> None:
    from yigongti.care.models import Encounter, Order
    from yigongti.programmes.models import Enrolment, Visit
    from yigongti.referrals.models import Referral, ReferralEvent
    from yigongti.registry.models import Capacity, Division, Institution, Qualification
    from yigongti.residents.models import Resident

    from .models import Population

    sources = {Enrolment: ["enrolments"], Visit: ["visits"], Encounter: ["encounters"], Order: ["orders"],
               Referral: ["referrals"], Qualification: ["staff"], Capacity: ["capacity"], Population: ["population"]}
    for model, names in sources.items():
        receive = _receiver([FACTS[n] for n in names])
        _KEEP.append(receive)
        signals.post_save.connect(receive, sender=model, dispatch_uid=f"analytics-{model.__name__}-save")
        signals.post_delete.connect(receive, sender=model, dispatch_uid=f"analytics-{model.__name__}-delete")
    signals.post_save.connect(_referral_event, sender=ReferralEvent, dispatch_uid="analytics-referral-event")
    signals.post_save.connect(_visit_doses, sender=Visit, dispatch_uid="analytics-visit-doses")
    signals.post_save.connect(_on_resident, sender=Resident, dispatch_uid="analytics-resident")
    for model in (Division, Institution):
        signals.post_save.connect(_on_tree, sender=model, dispatch_uid=f"analytics-{model.__name__}-tree")
