"""One bulk issue job on two real Celery worker processes (PostgreSQL + Redis).

The job runs against a committed database of its own (loyalty_coupons_bulk, migrated here), not
the test database: the workers are separate processes. The benchmark command drives it (throwaway
org, 3,000 customers, chunks of 100), checks every customer got exactly one coupon, reports the
chunks each worker process did, and deletes what it created. Skipped unless PostgreSQL and Redis
are reachable.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent.parent
CELERY = Path(sys.executable).with_name("celery")
DATABASE_NAME = "loyalty_coupons_bulk"
REDIS_URL = os.environ.get("BULK_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
CUSTOMERS = 3000
CHUNK_SIZE = 100

pytestmark = pytest.mark.postgres


def _postgres_server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        url = "postgres://postgres@127.0.0.1:5432/postgres"
    return url


def _database_url(name: str) -> str:
    parsed = urlparse(_postgres_server_url())
    return parsed._replace(path=f"/{name}").geturl()


def _reachable() -> str | None:
    """Why the test cannot run, or None."""
    try:
        import psycopg
        import redis
    except ImportError as exc:
        return f"missing driver: {exc}"
    try:
        with psycopg.connect(_database_url("postgres"), connect_timeout=3, autocommit=True) as db:
            exists = db.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE_NAME]
            ).fetchone()
            if not exists:
                db.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
    except Exception as exc:
        return f"PostgreSQL not reachable: {exc}"
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except Exception as exc:
        return f"Redis not reachable at {REDIS_URL}: {exc}"
    return None


@pytest.fixture
def bulk_environment():
    reason = _reachable()
    if reason:
        pytest.skip(reason)
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(DATABASE_NAME),
        "REDIS_URL": REDIS_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DJANGO_SETTINGS_MODULE": "loyalty_site.settings",
        "LOG_LEVEL": "INFO",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        timeout=180,
    )
    return env


@pytest.fixture
def workers(bulk_environment, tmp_path):
    """Two worker processes (solo pool: the task runs in the worker's own process)."""
    started = []
    for number in (1, 2):
        log = tmp_path / f"worker{number}.log"
        handle = log.open("w")
        process = subprocess.Popen(  # noqa: S603
            [
                str(CELERY),
                "-A",
                "loyalty_site",
                "worker",
                "--pool=solo",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"bulk-test-{number}@%h",
                "--loglevel=INFO",
            ],
            cwd=BASE_DIR,
            env=bulk_environment,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        started.append((process, log, handle))
    try:
        deadline = time.monotonic() + 40
        while not all("ready." in log.read_text() for _process, log, _handle in started):
            if time.monotonic() > deadline or any(p.poll() is not None for p, _l, _h in started):
                logs = "\n".join(log.read_text()[-2000:] for _p, log, _h in started)
                pytest.fail(f"the workers did not start:\n{logs}")
            time.sleep(0.2)
        yield [process.pid for process, _log, _handle in started]
    finally:
        for process, _log, _handle in started:
            process.terminate()
        for process, _log, handle in started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
            handle.close()


def test_one_job_on_two_worker_processes_issues_each_customer_once(bulk_environment, workers):
    # when a bulk issue job of 30 chunks runs on the two workers
    finished = subprocess.run(  # noqa: S603
        [
            sys.executable,
            "manage.py",
            "coupon_bulk_issue_benchmark",
            "--customers",
            str(CUSTOMERS),
            "--chunk-size",
            str(CHUNK_SIZE),
            "--skip-copy",
            "--json",
            "--timeout",
            "40",
        ],
        cwd=BASE_DIR,
        env=bulk_environment,
        capture_output=True,
        text=True,
        timeout=90,
    )

    # then every customer got exactly one coupon and both worker processes took chunks
    assert finished.returncode == 0, finished.stderr[-3000:]
    figures = json.loads(finished.stdout)
    assert figures["runs_on"] == "celery workers"
    assert figures["job_status"] == "FINISHED"
    assert figures["coupons_issued"] == figures["distinct_customers"] == CUSTOMERS
    assert figures["customers_without_coupon"] == 0 and figures["row_errors"] == 0
    assert figures["chunks"] == CUSTOMERS // CHUNK_SIZE
    by_process = {
        int(worker.rsplit(":", 1)[1]): count
        for worker, count in figures["chunks_by_worker"].items()
    }
    assert set(by_process) == set(workers), figures["chunks_by_worker"]
    assert sum(by_process.values()) == figures["chunks"]
