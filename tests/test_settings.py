"""Settings come from the environment; the dev SECRET_KEY refuses to run with DEBUG=0."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_settings(**env):
    environment = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    environment.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import loyalty_site.settings as s; print(s.DEBUG, s.DATABASES['default']['ENGINE'], "
            "s.CELERY_TASK_ALWAYS_EAGER, s.CACHES['default']['BACKEND'])",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_dev_secret_key_is_refused_without_debug():
    result = load_settings(DEBUG="0")

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_settings_with_a_real_secret_key():
    result = load_settings(DEBUG="0", SECRET_KEY="x" * 50, DATABASE_URL="", REDIS_URL="")

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "False",
        "django.db.backends.sqlite3",
        "True",
        "django.core.cache.backends.locmem.LocMemCache",
    ]


def test_redis_url_switches_broker_and_cache():
    result = load_settings(
        REDIS_URL="redis://127.0.0.1:6379/3",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/whatever",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "True",
        "django.db.backends.postgresql",
        "False",
        "django.core.cache.backends.redis.RedisCache",
    ]
