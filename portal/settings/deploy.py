"""Deployment settings: the reverse proxy in front, and the keys gunicorn, the container's
entrypoint and docker compose read themselves (declared here so the README and
``.env.example`` list them)."""
from __future__ import annotations

from portal.settings.declare import FLAG, TEXT, WHOLE, Area, Setting

GUNICORN = "`portal/deploy/gunicorn.conf.py`"
ENTRYPOINT = "the container's `portal/deploy/entrypoint.sh`"

AREA = Area("Deployment", "the web server, the proxy in front, the container (see "
            "\"Deploy\")", (
    Setting("BEHIND_PROXY", "0", "a TLS reverse proxy sits in front: trust one hop of its "
            "`X-Forwarded-*` headers (scheme, host, client address)", FLAG),
    Setting("PREFERRED_URL_SCHEME", "http", "scheme of links built outside requests",
            TEXT, shown="`http` (`https` in production)"),
    Setting("PORT", "5000", "the port gunicorn listens on", WHOLE, reader=GUNICORN),
    Setting("HOST", "0.0.0.0", "the address gunicorn listens on", TEXT, reader=GUNICORN),
    Setting("BIND", "", "gunicorn's whole bind address, in place of `HOST:PORT`", TEXT,
            reader=GUNICORN),
    Setting("WEB_CONCURRENCY", "", "gunicorn worker processes", WHOLE, reader=GUNICORN,
            shown="2 × cores + 1, at most 9"),
    Setting("GUNICORN_THREADS", "16", "threads per worker (gthread): a slow client holds "
            "one thread, not a worker", WHOLE, reader=GUNICORN),
    Setting("GUNICORN_TIMEOUT", "30", "seconds before gunicorn restarts a stuck worker",
            WHOLE, reader=GUNICORN),
    Setting("SEED_DEMO", "0", "load the demo data into an empty database at start", FLAG,
            reader=ENTRYPOINT),
    Setting("POSTGRES_PASSWORD", "portal", "`docker compose --profile postgres`: the "
            "database's password", TEXT, reader="docker compose"),
))
