"""Test configuration.

The suite runs twice (see ``.ci/test-suite``): on SQLite and — when ``YGT_TEST_POSTGRES_URL`` is
set, at the same time — with ``DATABASE_URL`` pointing at PostgreSQL and ``YGT_DB_PASS=postgresql``, which keeps only
the tests that touch the database. A test proves something about both databases by running in
both passes; the ``db_vendor`` fixture tells which one it is on.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from tests.browser import page  # noqa: F401  (the Playwright page fixture, for every directory)

# Timing is not a test result (no timing asserts): a busy machine must not fail a property test
# because generating its examples was slow.
hypothesis_settings.register_profile("ygt", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("ygt")


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["tests.hashers.FastArgon2PasswordHasher"]


def _uses_db(item: pytest.Item) -> bool:
    fixtures = set(getattr(item, "fixturenames", ()))
    return bool(item.get_closest_marker("django_db")) or bool(
        fixtures & {"db", "transactional_db", "live_server", "django_db_reset_sequences", "client",
                    "admin_client", "django_user_model"}
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("YGT_DB_PASS") != "postgresql":
        return
    keep = [item for item in items if _uses_db(item)]
    dropped = [item for item in items if not _uses_db(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
    items[:] = keep


@pytest.fixture(scope="session", autouse=True)
def _no_session_left_on_postgresql(request: pytest.FixtureRequest) -> Iterator[None]:
    """A live server's request threads can leave a connection to the PostgreSQL test database open, and
    pytest-django then cannot drop it at the end (a warning, and the database left on the server): end
    such sessions before it tries."""
    if os.environ.get("YGT_DB_PASS") != "postgresql":
        yield
        return
    request.getfixturevalue("django_db_setup")  # set up first, so torn down after this
    yield
    from django.db import connection

    with request.getfixturevalue("django_db_blocker").unblock(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND pid <> pg_backend_pid()")


@pytest.fixture(autouse=True)
def _reset_language() -> Iterator[None]:
    """A request in English must not leave English active for the next test of the process."""
    yield
    from django.utils import translation

    translation.deactivate()


@pytest.fixture(autouse=True)
def _audit_flushable_on_sqlite(request: pytest.FixtureRequest) -> Iterator[None]:
    """Let a transactional test's final flush empty the append-only audit table on SQLite.

    PostgreSQL flushes with TRUNCATE, which the row trigger lets through; SQLite flushes with
    DELETE, which its trigger refuses. So after such a test the audit rows are cleared with the
    triggers lifted for that statement only and put back at once; the flush then finds the table
    empty. Ordinary tests roll back and need none of this.
    """
    if not {"transactional_db", "live_server"} & set(request.fixturenames):
        yield
        return
    request.getfixturevalue("transactional_db")
    yield
    from django.db import connection, transaction

    if connection.vendor != "sqlite":
        return
    triggers = importlib.import_module("yigongti.core.migrations.0002_audit_append_only")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER IF EXISTS core_auditentry_no_update")
        cursor.execute("DROP TRIGGER IF EXISTS core_auditentry_no_delete")
        cursor.execute("DELETE FROM core_auditentry")
        for sql in triggers.SQLITE:
            cursor.execute(sql)


@pytest.fixture
def db_vendor(db: None) -> str:
    from django.db import connection

    return connection.vendor


class MiniCounty:
    """A small county for tests: 2 townships × 2 villages, one institution per unit, users."""

    def __init__(self) -> None:
        from tests.factories.accounts import UserFactory
        from tests.factories.registry import DepartmentFactory, DivisionFactory, InstitutionFactory
        from yigongti.accounts.models import Role
        from yigongti.registry.choices import DivisionLevel, InstitutionType

        self.county = DivisionFactory(code="522399", name="云溪县", level=DivisionLevel.COUNTY)
        self.townships = [
            DivisionFactory(code=f"5223991{i:02d}", name=f"镇{i}", level=DivisionLevel.TOWNSHIP,
                            parent=self.county)
            for i in (1, 2)
        ]
        self.villages = {
            t.code: [
                DivisionFactory(code=f"{t.code}2{j:02d}", name=f"{t.name}村{j}", level=DivisionLevel.VILLAGE,
                                parent=t)
                for j in (1, 2)
            ]
            for t in self.townships
        }
        self.hospital = InstitutionFactory(code="H0001", name="云溪县人民医院",
                                           type=InstitutionType.COUNTY_HOSPITAL, division=self.county)
        self.department = DepartmentFactory(institution=self.hospital, code="NK", name="内科")
        self.centres = [
            InstitutionFactory(code=f"T{t.code}", name=f"{t.name}卫生院", type=InstitutionType.TOWNSHIP_CENTRE,
                               division=t, parent=self.hospital)
            for t in self.townships
        ]
        self.clinics = {
            v.code: InstitutionFactory(code=f"V{v.code}", name=f"{v.name}卫生室",
                                       type=InstitutionType.VILLAGE_CLINIC, division=v, parent=centre)
            for t, centre in zip(self.townships, self.centres, strict=True)
            for v in self.villages[t.code]
        }
        v1, v2 = self.villages[self.townships[0].code]
        v3 = self.villages[self.townships[1].code][0]
        self.village_a, self.village_b, self.village_c = v1, v2, v3
        self.village_doctor = UserFactory(username="cunyi", role=Role.VILLAGE_DOCTOR,
                                          institution=self.clinics[v1.code], entry_unit=v1, view_unit=v1)
        self.director = UserFactory(username="yuanzhang", role=Role.TOWNSHIP_DIRECTOR,
                                    institution=self.centres[0], entry_unit=self.townships[0],
                                    view_unit=self.townships[0])
        self.other_director = UserFactory(username="yuanzhang2", role=Role.TOWNSHIP_DIRECTOR,
                                          institution=self.centres[1], entry_unit=self.townships[1],
                                          view_unit=self.townships[1])
        self.clinician = UserFactory(username="xianyi", role=Role.COUNTY_CLINICIAN, institution=self.hospital,
                                     entry_unit=self.county, view_unit=self.county)
        self.commission = UserFactory(username="weijian", role=Role.HEALTH_COMMISSION,
                                      entry_unit=self.county, view_unit=self.county)


@pytest.fixture
def county(db: None) -> MiniCounty:
    return MiniCounty()
