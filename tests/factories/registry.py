"""Factories of the registry (one module per app, STYLE.md)."""

from __future__ import annotations

import datetime as dt
import itertools

import factory

from yigongti.core.ids import resident_id_check_char
from yigongti.core.tree import join
from yigongti.registry.choices import TIER_OF_TYPE, DivisionLevel, InstitutionType, QualificationKind
from yigongti.registry.models import (
    Capacity,
    Department,
    Division,
    Institution,
    Qualification,
    StaffMember,
)

START = dt.date(2020, 1, 1)
_seq = itertools.count(1)


def valid_resident_id(division: str = "522399", born: dt.date = dt.date(1980, 5, 17),
                      male: bool = True) -> str:
    n = next(_seq) % 500
    sequence = f"{(2 * n + (1 if male else 0)) % 1000:03d}"
    first17 = f"{division[:6]}{born:%Y%m%d}{sequence}"
    return first17 + resident_id_check_char(first17)


class DivisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Division
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"5223{n:02d}")
    name = factory.Sequence(lambda n: f"区划{n}")
    level = DivisionLevel.COUNTY
    parent = None
    path = factory.LazyAttribute(lambda o: join(o.parent.path if o.parent else None, o.code))
    valid_from = START


class InstitutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Institution
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"INST{n:05d}")
    name = factory.Sequence(lambda n: f"机构{n}")
    type = InstitutionType.VILLAGE_CLINIC
    tier = factory.LazyAttribute(lambda o: TIER_OF_TYPE[o.type])
    division = factory.SubFactory(DivisionFactory)
    path = factory.LazyAttribute(lambda o: o.division.path)
    valid_from = START


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    institution = factory.SubFactory(InstitutionFactory)
    code = factory.Sequence(lambda n: f"D{n:03d}")
    name = factory.Sequence(lambda n: f"科室{n}")


class StaffMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffMember

    institution = factory.SubFactory(InstitutionFactory)
    name = factory.Sequence(lambda n: f"张{n}")
    sex = "M"
    id_number = factory.LazyFunction(valid_resident_id)
    path = factory.LazyAttribute(lambda o: o.institution.path)


class QualificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Qualification

    staff = factory.SubFactory(StaffMemberFactory)
    kind = QualificationKind.PRACTISING_PHYSICIAN
    valid_from = START


class CapacityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Capacity

    institution = factory.SubFactory(InstitutionFactory)
    kind = "beds"
    quantity = 1
