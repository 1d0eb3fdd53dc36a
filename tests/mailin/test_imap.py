"""The IMAP poller against a real dovecot: messages APPENDed to the inbox are processed,
moved to the done folder, and processed once across two pollers and a restart."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.incidents.models import Incident
from portal.mailin.imap import Inbox, InboxSettingError, Poller
from portal.mailin.models import InboundMail
from portal.worker import ERROR_PAUSE, JOBS, Worker
from harness.servers import free_port
from tests.races import race

pytestmark = pytest.mark.slow


def report(n: int) -> bytes:
    return (f"From: rita@example.com\r\nTo: helpdesk@example.com\r\nSubject: Problem {n}\r\n"
            f"Message-ID: <imap-{n}@client.example.com>\r\n"
            "Content-Type: text/plain\r\n\r\nIt broke.\r\n").encode()


def incidents() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Incident.id)))


@pytest.fixture
def polling(app, dovecot, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_INBOX_URL", dovecot.url)
    return dovecot


def test_the_poller_processes_and_moves_what_arrives(desk, polling, app):
    polling.append(report(1))
    polling.append(report(2))
    assert Poller().poll(app) == 2
    assert incidents() == 3  # the desk's one and the two reports
    assert polling.uids("INBOX") == [] and len(polling.uids("Processed")) == 2
    assert Poller().poll(app) == 0  # nothing left


def test_two_pollers_and_a_restart_process_each_message_once(desk, polling, app):
    for n in range(6):
        polling.append(report(n))
    race(app, lambda: Poller().poll(app))
    polling.append(report(0))          # the same message delivered again
    Poller().poll(app)                 # a restarted worker
    assert incidents() == 1 + 6
    assert db.session.scalar(select(func.count(InboundMail.id))) == 6


def test_where_moving_fails_the_message_is_flagged_and_not_read_again(
        desk, polling, app, monkeypatch):
    monkeypatch.setattr(Poller, "_move", staticmethod(lambda box, uid, folder: False))
    polling.append(report(7))
    poller = Poller()
    assert poller.poll(app) == 1
    assert poller.poll(app) == 0       # remembered by its UID
    with polling.mailbox() as box:
        [message] = box.fetch(mark_seen=False)
        assert "\\Seen" in message.flags
    assert incidents() == 2


def test_the_worker_runs_the_inbox_job(desk, polling, app):
    polling.append(report(9))
    worker = Worker(app, [JOBS["inbox"]])
    worker.run_job(JOBS["inbox"])
    assert worker.rounds["inbox"] == 1 and incidents() == 2


def test_a_failed_round_logs_one_line_naming_its_cause(desk, polling, app, monkeypatch,
                                                       caplog):
    """Finding 6 of issue 29: every failed round (the mailbox away, a login refused)
    logged a full traceback. One WARNING line with the cause; the traceback at DEBUG."""
    closed = f"imap://helpdesk:secret@127.0.0.1:{free_port()}/INBOX?tls=none"
    wrong_password = polling.url.replace(":secret@", ":wrong@")
    assert wrong_password != polling.url
    worker = Worker(app, [JOBS["inbox"]])
    for url, cause in ((closed, "ConnectionRefusedError"),
                       (wrong_password, "MailboxLoginError")):
        monkeypatch.setitem(app.config, "MAIL_INBOX_URL", url)
        caplog.clear()
        with caplog.at_level(logging.DEBUG, logger="portal"):
            wait = worker.run_job(JOBS["inbox"])
        said = [record for record in caplog.records if record.levelno >= logging.WARNING]
        assert [record.levelname for record in said] == ["WARNING"], said
        assert cause in said[0].getMessage() and not said[0].exc_info
        assert [record.levelname for record in caplog.records if record.exc_info] == ["DEBUG"]
        assert wait <= ERROR_PAUSE
    monkeypatch.setitem(app.config, "MAIL_INBOX_URL", polling.url)
    polling.append(report(11))
    worker.run_job(JOBS["inbox"])      # and the next round works
    assert incidents() == 2


@pytest.mark.parametrize("url, problem", [
    ("pop3://a:b@host/INBOX", "must start with imaps:// or imap://"),
    ("imaps://host/INBOX", "needs a user, a password and a host"),
    ("imaps://a:b@host:port/INBOX", "port that is not a number"),
])
def test_a_bad_inbox_url_is_named_without_its_password(url, problem):
    with pytest.raises(InboxSettingError, match=problem) as refused:
        Inbox.from_url(url)
    assert ":b@" not in str(refused.value)


@pytest.mark.parametrize("url, expected", [
    ("imaps://helpdesk%40example.com:p%40ss@imap.example.com/INBOX",
     Inbox("tls", "imap.example.com", 993, "helpdesk@example.com", "p@ss", "INBOX")),
    ("imap://u:p@mail:1143/Support%20Desk",
     Inbox("starttls", "mail", 1143, "u", "p", "Support Desk")),
    ("imap://u:p@localhost/?tls=none", Inbox("none", "localhost", 143, "u", "p", "INBOX")),
])
def test_inbox_urls_are_read(url, expected):
    assert Inbox.from_url(url) == expected
