"""Rows of higher apps follow their resident (transfer, merge) and the registry's re-parenting
(:func:`yigongti.residents.signals.follow_resident`), and a referral is visible from every path it
carries (:func:`yigongti.core.scope.visible` over several fields)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from tests.conftest import MiniCounty
from tests.factories.residents import ResidentFactory
from yigongti.care.models import Encounter
from yigongti.core.scope import visible
from yigongti.referrals.models import Referral
from yigongti.registry.services import division_upsert
from yigongti.residents.services import resident_merge, resident_transfer


def _encounter(resident: object, county: MiniCounty) -> Encounter:
    return Encounter.objects.create(resident=resident, path=resident.path, kind="outpatient",  # type: ignore[attr-defined]
                                    institution=county.hospital, tier="county", start_date=dt.date(2026, 1, 5))


def _referral(resident: object, county: MiniCounty, source: object, target: object) -> Referral:
    now = timezone.now()
    return Referral.objects.create(
        resident=resident, path=resident.path, direction="up", kind="outpatient",  # type: ignore[attr-defined]
        from_institution=source, to_institution=target, from_path=source.path,  # type: ignore[attr-defined]
        to_path=target.path, reason="头晕", requested_at=now, respond_by=now, escalate_at=now)  # type: ignore[attr-defined]


def test_rows_follow_a_transfer_and_a_merge(county: MiniCounty) -> None:
    resident = ResidentFactory(village=county.village_a)
    other = ResidentFactory(village=county.village_c)
    mine, theirs = _encounter(resident, county), _encounter(other, county)
    resident_transfer(user=county.commission, resident=resident, to_village_code=county.village_b.code)
    resident.refresh_from_db()
    mine.refresh_from_db()
    assert mine.path == resident.path == county.village_b.path
    resident_merge(user=county.commission, survivor=resident, merged=other)
    theirs.refresh_from_db()
    assert theirs.resident_id == resident.pk and theirs.path == resident.path


def test_rows_follow_a_re_parented_division(county: MiniCounty) -> None:
    resident = ResidentFactory(village=county.village_a)
    encounter = _encounter(resident, county)
    clinic = county.clinics[county.village_a.code]
    referral = _referral(resident, county, clinic, county.hospital)
    second = county.townships[1]
    division_upsert(code=county.village_a.code, name=county.village_a.name, parent_code=second.code,
                    valid_from=dt.date(2026, 1, 1))
    new_path = f"{second.path}/{county.village_a.code}"
    encounter.refresh_from_db()
    referral.refresh_from_db()
    assert encounter.path == new_path
    assert referral.path == new_path and referral.from_path == new_path
    assert referral.to_path == county.hospital.path


def test_a_referral_is_visible_from_each_of_its_paths(county: MiniCounty) -> None:
    resident = ResidentFactory(village=county.village_a)  # township 1
    centre_2 = county.centres[1]  # township 2
    referral = _referral(resident, county, county.clinics[county.village_a.code], centre_2)
    queryset = Referral.objects.all()
    fields = ("path", "from_path", "to_path")
    assert list(visible(county.director, queryset, path_field=fields)) == [referral]  # the patient's township
    assert list(visible(county.other_director, queryset, path_field=fields)) == [referral]  # the receiving side
    assert list(visible(county.other_director, queryset)) == []  # the patient's path alone: not theirs
    village_c_doctor_scope = county.village_c.path
    assert not any(p.startswith(village_c_doctor_scope) for p in (referral.path, referral.from_path))
