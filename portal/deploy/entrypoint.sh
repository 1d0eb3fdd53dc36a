#!/bin/sh
# Container entrypoint: migrate, optionally seed demo data, then run the given command
# (gunicorn by default; the compose worker runs `python manage.py worker`).
set -e
python manage.py init-db
if [ "${SEED_DEMO:-0}" = "1" ]; then
    python manage.py seed --if-empty
fi
if [ "$#" -eq 0 ]; then
    set -- gunicorn -c portal/deploy/gunicorn.conf.py wsgi:app
fi
exec "$@"
