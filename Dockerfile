# Incident Portal image: gunicorn serving the Flask app, migrations run at start.
# Build: docker build -t incident-portal .   (or: make image)
# PYTHON_IMAGE is the base; CI, which cannot pull, passes a local Debian stand-in
# (portal/deploy/offline-base.sh). Production builds keep the official image.
ARG PYTHON_IMAGE=python:3.12-slim

# --- build stage: every requirement installed into a virtualenv ------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# Compilers only here, for any requirement without a wheel for this platform.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY requirements.txt .
# The final stage copies /opt/venv whole, so the image holds the installed packages once
# (no layer of wheels, no pip of its own). Byte-code is left to the final stage, which
# compiles only what the app imports; source maps of bundled JavaScript are not served.
RUN python -m venv --without-pip /opt/venv \
    && python -m pip --python /opt/venv/bin/python install --no-compile -r requirements.txt \
    && find /opt/venv -name '*.map' -delete

# --- final stage: the virtualenv, the app, a non-root user; no compilers ---------------
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    APP_ENV=production \
    PORT=5000 \
    LOG_DIR=/app/logs \
    PATH=/opt/venv/bin:$PATH
RUN groupadd --system --gid 10001 portal \
    && useradd --system --uid 10001 --gid portal --home-dir /app portal
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --chown=portal:portal . .
# Byte-code for what every process imports (the app, its CLI, gunicorn, both database
# drivers), written once here instead of compiled at each start; the rest of the libraries
# stays source only, which keeps the image small. APP_ENV=testing: no secrets, no files.
RUN APP_ENV=testing PYTHONDONTWRITEBYTECODE='' python -c "import wsgi, manage, \
gunicorn.app.wsgiapp, gunicorn.arbiter, gunicorn.workers.sync, gunicorn.glogging, \
sqlalchemy.dialects.sqlite.pysqlite, sqlalchemy.dialects.postgresql.psycopg" \
    && mkdir -p /app/data /app/logs /app/backups \
    && chown portal:portal /app/data /app/logs /app/backups
USER 10001:10001
# The SQLite file and the attachment files; the log; the archives of manage.py backup
# (a volume apart from the data: copy them off the host too).
VOLUME ["/app/data", "/app/logs", "/app/backups"]
EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '5000'), timeout=4)"]
ENTRYPOINT ["portal/deploy/entrypoint.sh"]
