"""``ygt`` — the command line, thin over Django management commands (DESIGN.md "The command line").

``ygt demo``, ``ygt serve``, ``ygt import KIND FILE``, ``ygt registry check`` … each is a management
command of the app that owns it. A :class:`~yigongti.core.errors.DomainError` or a
``CommandError`` becomes one line on stderr and exit code 2; an unexpected error one line and
exit code 1 (the traceback only with ``YGT_DEBUG=1``).
"""

from __future__ import annotations

import os
import sys
import traceback


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yigongti.settings")
    if not args or args[0] in {"-h", "--help", "help"}:
        print(USAGE)
        return 0
    import django
    from django.core.management import CommandError

    from yigongti.core.errors import DomainError

    try:
        django.setup()
        _run(args)
    except (DomainError, CommandError) as error:
        print(f"ygt {args[0]}: {error}", file=sys.stderr)
        for row_error in getattr(error, "errors", [])[:200]:
            print(f"  {row_error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except SystemExit as exit_:
        return int(exit_.code or 0) if not isinstance(exit_.code, str) else 1
    except Exception as error:
        pending = _pending_migrations() if _is_database_error(error) else 0
        if pending:  # the code is newer than the database: say what to do, not which table is missing
            print(f"ygt {args[0]}: 数据库尚未更新到当前版本（{pending} 个迁移未执行），请先运行 ygt migrate "
                  f"(the database is behind the code: run ygt migrate)", file=sys.stderr)
            return 2
        if os.environ.get("YGT_DEBUG") == "1":
            traceback.print_exc()
        print(f"ygt {args[0]}: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


def _is_database_error(error: Exception) -> bool:
    from django.db import DatabaseError

    return isinstance(error, DatabaseError)


def _pending_migrations() -> int:
    """How many migrations the database has not applied (0 when that cannot be told)."""
    from django.db import DatabaseError, connection
    from django.db.migrations.executor import MigrationExecutor

    try:
        executor = MigrationExecutor(connection)
        return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    except DatabaseError:
        return 0


def _run(args: list[str]) -> None:
    """Run one management command, letting its ``CommandError`` reach :func:`main`.

    Django's own ``run_from_argv`` would print ``CommandError: …`` and exit 1; our contract is one
    line ``ygt <command>: <reason>`` and exit 2, the same as for a :class:`DomainError`.
    """
    from django.core.management import ManagementUtility, execute_from_command_line
    from django.db import connections

    name = args[0]
    if name.startswith("-") or any(arg in {"-h", "--help", "--version"} for arg in args[1:]):
        execute_from_command_line(["ygt", *args])  # Django's help and version output
        return
    command = ManagementUtility(["ygt", *args]).fetch_command(name)
    setattr(command, "_called_from_command_line", True)  # argparse errors print usage and exit 2  # noqa: B010
    options = vars(command.create_parser("ygt", name).parse_args(args[1:]))
    positional = options.pop("args", ())
    try:
        command.execute(*positional, **options)
    finally:
        connections.close_all()


USAGE = """ygt — yigongti 县域医共体平台

  ygt demo [--scale small|county] [--seed N] [--no-serve]   build a synthetic county, then serve
  ygt serve [--host 127.0.0.1] [--port 8000]               web UI + API
  ygt import divisions|institutions|staff|residents|followups|encounters|results|population FILE [--dry-run]
                                                           CSV or XLSX, all-or-nothing, idempotent
  ygt registry check [--format table|json|csv]             三建成 / 三合格 / 三达标 shortfalls
  ygt rules load                                           load the rule fixtures
  ygt plan --programme CODE --start DATE [--history F.csv] [--as-of DATE] [--format table|json|csv]  a plan
  ygt worklist --org CODE [--date DATE] [--programme P] [--format table|json|csv|xlsx] [-o FILE]
                                                           due this week / overdue / not seen this year
  ygt programmes sync [--date DATE]                        daily: enrol 65th birthdays and newborns, extend plans
  ygt referrals escalate [--at ISO]                        unanswered referrals past their deadline → referral centre
  ygt analytics refresh [--full] [--engine duckdb|spark]  export changed months to Parquet, recompute indicators
  ygt indicators [--org CODE] [--period 2025|2025Q1|202503|202503R12] [--indicator CODE] [--format table|json|csv]
                                                           stored indicator values (numerator, denominator, value)
  ygt alerts [--date D] [--until D] [--format table|json|csv]
                                                           daily early warning: every township × disease → CDC queue
  ygt alerts --series FILE.csv --method c1|c2|c3|percentile|cusum [--alpha A] [--format csv|json|table]
                                                           any count series: t,observed,expected,upperbound,alarm
  ygt insurance adjudicate CASE.json [--policy FILE]       a settlement with its explanation (JSON), no database
  ygt insurance report --year Y [--format table|json|csv]  the year's fund, 参合率, in-county share, ledger check
  ygt stock report [--org CODE] [--date D] [--days N] [--format table|json|csv]
                                                           stock per institution: out, low, expiring, ledger check
  ygt dedupe [--input FILE.csv] [--format csv|json|table]  duplicate residents, or inside any CSV
  ygt link --input FILE.csv [--format csv|json|table]      link an outside list to the residents
  ygt token create --user NAME --name LABEL                an API token
  ygt migrate                                              create or update the database

Every Django management command is also available: ygt <command> --help."""


if __name__ == "__main__":
    sys.exit(main())
