"""Synthetic people with valid resident IDs (GB 11643), unique within one build."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from yigongti.core.ids import resident_id_check_char

from . import names

# Birth places in the ID: mostly the county itself, some from neighbouring counties and the
# provincial capital (staff trained elsewhere).
_HOME = names.COUNTY[0]
_ELSEWHERE = ["522301", "522323", "522324", "522325", "522327", "520102", "520103", "520402", "530381"]


@dataclass(frozen=True)
class Person:
    name: str
    sex: str  # "M" / "F"
    born: dt.date
    id_number: str


class PersonMaker:
    """Draws people from a caller's Random; never repeats an ID number."""

    def __init__(self, rng: random.Random, *, home_share: float = 0.8) -> None:
        self.rng = rng
        self.home_share = home_share
        self._used: set[str] = set()

    def make(self, *, born_from: dt.date, born_to: dt.date, sex: str | None = None) -> Person:
        rng = self.rng
        sex = sex or rng.choice("MF")
        span = (born_to - born_from).days
        while True:
            born = born_from + dt.timedelta(days=rng.randrange(span + 1))
            region = _HOME if rng.random() < self.home_share else rng.choice(_ELSEWHERE)
            sequence = rng.randrange(1, 500) * 2 + (1 if sex == "M" else 0)  # odd = male
            first17 = f"{region}{born:%Y%m%d}{sequence:03d}"
            id_number = first17 + resident_id_check_char(first17)
            if id_number not in self._used:
                self._used.add(id_number)
                return Person(names.full_name(rng, sex), sex, born, id_number)
