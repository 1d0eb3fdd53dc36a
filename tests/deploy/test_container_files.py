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
    # Both stages on the base given as PYTHON_IMAGE, the official slim image by default.
    assert "ARG PYTHON_IMAGE=python:3.12-slim" in text.split("\nFROM ", 1)[0].splitlines()
    assert len(stages) == 2 and all(line.startswith("FROM ${PYTHON_IMAGE}") for line in stages)
    final = text.rsplit("\nFROM ", 1)[1]
    assert "build-essential" not in final  # no compilers in the final image
    for needle in ("USER 10001", "HEALTHCHECK", "/healthz", "PYTHONDONTWRITEBYTECODE=1",
                   "PYTHONUNBUFFERED=1", "APP_ENV=production",
                   'VOLUME ["/app/data", "/app/logs", "/app/backups"]',
                   "portal/deploy/entrypoint.sh"):
        assert needle in final, needle


def test_dockerignore_keeps_secrets_and_state_out():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".venv", ".git", "data", "logs", ".env", "**/__pycache__", "node_modules"} <= ignored


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
    assert "portal-backups:/app/backups" in web["volumes"]  # manage.py backup's archives
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
    assert "$(ENGINE) build --build-arg PYTHON_IMAGE=$(PYTHON_IMAGE) -t $(IMAGE) ." in makefile
    assert "$(ENGINE) save -o $(IMAGE_TAR) $(IMAGE)" in makefile
    if shutil.which("make"):
        # The defaults, not what the caller's environment sets (CI exports PYTHON_IMAGE).
        env = {key: value for key, value in os.environ.items()
               if key not in {"PYTHON_IMAGE", "IMAGE", "IMAGE_TAR", "MAKEFLAGS", "MAKELEVEL"}}
        result = run("make", "-n", "image-tar", "CONTAINER_ENGINE=docker", env=env)
        assert result.returncode == 0
        assert ("portal/deploy/engine.sh build --build-arg PYTHON_IMAGE=python:3.12-slim "
                "-t docker.io/library/incident-portal:latest .") in result.stdout
        assert ("portal/deploy/engine.sh save -o incident-portal.tar "
                "docker.io/library/incident-portal:latest") in result.stdout


def engine_command(engine, *args, path="/usr/bin:/bin"):
    env = {"PATH": path, "CONTAINER_ENGINE": engine}
    result = run("portal/deploy/engine.sh", "--print", *args, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_engine_passes_docker_commands_through_unchanged():
    assert engine_command("docker", "build", "-t", "x", ".") == "docker build -t x ."
    assert engine_command("docker", "save", "-o", "x.tar", "x") == "docker save -o x.tar x"


def test_engine_gives_podman_what_it_needs_here():
    build = engine_command("podman", "build", "-t", "x", ".")
    conf = ROOT / "portal/deploy/containers.conf"
    assert build.startswith(f"CONTAINERS_CONF={conf} podman ")
    assert build.endswith(" build --format docker --network=host "
                          "-v /etc/ssl/certs:/etc/ssl/certs:ro -t x .")
    runc = next((p for p in ("/usr/bin/runc", "/usr/sbin/runc", "/usr/local/bin/runc",
                             "/usr/local/sbin/runc") if os.access(p, os.X_OK)), None)
    if runc:
        assert f" podman --runtime {runc} build " in build
    run_command = engine_command("podman", "run", "--rm", "x")
    assert run_command.endswith(" run --rm x") and "--format" not in run_command
    assert "default_ulimits = []" in conf.read_text()


def test_engine_says_when_there_is_none(tmp_path):
    for tool in ("dirname", "basename"):  # a PATH with neither docker nor podman
        (tmp_path / tool).symlink_to(shutil.which(tool))
    result = run("/bin/sh", "portal/deploy/engine.sh", "name", env={"PATH": str(tmp_path)})
    assert result.returncode == 1
    assert result.stderr.strip() == ("engine.sh: no container engine: install docker or "
                                     "podman (or set CONTAINER_ENGINE)")
