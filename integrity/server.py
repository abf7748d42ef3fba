"""``integrity serve``: the application under gunicorn, configured as in production."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from integrity import gunicorn_conf


class Server(BaseApplication):  # type: ignore[misc]
    """gunicorn, embedded: same settings as ``integrity.gunicorn_conf``, plus bind and workers."""

    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        settings = {
            name: getattr(gunicorn_conf, name)
            for name in dir(gunicorn_conf)
            if name in self.cfg.settings and not name.startswith("_")
        }
        settings.update(self.options)
        for key, value in settings.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


def serve(app: Flask, host: str, port: int, workers: int, threads: int,
          hooks: dict[str, Any] | None = None) -> None:
    """Run gunicorn; ``hooks`` are extra server hooks (for example ``post_worker_init``)."""
    Server(app, {"bind": f"{host}:{port}", "workers": workers, "threads": threads,
                 **(hooks or {})}).run()
