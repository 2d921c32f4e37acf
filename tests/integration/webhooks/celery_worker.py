"""A real Celery worker (with beat) for the kill test, on its own queue and a short lease.

    python -m tests.integration.webhooks.celery_worker QUEUE LEASE_SECONDS SCHEDULE_FILE [POOL CONCURRENCY]

Settings come from the LENDBRIDGE_* environment like `lendbridge worker`. The lease is
shortened so the test need not wait 30 s for a killed worker's lease to expire.
"""

from __future__ import annotations

import sys
from datetime import timedelta

from lendbridge.app import create_app
from lendbridge.webhooks.runtime import runtime


def main(
    queue: str, lease_seconds: str, schedule: str, pool: str = "threads", concurrency: str = "4"
) -> None:
    app = create_app()
    runtime(app).lease = timedelta(seconds=float(lease_seconds))
    celery = app.extensions["lendbridge"].tasks.celery
    celery.conf.task_default_queue = queue
    celery.worker_main(
        [
            "worker",
            "--beat",
            f"--schedule={schedule}",
            f"--pool={pool}",
            f"--concurrency={concurrency}",
            "--loglevel=WARNING",
            "-Q",
            queue,
        ]
    )


if __name__ == "__main__":
    main(*sys.argv[1:6])
