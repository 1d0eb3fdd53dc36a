"""gunicorn for the benchmark: the app as production runs it, and the floor, on free
loopback ports; the peak memory of their workers."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from portal.config import TESTING_PASSWORD_SALT, TESTING_SECRET_KEY
from harness.servers import free_port, stop, wait_until_healthy

ROOT = Path(__file__).resolve().parents[1]
CONFIG = "portal/deploy/gunicorn.conf.py"
WORKERS = 2
#: TEST-NET-1 (RFC 5737): never routed, so SMTP is down for the whole run and creating an
#: incident is measured with its mail waiting in the outbox, as the design promises.
DEAD_SMTP = {"MAIL_SERVER": "192.0.2.1", "MAIL_PORT": "25", "MAIL_TIMEOUT": "3"}


def app_environment(database_url: str) -> dict[str, str]:
    """The app's settings, for gunicorn and for the in-process app alike (the same
    secret and salt, so a token or password hash made by one is good for the other)."""
    return {"APP_ENV": "development", "DATABASE_URL": database_url,
            "SECRET_KEY": TESTING_SECRET_KEY, "SECURITY_PASSWORD_SALT": TESTING_PASSWORD_SALT,
            "LOG_LEVEL": "WARNING", "LOG_DIR": "", "RATELIMIT_ENABLED": "0", **DEAD_SMTP}


@dataclass
class Server:
    base_url: str
    process: subprocess.Popen

    def worker_pids(self) -> list[int]:
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def peak_rss_mb(self) -> float:
        """The largest VmHWM (peak resident set) among the workers, in MiB."""
        peaks = []
        for pid in self.worker_pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
        return max(peaks, default=0.0)


def worker_threads() -> str:
    """What each worker runs requests on, as the production settings say (``gthread``
    with ``threads``, or one at a time): the benchmark's report names it, since it
    decides how many database connections, and page caches, a worker holds."""
    settings: dict = {}
    exec(compile((ROOT / CONFIG).read_text(), CONFIG, "exec"), settings)  # noqa: S102
    if settings.get("worker_class") == "gthread":
        return f"gthread with {settings.get('threads', 1)} threads each"
    return f"{settings.get('worker_class', 'sync')}, one request at a time each"


@contextlib.contextmanager
def gunicorn(app_spec: str, environment: dict[str, str], health_path: str, log_path: Path):
    """Serve ``app_spec`` with the production gunicorn settings and 2 workers."""
    port = free_port()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **environment,
           "HOST": "127.0.0.1", "PORT": str(port), "WEB_CONCURRENCY": str(WORKERS),
           # To compare thread counts: GUNICORN_THREADS=4 make bench (the report says it).
           **{key: os.environ[key] for key in ("GUNICORN_THREADS",) if key in os.environ}}
    with open(log_path, "ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", CONFIG, app_spec],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        server = Server(f"http://127.0.0.1:{port}", process)
        try:
            wait_until_healthy(server.base_url, process, timeout=60, path=health_path)
            yield server
        finally:
            stop(process)
