"""Build the synthetic county: the demo modules in dependency order, from one seed.

Add a domain by appending ``(name, build)`` to :data:`MODULES`; ``build(ctx)`` receives the shared
:class:`~yigongti.demo.context.BuildContext` (the seed's Random, the scale, what earlier modules
left in ``ctx.made``), writes with bulk paths, and runs inside its own transaction.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connections, models, transaction
from django.utils.translation import gettext_lazy as _

from yigongti.accounts.models import User
from yigongti.analytics.models import Population
from yigongti.care.models import Encounter, Order, Result
from yigongti.core import audit
from yigongti.core.errors import DomainError
from yigongti.core.models import AuditAction
from yigongti.insurance.models import Coverage, HouseholdEnrolment, Settlement
from yigongti.medicines.models import Movement, Prescription, PurchaseOrder, Requisition
from yigongti.programmes.models import Enrolment, ScheduledVisit, Visit
from yigongti.referrals.models import Booking, Referral, Slot, Teleconsultation
from yigongti.registry.models import (
    AllianceMembership,
    Capacity,
    Department,
    Division,
    Institution,
    Qualification,
    StaffMember,
)
from yigongti.residents.models import Household, Resident
from yigongti.surveillance.models import CaseCard, Signal

from . import (
    accounts,
    analytics,
    care,
    insurance,
    medicines,
    names,
    programmes,
    referrals,
    registry,
    residents,
    surveillance,
)
from .codes import COUNTY_CODE
from .context import DEFAULT_SEED, BuildContext

Module = Callable[[BuildContext], None]

MODULES: list[tuple[str, Module]] = [
    ("registry", registry.build),
    ("accounts", accounts.build),
    ("residents", residents.build),
    ("programmes", programmes.build),
    ("care", care.build),
    ("referrals", referrals.build),
    ("surveillance", surveillance.build),  # before analytics: its refresh reads the cases fact
    ("analytics", analytics.build),
    ("insurance", insurance.build),  # after care (settles its encounters) and analytics (enrols its newborns)
    ("medicines", medicines.build),  # after care: prescriptions for its outpatient encounters
]
MODULE_LABELS = {"registry": _("区划、机构与人员"), "accounts": _("用户与角色"), "residents": _("居民健康档案"),
                 "programmes": _("公共卫生服务项目"), "care": _("就诊记录与检查检验结果"),
                 "referrals": _("双向转诊、预约与远程会诊"), "surveillance": _("传染病报告与预警"),
                 "analytics": _("出生登记、建档时间与常住人口"), "insurance": _("城乡居民医保参保与结算"),
                 "medicines": _("基本药物库存、请领、采购与处方")}

# Tables whose row counts ``ygt demo`` prints (later modules append theirs).
COUNTED_MODELS: list[type[models.Model]] = [
    Division, Institution, AllianceMembership, Department, StaffMember, Qualification, Capacity, User,
    Household, Resident, Enrolment, Visit, ScheduledVisit, Encounter, Result, Order, Referral, Slot, Booking,
    Teleconsultation, CaseCard, Signal, HouseholdEnrolment, Coverage, Settlement, Population, Movement, Requisition,
    Prescription, PurchaseOrder,
]


class DemoIncomplete(DomainError):
    code = "demo_incomplete"
    status = 409
    message = _("数据库中的演示县不完整（上次生成中断）。请运行 ygt demo --rebuild。")


class RebuildRefused(DomainError):
    code = "rebuild_refused"
    status = 409
    message = _("拒绝清空数据库：%(reason)s")


class Observer:
    """What the builder tells a progress display; the default says nothing."""

    def module_started(self, name: str) -> None: ...

    def step(self, label: str) -> None: ...

    def module_finished(self, name: str, seconds: float) -> None: ...


@dataclass
class BuildResult:
    built: bool
    seed: int
    scale: str
    seconds: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def demo_present() -> bool:
    """Whether the database already holds the demo county (complete: its users exist too)."""
    if not Division.objects.filter(code=COUNTY_CODE).exists():
        return False
    if not User.objects.filter(username="admin", view_unit__code=COUNTY_CODE).exists():
        raise DemoIncomplete()
    return True


def modules_selected() -> list[tuple[str, Module]]:
    """The modules to build: every one, or those ``settings.YGT_DEMO_MODULES`` names (in
    dependency order whatever order they are named in; a module needs the ones before it)."""
    wanted = set(settings.YGT_DEMO_MODULES)
    if not wanted:
        return list(MODULES)
    unknown = sorted(wanted - {name for name, _build in MODULES})
    if unknown:
        raise DomainError(_("未知的演示模块：%(names)s（可选：%(known)s）"), names="、".join(unknown),
                          known=", ".join(name for name, _build in MODULES))
    return [(name, build) for name, build in MODULES if name in wanted]


def county_build(*, seed: int = DEFAULT_SEED, scale: str = "small", observer: Observer | None = None) -> BuildResult:
    """Build the demo county into the default database, unless it is already there.

    Guarantees: the same ``seed`` and ``scale`` give the same rows (codes, names, ID numbers);
    each module commits in one transaction; a second call does not duplicate anything — it
    returns ``built=False``.
    """
    observer = observer or Observer()
    result = BuildResult(built=False, seed=seed, scale=scale)
    if demo_present():
        result.counts = row_counts()
        return result
    ctx = BuildContext.create(seed=seed, scale=scale, on_step=observer.step)
    for name, build in modules_selected():
        observer.module_started(name)
        started = time.perf_counter()
        with transaction.atomic():
            build(ctx)
        result.seconds[name] = time.perf_counter() - started
        observer.module_finished(name, result.seconds[name])
    result.built = True
    result.counts = row_counts()
    with transaction.atomic():
        audit.record(user=None, action=AuditAction.IMPORT, object_type="demo.county", object_id=COUNTY_CODE,
                     detail={"seed": seed, "scale": scale, "counts": result.counts})
    return result


def row_counts() -> dict[str, int]:
    """Rows per table of :data:`COUNTED_MODELS`, keyed by the table's Chinese name."""
    return {str(model._meta.verbose_name_plural): model._default_manager.count() for model in COUNTED_MODELS}


