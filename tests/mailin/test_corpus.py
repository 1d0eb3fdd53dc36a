"""The pipe (``manage.py ingest-mail``) on real-world shaped messages: each corpus file
with what a service-desk lead would expect to find afterwards."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.attachments.models import Attachment
from portal.auth.models import User
from portal.extensions import db
from portal.incidents.models import Incident
from tests.mailin.helpers import CORPUS as CORPUS_DIR
from tests.mailin.helpers import counts, last_inbound
from tests.processes import app_env

ROOT = Path(__file__).resolve().parents[2]

#: file → (status, action, what the incident or comment reads, or the reason's words).
CORPUS = [
    ("outlook_html_only.eml", "processed", "created",
     "since this morning the VPN drops every 10 minutes & I have to log in again.\n\n"
     "- Laptop: ThinkPad T14\n- Client: 5.2.1"),
    ("gmail_reply.eml", "processed", "commented",
     "It happened again at 10:25, right after the Teams call started."),
    ("apple_mail_reply.eml", "processed", "commented",
     "Restarting the client did not help – still dropping."),
    ("mobile_signature.eml", "processed", "commented", "Works from home, fails in the office."),
    ("iso2022jp.eml", "processed", "created", "プリンタが開きません。\n3階の複合機です。"),
    ("windows1252.eml", "processed", "created",
     "The “invoice” printer prints € signs as boxes – since Monday."),
    ("rfc2047_subject.eml", "processed", "created",
     "Der Drucker im 3. Stock druckt seit heute früh nicht mehr."),
    ("no_message_id.eml", "processed", "created", "HDMI cable tried twice."),
    ("two_attachments_inline_image.eml", "processed", "created",
     "Saving an invoice shows this dialog:"),
    ("out_of_office.eml", "ignored", None, "Auto-Submitted: auto-replied"),
    ("dsn_bounce.eml", "ignored", None, "bounce"),
    ("from_ourselves.eml", "ignored", None, "our own address incident-portal@localhost"),
    ("malformed.eml", "quarantined", None, "no From address"),
]


@pytest.mark.parametrize("name, status, action, words", CORPUS,
                         ids=[row[0] for row in CORPUS])
def test_corpus_message_lands_where_expected(desk, pipe, name, status, action, words):
    before_inbound, before_outbox = counts()
    code, output = pipe(desk.message(name))
    assert code == 0, output
    row = last_inbound()
    assert (row.status, row.action) == (status, action)
    assert row.raw == desk.message(name)  # kept as it came
    if action == "created":
        incident = db.session.get(Incident, row.incident_id)
        assert incident.id != desk.incident.id
        assert words in incident.description
        assert "<" not in incident.description and "MsoNormal" not in incident.description
    elif action == "commented":
        assert row.incident_id == desk.incident.id
        comment = db.session.get(Incident, desk.incident.id).comments[-1]
        assert (comment.body, comment.author_id, comment.internal) == \
            (words, desk.rita.id, False)
    else:
        assert words in row.reason
        # Nothing answered, nobody told: only the message itself was stored.
        assert counts() == (before_inbound + 1, before_outbox)


@pytest.mark.parametrize("name", ["gmail_reply.eml", "no_message_id.eml"])
def test_a_message_delivered_twice_acts_once(desk, pipe, name):
    """Finding 5 of issue 29: a mail server that delivers again (its first try's answer
    was lost) must not double a comment or an incident. The Message-ID (or, without one,
    the message's digest) is taken once: the copy is answered 0 and changes nothing."""
    code, first = pipe(desk.message(name))
    assert code == 0, first
    after_first = (counts(), len(db.session.get(Incident, desk.incident.id).comments),
                   db.session.scalar(select(func.count(Incident.id))))
    code, again = pipe(desk.message(name))
    assert code == 0 and "already ingested, nothing changed" in again, again
    db.session.expire_all()
    assert (counts(), len(db.session.get(Incident, desk.incident.id).comments),
            db.session.scalar(select(func.count(Incident.id)))) == after_first


@pytest.mark.parametrize("name, title", [
    ("outlook_html_only.eml", "VPN drops every 10 minutes"),
    ("iso2022jp.eml", "プリンタが動きません"),
    ("rfc2047_subject.eml", "Drucker im 3. Stock druckt nicht – dringend"),
    ("windows1252.eml", "Invoice printer"),
])
def test_subjects_become_clean_titles(desk, pipe, name, title):
    pipe(desk.message(name))
    assert db.session.get(Incident, last_inbound().incident_id).title == title


def test_an_unknown_sender_from_an_allowed_domain_gets_a_reporter_account(desk, pipe):
    pipe(desk.message("iso2022jp.eml"))
    taro = db.session.scalar(select(User).where(User.email == "taro@example.jp"))
    assert taro.role_names == {"reporter"} and taro.password is None
    assert db.session.get(Incident, last_inbound().incident_id).reporter_id == taro.id


@pytest.mark.parametrize("name", ["no_message_id.eml", "gmail_reply.eml", "malformed.eml"])
def test_a_second_delivery_changes_nothing(desk, pipe, name):
    raw = desk.message(name)
    pipe(raw)
    first = counts(), len(db.session.get(Incident, desk.incident.id).comments)
    code, output = pipe(raw)
    db.session.expire_all()
    assert code == 0 and "already ingested, nothing changed" in output
    assert (counts(), len(db.session.get(Incident, desk.incident.id).comments)) == first


def _big_message(megabytes: int) -> bytes:
    """A report with a ``megabytes`` MB attachment (base64), built here, not stored."""
    payload = b"QUJD" * (megabytes * 1024 * 1024 // 4 + 1)
    lines = b"\r\n".join(payload[i:i + 76] for i in range(0, len(payload), 76))
    return (b"From: rita@example.com\r\nTo: helpdesk@example.com\r\n"
            b"Subject: Crash dump of the ERP client\r\nMessage-ID: <big-0001@example.com>\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=BIG\r\n\r\n"
            b"--BIG\r\nContent-Type: text/plain\r\n\r\nThe dump is attached.\r\n"
            b"--BIG\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Disposition: attachment; filename=dump.bin\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + lines + b"\r\n--BIG--\r\n")


def test_a_15_mb_message_is_processed_and_kept_whole(desk, pipe):
    raw = _big_message(15)
    assert len(raw) > 15 * 1024 * 1024
    code, _ = pipe(raw)
    row = last_inbound()
    assert (code, row.status, row.action, row.size, len(row.raw)) == \
        (0, "processed", "created", len(raw), len(raw))
    assert "The dump is attached." in db.session.get(Incident, row.incident_id).description


def test_a_message_over_the_size_limit_is_quarantined_with_its_headers(
        desk, pipe, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_INBOX_MAX_BYTES", 1024 * 1024)
    raw = _big_message(2)
    code, output = pipe(raw)
    row = last_inbound()
    assert (code, row.status, row.incident_id, row.size) == (0, "quarantined", None, len(raw))
    assert "over MAIL_INBOX_MAX_BYTES" in row.reason and "quarantined" in output
    assert row.raw.startswith(b"From: rita@example.com") and len(row.raw) < 1024


@pytest.mark.slow
def test_the_pipe_asks_the_mail_server_to_retry_when_the_database_is_unreachable():
    result = subprocess.run(
        [sys.executable, "manage.py", "ingest-mail"], cwd=ROOT, capture_output=True,
        input=(CORPUS_DIR / "no_message_id.eml").read_bytes(), timeout=60,
        env={"PATH": "/usr/bin:/bin", "APP_ENV": "testing",
             "TEST_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    assert result.returncode == 75, result.stderr
    assert b"cannot reach the database, try again later" in result.stderr
    assert b"Traceback" not in result.stderr + result.stdout


@pytest.mark.slow
def test_the_pipe_names_a_database_setting_that_cannot_work(tmp_path):
    """Finding 6 of issue 29: a SQLite path in a folder that does not exist exited 75, so
    the mail server retried a configuration error for days. 78 (EX_CONFIG), one line."""
    missing_folder = tmp_path / "no-such-folder"
    result = subprocess.run(
        [sys.executable, "manage.py", "ingest-mail"], cwd=ROOT, capture_output=True,
        input=(CORPUS_DIR / "no_message_id.eml").read_bytes(), timeout=60,
        env=app_env(f"sqlite:///{missing_folder / 'portal.db'}"))
    assert result.returncode == 78, result.stderr
    assert result.stderr.decode().strip() == (
        f"Error: DATABASE_URL names a SQLite file in {missing_folder}, which is not a folder "
        "that exists: create it or correct the setting")
    assert not missing_folder.exists()


def test_the_pipe_refuses_an_empty_input_in_one_line(pipe):
    code, output = pipe(b"")
    assert code == 1 and output.strip() == "Error: no message on standard input"


def _attachments(incident_id: int) -> list[tuple[str, int, bool]]:
    return sorted((a.filename, a.size, a.comment_id is None) for a in db.session.scalars(
        select(Attachment).where(Attachment.incident_id == incident_id)))


def test_attachments_and_inline_images_become_the_incidents_attachments(desk, pipe):
    code, _ = pipe(desk.message("two_attachments_inline_image.eml"))
    row = last_inbound()
    assert (code, row.action) == (0, "created")
    assert _attachments(row.incident_id) == [
        ("Rechnung März.pdf", 69, True), ("drops.csv", 46, True), ("inline-1.png", 70, True)]
    incident = db.session.get(Incident, row.incident_id)
    assert incident.comments == []  # nothing refused, nothing to say
    assert "The log and the invoice are attached." in incident.description


def test_a_file_over_the_attachment_limit_is_dropped_and_the_comment_says_so(
        desk, pipe, app, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 50)
    raw = desk.message("two_attachments_inline_image.eml").replace(
        b"Subject: Error dialog", f"Subject: Re: [INC-{desk.incident.id}] Error dialog".encode())
    pipe(raw)
    assert last_inbound().action == "commented"
    assert _attachments(desk.incident.id) == [("drops.csv", 46, True)]
    body = db.session.get(Incident, desk.incident.id).comments[-1].body
    assert body.startswith("Saving an invoice shows this dialog:")
    assert "Not attached: inline-1.png" in body and "Not attached: Rechnung März.pdf" in body


def test_a_new_incident_says_in_a_comment_which_files_were_dropped(
        desk, pipe, app, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 50)
    pipe(desk.message("two_attachments_inline_image.eml"))
    incident = db.session.get(Incident, last_inbound().incident_id)
    assert _attachments(incident.id) == [("drops.csv", 46, True)]
    [comment] = incident.comments
    assert comment.author_id == desk.rita.id and comment.body.count("Not attached:") == 2
