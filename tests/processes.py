"""Portal processes a test starts (workers, commands): their environment, starting them
with output to a log file, running a command to its end, and ``kill -9``."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

from harness.servers import ROOT
from portal.config import TESTING_PASSWORD_SALT, TESTING_SECRET_KEY


def app_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a portal process (worker, command) started by a test."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "APP_ENV": "development",
            "DATABASE_URL": database_url, "SECRET_KEY": TESTING_SECRET_KEY,
            "SECURITY_PASSWORD_SALT": TESTING_PASSWORD_SALT, "LOG_LEVEL": "INFO",
            "LOG_DIR": "", **extra}


def start_process(args: list[str], env: dict[str, str], log_path) -> subprocess.Popen:
    with open(log_path, "wb") as log:  # the child keeps its own copy of the descriptor
        return subprocess.Popen([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)


def run(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``manage.py ARGS`` to its end; its exit code and output (text) are returned."""
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def kill(process: subprocess.Popen) -> None:
    """``kill -9``: no cleanup, no goodbye; reaped so its pid is gone."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