def database_reset() -> str:
    """Wipe the database for ``ygt demo --rebuild``; returns what was done (for the message).

    SQLite: the database file (and its WAL/SHM files) is deleted and ``migrate`` makes a new one —
    simpler and faster than deleting rows, and the audit log's triggers refuse DELETE anyway.
    PostgreSQL: ``flush`` empties every table with one TRUNCATE (row triggers, the audit log's
    included, do not fire on TRUNCATE). Refused in production and when the database holds any
    division that is not part of the demo county.
    """
    if settings.ENV == "production":
        raise RebuildRefused(reason=_("生产环境（YGT_ENV=production）"))
    connection = connections["default"]
    if _has_foreign_data():
        raise RebuildRefused(reason=_("数据库中有演示县以外的数据"))
    if connection.vendor == "sqlite":
        name = str(connection.settings_dict["NAME"])
        if name == ":memory:" or name.startswith("file:"):
            raise RebuildRefused(reason=_("内存数据库无法重建"))
        connections.close_all()
        for suffix in ("", "-wal", "-shm"):
            Path(name + suffix).unlink(missing_ok=True)
        return str(_("已删除数据库文件 %(name)s") % {"name": name})
    call_command("flush", interactive=False, verbosity=0)
    return str(_("已清空数据库 %(name)s 的全部数据表") % {"name": connection.settings_dict["NAME"]})


def _has_foreign_data() -> bool:
    """Any division besides the demo's own (every demo code starts with the county's)."""
    try:
        return (Division.objects.exclude(code__in=[names.PROVINCE[0], names.PREFECTURE[0]])
                .exclude(code__startswith=COUNTY_CODE).exists())
    except DatabaseError:  # no tables yet: nothing to protect
        return False
