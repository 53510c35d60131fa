"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`.

Sync workers: each request holds one worker, the database does the concurrency.
Every setting can be overridden from the environment (GUNICORN_*), see docs/deploy.md.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# 4 per core: a PDF report holds its worker for a second or more of CPU, and with as many
# PDFs rendering as workers the answering pages queue behind them (benchmarks/RESULTS.md:
# page p95 of ~7 s with 2 per core while 4 PDFs render, ~0.2 s with 4 per core). Each
# worker is ~260 MB RSS, much of it shared with the master through preload_app.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 4))
# At most half the workers render PDFs at once (assess.render_slots); a download beyond
# that answers 503 "try again in a few seconds", so the answering pages always find a
# free worker. Read by the app (preloaded below) as PDF_RENDER_SLOTS.
os.environ.setdefault("ASSESS_PDF_RENDER_SLOTS", str(max(1, workers // 2)))
worker_class = "sync"
# A PDF renders in about a second; leave room, but free a stuck worker.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 60))
# SIGTERM lets in-flight requests finish for this long before workers are killed.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
keepalive = 5
# Recycle workers now and then so memory stays flat over weeks.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 2000))
max_requests_jitter = 200
# Load the app before forking: workers share the imported code's memory.
preload_app = True
# The access log never shows a path or query string (personal links carry tokens there),
# nor the client address: an address next to the time of a POST could tell who submitted
# which response (docs/privacy.md §1). Failed logins and rate-limit breaches are logged
# with their address on the `assess.security` logger instead.
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
access_log_format = '%(t)s "%(m)s [path hidden]" %(s)s %(b)s %(L)ss'
errorlog = "-"
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_fork(server, worker):
    # Each worker opens its own database connections; never share the parent's.
    from wsgi import app

    engine = app.extensions.get("assess.engine")
    if engine is not None:
        engine.dispose(close=False)
