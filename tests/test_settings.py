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
        "loyalty_site.core.cache.ReusedClientRedisCache",
    ]


def _database_options(**env) -> str:
    environment = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    environment.update(env)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import loyalty_site.settings as s; "
            "print(sorted(s.DATABASES['default'].get('OPTIONS', {}).items()))",
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_postgresql_binds_on_the_server_and_prepares_unless_turned_off():
    url = "postgres://postgres@127.0.0.1:5432/whatever"

    assert _database_options(DATABASE_URL=url) == (
        "[('prepare_threshold', 5), ('server_side_binding', True)]"
    )
    assert _database_options(DATABASE_URL=url, DB_SERVER_SIDE_BINDING="0") == "[]"
