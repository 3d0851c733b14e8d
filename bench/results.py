"""What a benchmark run produces: figures (with their physical reference and target), checks,
one result per scenario, and the run report that becomes the JSON file."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

REPORT_SCHEMA_VERSION = 1


class Status:
    OK = "ok"
    # An invariant check failed (a limit did not hold, a count is off): an error, not a timing.
    FAILED = "failed"
    # The scenario raised.
    ERROR = "error"
    # The feature it measures is not built yet.
    NOT_AVAILABLE = "not_available"

    BAD = (FAILED, ERROR)


NOT_AVAILABLE_TEXT = "not available yet (feature not built)"


@dataclass
class Figure:
    """One measured number. `reference` is the physical floor measured in the same run (a raw
    COPY, a bare SELECT, a bare UPDATE), so the ratio survives noisy machines."""

    name: str
    value: float
    unit: str
    higher_is_better: bool = True
    reference: float | None = None
    reference_name: str = ""
    target: float | None = None
    samples: int | None = None
    detail: str = ""

    @property
    def ratio_to_reference(self) -> float | None:
        """value / reference."""
        if self.reference in (None, 0):
            return None
        return self.value / self.reference

    @property
    def cost_multiple(self) -> float | None:
        """How many times the reference's cost this costs (latency ratio, or inverse of the
        throughput ratio): 1 means as fast as the physical floor."""
        ratio = self.ratio_to_reference
        if ratio is None or ratio == 0:
            return None
        return 1 / ratio if self.higher_is_better else ratio

    @property
    def target_met(self) -> bool | None:
        if self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "unit": self.unit,
            "higher_is_better": self.higher_is_better,
            "samples": self.samples,
            "reference": self.reference,
            "reference_name": self.reference_name or None,
            "ratio_to_reference": self.ratio_to_reference,
            "cost_multiple_of_reference": self.cost_multiple,
            "target": self.target,
            "target_met": self.target_met,
            "detail": self.detail or None,
        }


@dataclass
class Check:
    name: str
    passed: bool
    detail: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "detail": self.detail or None}


@dataclass
class ScenarioResult:
    name: str
    title: str
    status: str = Status.OK
    figures: list[Figure] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # The sizes it ran with (rows generated, requests sent, clients...).
    parameters: dict[str, Any] = field(default_factory=dict)
    # Extra numbers that are not headline figures (latency summaries, setup times).
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    error: str = ""

    @property
    def is_bad(self) -> bool:
        return self.status in Status.BAD

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "status": self.status,
            "status_text": NOT_AVAILABLE_TEXT if self.status == Status.NOT_AVAILABLE else None,
            "seconds": round(self.seconds, 3),
            "parameters": self.parameters,
            "figures": [figure.as_dict() for figure in self.figures],
            "checks": [check.as_dict() for check in self.checks],
            "notes": self.notes,
            "details": self.details,
            "error": self.error or None,
        }


@dataclass
class RunReport:
    scale: str
    started_at: str
    machine: dict[str, Any]
    settings: dict[str, Any] = field(default_factory=dict)
    finished_at: str = ""
    seconds: float = 0.0
    scenarios: list[ScenarioResult] = field(default_factory=list)

    @property
    def is_ok(self) -> bool:
        return not any(result.is_bad for result in self.scenarios)

    @property
    def missed_targets(self) -> list[tuple[str, Figure]]:
        return [
            (result.name, figure)
            for result in self.scenarios
            for figure in result.figures
            if figure.target_met is False
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "schema_version": REPORT_SCHEMA_VERSION,
            "scale": self.scale,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "seconds": round(self.seconds, 3),
            "ok": self.is_ok,
            "machine": self.machine,
            "settings": self.settings,
            "scenarios": [result.as_dict() for result in self.scenarios],
        }
