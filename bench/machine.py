"""The machine a run measured: cores, memory, CPU, OS, Python, PostgreSQL (version and the
settings that move the numbers), Redis, and the code's git commit."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

POSTGRES_SETTINGS = (
    "shared_buffers",
    "work_mem",
    "max_connections",
    "synchronous_commit",
    "fsync",
    "max_wal_size",
)


def _meminfo_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        return None
    return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _postgres() -> dict[str, Any] | None:
    if connection.vendor != "postgresql":
        return None
    info: dict[str, Any] = {}
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        info["version"] = cursor.fetchone()[0]
        for name in POSTGRES_SETTINGS:
            cursor.execute(f"SHOW {name}")
            info[name] = cursor.fetchone()[0]
    info["host"] = connection.settings_dict.get("HOST") or "local socket"
    return info


def _redis() -> dict[str, Any] | None:
    if not settings.REDIS_URL:
        return None
    try:
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        version = client.info("server").get("redis_version")
        client.close()
        return {"version": version}
    except Exception as exc:  # informational only
        return {"error": str(exc)}


def _git() -> dict[str, Any] | None:
    try:
        commit = subprocess.run(  # noqa: S603
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(  # noqa: S603
            ["git", "status", "--porcelain", "--untracked-files=no"],  # noqa: S607
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "uncommitted_changes": bool(dirty)}


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (None where the OS has none)."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def machine_info() -> dict[str, Any]:
    return {
        "load_average_at_start": load_average(),
        "cores": os.cpu_count(),
        "memory_gib": _meminfo_gib(),
        "cpu": _cpu_model(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "postgresql": _postgres(),
        "redis": _redis(),
        "git": _git(),
    }


def machine_summary(machine: dict[str, Any]) -> str:
    """One line for the table's header and the README."""
    postgres = machine.get("postgresql") or {}
    redis_info = machine.get("redis") or {}
    parts = [
        f"{machine.get('cores')} cores ({machine.get('cpu')})",
        f"{machine.get('memory_gib')} GiB RAM",
        f"PostgreSQL {postgres.get('version')} (shared_buffers {postgres.get('shared_buffers')})",
    ]
    if redis_info.get("version"):
        parts.append(f"Redis {redis_info['version']}")
    parts.append(f"Python {machine.get('python')}")
    if machine.get("load_average_at_start"):
        parts.append(f"load average {machine['load_average_at_start'][0]} at start")
    return ", ".join(parts)
