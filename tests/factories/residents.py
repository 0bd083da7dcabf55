"""Factories of residents: rows written directly (fast, for fixtures), and a helper that registers
through the service (validation, door check, audit) with sensible defaults."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import factory

from tests.factories.registry import valid_resident_id
from yigongti.registry.models import Division
from yigongti.residents.identity import name_pinyin
from yigongti.residents.models import Household, Resident
from yigongti.residents.services import resident_register, village_responsibles

_record_seq = itertools.count(1)
_household_seq = itertools.count(1)


def resident_id(born: dt.date = dt.date(1980, 5, 17), sex: str = "M", division: str = "522399") -> str:
    """A valid 18-character resident ID for that birth date and sex."""
    return valid_resident_id(division=division, born=born, male=sex == "M")


class HouseholdFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Household

    code = factory.LazyFunction(lambda: f"HH{next(_household_seq):06d}")
    village = None  # pass a village Division
    path = factory.LazyAttribute(lambda o: o.village.path)


class ResidentFactory(factory.django.DjangoModelFactory):
    """A record written directly (no door check): pass ``village``."""

    class Meta:
        model = Resident

    name = factory.Sequence(lambda n: f"王{'一二三四五六七八九十'[n % 10]}{'甲乙丙丁'[n // 10 % 4]}")
    name_pinyin = factory.LazyAttribute(lambda o: name_pinyin(o.name))
    sex = "M"
    birth_date = dt.date(1980, 5, 17)
    id_number = factory.LazyAttribute(lambda o: resident_id(o.birth_date, o.sex))
    village = None
    path = factory.LazyAttribute(lambda o: o.village.path)
    record_no = factory.LazyAttribute(lambda o: f"{o.village.code}{90000 + next(_record_seq) % 10000:05d}")
    clinic = factory.LazyAttribute(lambda o: village_responsibles(o.village)[0])
    township_centre = factory.LazyAttribute(lambda o: village_responsibles(o.village)[1])


def register(user: Any, village: Division, **fields: Any) -> Resident:
    """Register through :func:`resident_register` (defaults: 张三, male, 1980-05-17, a valid ID)."""
    fields.setdefault("name", "张三")
    fields.setdefault("sex", "M")
    fields.setdefault("birth_date", dt.date(1980, 5, 17))
    if "id_number" not in fields:
        fields["id_number"] = resident_id(fields["birth_date"], fields["sex"])
    fields.setdefault("village_code", village.code)
    return resident_register(user=user, **fields)
