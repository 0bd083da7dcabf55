"""The one scope function and the append-only audit log, on both databases."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from tests.conftest import MiniCounty
from tests.factories.registry import StaffMemberFactory
from yigongti.core import audit
from yigongti.core.errors import NotFound
from yigongti.core.models import AuditEntry
from yigongti.core.scope import covers, get_visible, visible
from yigongti.registry.models import Institution, StaffMember


def test_visible_limits_rows_to_the_view_subtree(county: MiniCounty) -> None:
    clinic_a = county.clinics[county.village_a.code]
    clinic_b = county.clinics[county.village_b.code]
    StaffMemberFactory(institution=clinic_a)
    StaffMemberFactory(institution=clinic_b)
    StaffMemberFactory(institution=county.clinics[county.village_c.code])

    doctor_sees = set(visible(county.village_doctor, Institution.objects.all()).values_list("code", flat=True))
    assert doctor_sees == {clinic_a.code}
    assert visible(county.village_doctor, StaffMember.objects.all()).count() == 1
    director_staff = visible(county.director, StaffMember.objects.all())
    assert director_staff.count() == 2
    assert visible(county.commission, StaffMember.objects.all()).count() == 3


def test_prefix_match_does_not_leak_to_sibling_codes(county: MiniCounty) -> None:
    # 522399101 must not match 5223991012xx by a naive string prefix: paths compare whole segments.
    from tests.factories.registry import DivisionFactory, InstitutionFactory

    odd = DivisionFactory(code="5223991010", name="相似代码", level="township", parent=county.county)
    InstitutionFactory(code="ODD", division=odd, type="township_centre")
    assert not visible(county.director, Institution.objects.filter(code="ODD")).exists()


def test_outside_scope_is_not_found(county: MiniCounty) -> None:
    other = county.clinics[county.village_b.code]
    with pytest.raises(NotFound):
        get_visible(county.village_doctor, Institution.objects.all(), code=other.code)
    assert covers(county.director, county.village_b.path)
    assert not covers(county.village_doctor, county.village_b.path)
    assert not covers(county.village_doctor, county.village_b.path, mode="entry")


def test_user_without_unit_sees_nothing(county: MiniCounty) -> None:
    county.village_doctor.view_unit = None
    assert not visible(county.village_doctor, Institution.objects.all()).exists()


def test_audit_log_refuses_update_and_delete(county: MiniCounty) -> None:
    member = StaffMemberFactory(institution=county.clinics[county.village_a.code])
    audit.read(user=county.village_doctor, objects=[member])
    entry = AuditEntry.objects.get()
    assert (entry.username, entry.object_type, entry.path) == ("cunyi", "registry.staffmember", member.path)
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        AuditEntry.objects.all().delete()
    with pytest.raises(TypeError):
        AuditEntry.objects.update(username="x")
    # Underneath the ORM, the database trigger refuses it on SQLite and PostgreSQL alike.
    for sql in ("UPDATE core_auditentry SET username = 'x'", "DELETE FROM core_auditentry"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert AuditEntry.objects.get().username == "cunyi"
