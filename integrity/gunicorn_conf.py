"""gunicorn settings for every deployment: ``gunicorn -c python:integrity.gunicorn_conf wsgi:app``.

The access log names the request and its outcome, never the client address or user agent.
"""

from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger

from integrity.logs import ACCESS_LOG_FORMAT, install_privacy_filters


class AccessLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger, with an access-log record that holds only what ACCESS_LOG_FORMAT
    prints. gunicorn's own puts the client address, every request and response header and
    the whole WSGI environment in each record's arguments, where a handler could find them;
    building that costs more than the rest of the log line on a busy route, too."""

    def atoms(self, resp: Any, req: Any, environ: dict[str, Any],
              request_time: timedelta) -> dict[str, Any]:
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        return {"m": environ.get("REQUEST_METHOD"), "U": environ.get("PATH_INFO"), "s": status,
                "B": getattr(resp, "sent", None),
                "M": request_time.seconds * 1000 + request_time.microseconds // 1000}


accesslog = "-"
errorlog = "-"
loglevel = "info"
access_log_format = ACCESS_LOG_FORMAT
logger_class = AccessLogger
# Requests from the reverse proxy carry no forwarded address that anything here would read.
forwarded_allow_ips = ""
proxy_allow_ips = ""
worker_class = "gthread"
threads = 4
timeout = 120


def on_starting(_server: object) -> None:
    install_privacy_filters()


def post_fork(_server: object, _worker: object) -> None:
    install_privacy_filters()


def post_worker_init(worker: Any) -> None:
    """Each worker watches that a scheduler runs, and tells the administrators when none has
    for 10 minutes (docs/notifications.md): the scheduler cannot say so itself."""
    from integrity.notifications.health import Watchdog

    watchdog = Watchdog(worker.wsgi)
    watchdog.start()
    worker.integrity_watchdog = watchdog


def worker_exit(_server: object, worker: Any) -> None:
    watchdog = getattr(worker, "integrity_watchdog", None)
    if watchdog is not None:
        watchdog.stop()

# No control socket in the home folder: several instances may run on one machine.
control_socket_disable = True
