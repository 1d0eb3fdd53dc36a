"""Production behaviour: structured logs without secrets, the proxy, and an environment
built the way the Dockerfile builds it (backups: tests/reliability/test_backup.py)."""
from __future__ import annotations

import http.cookiejar
import re
import subprocess
import urllib.parse
import urllib.request
import venv

import pytest
from tests.factories import PASSWORD, make_user
from harness.servers import ROOT, gunicorn, wait_until_healthy, free_port

LINE = re.compile(r"^\S+ \S+ level=\w+ logger=\S+ request_id=\S+ user_id=\S+ ")


@pytest.mark.slow
def test_logs_are_structured_with_request_and_user_and_never_the_password(database_url,
                                                                            tmp_path):
    user = make_user("reporter")
    logs = tmp_path / "logs"
    with gunicorn(database_url, extra_env={"LOG_DIR": str(logs), "LOG_LEVEL": "INFO"}) as base:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        page = opener.open(f"{base}/login").read().decode()
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        form = urllib.parse.urlencode({"email": user.email, "password": PASSWORD,
                                       "csrf_token": token}).encode()
        opener.open(urllib.request.Request(f"{base}/login", data=form))
        request = urllib.request.Request(f"{base}/admin/mine/",
                                         headers={"X-Request-ID": "trace-me-42"})
        with opener.open(request) as response:
            assert response.headers["X-Request-ID"] == "trace-me-42"
    text = (logs / "incident_portal.log").read_text()
    lines = text.splitlines()
    assert lines and all(LINE.match(line) for line in lines), lines[:3]
    assert re.search(r"request_id=trace-me-42 user_id=%d .*method=GET path=/admin/mine/ status=200 "
                     r"duration_ms=\d+\.\d" % user.id, text)
    assert re.search(r"method=POST path=/login status=302", text)
    assert PASSWORD not in text


def test_proxy_headers_are_trusted_only_when_configured(make_app):
    admin = make_user("admin")
    headers = {"Authorization": f"Bearer {admin.get_auth_token()}",
               "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9",
               "X-Forwarded-Host": "portal.example.com"}
    body = {"title": "Behind the proxy", "description": "d"}
    direct = make_app().test_client().post("/api/v1/incidents", json=body, headers=headers)
    assert direct.headers["Location"].startswith("http://localhost/")
    proxied = make_app(BEHIND_PROXY=True).test_client().post("/api/v1/incidents", json=body,
                                                             headers=headers)
    assert proxied.headers["Location"].startswith("https://portal.example.com/")


@pytest.mark.slow
@pytest.mark.no_db
def test_the_image_environment_builds_migrates_and_serves(tmp_path, database_url):
    """What the Dockerfile does, in a fresh virtualenv: install requirements.txt only,
    run the entrypoint (migrations), serve with the gunicorn config, answer /healthz."""
    if not database_url.startswith("sqlite"):
        pytest.skip("the build-alike check runs once, in the SQLite pass")
    env_dir = tmp_path / "image-venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-r", str(ROOT / "requirements.txt")], capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-3000:]
    port = free_port()
    env = {"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "APP_ENV": "production",
           "SECRET_KEY": "image-secret-" + "k" * 30, "SECURITY_PASSWORD_SALT": "s" * 32,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.db'}", "LOG_DIR": str(tmp_path),
           "SEED_DEMO": "1", "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": "2"}
    server = subprocess.Popen(["sh", "portal/deploy/entrypoint.sh"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", server, timeout=60)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/openapi.json") as response:
            assert response.status == 200
    finally:
        server.terminate()
        try:
            # gunicorn may take its graceful_timeout (30 s) to stop: wait beyond it.
            output = server.communicate(timeout=90)[0].decode()
        except subprocess.TimeoutExpired:
            server.kill()
            output = server.communicate()[0].decode()
            raise AssertionError(f"the server did not stop on SIGTERM:\n{output[-3000:]}")
    assert "Database is up to date." in output and "Seeded 8 users" in output
