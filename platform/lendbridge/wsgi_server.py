"""gunicorn, started from the CLI in production mode."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


class _Gunicorn(BaseApplication):
    def __init__(self, app: Any, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self.application


def run_gunicorn(app: Any, host: str, port: int, workers: int, threads: int = 4) -> None:
    _Gunicorn(
        app,
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "accesslog": None,
            "timeout": 60,
            "graceful_timeout": 20,
            # Connections must not be shared across fork: each worker starts its own pool.
            "post_fork": lambda server, worker: app.extensions["lendbridge"].db.engine.dispose(close=False),
        },
    ).run()
