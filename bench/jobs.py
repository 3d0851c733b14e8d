"""Running the project's bulk jobs the way production does: with REDIS_URL, on a real Celery
worker the harness starts (on a private queue, so no other worker takes its tasks); without it,
in-process, as the project runs tasks without a broker. A job is timed from its enqueue to its
FINISHED (or FAILED) row."""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from loyalty_site.core.models import Job
from loyalty_site.core.tasks import job_run_task

logger = logging.getLogger(__name__)

WORKER_START_TIMEOUT_SECONDS = 60
WORKER_STOP_TIMEOUT_SECONDS = 30
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class JobRun:
    job: Job
    seconds: float
    executor: str  # "celery worker (N processes)" or "in-process"


def uses_worker() -> bool:
    from loyalty_site.celery import app

    return bool(settings.REDIS_URL) and not app.conf.task_always_eager


class CeleryWorker:
    """One `celery worker` with `concurrency` processes consuming a private queue."""

    def __init__(self, *, concurrency: int = 1) -> None:
        self.concurrency = concurrency
        self.queue = f"bench-{os.getpid()}-{secrets.token_hex(3)}"
        self.process: subprocess.Popen | None = None
        self._ready_dir = tempfile.TemporaryDirectory(prefix="bench-worker-")
        self.ready_file = Path(self._ready_dir.name) / "ready"
        self.log_path = Path(settings.BASE_DIR) / "bench-results" / f"{self.queue}.log"
        self._saved: tuple[str, bool] | None = None

    def start(self) -> CeleryWorker:
        from loyalty_site.celery import app

        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
                [
                    sys.executable,
                    "-m",
                    "bench.worker_main",
                    self.queue,
                    str(self.concurrency),
                    str(self.ready_file),
                ],
                cwd=settings.BASE_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(os.environ),
            )
        deadline = time.monotonic() + WORKER_START_TIMEOUT_SECONDS
        while not self.ready_file.exists():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"The benchmark's Celery worker did not start; see {self.log_path}"
                )
            time.sleep(0.1)
        # Tasks sent from this process go to the private queue, and their results are not
        # kept (the worker honours the sender's ignore_result).
        self._saved = (app.conf.task_default_queue, job_run_task.ignore_result)
        app.conf.task_default_queue = self.queue
        job_run_task.ignore_result = True
        return self

    def stop(self) -> None:
        from loyalty_site.celery import app

        if self._saved is not None:
            app.conf.task_default_queue, job_run_task.ignore_result = self._saved
            self._saved = None
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)  # warm shutdown of the worker we started
            try:
                process.wait(timeout=WORKER_STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=WORKER_STOP_TIMEOUT_SECONDS)
        self._forget_queue()
        self._ready_dir.cleanup()
        _remove_unless_errors(self.log_path)

    def _forget_queue(self) -> None:
        """Drop the private queue's keys from Redis (the queue itself is empty by now)."""
        try:
            import redis

            client = redis.Redis.from_url(settings.REDIS_URL)
            client.delete(
                self.queue,
                f"_kombu.binding.{self.queue}",
                f"_kombu.binding_permanent.{self.queue}",
            )
            client.close()
        except Exception as exc:  # best effort: leftover keys are harmless
            logger.warning("Could not remove the benchmark queue's keys from Redis: %s", exc)


def _remove_unless_errors(log_path: Path) -> None:
    """Keep a subprocess's log only when it recorded an error (for the post-mortem)."""
    if not log_path.exists():
        return
    text = log_path.read_text(errors="replace")
    if "Traceback" not in text and "ERROR" not in text:
        log_path.unlink()


class JobRunner:
    """Runs jobs on a worker (started on first use, restarted for another concurrency) or
    in-process, and stops the worker at the end of the run."""

    def __init__(self) -> None:
        self.worker: CeleryWorker | None = None

    def run(
        self,
        *,
        start: Callable[[], Job],
        processes: int = 1,
        timeout: float = 1800.0,
    ) -> JobRun:
        """Call `start` (it creates and enqueues the job) and wait for the job to finish."""
        if uses_worker():
            if self.worker is None or self.worker.concurrency != processes:
                self.close()
                self.worker = CeleryWorker(concurrency=processes).start()
            executor = f"celery worker ({processes} process{'es' if processes > 1 else ''})"
        else:
            executor = "in-process (no REDIS_URL)"
        started = time.perf_counter()
        job = start()
        deadline = time.monotonic() + timeout
        while True:
            job.refresh_from_db()
            if job.status in (Job.Status.FINISHED, Job.Status.FAILED):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"Job {job.pk} ({job.kind}) did not finish in {timeout:.0f}s")
            time.sleep(POLL_SECONDS)
        seconds = time.perf_counter() - started
        if job.finished_at is not None:
            # The job's own timestamps: enqueue (row written) to finish, free of polling lag.
            seconds = (job.finished_at - job.created_at).total_seconds()
        return JobRun(job=job, seconds=seconds, executor=executor)

    def close(self) -> None:
        worker, self.worker = self.worker, None
        if worker is not None:
            worker.stop()
