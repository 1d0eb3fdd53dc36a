"""The Docker image, built and run for real with docker or podman (``portal/deploy/engine.sh``).

The image is built once per run (the engine's layer cache makes a rebuild after a code
change take seconds) on ``PYTHON_IMAGE`` when set; otherwise, with podman as root and
debootstrap at hand (CI), on the Debian stand-in of ``portal/deploy/offline-base.sh``;
otherwise on the official ``python:3.12-slim``.

Containers get the environment ``docker-compose.yml`` gives its services, read from that
file: its ``env_file`` (``.env``, written here the way the README tells an operator to
write it: ``.env.example`` with real secrets, the SMTP server and the port), then the
service's ``environment``, its volumes (named volumes of their own) and its command. They
use the host's network instead of the published port, so the worker reaches the SMTP sink
on 127.0.0.1 as it would reach a mail server, and no container networking is needed.

Without an engine that can run containers the tests skip and say why; under CI they fail.
"""
from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml
from dotenv import dotenv_values


from tests.components import missing
from harness.servers import ROOT, free_port, wait_until_healthy

pytestmark = [pytest.mark.container, pytest.mark.slow, pytest.mark.no_db]

ENGINE = str(ROOT / "portal/deploy/engine.sh")
IMAGE = "localhost/incident-portal:test"
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SECRET_KEY_MISSING = "Error: SECRET_KEY is not set: production needs a secret value in .env"
SECRET_KEY_EXAMPLE = ("Error: SECRET_KEY is still the example value from .env.example: "
                      "set a secret value")
#: The most the app (dependencies and code) may add on top of its base image: 137 MB
#: measured on 2026-12-02, of which Pillow (image previews, 22 MB) and holidays (public
#: holidays for the SLA calendar, 13 MB) are the second stage's growth.
MAX_APP_BYTES = 150 * 1000 * 1000


