"""Demo module ``accounts``: a user for every role, bound to its org units.

Fixed logins (password ``demo1234``, listed in :data:`DEMO_LOGINS`) sit in the county, the first
township and its first village; besides them every township gets a director and a staff user
(``yuanzhang_<code>``, ``weisheng_<code>``) and every village clinic a village doctor
(``cunyi_<village code>``). The password is hashed once and the hash reused: Argon2 per user
would take minutes at county scale.
"""

from __future__ import annotations

from django.contrib.auth.hashers import make_password
from django.utils.functional import Promise

from yigongti.accounts.models import Role, User
from yigongti.registry.models import Division, Institution

from . import names
from .codes import FIRST_CENTRE_NAME, FIRST_CLINIC_NAME, FIRST_TOWNSHIP_CODE, FIRST_VILLAGE_CODE
from .context import BATCH_SIZE, BuildContext

DEMO_PASSWORD = "demo1234"

_COUNTY = names.COUNTY[1]
# username, role, unit ("county" / "township" / "village"), institution key, the name shown
_FIXED: list[tuple[str, Role, str, str | None, str]] = [
    ("admin", Role.ADMIN, "county", None, _COUNTY),
    ("weijian", Role.HEALTH_COMMISSION, "county", None, _COUNTY),
    ("jikong", Role.CDC, "county", "cdc", f"{_COUNTY}疾病预防控制中心"),
    ("yibao", Role.INSURANCE, "county", None, _COUNTY),
    ("xianyi", Role.COUNTY_CLINICIAN, "county", "hospital", f"{_COUNTY}人民医院"),
    ("yuanzhang", Role.TOWNSHIP_DIRECTOR, "township", "centre", FIRST_CENTRE_NAME),
    ("weishengyuan", Role.TOWNSHIP_STAFF, "township", "centre", FIRST_CENTRE_NAME),
    ("cunyi", Role.VILLAGE_DOCTOR, "village", "clinic", FIRST_CLINIC_NAME),
]

# (username, role label, unit name) of the fixed logins, for ``ygt demo`` to print. The label is
# lazy (translated when printed).
DEMO_LOGINS: list[tuple[str, str | Promise, str]] = [(u, role.label, shown) for u, role, _, _, shown in _FIXED]


def build(ctx: BuildContext) -> None:
    password = make_password(DEMO_PASSWORD)
    townships: list[Division] = ctx.made["townships"]
    villages: list[Division] = ctx.made["villages"]
    centres: dict[str, Institution] = ctx.made["centres"]
    clinics: dict[str, Institution] = ctx.made["clinics"]
    lead: dict[str, str] = ctx.made.get("lead_staff", {})
    township = next(t for t in townships if t.code == FIRST_TOWNSHIP_CODE)
    village = next(v for v in villages if v.code == FIRST_VILLAGE_CODE)
    units = {"county": ctx.made["county"], "township": township, "village": village}
    institutions: dict[str | None, Institution | None] = {
        "cdc": ctx.made["cdc"], "hospital": ctx.made["hospital"], "centre": centres[township.code],
        "clinic": clinics[village.code], None: None,
    }
    users: list[User] = []

    def add(username: str, role: str, unit: Division, institution: Institution | None,
            full_name: str = "") -> None:
        superuser = role == Role.ADMIN
        users.append(User(
            username=username, password=password, role=role, full_name=full_name, entry_unit=unit,
            view_unit=unit, institution=institution, is_superuser=superuser, is_staff=superuser,
        ))

    for username, role, unit_key, inst_key, _ in _FIXED:
        inst = institutions[inst_key]
        add(username, role, units[unit_key], inst, lead.get(inst.code, "") if inst else "")
    for t in townships:
        centre = centres[t.code]
        add(f"yuanzhang_{t.code}", Role.TOWNSHIP_DIRECTOR, t, centre, lead.get(centre.code, ""))
        add(f"weisheng_{t.code}", Role.TOWNSHIP_STAFF, t, centre)
    for v in villages:
        clinic = clinics.get(v.code)
        if clinic is not None:
            add(f"cunyi_{v.code}", Role.VILLAGE_DOCTOR, v, clinic, lead.get(clinic.code, ""))

    User.objects.bulk_create(users, batch_size=BATCH_SIZE)
    ctx.counts["users"] += len(users)
