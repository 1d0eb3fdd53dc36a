"""gunicorn settings for Incident Portal (``gunicorn -c portal/deploy/gunicorn.conf.py wsgi:app``).

Everything can be overridden from the environment: ``PORT``/``BIND``, ``WEB_CONCURRENCY``,
``GUNICORN_THREADS``, ``GUNICORN_TIMEOUT``.
"""
import multiprocessing
import os

bind = os.environ.get("BIND") or f"{os.environ.get('HOST', '0.0.0.0')}:{os.environ.get('PORT', '5000')}"

# 2 × cores + 1, capped: the app is I/O-light and SQLite prefers few writers.
workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * multiprocessing.cpu_count() + 1, 9))
# Threads, not one request per process: a client that sends its headers and then
# trickles (or never sends) its body holds one thread, not a whole worker, so a handful
# of slow clients cannot stop the server (sync workers: two such clients stopped both).
# Each worker's main loop keeps accepting and answering on its other threads; a buffering
# reverse proxy in front (see README) shields against many more.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
# A worker that stops reporting for this long (a request stuck in the app) is restarted.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5

# Access log to stdout; the app's own structured log goes to stdout and logs/ too.
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms request_id=%({x-request-id}o)s'
# Redacts token paths and query values and escapes control characters in every atom.
logger_class = "portal.deploy.access_log.PortalAccessLogger"
errorlog = "-"

# gunicorn 27 opens a control socket shared by every server of the same user; several
# servers on one host (workers in containers, tests, benchmarks) must not collide.
control_socket_disable = True

# Load the app in the master first: a configuration error (a missing SECRET_KEY in
# production) stops the server at once with its message instead of crash-looping workers.
preload_app = True


def post_worker_init(worker):
    """Start each worker's mail deliverer after the fork (threads do not survive it), so
    mail already waiting goes out without waiting for new mail."""
    # Why here: the floor benchmark's app is served with this file too, without the portal.
    from flask import Flask

    from portal.notifications.deliver import start_delivery

    # The benchmark's floor (a bare WSGI function) is served with this file too.
    if isinstance(worker.wsgi, Flask):
        start_delivery(worker.wsgi)
