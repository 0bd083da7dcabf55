"""Fixtures of the web UI tests: the MiniCounty with staff, rooms and the standards rules loaded."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.conftest import MiniCounty
from tests.factories.accounts import PASSWORD
from tests.factories.registry import CapacityFactory, QualificationFactory, StaffMemberFactory
from yigongti.core.rule_fixtures import rules_load
from yigongti.registry.choices import CapacityKind, QualificationKind
from yigongti.registry.models import StaffMember

FOUR_ROOMS = (CapacityKind.CONSULT_ROOM, CapacityKind.TREATMENT_ROOM, CapacityKind.PUBLIC_HEALTH_ROOM,
              CapacityKind.PHARMACY)


class StaffedCounty:
    """The MiniCounty plus staff, rooms and the standards rules, so that every page has data.

    - clinic A (the village doctor's): 2 staff (a 乡村医生 and one without a qualification), all four
      rooms — up to standard;
    - clinic B (same township): 1 staff without a qualification, no rooms — two findings;
    - clinic C (the other township): 1 乡村医生, no rooms — one finding;
    - the township centres have a 全科医师 each; the county hospital's 内科 has a 执业医师.
    """

    def __init__(self, county: MiniCounty) -> None:
        self.c = county
        self.clinic_a = county.clinics[county.village_a.code]
        self.clinic_b = county.clinics[county.village_b.code]
        self.clinic_c = county.clinics[county.village_c.code]
        self.doctor_a = self._staff(self.clinic_a, "李村医", QualificationKind.VILLAGE_DOCTOR)
        self.helper_a = self._staff(self.clinic_a, "王护理", None)
        self.helper_b = self._staff(self.clinic_b, "赵帮工", None)
        self.doctor_c = self._staff(self.clinic_c, "钱村医", QualificationKind.VILLAGE_DOCTOR)
        for centre in county.centres:
            self._staff(centre, f"{centre.name}全科", QualificationKind.GENERAL_PRACTITIONER)
        self.internist = self._staff(county.hospital, "孙内科", QualificationKind.PRACTISING_PHYSICIAN)
        StaffMember.objects.filter(pk=self.internist.pk).update(department=county.department)
        for kind in FOUR_ROOMS:
            CapacityFactory(institution=self.clinic_a, kind=kind, quantity=1)
        rules_load(kinds=["registry.standards"])

    @staticmethod
    def _staff(institution: object, name: str, kind: str | None) -> StaffMember:
        member = StaffMemberFactory(institution=institution, name=name)
        if kind is not None:
            QualificationFactory(staff=member, kind=kind)
        return member


@pytest.fixture
def staffed(county: MiniCounty) -> StaffedCounty:
    return StaffedCounty(county)


def login(client: Client, username: str) -> Client:
    assert client.login(username=username, password=PASSWORD)
    return client





