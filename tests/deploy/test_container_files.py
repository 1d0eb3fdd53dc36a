"""The Dockerfile, compose file and entrypoint, checked without a Docker engine."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.no_db


def run(*args, env=None, timeout=60):
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=timeout,
                          env=env)


def test_hadolint_finds_nothing():
    result = run(str(BIN / "hadolint"), "Dockerfile")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_dockerfile_is_multi_stage_slim_non_root_with_healthcheck():
    text = (ROOT / "Dockerfile").read_text()
    stages = [line for line in text.splitlines() if line.startswith("FROM ")]
    assert len(stages) == 2 and all("python:3.12-slim" in line for line in stages)
    final = text.rsplit("\nFROM ", 1)[1]
    assert "build-essential" not in final  # no compilers in the final image
    for needle in ("USER 10001", "HEALTHCHECK", "/healthz", "PYTHONDONTWRITEBYTECODE=1",
                   "PYTHONUNBUFFERED=1", "APP_ENV=production", 'VOLUME ["/app/data", "/app/logs"]',
                   "portal/deploy/entrypoint.sh"):
        assert needle in final, needle


def test_dockerignore_keeps_secrets_and_state_out():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".venv", ".git", "data", "logs", ".env", "**/__pycache__"} <= ignored


def test_compose_file_matches_the_compose_specification():
    result = run(str(BIN / "check-jsonschema"), "--schemafile",
                 "tests/deploy/compose-spec.json", "docker-compose.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_services():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert "version" not in compose
    services = compose["services"]
    assert set(services) == {"web", "worker", "postgres", "mailcatcher"}
    web = services["web"]
    assert web["ports"] == ["5000:5000"] and web["env_file"] == ".env"
    assert web["restart"] and "healthz" in " ".join(web["healthcheck"]["test"])
    assert "portal-data:/app/data" in web["volumes"]
    assert services["worker"]["command"] == ["python", "manage.py", "worker"]
    assert services["postgres"]["profiles"] == ["postgres"]
    assert services["postgres"]["image"].startswith("postgres:")
    assert "healthcheck" in services["postgres"]
    assert services["mailcatcher"]["profiles"] == ["mailcatcher"]
    assert "mailpit" in services["mailcatcher"]["image"]


def production_env(tmp_path, **extra):
    return {"PATH": f"{BIN}:/usr/bin:/bin", "APP_ENV": "production",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.db'}", "LOG_DIR": "", **extra}


@pytest.mark.slow
@pytest.mark.parametrize("extra,message", [
    ({}, "Error: SECRET_KEY is not set: production needs a secret value in .env"),
    ({"SECRET_KEY": "change-me-to-a-long-random-string",
      "SECURITY_PASSWORD_SALT": "x" * 40},
     "Error: SECRET_KEY is still the example value from .env.example: set a secret value"),
])
def test_entrypoint_exits_with_the_message(tmp_path, extra, message):
    result = run("sh", "portal/deploy/entrypoint.sh", env=production_env(tmp_path, **extra))
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == message


@pytest.mark.slow
def test_gunicorn_refuses_to_serve_without_secrets(tmp_path):
    result = run(str(BIN / "gunicorn"), "-c", "portal/deploy/gunicorn.conf.py", "--bind",
                 "127.0.0.1:0", "wsgi:app", env=production_env(tmp_path), timeout=60)
    assert result.returncode != 0
    assert "Error: SECRET_KEY is not set" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_gunicorn_config_reads_the_environment(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("PORT", "8123")
    settings = {}
    exec((ROOT / "portal/deploy/gunicorn.conf.py").read_text(), settings)
    assert settings["workers"] == 3 and settings["bind"] == "0.0.0.0:8123"
    assert settings["control_socket_disable"] is True and settings["accesslog"] == "-"
    monkeypatch.delenv("WEB_CONCURRENCY")
    settings = {}
    exec((ROOT / "portal/deploy/gunicorn.conf.py").read_text(), settings)
    assert settings["workers"] == min(2 * os.cpu_count() + 1, 9)


def test_make_has_the_image_targets():
    makefile = (ROOT / "Makefile").read_text()
    assert "docker build -t incident-portal" in makefile
    assert "docker save -o incident-portal.tar" in makefile
    if shutil.which("make"):
        result = run("make", "-n", "image-tar")
        assert result.returncode == 0 and "docker save" in result.stdout
