"""In-process measurement helpers: per-query latencies of raw SQL (the physical references), and
a bounded hammer of threads calling a service, each on its own database connection."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection

MAX_ERRORS_KEPT = 10


def sql_latencies(sql: str, params: Sequence[Sequence[Any]], *, warmup: int = 0) -> list[float]:
    """Run `sql` once per parameter set, fetching every row; the latency in ms of each run
    after the first `warmup` ones."""
    latencies: list[float] = []
    with connection.cursor() as cursor:
        for index, values in enumerate(params):
            started = time.perf_counter()
            cursor.execute(sql, values)
            cursor.fetchall()
            if index >= warmup:
                latencies.append((time.perf_counter() - started) * 1000)
    return latencies


@dataclass
class HammerResult:
    threads: int
    attempted: int = 0
    successes: int = 0
    refusals: int = 0
    errors: list[str] = field(default_factory=list)
    error_count: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    elapsed_seconds: float = 0.0
    stopped_by_time: bool = False

    @property
    def throughput(self) -> float:
        return self.attempted / self.elapsed_seconds if self.elapsed_seconds else 0.0


def hammer(
    *,
    threads: int,
    total: int,
    operation: Callable[[int], bool],
    time_limit: float,
) -> HammerResult:
    """Call `operation(n)` for n in 0..total-1 from `threads` threads at once, stopping early
    after `time_limit` seconds. True counts as a success, False as an expected refusal, an
    exception as an error."""
    result = HammerResult(threads=threads)
    lock = threading.Lock()
    numbers = iter(range(total))
    deadline = time.monotonic() + time_limit
    start = threading.Barrier(threads)

    def next_number() -> int | None:
        with lock:
            if time.monotonic() >= deadline:
                result.stopped_by_time = True
                return None
            return next(numbers, None)

    def worker() -> None:
        try:
            start.wait()
            while (number := next_number()) is not None:
                began = time.perf_counter()
                try:
                    succeeded, error = operation(number), None
                except Exception as exc:  # counted and reported
                    succeeded, error = False, f"{number}: {type(exc).__name__}: {exc}"
                elapsed_ms = (time.perf_counter() - began) * 1000
                with lock:
                    result.attempted += 1
                    result.latencies_ms.append(elapsed_ms)
                    if error:
                        result.error_count += 1
                        if len(result.errors) < MAX_ERRORS_KEPT:
                            result.errors.append(error)
                    elif succeeded:
                        result.successes += 1
                    else:
                        result.refusals += 1
        finally:
            connection.close()

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    began = time.perf_counter()
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    result.elapsed_seconds = time.perf_counter() - began
    return result
