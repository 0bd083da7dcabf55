"""Fixed codes of the demo county, and the shortfalls planted on purpose.

The same at every seed and scale, so tests and ``ygt registry check`` know what to expect.
"""

from __future__ import annotations

from . import names

COUNTY_CODE = names.COUNTY[0]
SUBDISTRICT_CODE = f"{COUNTY_CODE}001"
FIRST_TOWNSHIP_CODE = f"{COUNTY_CODE}101"
FIRST_VILLAGE_CODE = f"{FIRST_TOWNSHIP_CODE}201"
# The first township and village carry the fixed demo logins, so their names are fixed too
# (every other name depends on the seed).
FIRST_TOWNSHIP_NAME = "云峰镇"
FIRST_VILLAGE_NAME = "白果村"
FIRST_CENTRE_NAME = f"{FIRST_TOWNSHIP_NAME}中心卫生院"
FIRST_CLINIC_NAME = f"{FIRST_TOWNSHIP_NAME}{FIRST_VILLAGE_NAME}卫生室"
HOSPITAL_CODE = f"H{COUNTY_CODE}001"
TCM_CODE = f"H{COUNTY_CODE}002"
MCH_CODE = f"M{COUNTY_CODE}001"
CDC_CODE = f"C{COUNTY_CODE}001"
ALLIANCE_CODE = f"YGT{COUNTY_CODE}"
MIN_VILLAGES = 5  # per 镇/乡, so that the planted village codes below exist at every seed

# Shortfalls planted on purpose (fixed codes: the same at every seed and scale).
PRIVATE_CENTRE_TOWNSHIP = f"{COUNTY_CODE}105"  # its only centre is not government-run
VILLAGE_WITHOUT_CLINIC = f"{COUNTY_CODE}103204"
CLINIC_WITHOUT_TREATMENT_ROOM = f"V{COUNTY_CODE}102203"
CLINIC_WITHOUT_PHARMACY = f"V{COUNTY_CODE}104202"
CENTRE_WITHOUT_DR = f"T{COUNTY_CODE}106"
CENTRE_WITHOUT_PHYSICIAN = f"T{COUNTY_CODE}202"
DEPARTMENT_WITHOUT_PHYSICIAN = "ZYBK"  # 职业病科 of the county hospital: nurses only
CLINIC_NURSE_ONLY = f"V{COUNTY_CODE}107201"
CLINIC_VILLAGE_DOCTOR_EXPIRED = f"V{COUNTY_CODE}203202"

PLANTED_SHORTFALLS: list[tuple[str, str]] = [
    ("JC-TOWNSHIP-CENTRE", PRIVATE_CENTRE_TOWNSHIP),
    ("JC-VILLAGE-CLINIC", VILLAGE_WITHOUT_CLINIC),
    ("HG-VILLAGE-FOUR-ROOMS", CLINIC_WITHOUT_TREATMENT_ROOM),
    ("HG-VILLAGE-FOUR-ROOMS", CLINIC_WITHOUT_PHARMACY),
    ("HG-TOWNSHIP-EQUIPMENT", CENTRE_WITHOUT_DR),
    ("DB-COUNTY-DEPT-PHYSICIAN", HOSPITAL_CODE),
    ("DB-TOWNSHIP-PHYSICIAN", CENTRE_WITHOUT_PHYSICIAN),
    ("DB-VILLAGE-DOCTOR", CLINIC_NURSE_ONLY),
    ("DB-VILLAGE-DOCTOR", CLINIC_VILLAGE_DOCTOR_EXPIRED),
]

