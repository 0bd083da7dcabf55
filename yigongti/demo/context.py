"""What the demo modules share: the seed's Random, the scale, and what earlier modules made."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

# Every effective-dated row of the demo starts here: a fixed date, so the county is the same
# whatever day it is built (DESIGN.md "Time").
VALID_FROM = dt.date(2020, 1, 1)
DEFAULT_SEED = 20250101
BATCH_SIZE = 2000


@dataclass(frozen=True)
class Scale:
    """The size of the synthetic county."""

    name: str
    townships: int  # including the one 街道
    villages: int  # including the 街道's 社区
    communities: int  # 社区 of the 街道
    hospital_beds: int
    tcm_beds: int
    mch_beds: int
    staff_factor: float  # county-level staff relative to the small county
    residents_per_village: int = 140  # ±30 % per village (small ≈ 20,000; county ≈ 1,000,000)


SCALES: dict[str, Scale] = {
    "small": Scale("small", townships=17, villages=143, communities=5, hospital_beds=1000, tcm_beds=300,
                   mch_beds=120, staff_factor=1.0),
    "county": Scale("county", townships=25, villages=300, communities=8, hospital_beds=1500, tcm_beds=450,
                    mch_beds=200, staff_factor=1.5, residents_per_village=3333),
}


@dataclass
class BuildContext:
    """Passed to each module in order. ``made`` holds what a module leaves for later ones
    (keys are documented by the module that sets them); ``counts`` the rows written per table."""

    seed: int
    scale: Scale
    rng: random.Random
    made: dict[str, Any] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    on_step: Callable[[str], None] | None = None

    @classmethod
    def create(cls, *, seed: int, scale: str, on_step: Callable[[str], None] | None = None) -> BuildContext:
        if scale not in SCALES:
            raise ValueError(f"unknown scale {scale!r}")
        return cls(seed=seed, scale=SCALES[scale], rng=random.Random(seed), on_step=on_step)

    def step(self, label: str) -> None:
        """Tell the progress display what the current module is doing."""
        if self.on_step is not None:
            self.on_step(label)


def weighted_choice(rng: random.Random, weighted: Sequence[tuple[Any, float]]) -> Any:
    """One value of ``(value, weight)`` pairs, drawn with ``rng`` in proportion to the weights."""
    draw = rng.random() * sum(w for _v, w in weighted)
    for value, weight in weighted:
        draw -= weight
        if draw < 0:
            return value
    return weighted[-1][0]
