"""``make run`` runs the whole system: the Procfile's web server and worker under honcho,
both answering, and both gone after one Ctrl-C.

The command is the one ``make -n run`` prints, so the test runs what the Makefile runs;
only the set-up before it (init-db, seed) is left to the suite's own schema.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from harness.servers import ROOT, free_port, wait_until_healthy
from tests.factories import make_user
from tests.processes import app_env

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(shutil.which("make") is None, reason="needs make")]

#: honcho's lines: ``12:00:01 system   | web.1 started (pid=4242)``, ``12:00:02 worker.1 | ...``
STARTED = re.compile(r"\| (web|worker)\.1 started \(pid=(\d+)\)")


def wait_until(condition, timeout: float, what: str, log: Path) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout} s:\n{log.read_text()}")
        time.sleep(0.1)


def run_command(port: int) -> str:
    """The command ``make run`` ends with, for this interpreter's virtualenv and ``port``."""
    printed = subprocess.run(
        ["make", "--no-print-directory", "-n", "run", f"VENV={sys.prefix}", f"PORT={port}",
         "HOST=127.0.0.1"], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    lines = printed.stdout.replace("\\\n", " ").splitlines()
    return next(line for line in lines if "honcho start" in line)


def living_in_group(pgid: int) -> list[int]:
    """The processes of group ``pgid`` that still run (zombies waiting for a reaper do not)."""
    living = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it ended while we looked
        state, group = fields[0], int(fields[2])
        if group == pgid and state not in ("Z", "X"):
            living.append(int(stat.parent.name))
    return living


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_make_run_serves_runs_the_worker_and_stops_both_on_ctrl_c(database_url, smtp,
                                                                   tmp_path):
    port, log = free_port(), tmp_path / "make-run.log"
    # The in-process deliverer is asked for (as .env.example does) and the Procfile turns
    # it off, so the mail of a report made through the web is sent by the worker, woken
    # by the new outbox rows (the poll interval is far longer than the wait below).
    env = app_env(database_url, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp.port),
                  MAIL_POLL_SECONDS="300", WORKER_WAKE_POLL_SECONDS="0.2",
                  MAIL_DELIVERY_THREAD="1", PYTHONUNBUFFERED="1")
    with open(log, "wb") as out:
        # A session of its own, like a terminal's foreground group: Ctrl-C signals it whole.
        honcho = subprocess.Popen(["sh", "-c", run_command(port)], cwd=ROOT, env=env,
                                  stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", honcho, timeout=60)
        wait_until(lambda: len(STARTED.findall(log.read_text())) == 2, 30,
                   "honcho did not report both processes", log)
        # Each runs in a process group of its own, led by the pid honcho names.
        groups = {name: int(pid) for name, pid in STARTED.findall(log.read_text())}
        assert all(living_in_group(pgid) for pgid in groups.values())

        reporter = make_user("reporter")
        report = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/v1/incidents", method="POST",
            data=json.dumps({"title": "Seen by the worker", "description": "d"}).encode(),
            headers={"Authorization": f"Bearer {reporter.get_auth_token()}",
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(report, timeout=30) as answer:
            assert answer.status == 201
        wait_until(lambda: smtp.sink.to(reporter.email), 30,
                   "the acknowledgement did not arrive", log)
        sent = re.compile(r"^\S+ (\S+)\s*\| .*mail \d+ sent to " + re.escape(reporter.email),
                          re.MULTILINE)
        senders = sent.findall(log.read_text())
        assert senders == ["worker.1"], log.read_text()

        os.killpg(honcho.pid, signal.SIGINT)  # what Ctrl-C sends the foreground group
        honcho.wait(30)
        for name, pgid in groups.items():
            wait_until(lambda pgid=pgid: not living_in_group(pgid), 30,
                       f"{name} outlived honcho", log)
    finally:
        if honcho.poll() is None:
            os.killpg(honcho.pid, signal.SIGKILL)
            honcho.wait(10)
