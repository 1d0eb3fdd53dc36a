# Incident Portal image: gunicorn serving the Flask app, migrations run at start.
# Build: docker build -t incident-portal .   (or: make image)

# --- build stage: compile wheels for every requirement -----------------------------------
FROM python:3.12-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
# Compilers only here, for any requirement without a wheel for this platform.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY requirements.txt .
RUN pip wheel --wheel-dir /wheels -r requirements.txt

# --- final stage: the wheels, the app, a non-root user; no compilers --------------------
FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    APP_ENV=production \
    PORT=5000 \
    LOG_DIR=/app/logs
RUN groupadd --system --gid 10001 portal \
    && useradd --system --uid 10001 --gid portal --home-dir /app portal
WORKDIR /app
COPY --from=build /wheels /wheels
COPY requirements.txt .
RUN pip install --no-index --find-links /wheels -r requirements.txt && rm -rf /wheels
COPY --chown=portal:portal . .
RUN mkdir -p /app/data /app/logs && chown portal:portal /app/data /app/logs
USER 10001:10001
VOLUME ["/app/data", "/app/logs"]
EXPOSE 5000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '5000'), timeout=4)"]
ENTRYPOINT ["portal/deploy/entrypoint.sh"]
