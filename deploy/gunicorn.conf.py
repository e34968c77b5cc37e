"""gunicorn's settings for an app host behind nginx (`gunicorn -c deploy/gunicorn.conf.py`; the systemd unit and
`python -m bench load` use it), sized for the job nginx leaves it: short requests (pages, autosaves) only.

Threads (gthread) rather than sync workers: a request spends much of its time waiting for the database, and a thread
waiting holds no CPU; one process per core keeps the GIL from serialising the rest. nginx keeps connections to
gunicorn open (upstream keepalive), so the keep-alive here outlasts nginx's idle connections.
Environment: GUNICORN_BIND (127.0.0.1:8000), GUNICORN_WORKERS (one per CPU core), GUNICORN_THREADS (8),
GUNICORN_CONTROL_SOCKET (under PLATFORM_DATA_DIR, never the user's home), GUNICORN_ACCESS_LOG and
GUNICORN_ERROR_LOG ("-": the journal via standard output/error).
"""

import os
from pathlib import Path

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
chdir = str(Path(__file__).resolve().parents[1] / "platform")
wsgi_app = "webapp.wsgi:application"
worker_class = "gthread"
workers = int(os.environ.get("GUNICORN_WORKERS", os.cpu_count() or 2))
threads = int(os.environ.get("GUNICORN_THREADS", 8))
keepalive = 75
timeout = 30
graceful_timeout = 30
backlog = 2048
control_socket = os.environ.get(
    "GUNICORN_CONTROL_SOCKET",
    str(
        Path(os.environ.get("PLATFORM_DATA_DIR", Path(chdir).parent / "var")) / f"gunicorn-{bind.replace(':', '-')}.ctl"
    ),
)
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
access_log_format = '%(h)s "%(r)s" %(s)s %(B)s %(M)sms'
