"""Gunicorn settings for one app machine: ``gunicorn -c deploy/gunicorn.conf.py``.

App processes hold no state (sessions live in PostgreSQL, the cache in Redis), so the load
balancer may send any request to any of them and a dead one loses only its in-flight requests.
"""

import multiprocessing
import os

wsgi_app = "hotline.wsgi:application"
bind = os.environ.get("HOTLINE_BIND", "127.0.0.1:8000")
# Each request is a few queries, CPU-bound in Python: 2 processes per core plus one. Threads (gunicorn's
# gthread worker) because every open staff page keeps one live-update stream (Server-Sent Events,
# docs/notifications.md) that waits on Redis or PostgreSQL and holds its thread for at most
# HOTLINE_LIVE_STREAM_SECONDS before the browser reconnects: workers × threads bounds the open pages a
# machine serves at once, and a sync worker would be blocked by one page.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))  # briefing exports are the slowest pages
graceful_timeout = 30
keepalive = 5  # nginx keeps upstream connections open
# Recycle workers now and then so a slow leak never takes a machine down; jitter avoids all at once.
max_requests = 2000
max_requests_jitter = 200
# Trust X-Forwarded-* only from the load balancer.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "hotline-web"
