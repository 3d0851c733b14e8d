"""The run's outputs: one table (plain text for the terminal, Markdown for the README) and a
JSON file with every figure, the scale and the machine."""

from __future__ import annotations

import json
from pathlib import Path

from bench.machine import machine_summary
from bench.results import NOT_AVAILABLE_TEXT, Figure, RunReport, ScenarioResult, Status

HEADERS = ("scenario", "figure", "value", "reference (same run)", "cost x ref", "target")


def format_number(value: float | None) -> str:
    if value is None:
        return "-"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def _target_text(figure: Figure) -> str:
    if figure.target is None:
        return "-"
    sign = ">=" if figure.higher_is_better else "<="
    verdict = "met" if figure.target_met else "MISSED"
    return f"{sign} {format_number(figure.target)} {figure.unit}: {verdict}"


def _figure_row(figure: Figure) -> list[str]:
    value = f"{format_number(figure.value)} {figure.unit}"
    if figure.samples:
        value += f" (n={figure.samples:,})"
    reference = "-"
    if figure.reference is not None:
        reference = f"{figure.reference_name}: {format_number(figure.reference)} {figure.unit}"
    cost = figure.cost_multiple
    return [
        figure.name + (f" [{figure.detail}]" if figure.detail else ""),
        value,
        reference,
        f"{cost:.1f}x" if cost is not None else "-",
        _target_text(figure),
    ]


def _status_row(result: ScenarioResult) -> list[str] | None:
    if result.status == Status.NOT_AVAILABLE:
        return [NOT_AVAILABLE_TEXT, "", "", "", ""]
    if result.status == Status.ERROR:
        return [f"ERROR: {result.error.splitlines()[0] if result.error else ''}", "", "", "", ""]
    failed = [check for check in result.checks if not check.passed]
    if failed:
        names = "; ".join(f"{check.name} ({check.detail})" for check in failed)
        return [f"CHECK FAILED: {names}", "", "", "", ""]
    return None


def table_rows(report: RunReport) -> list[list[str]]:
    rows: list[list[str]] = []
    for result in report.scenarios:
        label = result.name
        status = _status_row(result)
        if status is not None:
            rows.append([label, *status])
            label = ""
        for figure in result.figures:
            rows.append([label, *_figure_row(figure)])
            label = ""
    return rows


def checks_lines(report: RunReport) -> list[str]:
    """One line per scenario with checks: how many passed, and the failed ones."""
    lines = []
    for result in report.scenarios:
        if not result.checks:
            continue
        passed = [check.name for check in result.checks if check.passed]
        failed = [f"{check.name} ({check.detail})" for check in result.checks if not check.passed]
        text = f"{result.name}: {len(passed)}/{len(result.checks)} checks passed"
        text += f" ({'; '.join(passed)})" if passed else ""
        if failed:
            text += f"; FAILED: {'; '.join(failed)}"
        lines.append(text)
    return lines


def render_text(report: RunReport) -> str:
    rows = [list(HEADERS), *table_rows(report)]
    widths = [max(len(row[index]) for row in rows) for index in range(len(HEADERS))]
    lines = [
        f"Benchmarks at scale {report.scale!r}, {report.seconds:.0f}s: "
        f"{machine_summary(report.machine)}",
        "",
    ]
    for number, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[index]) for index, cell in enumerate(row)))
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    checks = checks_lines(report)
    if checks:
        lines += ["", "Checks (invariants, not timings):", *(f"  {line}" for line in checks)]
    return "\n".join(line.rstrip() for line in lines)


def render_markdown(report: RunReport) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [
        "| " + " | ".join(HEADERS) + " |",
        "| " + " | ".join("---" for _ in HEADERS) + " |",
    ]
    for row in table_rows(report):
        lines.append("| " + " | ".join(cell(text) for text in row) + " |")
    return "\n".join(lines)


def write_json(report: RunReport, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.as_dict(), indent=2, sort_keys=False, default=str) + "\n")
    return path
