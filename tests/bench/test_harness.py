"""The benchmark harness (bench/): percentile maths, the scenario registry, the report's JSON
shape, and tiny scenario runs on the test database (set-wise data, cleanup, checks)."""

from __future__ import annotations

import json
import math

import pytest
from django.db import connection

from bench.cleanup import BENCH_ORG_PREFIX, deletion_plan
from bench.cli import main
from bench.data import customer_rows, customers_create, ledger_history_create
from bench.jobs import JobRunner
from bench.registry import PLANNED, SCALES, PlannedScenario, Registry, Scenario, discover
from bench.report import render_markdown, render_text, write_json
from bench.results import NOT_AVAILABLE_TEXT, Check, Figure, RunReport, ScenarioResult, Status
from bench.runner import run, run_scenario
from bench.scenarios.points_redeem import PointsRedeem
from bench.stats import percentile, summarize
from bench.timing import sql_latencies
from ledger.models import LedgerEntry, LedgerEvent, PointsAccount, PointsLot
from members.models import Customer, Org

ALL_SCALES = {scale: {"count": 1} for scale in SCALES}


# Percentiles ---------------------------------------------------------------------------------
def test_percentile_interpolates_between_closest_ranks():
    # given one to a hundred
    samples = list(range(1, 101))

    # then the median lies between 50 and 51, and p99 just above 99
    assert percentile(samples, 50) == pytest.approx(50.5)
    assert percentile(samples, 99) == pytest.approx(99.01)
    assert percentile(samples, 0) == 1
    assert percentile(samples, 100) == 100


def test_percentile_ignores_input_order_and_handles_one_sample():
    assert percentile([9, 1, 5], 50) == 5
    assert percentile([7.5], 99) == 7.5


@pytest.mark.parametrize(("samples", "percent"), [([], 50), ([1, 2], -1), ([1, 2], 100.5)])
def test_percentile_refuses_no_samples_and_bad_percent(samples, percent):
    with pytest.raises(ValueError):
        percentile(samples, percent)


def test_summary_flags_a_p99_from_too_few_samples():
    # given 200 and 1000 samples
    few = summarize([float(n) for n in range(200)])
    enough = summarize([float(n) for n in range(1000)])

    # then both are summarised, and only the larger p99 counts as reliable
    assert few.count == 200 and few.minimum == 0 and few.maximum == 199
    assert few.mean == pytest.approx(99.5)
    assert few.p50 == pytest.approx(99.5)
    assert not few.p99_is_reliable
    assert enough.p99_is_reliable
    assert set(enough.as_dict()) == {
        "count",
        "mean",
        "minimum",
        "p50",
        "p90",
        "p99",
        "maximum",
        "p99_is_reliable",
    }


# Figures -------------------------------------------------------------------------------------
def test_figure_ratio_and_cost_for_latency_and_throughput():
    latency = Figure("p50", 30.0, "ms", higher_is_better=False, reference=1.5, target=50)
    throughput = Figure("rate", 100.0, "req/s", reference=1000.0, target=500)

    assert latency.ratio_to_reference == pytest.approx(20)
    assert latency.cost_multiple == pytest.approx(20)
    assert latency.target_met is True
    assert throughput.ratio_to_reference == pytest.approx(0.1)
    assert throughput.cost_multiple == pytest.approx(10)
    assert throughput.target_met is False


def test_figure_without_reference_or_target_has_no_ratio_or_verdict():
    figure = Figure("rate", 5.0, "req/s")

    assert figure.ratio_to_reference is None
    assert figure.cost_multiple is None
    assert figure.target_met is None


# Registry ------------------------------------------------------------------------------------
def _scenario_class(name: str = "tiny", sizes=None, title: str = "Tiny"):
    return type(
        "Tiny",
        (Scenario,),
        {"name": name, "title": title, "sizes": ALL_SCALES if sizes is None else sizes},
    )


def test_registry_lists_planned_scenarios_until_a_file_registers_them():
    # given a registry that knows one planned scenario
    registry = Registry([PlannedScenario("reward_issue", "Reward issue", 90)])
    assert registry.names() == ["reward_issue"]
    assert not registry.is_available("reward_issue")

    # when a scenario with that name registers
    built = registry.register(_scenario_class(name="reward_issue"))

    # then it replaces the planned entry
    assert registry.is_available("reward_issue")
    assert registry.get("reward_issue") is built
    assert registry.names() == ["reward_issue"]


