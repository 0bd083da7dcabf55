"""Running workers at once, each in its own thread and database connection (PostgreSQL tests of
row locks and unique constraints)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connection


def race(workers: list[Callable[[], Any]], *, timeout: float = 120) -> list[Any]:
    """Run every worker in its own thread and connection, all released at once; their outcomes
    (a value or the exception raised), in order."""
    barrier = threading.Barrier(len(workers))
    outcomes: list[Any] = [None] * len(workers)

    def run(i: int, work: Callable[[], Any]) -> None:
        try:
            barrier.wait(timeout=30)
            outcomes[i] = work()
        except Exception as exc:
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return outcomes
