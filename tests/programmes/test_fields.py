"""Form values: typed, range-checked, with a hint for the wrong unit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yigongti.core.errors import ValidationFailed
from yigongti.programmes.engine import ValuesInvalid, fixture_specs, validate_values

SPECS = fixture_specs()


def problems(programme: str, item: str, raw: dict[str, object]) -> dict[str, str]:
    with pytest.raises(ValuesInvalid) as error:
        validate_values(SPECS[programme], item, raw)
    assert isinstance(error.value, ValidationFailed)
    return dict(error.value.problems)


def test_blood_pressure_400_over_20_refused() -> None:
    found = problems("hypertension", "followup", {"sbp": "400", "dbp": "20"})
    assert set(found) == {"sbp", "dbp"}
    assert "400" in found["sbp"] and "20" in found["dbp"]


def test_good_values_are_typed() -> None:
    values = validate_values(SPECS["hypertension"], "followup", {
        "sbp": "138", "dbp": 85, "weight_kg": "65.27", "adherence": "regular",
        "symptoms": "headache_dizziness、leg_oedema", "danger_signs": "", "new_complication": "否"})
    assert values == {"sbp": 138, "dbp": 85, "weight_kg": Decimal("65.3"), "adherence": "regular",
                      "symptoms": ("headache_dizziness", "leg_oedema"), "new_complication": False}


def test_child_weight_130_kg_refused() -> None:
    found = problems("child", "child-12m", {"weight_kg": "130"})
    assert "130" in found["weight_kg"]


def test_weight_in_grams_says_so() -> None:
    assert "克" in problems("hypertension", "followup", {"sbp": 120, "dbp": 80, "weight_kg": "65000"})["weight_kg"]
    assert "克" in problems("child", "child-12m", {"weight_kg": "9500"})["weight_kg"]


def test_weight_in_jin_and_height_in_metres_say_so() -> None:
    found = problems("hypertension", "followup", {"sbp": 120, "dbp": 80, "weight_kg": "260", "height_cm": "1.65"})
    assert "斤" in found["weight_kg"] and "米" in found["height_cm"]


def test_required_unknown_and_bad_choice_all_named() -> None:
    found = problems("hypertension", "followup", {"dbp": "x", "adherence": "sometimes", "colour": "blue",
                                                  "lot_no": "A1"})
    assert set(found) == {"sbp", "dbp", "adherence", "colour", "lot_no"}


def test_unknown_item_refused() -> None:
    assert "item" in problems("hypertension", "HepB-1", {})


def test_integer_refuses_fraction_and_text_and_boolean() -> None:
    assert "sbp" in problems("hypertension", "followup", {"sbp": "120.5", "dbp": 80})
    found = problems("mental", "followup", {"risk_grade": "6", "recovery": "full"})
    assert "risk_grade" in found


def test_vaccine_lot_number_is_text() -> None:
    assert validate_values(SPECS["immunisation"], "HepB-1", {"lot_no": " 2024A01 "}) == {"lot_no": "2024A01"}
    assert validate_values(SPECS["immunisation"], "HepB-1", {}) == {}


@given(sbp=st.integers(-1000, 1000), dbp=st.integers(-1000, 1000))
def test_range_is_the_data(sbp: int, dbp: int) -> None:
    spec = SPECS["hypertension"]
    ok = (spec.fields["sbp"].min <= sbp <= spec.fields["sbp"].max  # type: ignore[operator]
          and spec.fields["dbp"].min <= dbp <= spec.fields["dbp"].max)  # type: ignore[operator]
    try:
        values = validate_values(spec, "followup", {"sbp": sbp, "dbp": dbp})
    except ValuesInvalid:
        assert not ok
    else:
        assert ok and values == {"sbp": sbp, "dbp": dbp}


def test_date_and_boolean_parse() -> None:
    from yigongti.programmes.engine.fields import parse_value
    from yigongti.programmes.engine.types import FieldSpec, Text

    assert parse_value(FieldSpec("d", Text("日期", "Date"), "date"), "2025-01-02") == dt.date(2025, 1, 2)
    assert parse_value(FieldSpec("b", Text("是否", "Yes/no"), "boolean"), "是") is True
    with pytest.raises(ValueError):
        parse_value(FieldSpec("b", Text("是否", "Yes/no"), "boolean"), "maybe")
