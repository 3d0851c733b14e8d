"""Helpers that tie side work to the end of a database transaction."""

from __future__ import annotations

from typing import Any

from django.db import transaction


def enqueue_on_commit(task: Any, *args: Any, **kwargs: Any) -> None:
    """Send a Celery task once the surrounding transaction commits (at once when there is none)."""
    transaction.on_commit(lambda: task.delay(*args, **kwargs))
