"""HTTP load on loopback only: a real gunicorn serving the project on 127.0.0.1, and a load
generator of threads with the standard library's http.client (one connection per request, as
gunicorn's sync workers close each one). Every run is bounded in request count and in time."""

from __future__ import annotations

import collections
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

LOOPBACK = "127.0.0.1"
REQUEST_TIMEOUT_SECONDS = 30
SERVER_START_TIMEOUT_SECONDS = 60
SERVER_STOP_TIMEOUT_SECONDS = 15
MAX_ERRORS_KEPT = 10


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def default_web_workers() -> int:
    """gunicorn's own advice: 2 x cores + 1."""
    return 2 * (os.cpu_count() or 1) + 1


class GunicornServer:
    """gunicorn with `workers` sync workers on 127.0.0.1:<free port>, with this process's
    environment (same DATABASE_URL, REDIS_URL, DEBUG=0)."""

    def __init__(self, *, workers: int | None = None) -> None:
        self.workers = workers or default_web_workers()
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.log_path: Path | None = None

    def start(self) -> GunicornServer:
        self.port = free_port()
        self.log_path = Path(settings.BASE_DIR) / "bench-results" / f"gunicorn-{self.port}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "loyalty_site.wsgi:application",
            "--bind",
            f"{LOOPBACK}:{self.port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            "sync",
            "--backlog",
            "2048",
            "--timeout",
            "120",
            "--log-level",
            "warning",
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - fixed argv, our own interpreter
                command,
                cwd=settings.BASE_DIR,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "LOG_LEVEL": "WARNING"},
            )
        self._wait_until_ready()
        return self

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early; see {self.log_path}")
            try:
                # Any answer (the root redirects to the admin) means a worker has the app loaded.
                status, _ = request_once(self.port, HttpRequest("GET", "/"))
                if status:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer within {SERVER_START_TIMEOUT_SECONDS}s")

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            self._remove_log_if_quiet()
            return
        process.send_signal(signal.SIGTERM)  # the master we started stops its own workers
        try:
            process.wait(timeout=SERVER_STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=SERVER_STOP_TIMEOUT_SECONDS)
        self._remove_log_if_quiet()

    def _remove_log_if_quiet(self) -> None:
        if (
            self.log_path is not None
            and self.log_path.exists()
            and not self.log_path.stat().st_size
        ):
            self.log_path.unlink()

    def __enter__(self) -> GunicornServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)


def request_once(port: int, request: HttpRequest) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=REQUEST_TIMEOUT_SECONDS)
    try:
        headers = {"Host": LOOPBACK, **request.headers}
        if request.body is not None:
            headers.setdefault("Content-Type", "application/json")
        connection.request(request.method, request.path, body=request.body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


# Checks a response; returns an error text, or None when it is as expected.
ResponseCheck = Callable[[int, int, bytes], str | None]


@dataclass
class LoadResult:
    """The timed phase of a load run (warm-up requests are not in it)."""

    clients: int
    warmup_requests: int
    requests: int = 0
    elapsed_seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: collections.Counter = field(default_factory=collections.Counter)
    failures: int = 0
    errors: list[str] = field(default_factory=list)
    stopped_by_time: bool = False

    @property
    def throughput(self) -> float:
        return self.requests / self.elapsed_seconds if self.elapsed_seconds else 0.0

    def statuses_text(self) -> str:
        return ", ".join(f"{code}: {count}" for code, count in sorted(self.statuses.items()))


def load_run(
    *,
    port: int,
    make_request: Callable[[int], HttpRequest],
    total: int,
    clients: int,
    warmup: int = 0,
    time_limit: float = 60.0,
    check: ResponseCheck | None = None,
) -> LoadResult:
    """Send `warmup` requests, then up to `total` timed ones (request numbers warmup,
    warmup+1, ...) from `clients` threads, stopping early after `time_limit` seconds."""
    result = LoadResult(clients=clients, warmup_requests=warmup)
    if warmup:
        _phase(port, make_request, range(warmup), clients, time.monotonic() + time_limit, None)
    timed = _phase(
        port,
        make_request,
        range(warmup, warmup + total),
        clients,
        time.monotonic() + time_limit,
        check,
    )
    result.requests = len(timed.latencies)
    result.elapsed_seconds = timed.elapsed
    result.latencies_ms = timed.latencies
    result.statuses = timed.statuses
    result.failures = timed.failures
    result.errors = timed.errors
    result.stopped_by_time = timed.stopped_by_time
    return result


@dataclass
class _Phase:
    latencies: list[float] = field(default_factory=list)
    statuses: collections.Counter = field(default_factory=collections.Counter)
    failures: int = 0
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    stopped_by_time: bool = False


def _phase(
    port: int,
    make_request: Callable[[int], HttpRequest],
    numbers: range,
    clients: int,
    deadline: float,
    check: ResponseCheck | None,
) -> _Phase:
    phase = _Phase()
    lock = threading.Lock()
    pending = iter(numbers)

    def next_number() -> int | None:
        with lock:
            if time.monotonic() >= deadline:
                phase.stopped_by_time = True
                return None
            return next(pending, None)

    def client() -> None:
        while (number := next_number()) is not None:
            request = make_request(number)
            started = time.perf_counter()
            try:
                status, body = request_once(port, request)
                error = check(number, status, body) if check else None
            except OSError as exc:
                status, error = 0, f"request {number}: {type(exc).__name__}: {exc}"
            elapsed_ms = (time.perf_counter() - started) * 1000
            with lock:
                phase.latencies.append(elapsed_ms)
                phase.statuses[status] += 1
                if error:
                    phase.failures += 1
                    if len(phase.errors) < MAX_ERRORS_KEPT:
                        phase.errors.append(error)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    phase.elapsed = time.perf_counter() - started
    return phase
