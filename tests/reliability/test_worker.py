"""The worker process and the in-process deliverer (issue 20, findings 2, 3 and 8): real
processes, killed with SIGKILL where the test says so, against the fault SMTP server."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

from portal.db_types import utcnow
from portal.extensions import db
from portal.incidents import lifecycle
from portal.notifications.deliver import deliver_due
from portal.worker import Job, Worker
from tests.factories import make_user
from tests.processes import app_env, kill, start_process
from tests.reliability.helpers import outbox
from tests.waiting import DEADLINE, wait_until
from harness.servers import gunicorn

pytestmark = pytest.mark.slow


def mail_env(database_url: str, smtp, **extra: str) -> dict[str, str]:
    # A poll interval far longer than any wait below: mail must come by being woken.
    return app_env(database_url, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp.port),
                   MAIL_POLL_SECONDS="300", WORKER_WAKE_POLL_SECONDS="0.2",
                   MAIL_CONNECT_TIMEOUT="2", MAIL_TIMEOUT="5", **extra)


@pytest.mark.parametrize("command", [["worker"], ["deliver-mail"]])
def test_the_worker_wakes_on_new_mail(database_url, smtp, queue, processes, tmp_path,
                                      command):
    """Finding 8: the separate worker slept MAIL_POLL_SECONDS between rounds, so every mail
    waited up to that long. It is woken by new rows (NOTIFY on PostgreSQL, a short indexed
    poll on SQLite)."""
    queue(1)
    processes.append(start_process(command, mail_env(database_url, smtp),
                                   tmp_path / "worker.log"))
    assert smtp.wait_for(1), (tmp_path / "worker.log").read_text()  # it is up and running
    reporter = make_user("reporter")
    lifecycle.create(actor=reporter, title="Woken", description="d")
    db.session.commit()
    assert smtp.wait_for(2), (tmp_path / "worker.log").read_text()
    assert smtp.messages[1]["Subject"].endswith("We have your report: Woken")


def test_a_killed_workers_claims_are_retaken_at_once_with_the_same_message_id(
        database_url, mail_app, smtp, queue, processes, tmp_path):
    """Finding 3: a worker killed mid-batch left its claims for 10 minutes, and the message
    the server had accepted went again with a new Message-ID. On the same host the claims
    of a dead process are released at once; the resend carries the stored Message-ID."""
    queue(3)
    smtp.rules["user0@example.com"] = "hold"
    worker = start_process(["worker"], mail_env(database_url, smtp,
                                                MAIL_CLAIM_TIMEOUT_SECONDS="600"),
                           tmp_path / "worker.log")
    processes.append(worker)
    assert smtp.holding.wait(DEADLINE), (tmp_path / "worker.log").read_text()
    kill(worker)
    smtp.release()  # the server accepts what the dead worker had sent
    assert smtp.wait_for(1)
    assert {m.claimed_by is not None for m in outbox()} == {True}
    with mail_app.app_context():
        assert deliver_due() == 3
    copies = smtp.copies()
    first = outbox()[0].message_id
    assert copies == {m.message_id: (2 if m.message_id == first else 1) for m in outbox()}
    assert {m.status for m in outbox()} == {"sent"}


def test_the_in_process_deliverer_sends_the_backlog_without_new_mail(
        database_url, smtp, queue, tmp_path):
    """Finding 2: the delivery thread started only when a change queued new mail, so mail
    pending at a restart (and retries falling due) waited. It starts with each gunicorn
    worker and wakes at the next due time; here only health checks reach the server."""
    queue(2)
    queue(1, next_attempt_at=utcnow() + timedelta(seconds=2))  # a retry falling due
    env = mail_env(database_url, smtp, MAIL_DELIVERY_THREAD="1")
    with gunicorn(database_url, workers=1, extra_env=env, log_path=tmp_path / "web.log"):
        assert smtp.wait_for(3), (tmp_path / "web.log").read_text()
    assert len(smtp.copies()) == 3


def test_an_exclusive_job_runs_in_one_worker_at_a_time(app):
    """Jobs that do not claim their own work are run by one worker at a time."""
    running, most, rounds = [0], [0], []
    lock = threading.Lock()

    def work() -> float:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.2)
        with lock:
            running[0] -= 1
            rounds.append(1)
        return 0.05

    job = Job(name="exclusive-test", interval=0.05, run=work, exclusive=True)
    workers = [Worker(app, [job]) for _ in range(3)]
    threads = [threading.Thread(target=worker.loop) for worker in workers]
    for thread in threads:
        thread.start()
    # Rounds enough that the three workers had to take turns (each round holds 0.2 s).
    assert wait_until(lambda: len(rounds) >= 5), rounds
    for worker in workers:
        worker.stop.set()
    for thread in threads:
        thread.join(10)
    assert rounds and most[0] == 1


def test_the_worker_without_mail_server_idles_and_stops_on_sigterm(database_url, processes,
                                                                    tmp_path):
    """A compose worker must not crash-loop while mail is not configured; SIGTERM ends it
    cleanly (exit 0)."""
    import signal
    import subprocess

    log = tmp_path / "worker.log"
    worker = start_process(["worker"], app_env(database_url, MAIL_SERVER=""), log)
    processes.append(worker)
    # Without mail the worker still runs its other jobs: wait until it says it runs.
    idling = wait_until(lambda: "worker running:" in log.read_text() or
                        worker.poll() is not None)
    assert idling and worker.poll() is None, log.read_text()
    worker.send_signal(signal.SIGTERM)
    try:
        assert worker.wait(10) == 0, log.read_text()
    except subprocess.TimeoutExpired:
        pytest.fail("the worker did not stop on SIGTERM")


def test_unknown_job_is_one_line(runner):
    result = runner.invoke(args=["worker", "--job", "nope"])
    assert result.exit_code == 1 and "no job named 'nope'" in result.output
