"""gunicorn settings for every deployment: ``gunicorn -c python:integrity.gunicorn_conf wsgi:app``.

The access log names the request and its outcome, never the client address or user agent.
"""

from integrity.logs import ACCESS_LOG_FORMAT, install_privacy_filters

accesslog = "-"
errorlog = "-"
loglevel = "info"
access_log_format = ACCESS_LOG_FORMAT
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

# No control socket in the home folder: several instances may run on one machine.
control_socket_disable = True
