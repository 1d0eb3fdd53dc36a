"""Start the real app under gunicorn on a free loopback port, for tests and the benchmark."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from portal.config import TESTING_PASSWORD_SALT, TESTING_SECRET_KEY

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_healthy(base_url: str, process: subprocess.Popen, timeout: float = 30,
                       path: str = "/healthz") -> None:
    """Poll ``base_url + path`` until it answers 200; fail if ``process`` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}{path}", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{base_url} did not become healthy in {timeout} s")



def stop(process: subprocess.Popen, timeout: float = 20) -> None:
    """Stop a server gracefully (gunicorn finishes its requests), killing it if it hangs."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def gunicorn(database_url: str, *, workers: int = 2, python: str = sys.executable,
             extra_env: dict[str, str] | None = None, log_path: Path | None = None):
    """Serve ``wsgi:app`` as production does (``portal/deploy/gunicorn.conf.py``) on a
    free port; yields the base URL; stops it afterwards."""
    port = free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "APP_ENV": "development",
           "DATABASE_URL": database_url, "SECRET_KEY": TESTING_SECRET_KEY,
           # The suite's salt, so passwords hashed by the tests verify on the server.
           "SECURITY_PASSWORD_SALT": TESTING_PASSWORD_SALT, "LOG_LEVEL": "WARNING",
           "RATELIMIT_ENABLED": "0", "LOG_DIR": "", "HOST": "127.0.0.1", "PORT": str(port),
           "WEB_CONCURRENCY": str(workers), **(extra_env or {})}
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL
    process = subprocess.Popen(
        [python, "-m", "gunicorn", "-c", "portal/deploy/gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base_url, process)
        yield base_url
    finally:
        stop(process)
        if log_path:
            log.close()
