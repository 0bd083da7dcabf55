"""Resident ID (GB 11643) validation, property-based: our check character agrees with python-stdnum,
every single-digit change and every adjacent transposition is caught, 15→18 upgrade round-trips."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from yigongti.core.ids import resident_id_birth_date, resident_id_check_char, resident_id_problem, resident_id_sex
from yigongti.residents.identity import id_upgrade

divisions = st.from_regex(r"\A[1-6][0-9]{5}\Z")
born = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2024, 12, 31))
sequences = st.integers(min_value=0, max_value=999)


@st.composite
def valid_ids(draw: st.DrawFn) -> str:
    first17 = f"{draw(divisions)}{draw(born):%Y%m%d}{draw(sequences):03d}"
    return first17 + resident_id_check_char(first17)


@given(st.from_regex(r"\A[0-9]{17}\Z"))
def test_check_char_agrees_with_stdnum(first17: str) -> None:
    # stdnum's calc_check_digit expects the full number (it drops the last char); only the checksum
    # is compared — stdnum's validate() also rejects birth places it does not know.
    assert resident_id_check_char(first17) == ric.calc_check_digit(first17 + "0")


@given(valid_ids())
def test_valid_ids_pass(value: str) -> None:
    assert resident_id_problem(value) is None
    assert resident_id_problem(value.lower()) is None  # a lower-case x is accepted


@settings(max_examples=50)
@given(valid_ids(), st.data())
def test_every_single_digit_change_is_detected(value: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(min_value=0, max_value=17))
    alphabet = "0123456789X" if position == 17 else "0123456789"
    for other in alphabet:
        if other != value[position]:
            changed = value[:position] + other + value[position + 1:]
            assert resident_id_problem(changed) is not None, changed


@given(valid_ids())
def test_every_adjacent_transposition_is_detected(value: str) -> None:
    for i in range(17):
        if value[i] != value[i + 1]:
            swapped = value[:i] + value[i + 1] + value[i] + value[i + 2:]
            assert resident_id_problem(swapped) is not None, swapped


@given(divisions, st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(1999, 12, 31)), sequences)
def test_fifteen_digit_upgrade_round_trips_birth_date_and_sex(division: str, day: dt.date, seq: int) -> None:
    fifteen = f"{division}{day:%y%m%d}{seq:03d}"
    eighteen = id_upgrade(fifteen)
    assert len(eighteen) == 18 and resident_id_problem(eighteen) is None
    assert resident_id_birth_date(eighteen) == day
    assert resident_id_sex(eighteen) == ("M" if seq % 2 else "F")
    assert eighteen[:6] + eighteen[8:17] == fifteen


def test_impossible_dates_and_shapes_are_refused() -> None:
    for first17 in ("52239919800230001", "52239919801301001", "52239929990101001", "52239918000101001"):
        assert resident_id_problem(first17 + resident_id_check_char(first17)) is not None
    assert resident_id_problem("52239919800517001") is not None  # 17 characters
    assert resident_id_problem("5223991980051700AX") is not None
