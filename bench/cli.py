"""`python -m bench --scale small|medium|default [--only a,b] [--json PATH]` (`make bench`).

Needs DATABASE_URL on PostgreSQL (migrated); with REDIS_URL the job scenarios run on a real
Celery worker. Prints the table, writes bench-results/<timestamp>.json, and exits non-zero only
when a scenario raised or one of its checks failed, never because of a timing.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.registry import SCALES

DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me-0123456789"  # noqa: S105 - to detect it
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_REFUSED = 2


def prepare_environment() -> None:
    """Measure what production runs: DEBUG off (no query log, no debug cursor). The web server
    and the worker inherit this environment."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty_site.settings")
    os.environ["DEBUG"] = "0"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if os.environ.get("SECRET_KEY", DEV_SECRET_KEY) == DEV_SECRET_KEY:
        os.environ["SECRET_KEY"] = "bench-" + secrets.token_urlsafe(32)
    hosts = [host for host in os.environ.get("ALLOWED_HOSTS", "").split(",") if host.strip()]
    if "127.0.0.1" not in hosts:
        os.environ["ALLOWED_HOSTS"] = ",".join([*hosts, "127.0.0.1"])


def parser() -> argparse.ArgumentParser:
    command = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    command.add_argument("--scale", choices=SCALES, default="default")
    command.add_argument("--only", default="", help="comma-separated scenario names")
    command.add_argument("--json", type=Path, help="where to write the JSON report")
    command.add_argument("--web-workers", type=int, help="gunicorn workers (default 2 x cores + 1)")
    command.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    command.add_argument("--list", action="store_true", help="list the scenarios and exit")
    command.add_argument(
        "--drop-leftovers",
        action="store_true",
        help="drop benchmark orgs a crashed run left behind, then exit",
    )
    return command


def _refusal() -> str | None:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    if connection.vendor != "postgresql":
        return (
            "make bench needs PostgreSQL: set DATABASE_URL=postgres://user@host:5432/dbname "
            f"(the configured database is {connection.vendor}). SQLite has no row locks and no "
            "COPY, and its timings say nothing about production."
        )
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        return (
            "The database has unapplied migrations: run `make migrate` (or "
            "`python manage.py migrate`) with the same DATABASE_URL first."
        )
    return None


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    import django

    django.setup()
    from django.conf import settings

    from bench.cleanup import leftover_bench_orgs, org_rows_delete
    from bench.registry import discover
    from bench.report import render_markdown, render_text, write_json
    from bench.runner import run

    registry = discover()
    if args.list:
        for name in registry.names():
            entry = registry.get(name)
            state = "" if registry.is_available(name) else "  [not available yet]"
            print(f"{name:32} {entry.title}{state}")
        return EXIT_OK

    refusal = _refusal()
    if refusal:
        print(refusal, file=sys.stderr)
        return EXIT_REFUSED

    leftovers = leftover_bench_orgs()
    if args.drop_leftovers:
        for org_id, name in leftovers:
            org_rows_delete(org_id=org_id)
            print(f"dropped {name} (#{org_id})")
        return EXIT_OK
    if leftovers:
        print(
            f"note: {len(leftovers)} benchmark org(s) from an interrupted run are still in the "
            "database; `python -m bench --drop-leftovers` drops them.",
            file=sys.stderr,
        )

    only = [name for name in args.only.split(",") if name.strip()] or None
    try:
        report = run(scale=args.scale, only=only, registry=registry, web_workers=args.web_workers)
    except KeyError as exc:
        print(f"Unknown scenario(s): {exc.args[0]}; see --list", file=sys.stderr)
        return EXIT_REFUSED

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = args.json or Path(settings.BASE_DIR) / "bench-results" / f"{stamp}.json"
    write_json(report, path)
    print()
    print(render_text(report))
    if args.markdown:
        print()
        print(render_markdown(report))
    print()
    for scenario_name, figure in report.missed_targets:
        print(f"target missed: {scenario_name} / {figure.name}")
    print(f"JSON report: {path}")
    if not report.is_ok:
        bad = [result.name for result in report.scenarios if result.is_bad]
        print(f"FAILED: {', '.join(bad)} (errors or failed checks, not timings)", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
