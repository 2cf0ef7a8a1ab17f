"""Running jobs truly concurrently in tests: one thread (and so one database connection) per job."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.db import connection

T = TypeVar("T")


def run_together(jobs: Sequence[Callable[[], T]], *, timeout: float = 120) -> list[T | BaseException]:
    """Run each job in its own thread with its own connection, all released at once by a barrier.

    Returns each job's result or the exception it raised, in job order; fails the test if a job is still
    running after ``timeout`` seconds (a deadlock or a lock never released).
    """
    barrier = threading.Barrier(len(jobs))
    results: list[T | BaseException | None] = [None] * len(jobs)

    def work(index: int, job: Callable[[], T]) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = job()
        except BaseException as exc:  # reported by the caller's assertions
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a job hung (deadlock?)"
    assert all(result is not None for result in results)
    return [result for result in results if result is not None]