def test_registry_orders_by_order_then_name():
    registry = Registry([PlannedScenario("zeta", "Zeta", 1)])
    registry.register(_scenario_class(name="beta"))
    registry.register(_scenario_class(name="alpha"))

    assert registry.names() == ["zeta", "alpha", "beta"]


@pytest.mark.parametrize(
    "scenario_class",
    [
        _scenario_class(name=""),
        _scenario_class(title=""),
        _scenario_class(sizes={"small": {}, "default": {}}),
    ],
)
def test_registry_refuses_incomplete_scenarios(scenario_class):
    with pytest.raises(ValueError):
        Registry().register(scenario_class)


def test_registry_refuses_two_classes_with_one_name():
    registry = Registry()
    registry.register(_scenario_class(name="same"))

    other = type("Other", (Scenario,), {"name": "same", "title": "Other", "sizes": ALL_SCALES})
    with pytest.raises(ValueError):
        registry.register(other)


def test_discover_finds_every_built_scenario():
    registry = discover()

    built = {name for name in registry.names() if registry.is_available(name)}
    assert built == {
        "ledger_page",
        "points_expiry",
        "promised_maturity",
        "points_accrual",
        "transaction_add_http",
        "transaction_add_earning_http",
        "points_redeem",
        "coupon_code_generation",
        "coupon_bulk_issue",
        "coupon_redeem_http",
        "coupon_redeem_http_hot_offer",
        "cart_evaluation",
    }
    planned = {item.name for item in PLANNED}
    assert planned <= set(registry.names())
    assert not planned & built


# Report --------------------------------------------------------------------------------------
def _report() -> RunReport:
    measured = ScenarioResult(
        name="points_redeem",
        title="Redeem",
        figures=[Figure("calls", 50.0, "calls/s", reference=800.0, target=100.0, samples=250)],
        checks=[Check("limit held", True)],
        parameters={"threads": 4},
    )
    failed = ScenarioResult(
        name="broken", title="Broken", status=Status.FAILED, checks=[Check("count", False, "3")]
    )
    planned = ScenarioResult(name="cart_evaluation", title="Cart", status=Status.NOT_AVAILABLE)
    return RunReport(
        scale="small",
        started_at="2024-01-01T00:00:00+00:00",
        machine={"cores": 2, "memory_gib": 4.0, "cpu": "x", "python": "3.11", "postgresql": None},
        scenarios=[measured, failed, planned],
    )


def test_report_json_has_scale_machine_and_every_figure(tmp_path):
    # when the report is written
    path = write_json(_report(), tmp_path / "out" / "report.json")

    # then the file holds the run's shape
    data = json.loads(path.read_text())
    assert data["schema_version"] == 1
    assert data["scale"] == "small"
    assert data["ok"] is False
    assert data["machine"]["cores"] == 2
    measured, failed, planned = data["scenarios"]
    assert measured["status"] == "ok"
    assert measured["parameters"] == {"threads": 4}
    assert measured["figures"] == [
        {
            "name": "calls",
            "value": 50.0,
            "unit": "calls/s",
            "higher_is_better": True,
            "samples": 250,
            "reference": 800.0,
            "reference_name": None,
            "ratio_to_reference": 0.0625,
            "cost_multiple_of_reference": 16.0,
            "target": 100.0,
            "target_met": False,
            "detail": None,
        }
    ]
    assert measured["checks"] == [{"name": "limit held", "passed": True, "detail": None}]
    assert failed["status"] == "failed"
    assert planned["status"] == "not_available"
    assert planned["status_text"] == NOT_AVAILABLE_TEXT
    assert planned["figures"] == []


def test_table_names_missed_targets_failed_checks_and_planned_scenarios():
    report = _report()

    text = render_text(report)
    markdown = render_markdown(report)

    assert "MISSED" in text
    assert "CHECK FAILED: count (3)" in text
    assert NOT_AVAILABLE_TEXT in text
    assert markdown.splitlines()[0].startswith("| scenario | figure |")
    assert [name for name, _ in report.missed_targets] == ["points_redeem"]


