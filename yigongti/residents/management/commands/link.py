"""``ygt link --input FILE.csv [--threshold P] [--format csv|json|table] [--engine duckdb|spark] [-o FILE]``

Links an outside list of people (an insurance enrolment list, a school's pupils) to the residents:
one row per pair, ``id_l`` the list's id, ``id_r`` the resident's record number.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from yigongti.residents.models import Resident
from yigongti.residents.mpi.engine import ENGINES, link
from yigongti.residents.mpi.features import people_from_csv, people_from_residents
from yigongti.residents.mpi.output import FORMATS, progress_status, render, write

from .dedupe import probability


class Command(BaseCommand):
    help = "MPI: ygt link --input FILE.csv [--threshold P] [--format csv|json|table] [--engine duckdb|spark]"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--input", required=True, help="a CSV of people to link to the residents")
        parser.add_argument("--threshold", help="report pairs at or above this probability")
        parser.add_argument("--format", choices=FORMATS, default="csv")
        parser.add_argument("--engine", choices=ENGINES, default="duckdb")
        parser.add_argument("-o", "--output", help="write the pairs to this file instead of stdout")

    def handle(self, *args: Any, **options: Any) -> None:
        threshold = probability(options["threshold"]) if options.get("threshold") else None
        people = people_from_csv(options["input"])
        residents = people_from_residents(Resident.objects.all())
        with progress_status(self.stderr.isatty()) as progress:
            pairs, _clusters = link(people, residents, engine=options["engine"], threshold=threshold,
                                    progress=progress)
        write(render(pairs, options["format"], tty=self.stdout.isatty()), stdout=self.stdout,
              path=options.get("output"))
        self.stderr.write(_("%(n)s 条记录，与 %(r)s 份档案匹配出 %(p)s 对") % {
            "n": len(people), "r": len(residents), "p": len(pairs)})
