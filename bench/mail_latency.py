"""Mail latency: from the moment ``POST /api/v1/incidents`` returns to the moment the SMTP
server has the reporter's acknowledgement, in both delivery modes.

- ``thread``: the in-process deliverer of each gunicorn worker (``MAIL_DELIVERY_THREAD=1``);
- ``worker``: the web processes only queue (``MAIL_DELIVERY_THREAD=0``) and
  ``python manage.py worker`` delivers (what docker compose runs).

``.venv/bin/python -m bench.mail_latency [--db sqlite|postgres] [--count 40]`` prints the
median, 90th percentile and maximum per mode. The SMTP server is aiosmtpd on loopback,
answering at once: the figures are the app's own delay, not a mail server's.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from aiosmtpd.controller import Controller

from bench.databases import fresh_database
from bench.servers import ROOT, app_environment, gunicorn
from harness.servers import free_port, stop


class Arrivals:
    """The SMTP server's side: when each subject arrived (monotonic clock)."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        import email
        subject = email.message_from_bytes(envelope.content)["Subject"]
        with self.lock:
            self.at.setdefault(subject, time.monotonic())
        return "250 OK"


def _post(base_url: str, token: str, title: str) -> int:
    request = urllib.request.Request(
        f"{base_url}/api/v1/incidents", method="POST",
        data=json.dumps({"title": title, "description": "latency"}).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["id"]


def _token(base_url: str) -> str:
    request = urllib.request.Request(
        f"{base_url}/api/v1/auth/token", method="POST",
        data=json.dumps({"email": "latency@example.com",
                         "password": "latency-bench-2026-long"}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["token"]


def measure(kind: str, mode: str, count: int, log_dir: Path) -> list[float]:
    arrivals = Arrivals()
    smtp_port = free_port()
    controller = Controller(arrivals, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        with fresh_database(kind) as (url, _):
            env = {**app_environment(url), "MAIL_SERVER": "127.0.0.1",
                   "MAIL_PORT": str(smtp_port), "MAIL_TIMEOUT": "10",
                   "MAIL_DELIVERY_THREAD": "1" if mode == "thread" else "0"}
            run = [sys.executable, "manage.py"]
            subprocess.run([*run, "init-db"], cwd=ROOT, env=env, check=True,
                           capture_output=True)
            subprocess.run([*run, "create-user", "latency@example.com", "--username",
                            "latency", "--role", "reporter", "--password",
                            "latency-bench-2026-long"], cwd=ROOT, env=env, check=True,
                           capture_output=True)
            worker = None
            if mode == "worker":
                with open(log_dir / f"worker-{kind}.log", "wb") as log:
                    worker = subprocess.Popen([*run, "worker"], cwd=ROOT, env=env,
                                              stdout=log, stderr=subprocess.STDOUT)
            try:
                with gunicorn("wsgi:app", env, "/healthz",
                              log_dir / f"web-{kind}-{mode}.log") as server:
                    token = _token(server.base_url)
                    returned: dict[str, float] = {}
                    for number in range(count):
                        title = f"latency {mode} {number}"
                        incident_id = _post(server.base_url, token, title)
                        returned[f"[INC-{incident_id}] We have your report: {title}"] = \
                            time.monotonic()
                        time.sleep(0.25)  # one report at a time, as people send them
                    deadline = time.monotonic() + 120
                    while len(set(returned) & set(arrivals.at)) < count \
                            and time.monotonic() < deadline:
                        time.sleep(0.05)
            finally:
                if worker is not None:
                    stop(worker)
        return [arrivals.at[subject] - at for subject, at in returned.items()
                if subject in arrivals.at]
    finally:
        controller.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--count", type=int, default=40)
    args = parser.parse_args(argv)
    log_dir = Path(tempfile.mkdtemp(prefix="mail-latency-"))
    for mode in ("thread", "worker"):
        latencies = sorted(measure(args.db, mode, args.count, log_dir))
        if len(latencies) < args.count:
            print(f"{args.db} {mode}: only {len(latencies)} of {args.count} arrived "
                  f"(logs in {log_dir})")
        if latencies:
            p90 = latencies[int(0.9 * (len(latencies) - 1))]
            print(f"{args.db:8} {mode:7} n={len(latencies)}  median "
                  f"{statistics.median(latencies) * 1000:.0f} ms  p90 {p90 * 1000:.0f} ms  "
                  f"max {latencies[-1] * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