# Runner (no database work) -------------------------------------------------------------------
@pytest.mark.django_db
def test_runner_records_errors_and_failed_checks_and_keeps_going():
    # given a registry with a raising scenario, a failing check and a planned entry
    class Raises(Scenario):
        name, title, sizes, order = "raises", "Raises", ALL_SCALES, 1

        def run(self, ctx):
            raise RuntimeError("boom")

    class FailsCheck(Scenario):
        name, title, sizes, order = "fails_check", "Fails a check", ALL_SCALES, 2

        def run(self, ctx):
            ctx.figure("rate", 10.0 * ctx.sizes["count"], "ops/s")
            ctx.check("count matches", False, "1 != 2")

    registry = Registry([PlannedScenario("planned", "Planned", 3)])
    registry.register(Raises)
    registry.register(FailsCheck)

    # when the run goes
    report = run(scale="small", registry=registry, progress=lambda text: None)

    # then each scenario has its own status and the run is not ok
    statuses = {result.name: result.status for result in report.scenarios}
    assert statuses == {"raises": "error", "fails_check": "failed", "planned": "not_available"}
    assert "boom" in report.scenarios[0].error
    assert report.scenarios[1].figures[0].value == 10.0
    assert not report.is_ok


@pytest.mark.django_db
def test_runner_refuses_unknown_scenario_names():
    with pytest.raises(KeyError):
        run(scale="small", only=["no_such"], registry=Registry(), progress=lambda text: None)


@pytest.mark.django_db
def test_command_refuses_sqlite(capsys):
    if connection.vendor != "sqlite":
        pytest.skip("checks the refusal on SQLite")

    assert main(["--scale", "small"]) == 2

    assert "needs PostgreSQL" in capsys.readouterr().err


# Tiny runs on PostgreSQL ---------------------------------------------------------------------
def test_deletion_plan_deletes_ledger_rows_before_what_they_hang_off():
    order = [step.model for step in deletion_plan()]

    assert order.index(LedgerEntry) < order.index(LedgerEvent)
    assert order.index(PointsLot) < order.index(PointsAccount)
    assert order.index(LedgerEntry) < order.index(PointsAccount)
    assert Org not in order


class TinyLedgerScenario(Scenario):
    """A self-contained scenario as a later feature would add one: set-wise data, a reference
    query, a figure and a check."""

    name = "tiny_ledger"
    title = "Tiny ledger read"
    sizes = {scale: {"customers": 5, "entries_per_customer": 4} for scale in SCALES}

    def run(self, ctx):
        bench = ctx.org("tiny")
        customers_create(bench, count=ctx.sizes["customers"])
        written = ledger_history_create(
            bench, credits_per_customer=ctx.sizes["entries_per_customer"] - 1
        )
        ids = [[customer_id] for customer_id, _ in customer_rows(bench)]
        latencies = sql_latencies(
            "SELECT * FROM ledger_ledgerevent WHERE customer_id = %s "
            "ORDER BY created_at DESC, id DESC LIMIT 10",
            ids,
        )
        ctx.latency("page", latencies)
        ctx.check("history written", written["entries"] == 20, str(written))


@pytest.mark.django_db(transaction=True)
def test_tiny_scenario_runs_on_the_database_and_leaves_nothing(postgres_only):
    # given nothing of a benchmark in the database
    registry = Registry()
    registry.register(TinyLedgerScenario)

    # when the scenario runs
    report = run(scale="small", registry=registry, progress=lambda text: None)

    # then it measured and passed its check
    (result,) = report.scenarios
    assert result.status == Status.OK, result.error
    assert [figure.name for figure in result.figures] == ["page p50", "page p99"]
    assert math.isfinite(result.figures[0].value)
    assert report.machine["postgresql"]["version"]
    # and its org and every row under it are gone
    assert not Org.objects.filter(name__startswith=BENCH_ORG_PREFIX).exists()
    assert Customer.objects.count() == 0
    assert LedgerEntry.objects.count() == 0
    assert LedgerEvent.objects.count() == 0
    assert PointsLot.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_points_redeem_scenario_holds_the_limit_at_a_tiny_size(postgres_only):
    # when the real redemption scenario runs with a few threads on a small balance
    jobs = JobRunner()
    try:
        result = run_scenario(
            PointsRedeem,
            scale="small",
            jobs=jobs,
            sizes={"threads": 4, "balance": 20, "overflow": 5, "time_limit_seconds": 60},
        )
    finally:
        jobs.close()

    # then every check held and it cleaned up
    assert result.status == Status.OK, (result.error, result.checks)
    assert all(check.passed for check in result.checks)
    assert result.figures[0].detail == "20 redeemed, 5 refused"
    assert result.figures[0].reference is not None
    assert not Org.objects.filter(name__startswith=BENCH_ORG_PREFIX).exists()
    assert LedgerEntry.objects.count() == 0
