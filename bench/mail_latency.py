"""Mail latency: from the moment ``POST /api/v1/incidents`` returns to the moment the SMTP
server has the reporter's acknowledgement, in both delivery modes.

- ``thread``: the in-process deliverer of each gunicorn worker (``MAIL_DELIVERY_THREAD=1``);
- ``worker``: the web processes only queue (``MAIL_DELIVERY_THREAD=0``) and
  ``python manage.py worker`` delivers (what docker compose runs).

``.venv/bin/python -m bench.mail_latency [--db sqlite|postgres] [--count 40]`` prints the
median, 90th and 95th percentile and maximum per mode. The SMTP server is aiosmtpd on
loopback, answering at once: the figures are the app's own delay, not a mail server's.

``--hanging-webhooks 5000`` measures the worker beside a webhook receiver that hangs
(it accepts connections and never answers): an endpoint with that many deliveries
pending, every report adding one, while the same worker delivers the mail (issue 29: it
took 37 s, and 16.9 s at the median with a receiver down and 4,872 pending). The
endpoint's circuit breaker is kept from opening, so requests hang for the whole run.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

from aiosmtpd.controller import Controller

from bench.databases import fresh_database
from bench.servers import ROOT, app_environment, gunicorn
from harness.servers import free_port, stop

#: How long the mail may take to arrive before the run says what is missing.
DEADLINE = 120


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


class HangingReceiver:
    """A webhook receiver that hangs: it accepts every connection and never answers."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/hooks"
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.held.append(connection)

    def close(self) -> None:
        self.server.close()
        for connection in self.held:
            connection.close()


def pend_webhooks(env: dict[str, str], url: str, count: int) -> None:
    """Register an endpoint at ``url`` (as the admin ``latencyadmin``) and write ``count``
    deliveries waiting for it, each of an incident of its own."""
    os.environ.update(env)
    from sqlalchemy import insert, select

    from portal import create_app
    from portal.auth.models import User
    from portal.db_types import utcnow
    from portal.extensions import db
    from portal.webhooks import service
    from portal.webhooks.models import WebhookDelivery, new_event_id, new_webhook_id

    app = create_app({"MAIL_DELIVERY_THREAD": False})
    with app.app_context():
        admin = db.session.scalar(select(User).where(User.username == "latencyadmin"))
        endpoint, _secret = service.create(admin, url=url, events=["incident.created"])
        db.session.commit()
        now = utcnow()
        db.session.execute(insert(WebhookDelivery), [
            {"endpoint_id": endpoint.id, "event_type": "incident.created",
             "event_id": new_event_id(), "webhook_id": new_webhook_id(),
             "payload": json.dumps({"pending": number}), "incident_id": 1_000_000 + number,
             "status": "pending", "attempts": 0, "created_at": now, "next_attempt_at": now,
             "expires_at": now + timedelta(hours=24)} for number in range(count)])
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def measure(kind: str, mode: str, count: int, log_dir: Path,
            hanging_webhooks: int = 0) -> list[float]:
    arrivals = Arrivals()
    smtp_port = free_port()
    controller = Controller(arrivals, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        with contextlib.ExitStack() as stack, fresh_database(kind) as (url, _):
            env = {**app_environment(url), "MAIL_SERVER": "127.0.0.1",
                   "MAIL_PORT": str(smtp_port), "MAIL_TIMEOUT": "10",
                   "MAIL_DELIVERY_THREAD": "1" if mode == "thread" else "0",
                   "WEBHOOK_ALLOW_ADDRESSES": "127.0.0.1/32"}
            run = [sys.executable, "manage.py"]
            subprocess.run([*run, "init-db"], cwd=ROOT, env=env, check=True,
                           capture_output=True)
            for user, role in (("latency", "reporter"), ("latencyadmin", "admin")):
                subprocess.run([*run, "create-user", f"{user}@example.com", "--username",
                                user, "--role", role, "--password",
                                "latency-bench-2026-long"], cwd=ROOT, env=env, check=True,
                               capture_output=True)
            if hanging_webhooks:
                # The worst case: the breaker never opens, so the webhook job keeps its
                # requests hanging for the whole run (with it, it stops after 5).
                env["WEBHOOK_BREAKER_FAILURES"] = "1000000"
                receiver = HangingReceiver()
                stack.callback(receiver.close)
                pend_webhooks(env, receiver.url, hanging_webhooks)
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
                    deadline = time.monotonic() + DEADLINE
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
    parser.add_argument("--hanging-webhooks", type=int, default=0, metavar="PENDING",
                        help="measure the worker beside a hanging webhook receiver with "
                             "this many deliveries pending")
    args = parser.parse_args(argv)
    log_dir = Path(tempfile.mkdtemp(prefix="mail-latency-"))
    modes = ("worker",) if args.hanging_webhooks else ("thread", "worker")
    for mode in modes:
        latencies = sorted(measure(args.db, mode, args.count, log_dir,
                                   args.hanging_webhooks))
        label = f"{mode}, {args.hanging_webhooks} webhooks hanging" \
            if args.hanging_webhooks else mode
        if len(latencies) < args.count:
            print(f"{args.db} {label}: only {len(latencies)} of {args.count} arrived "
                  f"within {DEADLINE} s (logs in {log_dir})")
        if latencies:
            print(f"{args.db:8} {label:7} n={len(latencies)}  median "
                  f"{statistics.median(latencies) * 1000:.0f} ms  "
                  f"p90 {percentile(latencies, 0.9) * 1000:.0f} ms  "
                  f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms  "
                  f"max {latencies[-1] * 1000:.0f} ms")
    return 0


def percentile(ordered: list[float], fraction: float) -> float:
    """The value below which ``fraction`` of ``ordered`` lies (nearest rank)."""
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


if __name__ == "__main__":
    sys.exit(main())
