"""Demo module ``residents``: the county's residents in households, with planted duplicates.

Every village gets about ``scale.residents_per_village`` residents (:mod:`.population`: age
pyramid of a rural county with out-migration, households with one head, brides from other
villages, valid IDs). Then :data:`DUPLICATE_RATE` of them get a second record carrying a clerk's
error (ID typo, 15-digit ID, homophone, the married woman's maiden record …). The ground truth —
which two record numbers are the same person, and the error — is written beside the data to
``$YGT_DATA_DIR/demo_duplicates_truth.csv`` (:func:`duplicates_truth` reads it back) for the
dedupe benchmark and tests to measure precision and recall.

Villages are generated and written a chunk at a time, so memory stays flat at county scale.
Leaves in ``ctx.made``: ``duplicates_truth`` (list of (record_no_l, record_no_r, kind)).
"""

from __future__ import annotations

import csv
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from yigongti.registry.models import Division
from yigongti.residents.bulk import residents_bulk_insert

from .context import BuildContext
from .population import VillageMaker, VillageSpec, plant_duplicates

DUPLICATE_RATE = 0.03
VILLAGES_PER_CHUNK = 20
TRUTH_FILE = "demo_duplicates_truth.csv"
TRUTH_HEADER = ("record_no_l", "record_no_r", "kind")

Truth = list[tuple[str, str, str]]


def truth_path() -> Path:
    return Path(settings.DATA_DIR) / TRUTH_FILE


def build(ctx: BuildContext) -> None:
    townships = {t.pk: t.name for t in ctx.made["townships"]}
    villages: list[Division] = ctx.made["villages"]
    specs = [VillageSpec(v.code, v.name, townships[v.parent_id]) for v in villages if v.parent_id is not None]
    maker = VillageMaker(ctx.rng, specs)
    truth: Truth = []
    total = 0
    for start in range(0, len(specs), VILLAGES_PER_CHUNK):
        chunk = specs[start:start + VILLAGES_PER_CHUNK]
        ctx.step(_("居民 %(done)s/%(total)s 村") % {"done": start + len(chunk), "total": len(specs)})
        people = []
        for spec in chunk:
            size = max(1, round(ctx.scale.residents_per_village * ctx.rng.uniform(0.7, 1.3)))
            people.extend(maker.village(spec, size))
        duplicates, pairs = plant_duplicates(ctx.rng, people, DUPLICATE_RATE, specs)
        rows = {p.key: p.row() for p in people}
        rows.update({d.key: d.row() for d in duplicates})
        total += residents_bulk_insert(list(rows.values()))
        truth.extend((rows[pair.original]["record_no"], rows[pair.duplicate]["record_no"], pair.kind)
                     for pair in pairs)
    ctx.counts["residents"] += total
    ctx.made["duplicates_truth"] = truth
    _write_truth(truth)


def _write_truth(truth: Truth) -> None:
    path = truth_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(TRUTH_HEADER)
        writer.writerows(truth)


def duplicates_truth(path: Path | None = None) -> Truth:
    """The planted duplicates of the last demo build: (record_no_l, record_no_r, error kind)."""
    with (path or truth_path()).open(encoding="utf-8", newline="") as source:
        reader = csv.reader(source)
        next(reader, None)
        return [(row[0], row[1], row[2]) for row in reader if len(row) >= 3]
