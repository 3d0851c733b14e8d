"""Runs scenarios one after the other, each with its own throwaway data, and collects the
run report. A scenario's exception or failed check marks it; the others still run."""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from django.db import close_old_connections

from bench.context import ScenarioContext
from bench.http import default_web_workers
from bench.jobs import JobRunner, uses_worker
from bench.machine import load_average, machine_info
from bench.registry import PlannedScenario, Registry, Scenario, discover
from bench.results import RunReport, ScenarioResult, Status

logger = logging.getLogger(__name__)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def select(registry: Registry, only: Iterable[str] | None) -> list[str]:
    """The scenario names to run, in table order. Raises KeyError for an unknown name."""
    names = registry.names()
    if not only:
        return names
    wanted = [name.strip() for name in only if name.strip()]
    unknown = [name for name in wanted if name not in names]
    if unknown:
        raise KeyError(", ".join(unknown))
    return [name for name in names if name in wanted]


def run_scenario(
    scenario_class: type[Scenario],
    *,
    scale: str,
    jobs: JobRunner,
    sizes: Mapping[str, Any] | None = None,
    web_workers: int | None = None,
) -> ScenarioResult:
    """Run one scenario and drop its data, whatever happens."""
    result = ScenarioResult(name=scenario_class.name, title=scenario_class.title)
    sizes = dict(sizes) if sizes is not None else scenario_class.sizes_for(scale)
    ctx = ScenarioContext(
        result=result, scale=scale, sizes=sizes, jobs=jobs, web_workers=web_workers
    )
    started = time.perf_counter()
    # Other work on the machine skews everything; the load average says how busy it was.
    result.details["load_average_before"] = load_average()
    try:
        scenario_class().run(ctx)
    except Exception:
        logger.exception("Scenario %s failed", scenario_class.name)
        result.status = Status.ERROR
        result.error = traceback.format_exc(limit=8)
    finally:
        try:
            ctx.close()
        except Exception as exc:  # a cleanup failure is an error of the run
            result.status = Status.ERROR
            result.error = (result.error + "\n" if result.error else "") + f"cleanup: {exc}"
        close_old_connections()
    result.details["load_average_after"] = load_average()
    if result.status == Status.OK and any(not check.passed for check in result.checks):
        result.status = Status.FAILED
    result.seconds = time.perf_counter() - started
    return result


def run(
    *,
    scale: str,
    only: Iterable[str] | None = None,
    registry: Registry | None = None,
    sizes_override: Mapping[str, Mapping[str, Any]] | None = None,
    web_workers: int | None = None,
    progress=print,
) -> RunReport:
    registry = registry or discover()
    names = select(registry, only)
    report = RunReport(
        scale=scale,
        started_at=_now(),
        machine=machine_info(),
        settings={
            "jobs": "celery worker" if uses_worker() else "in-process (no REDIS_URL)",
            "web_workers": web_workers or default_web_workers(),
            "scenarios": names,
        },
    )
    started = time.perf_counter()
    jobs = JobRunner()
    try:
        for name in names:
            entry = registry.get(name)
            if isinstance(entry, PlannedScenario):
                report.scenarios.append(
                    ScenarioResult(name=entry.name, title=entry.title, status=Status.NOT_AVAILABLE)
                )
                continue
            progress(f"-- {name}: {entry.title}")
            overrides = (sizes_override or {}).get(name)
            result = run_scenario(
                entry, scale=scale, jobs=jobs, sizes=overrides, web_workers=web_workers
            )
            progress(f"   {result.status} in {result.seconds:.1f}s")
            report.scenarios.append(result)
    finally:
        jobs.close()
    report.finished_at = _now()
    report.seconds = time.perf_counter() - started
    return report
