"""What a scenario gets to work with: its sizes, throwaway orgs (dropped when it ends), a
gunicorn on loopback, the job runner, and the calls that record figures, checks and notes."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench.cleanup import org_rows_delete
from bench.data import BenchOrg, bench_org_create, bench_org_forget_credentials
from bench.http import GunicornServer
from bench.jobs import JobRun, JobRunner
from bench.results import Check, Figure, ScenarioResult
from bench.sql import vacuum
from bench.stats import summarize
from loyalty_site.core.jobs import job_create
from loyalty_site.core.models import Job

VACUUM_AFTER_ROWS = 500_000

logger = logging.getLogger(__name__)


class ScenarioContext:
    def __init__(
        self,
        *,
        result: ScenarioResult,
        scale: str,
        sizes: dict[str, Any],
        jobs: JobRunner,
        web_workers: int | None = None,
    ) -> None:
        self.result = result
        self.scale = scale
        self.sizes = sizes
        self.jobs = jobs
        self.web_workers = web_workers
        self._orgs: list[BenchOrg] = []
        self._servers: list[GunicornServer] = []
        result.parameters.update(sizes)

    # Resources ---------------------------------------------------------------------------
    def org(self, label: str) -> BenchOrg:
        """A throwaway org (store, till, default program); it is dropped when the scenario
        ends, whatever happens."""
        bench = bench_org_create(label=label)
        self._orgs.append(bench)
        return bench

    def server(self, *, workers: int | None = None) -> GunicornServer:
        """A started gunicorn on 127.0.0.1 (stopped when the scenario ends at the latest)."""
        server = GunicornServer(workers=workers or self.web_workers).start()
        self._servers.append(server)
        self.result.parameters["web_workers"] = server.workers
        return server

    def run_job(
        self,
        *,
        kind: str = "",
        org: Any = None,
        params: dict[str, Any] | None = None,
        start: Callable[[], Job] | None = None,
        processes: int = 1,
    ) -> JobRun:
        """Run a job to its end: job_create(kind, org, params), or `start()` when a service
        creates the job; on a Celery worker with `processes` processes when REDIS_URL is set."""
        if start is None:

            def start() -> Job:
                return job_create(kind=kind, org=org, params=params or {})

        run = self.jobs.run(
            start=start,
            processes=processes,
            timeout=float(self.sizes.get("job_timeout_seconds", 1800)),
        )
        self.result.parameters.setdefault("job_executor", run.executor)
        return run

    def close(self) -> None:
        """Stop the servers and drop the orgs. Errors are collected, not raised, so that one
        failing step does not leave the rest behind."""
        problems: list[str] = []
        for server in self._servers:
            try:
                server.stop()
            except Exception as exc:  # reported in the result
                problems.append(f"stopping gunicorn: {exc}")
        self._servers.clear()
        started = time.perf_counter()
        for bench in self._orgs:
            try:
                bench_org_forget_credentials(bench)
                deleted = org_rows_delete(org_id=bench.org.pk)
                # Dead rows by the million would slow the next scenario down: vacuum them now.
                vacuum(*(name for name, count in deleted.items() if count >= VACUUM_AFTER_ROWS))
            except Exception as exc:  # reported in the result
                logger.exception("Dropping benchmark org %s failed", bench.org.pk)
                problems.append(f"dropping org {bench.org.pk}: {exc}")
        self._orgs.clear()
        self.result.details["cleanup_seconds"] = round(time.perf_counter() - started, 3)
        if problems:
            raise RuntimeError("; ".join(problems))

    # Recording ---------------------------------------------------------------------------
    def figure(
        self,
        name: str,
        value: float,
        unit: str,
        *,
        higher_is_better: bool = True,
        reference: float | None = None,
        reference_name: str = "",
        target: float | None = None,
        samples: int | None = None,
        detail: str = "",
    ) -> Figure:
        figure = Figure(
            name=name,
            value=value,
            unit=unit,
            higher_is_better=higher_is_better,
            reference=reference,
            reference_name=reference_name,
            target=target,
            samples=samples,
            detail=detail,
        )
        self.result.figures.append(figure)
        return figure

    def latency(
        self,
        name: str,
        samples_ms: Sequence[float],
        *,
        reference_ms: Sequence[float] | None = None,
        reference_name: str = "",
        target_p99_ms: float | None = None,
    ) -> None:
        """p50 and p99 figures of `samples_ms` (each against the reference's same percentile
        when given), with both full summaries in the details."""
        summary = summarize(samples_ms)
        reference = summarize(reference_ms) if reference_ms else None
        self.result.details[f"{name} latency ms"] = summary.as_dict()
        if reference is not None:
            self.result.details[f"{name} reference latency ms"] = reference.as_dict()
        rough = "" if summary.p99_is_reliable else f"rough: only {summary.count} samples"
        self.figure(
            f"{name} p50",
            summary.p50,
            "ms",
            higher_is_better=False,
            reference=reference.p50 if reference else None,
            reference_name=reference_name,
            samples=summary.count,
        )
        self.figure(
            f"{name} p99",
            summary.p99,
            "ms",
            higher_is_better=False,
            reference=reference.p99 if reference else None,
            reference_name=reference_name,
            target=target_p99_ms,
            samples=summary.count,
            detail=rough,
        )

    def check(self, name: str, passed: bool, detail: str = "") -> bool:
        self.result.checks.append(Check(name=name, passed=bool(passed), detail=detail))
        return bool(passed)

    def note(self, text: str) -> None:
        self.result.notes.append(text)

    def detail(self, key: str, value: Any) -> None:
        self.result.details[key] = value

    def timed(self, key: str):
        """Context manager recording how long a setup step took (in the details)."""
        return _Timed(self, key)


class _Timed:
    def __init__(self, ctx: ScenarioContext, key: str) -> None:
        self.ctx = ctx
        self.key = key

    def __enter__(self) -> _Timed:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc_info) -> None:
        self.seconds = time.perf_counter() - self.started
        self.ctx.result.details[f"{self.key} seconds"] = round(self.seconds, 3)
