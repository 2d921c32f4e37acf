"""Background tasks: one registry, two runners.

Task functions take JSON-able primitives and call one service. `LENDBRIDGE_TASKS=inline`
runs them on a small thread pool inside the server process (embedded mode);
`LENDBRIDGE_TASKS=celery` sends them to Celery workers over Redis. Periodic jobs run from a
scheduler thread inline, or from Celery beat. Nothing is enqueued before its transaction
commits: callers use `uow.after_commit(lambda: runner.enqueue(...))`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from flask import Flask

log = logging.getLogger("lendbridge.tasks")

TaskFn = Callable[..., Any]
REGISTRY: dict[str, TaskFn] = {}


@dataclass(frozen=True)
class Periodic:
    name: str
    every_seconds: float


PERIODIC: list[Periodic] = []


def task(name: str, *, every: float | None = None) -> Callable[[TaskFn], TaskFn]:
    """Register a task function under a stable name (optionally run every N seconds)."""

    def decorate(fn: TaskFn) -> TaskFn:
        REGISTRY[name] = fn
        if every is not None and not any(p.name == name for p in PERIODIC):
            PERIODIC.append(Periodic(name, every))
        return fn

    return decorate


class TaskRunner(Protocol):
    def enqueue(self, name: str, *args: Any) -> None: ...

    def start_scheduler(self) -> None: ...

    def shutdown(self) -> None: ...


class InlineRunner:
    """Runs tasks on a thread pool in this process, each inside the app context."""

    def __init__(self, app: Flask, workers: int = 4) -> None:
        self.app = app
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lendbridge-task")
        self._stop = threading.Event()
        self._scheduler: threading.Thread | None = None

    def run_now(self, name: str, *args: Any) -> Any:
        with self.app.app_context():
            return REGISTRY[name](*args)

    def enqueue(self, name: str, *args: Any) -> None:
        if name not in REGISTRY:
            raise KeyError(f"unknown task {name}")
        self.pool.submit(self._safe_run, name, args)

    def _safe_run(self, name: str, args: tuple[Any, ...]) -> None:
        try:
            self.run_now(name, *args)
        except Exception:
            log.exception("task %s failed", name)

    def start_scheduler(self) -> None:
        if self._scheduler is not None:
            return
        self._scheduler = threading.Thread(target=self._loop, name="lendbridge-scheduler", daemon=True)
        self._scheduler.start()

    def _loop(self) -> None:
        due = {p.name: time.monotonic() for p in PERIODIC}
        while not self._stop.is_set():
            now = time.monotonic()
            for p in PERIODIC:
                if due.get(p.name, now) <= now:
                    due[p.name] = now + p.every_seconds
                    self._safe_run(p.name, ())
            self._stop.wait(0.2)

    def shutdown(self) -> None:
        self._stop.set()
        self.pool.shutdown(wait=True, cancel_futures=False)


class CeleryRunner:
    """Sends tasks to Celery workers (Redis broker); beat runs the periodic ones."""

    def __init__(self, app: Flask, broker_url: str) -> None:
        from celery import Celery, Task

        flask_app = app

        class AppContextTask(Task):
            def __call__(self, *args: Any, **kwargs: Any) -> Any:
                with flask_app.app_context():
                    return self.run(*args, **kwargs)

        self.celery = Celery("lendbridge", broker=broker_url, task_cls=AppContextTask)
        self.celery.conf.update(
            task_acks_late=True,
            task_reject_on_worker_lost=True,
            worker_prefetch_multiplier=4,
            task_ignore_result=True,
            broker_connection_retry_on_startup=True,
        )
        self.register_tasks()

    def register_tasks(self) -> None:
        """Register every task of the registry not yet known to Celery (areas import their
        task modules while the app is wired, after this runner was built)."""
        for name, fn in REGISTRY.items():
            if name not in self.celery.tasks:
                self.celery.task(name=name)(fn)
        self.celery.conf.beat_schedule = {
            p.name: {"task": p.name, "schedule": p.every_seconds} for p in PERIODIC
        }

    def enqueue(self, name: str, *args: Any) -> None:
        self.celery.send_task(name, args=list(args))

    def start_scheduler(self) -> None:
        # Celery beat runs the schedule (`lendbridge worker` starts it).
        return None

    def shutdown(self) -> None:
        return None
