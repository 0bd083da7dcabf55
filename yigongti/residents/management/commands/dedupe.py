"""``ygt dedupe`` — the master patient index.

    ygt dedupe [--input FILE.csv] [--threshold P] [--format csv|json|table] [--engine duckdb|spark] [-o FILE]
    ygt dedupe --train [--input FILE.csv]

With ``--input``: the duplicates inside that CSV, one row per pair (``id_l,id_r,match_probability,
cluster_id``; json/table add the reasons). Without: the residents in the database → a DedupeRun
whose pairs fill the review queue (auto-linked at or above the auto-link threshold).
"""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from yigongti.core.errors import ValidationFailed
from yigongti.residents.mpi.engine import ENGINES, dedupe, train
from yigongti.residents.mpi.features import people_from_csv, people_from_residents
from yigongti.residents.mpi.output import FORMATS, progress_status, render, write


def probability(value: str) -> float:
    try:
        p = float(value)
    except ValueError as exc:
        raise ValidationFailed(reason=_("阈值应为 0 到 1 之间的数：%(value)s") % {"value": value}) from exc
    if not 0.0 <= p <= 1.0:
        raise ValidationFailed(reason=_("阈值应为 0 到 1 之间的数：%(value)s") % {"value": value})
    return p


class Command(BaseCommand):
    help = "MPI: ygt dedupe [--input FILE.csv] [--threshold P] [--format csv|json|table] [--engine duckdb|spark]"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--input", help="a CSV of people (without: the residents in the database)")
        parser.add_argument("--threshold", help="review threshold: report pairs at or above this probability")
        parser.add_argument("--auto-threshold", help="database run: auto-link pairs at or above this probability")
        parser.add_argument("--format", choices=FORMATS, default=None, help="output (default: csv with --input)")
        parser.add_argument("--engine", choices=ENGINES, default="duckdb")
        parser.add_argument("-o", "--output", help="write the pairs to this file instead of stdout")
        parser.add_argument("--train", action="store_true", help="estimate m/u (seeded) and print them")

    def handle(self, *args: Any, **options: Any) -> None:
        threshold = probability(options["threshold"]) if options.get("threshold") else None
        auto = probability(options["auto_threshold"]) if options.get("auto_threshold") else None
        progress_on = self.stderr.isatty()
        if options["train"]:
            from yigongti.residents.models import Resident

            people = people_from_csv(options["input"]) if options.get("input") else people_from_residents(
                Resident.objects.all())
            params = train(people, engine=options["engine"])
            write(json.dumps(params, ensure_ascii=False, indent=2) + "\n", stdout=self.stdout,
                  path=options.get("output"))
            return
        if options.get("input"):
            people = people_from_csv(options["input"])
            with progress_status(progress_on) as progress:
                pairs, clusters = dedupe(people, engine=options["engine"], threshold=threshold, progress=progress)
            fmt = options["format"] or "csv"
            write(render(pairs, fmt, tty=self.stdout.isatty()), stdout=self.stdout, path=options.get("output"))
            self.stderr.write(_("%(n)s 条记录，%(p)s 对疑似重复，%(c)s 个聚类") % {
                "n": len(people), "p": len(pairs), "c": len(set(clusters.values()))})
            return
        from yigongti.residents.models import MatchPair
        from yigongti.residents.mpi.runs import dedupe_run_execute

        with progress_status(progress_on) as progress:
            run = dedupe_run_execute(engine=options["engine"], review_threshold=threshold, auto_threshold=auto,
                                     progress=progress)
        if options["format"]:
            from yigongti.residents.mpi.engine import Pair

            rows = [
                Pair(id_l=p.left.record_no, id_r=p.right.record_no, match_probability=p.probability,
                     match_weight=p.match_weight, reasons=p.reasons, cluster_id=p.cluster)
                for p in MatchPair.objects.filter(run=run).select_related("left", "right")
            ]
            write(render(rows, options["format"], tty=self.stdout.isatty()), stdout=self.stdout,
                  path=options.get("output"))
        self.stderr.write(_("查重批次 %(id)s：%(n)s 份档案，新增 %(p)s 对疑似重复，%(c)s 个自动关联聚类") % {
            "id": run.pk, "n": run.n_records, "p": run.n_pairs, "c": run.n_clusters})
