#!/bin/sh
# Container entrypoint: migrate, optionally seed demo data, then run the given command
# (gunicorn by default; the compose worker runs `python manage.py worker`).
set -e
# .env.example leaves WEB_CONCURRENCY empty (meaning "the default"), but gunicorn reads the
# variable itself and fails on an empty one: only a value may reach it.
if [ -z "${WEB_CONCURRENCY:-}" ]; then
    unset WEB_CONCURRENCY
fi
python manage.py init-db
if [ "${SEED_DEMO:-0}" = "1" ]; then
    python manage.py seed --if-empty
fi
if [ "$#" -eq 0 ]; then
    set -- gunicorn -c portal/deploy/gunicorn.conf.py wsgi:app
fi
exec "$@"
