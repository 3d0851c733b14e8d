"""Entry point of the benchmark's own Celery worker (started by bench.jobs, never by hand):
the project's Celery app on a private queue, results not stored, no remote control, and a file
touched when the worker is ready to take tasks.

    python -m bench.worker_main <queue> <concurrency> <ready file>
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    queue, concurrency, ready_file = argv
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty_site.settings")
    import django

    django.setup()
    from celery.signals import worker_ready

    from loyalty_site.celery import app

    app.conf.task_ignore_result = True
    # Tasks this worker sends (a job's chunks) stay on the private queue too.
    app.conf.task_default_queue = queue
    # No remote-control mailbox: nothing of this worker stays behind in Redis.
    app.conf.worker_enable_remote_control = False

    @worker_ready.connect(weak=False)
    def _ready(**kwargs) -> None:
        Path(ready_file).touch()

    app.worker_main(
        [
            "worker",
            "--queues",
            queue,
            "--concurrency",
            concurrency,
            "--pool",
            "prefork",
            "--hostname",
            f"{queue}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "WARNING",
        ]
    )


if __name__ == "__main__":
    main(sys.argv[1:])
