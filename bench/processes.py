"""Run a job's work in several worker processes, as Celery's prefork pool does in production.

Threads of one Python process share one interpreter lock, so a CPU-bound batch path measured
from threads measures the lock, not the path: two threads post no faster than one. The workers
are forked from the harness after its database connections are closed (each opens its own),
start together, and report what they did through a queue.
"""

from __future__ import annotations

import multiprocessing
import time
import traceback
from collections.abc import Callable

from django.db import connections

START_TIMEOUT_SECONDS = 30
RESULT_TIMEOUT_SECONDS = 600


def processes_run(work: Callable[[int], int], workers: int) -> tuple[int, list[str], float]:
    """Call `work(index)` in `workers` forked processes at once; each returns how many items
    it did. Returns (items in all, errors, seconds from the common start to the last end)."""
    context = multiprocessing.get_context("fork")
    ready = context.Barrier(workers + 1)
    results = context.Queue()
    connections.close_all()

    def run(index: int) -> None:
        done, error = 0, ""
        try:
            ready.wait(START_TIMEOUT_SECONDS)
            done = work(index)
        except Exception as exc:  # reported to the harness
            error = f"worker {index}: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
        finally:
            connections.close_all()
            results.put((done, error, time.perf_counter()))

    processes = [
        context.Process(target=run, args=(index,), daemon=True) for index in range(workers)
    ]
    for process in processes:
        process.start()
    ready.wait(START_TIMEOUT_SECONDS)
    started = time.perf_counter()
    done, errors, ended = 0, [], started
    for _ in processes:
        count, error, finished = results.get(timeout=RESULT_TIMEOUT_SECONDS)
        done += count
        ended = max(ended, finished)
        if error:
            errors.append(error)
    for process in processes:
        process.join(START_TIMEOUT_SECONDS)
    return done, errors, ended - started