def engine(*args: str, timeout: float = 120, check: bool = True,
           **kwargs) -> subprocess.CompletedProcess:
    """Run ``engine.sh ARGS``; on failure show its output (the engine's message)."""
    result = subprocess.run([ENGINE, *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"engine.sh {shlex.join(args)} exited with "
                             f"{result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def cannot_run(reason: str):
    missing(f"container tests cannot run: {reason}")


def python_image(name: str) -> str:
    """The base to build on (see the module's docstring)."""
    if os.environ.get("PYTHON_IMAGE"):
        return os.environ["PYTHON_IMAGE"]
    if name == "podman" and os.geteuid() == 0 and shutil.which("debootstrap"):
        result = subprocess.run([str(ROOT / "portal/deploy/offline-base.sh")], cwd=ROOT,
                                capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            cannot_run(f"offline-base.sh could not make a base image: {result.stderr[-500:]}")
        return result.stdout.strip().splitlines()[-1]
    return "python:3.12-slim"


@pytest.fixture(scope="module")
def image() -> dict:
    """Build the image; yields its name, its base and the engine."""
    chosen = subprocess.run([ENGINE, "name"], capture_output=True, text=True)
    if chosen.returncode != 0:
        cannot_run(chosen.stderr.strip())
    name = chosen.stdout.strip()
    info = subprocess.run([ENGINE, "info"], capture_output=True, text=True, timeout=60)
    if info.returncode != 0:
        cannot_run(f"{name} does not work here: {info.stderr.strip()[-300:]}")
    base = python_image(name)
    probe = subprocess.run([ENGINE, "run", "--rm", "--entrypoint", "true", base],
                           capture_output=True, text=True, timeout=300)
    if probe.returncode != 0:
        cannot_run(f"{name} cannot run a container of {base}: {probe.stderr.strip()[-300:]}")
    engine("build", "--build-arg", f"PYTHON_IMAGE={base}", "-t", IMAGE, ".", timeout=1200)
    return {"name": IMAGE, "base": base, "engine": name}


class Deployment:
    """Containers and volumes of one compose-like deployment, removed afterwards."""

    def __init__(self, tmp_path: Path, smtp_port: int, **env: str) -> None:
        self.prefix = f"ip-test-{uuid.uuid4().hex[:8]}"
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.tmp_path = tmp_path
        self.containers: list[str] = []
        self.volumes: set[str] = set()
        # .env as the README tells an operator to write it.
        self.dotenv = {**dotenv_values(ROOT / ".env.example"),
                       "SECRET_KEY": secrets.token_urlsafe(48),
                       "SECURITY_PASSWORD_SALT": secrets.token_urlsafe(32),
                       "PORTAL_BASE_URL": self.base_url, "HOST": "127.0.0.1",
                       "PORT": str(self.port), "MAIL_SERVER": "127.0.0.1",
                       "MAIL_PORT": str(smtp_port), "MAIL_TIMEOUT": "5",
                       "WEB_CONCURRENCY": "2", **env}

    def service_env(self, service: str, drop: tuple[str, ...] = ()) -> Path:
        """An env file with what compose gives ``service``: its env_file, then environment."""
        spec = COMPOSE["services"][service]
        env_files = spec.get("env_file", [])
        env_files = [env_files] if isinstance(env_files, str) else env_files
        assert env_files == [".env"], "the test writes .env only"
        values = dict(self.dotenv)
        environment = spec.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) for item in environment)
        values.update({key: str(value) for key, value in environment.items()})
        for key in drop:
            values.pop(key, None)
        path = self.tmp_path / f"{service}-{uuid.uuid4().hex[:6]}.env"
        path.write_text("".join(f"{key}={value}\n" for key, value in values.items()
                                if value is not None))
        return path

    def volume_args(self, service: str) -> list[str]:
        args = []
        for volume in COMPOSE["services"][service].get("volumes", []):
            source, target = volume.split(":", 1)
            name = f"{self.prefix}-{source}"
            self.volumes.add(name)
            args += ["-v", f"{name}:{target}"]
        return args

    def args(self, service: str, drop: tuple[str, ...] = ()) -> list[str]:
        return ["--network=host", "--env-file", str(self.service_env(service, drop)),
                *self.volume_args(service)]

    def start(self, service: str, *command: str) -> str:
        """``docker compose up SERVICE``: detached; its compose command unless given."""
        if not command and "command" in COMPOSE["services"][service]:
            command = compose_command(service)
        name = f"{self.prefix}-{service}-{len(self.containers)}"
        self.containers.append(name)
        engine("run", "-d", "--name", name, *self.args(service), IMAGE, *command)
        return name

    def run(self, service: str, *command: str, drop: tuple[str, ...] = (),
            check: bool = True) -> subprocess.CompletedProcess:
        """``docker compose run --rm SERVICE COMMAND``."""
        return engine("run", "--rm", *self.args(service, drop), IMAGE, *command,
                      check=check, timeout=180)

    def wait_healthy(self, container: str) -> None:
        wait_until_healthy(self.base_url, Running(container), timeout=90)

    def remove(self) -> None:
        for name in self.containers:
            engine("kill", name, check=False)  # no need to wait for a graceful stop
            engine("rm", "-f", name, check=False)
        for name in self.volumes:
            engine("volume", "rm", "-f", name, check=False)


class Running:
    """A container seen as a process (``poll()``), for ``wait_until_healthy``."""

    def __init__(self, container: str) -> None:
        self.container = container
        self.returncode: int | None = None

    def poll(self) -> int | None:
        state = json.loads(engine("inspect", "--format", "{{json .State}}",
                                  self.container).stdout)
        if state["Running"]:
            return None
        self.returncode = state["ExitCode"]
        logs = engine("logs", self.container, check=False)
        raise AssertionError(f"{self.container} exited with {self.returncode}:\n"
                             f"{logs.stdout[-2000:]}\n{logs.stderr[-2000:]}")


def compose_command(service: str) -> list[str]:
    command = COMPOSE["services"][service]["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


@pytest.fixture
def deployment(image, tmp_path, smtp):
    made = []

    def make(**env: str) -> Deployment:
        made.append(Deployment(tmp_path, smtp.port, **env))
        return made[-1]
    yield make
    for each in made:
        each.remove()


def api(base_url: str, method: str, path: str, body: dict | None = None,
        token: str | None = None):
    """One JSON request; returns (status, headers, decoded body)."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{base_url}{path}", method=method, headers=headers,
                                     data=json.dumps(body).encode() if body else None)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read() or b"null")


def token_for(base_url: str, email: str, password: str) -> str:
    status, _, body = api(base_url, "POST", "/api/v1/auth/token",
                          {"email": email, "password": password})
    assert status == 200, body
    return body["token"]


def test_compose_deployment_serves_keeps_its_data_and_the_worker_delivers(deployment, image,
                                                                          smtp):
    site = deployment()
    web = site.start("web")
    site.wait_healthy(web)

    # Not root, and the image's HEALTHCHECK survived the build (docker format) and passes.
    assert engine("exec", web, "id", "-u").stdout.strip() not in ("", "0")
    health = json.loads(engine("image", "inspect", "--format", "{{json .Config.Healthcheck}}",
                               IMAGE).stdout)
    assert health["Test"][0] == "CMD"
    engine("exec", web, *health["Test"][1:])

    # The first admin, the README's way: docker compose run --rm web python manage.py create-user
    password = secrets.token_urlsafe(18)
    created = site.run("web", "python", "manage.py", "create-user", "boss@example.com",
                       "--username", "boss", "--role", "admin", "--password", password)
    assert "Created admin boss <boss@example.com>." in created.stdout
    token = token_for(site.base_url, "boss@example.com", password)
    status, headers, incident = api(site.base_url, "POST", "/api/v1/incidents",
                                    {"title": "Printer on fire in the image",
                                     "description": "Seen from a container."}, token)
    assert status == 201, incident
    assert headers["Location"].startswith(site.base_url)

    engine("restart", web, timeout=120)
    site.wait_healthy(web)
    status, _, again = api(site.base_url, "GET", f"/api/v1/incidents/{incident['id']}",
                           token=token)
    assert status == 200 and again["title"] == "Printer on fire in the image"
    engine("stop", web, timeout=120)

    # The SQLite file lives in the data volume, not in the container.
    assert any(v.endswith(":/app/data") for v in COMPOSE["services"]["web"]["volumes"])
    listing = site.run("web", "ls", "/app/data")
    assert "incident_portal.db" in listing.stdout.split()

    # With the web service stopped, only the worker (compose's command, same image and
    # volumes) can deliver the mail the new incident queued for its reporter.
    assert smtp.sink.messages == []
    worker = site.start("worker")
    deadline = time.monotonic() + 90
    while not smtp.sink.to("boss@example.com") and time.monotonic() < deadline:
        Running(worker).poll()
        time.sleep(0.5)
    mail = smtp.sink.to("boss@example.com")
    assert len(mail) == 1
    assert mail[0]["Subject"].endswith("We have your report: Printer on fire in the image")
    body = mail[0].get_body(preferencelist=("plain",)).get_content()
    assert f"{site.base_url}/incidents/{incident['id']}" in body


@pytest.mark.parametrize("dotenv,message", [
    ({"SECRET_KEY": None}, SECRET_KEY_MISSING),
    ({"SECRET_KEY": dotenv_values(ROOT / ".env.example")["SECRET_KEY"]}, SECRET_KEY_EXAMPLE),
], ids=["missing", "example-value"])
def test_web_refuses_to_start_without_a_real_secret_and_names_it(deployment, dotenv, message):
    site = deployment(**{k: v for k, v in dotenv.items() if v is not None})
    drop = tuple(k for k, v in dotenv.items() if v is None)
    result = site.run("web", drop=drop, check=False)
    assert result.returncode != 0
    lines = (result.stdout + result.stderr).splitlines()
    assert message in lines
    assert "Traceback" not in result.stderr


def test_seed_demo_loads_the_fixtures_once(deployment):
    site = deployment(SEED_DEMO="1")
    web = site.start("web")
    site.wait_healthy(web)
    token = token_for(site.base_url, "ada@example.com", "admin-demo-2026")
    expected = len(json.loads((ROOT / "fixtures/incidents.json").read_text()))
    _, headers, _ = api(site.base_url, "GET", "/api/v1/incidents", token=token)
    assert json.loads(headers["X-Pagination"])["total"] == expected
    engine("restart", web, timeout=120)
    site.wait_healthy(web)
    _, headers, _ = api(site.base_url, "GET", "/api/v1/incidents", token=token)
    assert json.loads(headers["X-Pagination"])["total"] == expected


def test_the_app_adds_less_than_120_mb_to_its_base(image):
    def size(name: str) -> int:
        return int(engine("image", "inspect", "--format", "{{.Size}}", name).stdout)
    added = size(IMAGE) - size(image["base"])
    print(f"the app adds {added / 1e6:.1f} MB to {image['base']}")
    assert 0 < added < MAX_APP_BYTES


def test_make_image_tar_writes_a_file_the_engine_loads(image, tmp_path):
    tar = tmp_path / "incident-portal.tar"
    made = subprocess.run(["make", "image-tar", f"IMAGE={IMAGE}", f"IMAGE_TAR={tar}",
                           f"PYTHON_IMAGE={image['base']}"], cwd=ROOT, capture_output=True,
                          text=True, timeout=1200)
    assert made.returncode == 0, made.stdout + made.stderr
    built = engine("image", "inspect", "--format", "{{.Id}}", IMAGE).stdout.strip()
    engine("rmi", IMAGE)
    try:
        loaded = engine("load", "-i", str(tar), timeout=600)
    finally:
        tar.unlink()  # a few hundred MB
    assert engine("image", "inspect", "--format", "{{.Id}}", IMAGE).stdout.strip() == built, \
        loaded.stdout
    version = engine("run", "--rm", "--entrypoint", "gunicorn", IMAGE, "--version")
    assert "gunicorn" in version.stdout
