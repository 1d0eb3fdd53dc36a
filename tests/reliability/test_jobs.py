"""Issue 29, finding 1: webhooks stalled mail. One worker ran its jobs one after another in
one thread, so mail waited while a webhook receiver hung (37 s, and with thousands of
deliveries pending a median of 16.9 s). Here a real worker process sends to a real
receiver that hangs, and mail queued meanwhile reaches the SMTP server while the webhook
is still unanswered."""
from __future__ import annotations

import pytest

from portal.extensions import db
from portal.incidents import lifecycle
from tests.processes import app_env, start_process
from tests.waiting import wait_until
from tests.webhooks.helpers import deliveries

pytestmark = pytest.mark.slow


def test_mail_goes_out_while_a_webhook_hangs(database_url, smtp, register, receiver,
                                             reporter, processes, tmp_path):
    register(receiver.url, events=["incident.created"])
    receiver.hang()
    log = tmp_path / "worker.log"
    processes.append(start_process(["worker", "--job", "mail", "--job", "webhooks"], app_env(
        database_url, MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp.port),
        WEBHOOK_ALLOW_ADDRESSES="127.0.0.1/32", WORKER_WAKE_POLL_SECONDS="0.1",
        MAIL_POLL_SECONDS="300", WEBHOOK_POLL_SECONDS="300",
        # Longer than the test: the webhook stays in flight until the receiver answers.
        WEBHOOK_TIMEOUT_SECONDS="300"), log))
    lifecycle.create(actor=reporter, title="Printer on fire", description="smoke")
    db.session.commit()
    assert receiver.holding.wait(60), log.read_text()   # the webhook is in flight

    lifecycle.create(actor=reporter, title="Mail while it hangs", description="d")
    db.session.commit()
    assert wait_until(lambda: any(m["Subject"].endswith("We have your report: Mail while it "
                                                        "hangs") for m in smtp.messages),
                      timeout=60), log.read_text()
    assert receiver.events == ["held"]   # still unanswered when the mail arrived
    receiver.release()
    assert wait_until(lambda: [d.status for d in fresh_deliveries()] == ["sent", "sent"],
                      timeout=60), log.read_text()
    assert receiver.events[:2] == ["held", "answered"]


def fresh_deliveries():
    db.session.expire_all()
    return deliveries()
