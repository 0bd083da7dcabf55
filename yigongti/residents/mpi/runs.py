"""A dedupe run over the residents in the database: scored pairs become the review queue.

Pairs at or above the auto-link threshold are ``auto_linked`` (one cluster); pairs between the
review and the auto-link threshold are ``pending``. A pair already decided (``distinct`` or
``merged``) or already linked is never proposed again; a pair still pending from an earlier run
is refreshed (score, reasons, run), not duplicated.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from yigongti.residents.choices import PairStatus, RecordStatus
from yigongti.residents.models import DedupeRun, MatchPair, Resident

from .comparisons import load_model
from .engine import Progress, dedupe
from .features import people_from_residents


@transaction.atomic
def dedupe_run_execute(
    *, engine: str = "duckdb", review_threshold: float | None = None, auto_threshold: float | None = None,
    progress: Progress | None = None,
) -> DedupeRun:
    """Score every live resident against the others; record the run and its new or refreshed pairs."""
    model = load_model()
    review = model.review_threshold if review_threshold is None else review_threshold
    auto = model.auto_threshold if auto_threshold is None else auto_threshold
    live = Resident.objects.exclude(status=RecordStatus.MERGED)
    people = people_from_residents(live)
    run = DedupeRun.objects.create(engine=engine, review_threshold=review, auto_threshold=auto,
                                   n_records=len(people))
    pairs, _clusters = dedupe(people, engine=engine, threshold=review, cluster_threshold=auto, progress=progress)
    numbers = {n for p in pairs for n in (p.id_l, p.id_r)}
    residents = {r.record_no: r for r in live.filter(record_no__in=numbers).only("pk", "record_no", "path")}
    ids = [r.pk for r in residents.values()]
    existing: dict[tuple[int, int], MatchPair] = {}
    for old in MatchPair.objects.filter(Q(left_id__in=ids) & Q(right_id__in=ids)).order_by("pk"):
        key = (min(old.left_id, old.right_id), max(old.left_id, old.right_id))
        if key not in existing or old.status != PairStatus.PENDING:
            existing[key] = old
    created, clusters = 0, set[str]()
    for pair in pairs:
        a, b = residents.get(pair.id_l), residents.get(pair.id_r)
        if a is None or b is None:
            continue
        left, right = (a, b) if a.pk < b.pk else (b, a)  # the older record on the left
        fields: dict[str, Any] = {
            "probability": pair.match_probability, "match_weight": pair.match_weight, "reasons": pair.reasons,
            "cluster": pair.cluster_id if pair.match_probability >= auto else "",
        }
        known = existing.get((left.pk, right.pk))
        if known is not None:
            if known.status == PairStatus.PENDING:
                for name, value in fields.items():
                    setattr(known, name, value)
                known.run = run
                if pair.match_probability >= auto:
                    known.status = PairStatus.AUTO_LINKED
                known.save()
            continue
        status = PairStatus.AUTO_LINKED if pair.match_probability >= auto else PairStatus.PENDING
        MatchPair.objects.create(run=run, left=left, right=right, path=left.path, status=status, **fields)
        created += 1
        if fields["cluster"]:
            clusters.add(fields["cluster"])
    run.n_pairs = created
    run.n_clusters = len(clusters)
    run.finished_at = timezone.now()
    run.save(update_fields=["n_pairs", "n_clusters", "finished_at"])
    return run
