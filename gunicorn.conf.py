"""gunicorn settings for the web app: threaded workers, bounded requests, and timeouts.

Threaded (gthread) workers keep serving while some connections are slow: a sync worker is
held by one slow client for the whole `timeout`, so a handful of slow-loris sockets would
stall every sync worker. gunicorn has no header-read deadline, and the kernel may hand several
slow sockets to the same worker, so more slow sockets than one worker's threads can hold that
worker: a buffering reverse proxy (nginx, a cloud load balancer) belongs in front; the README's
deployment section says so. Every value can be overridden
by the environment or on the command line.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "8"))

# A request that takes longer than this is killed (the worker is restarted); the API's slowest
# legitimate call, a 1,000-entry batch, takes well under a second.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))

# Header limits: an oversized request line or header set is a 400 before Django sees it.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190

# Recycle workers now and then so a slow leak in a plugin cannot grow without bound.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = max_requests // 10

accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "warning")


def on_starting(server) -> None:
    """Client tokens are in /take/ paths: redact them in the access and error logs (workers inherit the filter)."""
    from alliance_api.log_redaction import install

    install()


def post_worker_init(worker) -> None:
    """Move what the loaded app allocated out of the collector's reach.

    Django, the URLconf and the plugin registry are long-lived; without this every full
    collection re-scans them, which showed as 30-40 ms stalls at the 95th percentile of
    large answers (e.g. clinician metrics).
    """
    import gc

    from django.urls import get_resolver

    from questionnaires.registry import get_registry

    get_resolver().reverse_dict  # noqa: B018 (builds the URL patterns now, before the freeze)
    get_registry()
    gc.freeze()
