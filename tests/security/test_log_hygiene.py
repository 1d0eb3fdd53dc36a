"""Finding 8 in the small: every field of a log line escaped, token paths and query
values redacted; the whole journey against a real server is in ``test_served.py``. And
the mail path (issue 28): neither the pipe nor the IMAP poller logs a reply address's
code or what a message says."""
from __future__ import annotations

import logging
import re

import pytest

from portal.incidents.enums import Status
from portal.log_hygiene import TOKEN_PREFIXES, escape, redact_path, redact_target
from portal.logging_setup import FORMAT, SafeFormatter
from portal.mailin.imap import Poller
from tests.factories import make_incident, make_user
from tests.mailin.helpers import ingest_by_pipe, reply_address_of


def test_every_token_route_of_the_app_is_redacted(app):
    token_rules = [rule.rule for rule in app.url_map.iter_rules() if "<token>" in rule.rule]
    assert token_rules  # /reset/<token>, /tf-setup/<token>
    for rule in token_rules:
        assert rule.split("<token>")[0] in TOKEN_PREFIXES, rule
        assert redact_path(rule.replace("<token>", "s3cr3t.t0ken")) == \
            rule.replace("<token>", "[redacted]")


@pytest.mark.parametrize("target,logged", [
    ("/reset/abc.def?next=/x", "/reset/[redacted]?next=[redacted]"),
    ("/api/v1/users/me?auth_token=tok&page=2", "/api/v1/users/me?auth_token=[redacted]&page=[redacted]"),
    ("/admin/incidents/", "/admin/incidents/"),
])
def test_targets_are_redacted(target, logged):
    assert redact_target(target) == logged


def test_a_record_is_one_line_whatever_it_holds():
    record = logging.LogRecord("portal.test", logging.WARNING, __file__, 1,
                               "path=%s", ("/x\n2026-12-02 00:00:00,000 level=WARNING x\r\x1b[2J",),
                               None)
    record.request_id, record.user_id = "abc\ndef", "-"
    line = SafeFormatter(FORMAT).format(record)
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert "path=/x\\x0a2026-12-02" in line and "request_id=abc\\x0adef" in line


def test_escape_covers_unicode_line_breaks():
    assert escape("a\u2028b\x85c\x7f") == "a\\u2028b\\x85c\\x7f"


# --- the mail path (issue 28): a reply address is a credential, a message is private ------

INBOX = "helpdesk@example.com"


def test_the_mail_path_logs_no_reply_address_code_and_no_message_body(
        app, database_url, monkeypatch, caplog, dovecot):  # noqa: F811
    intake = {"MAIL_INBOX_ADDRESS": INBOX, "MAIL_INBOX_URL": dovecot.url}
    for key, value in intake.items():
        monkeypatch.setitem(app.config, key, value)
    admin, tom = make_user("admin"), make_user("technician", username="tom")
    rita = make_user("reporter", username="rita")
    incident = make_incident(reporter=rita, admin=admin, technician=tom,
                             status=Status.assigned)
    address = reply_address_of(rita, incident)
    code = re.fullmatch(rf"helpdesk\+{incident.id}\.([0-9a-f]{{20}})@example\.com",
                        address).group(1)
    secret = "the door code is 4711"

    def reply(sender: str, n: int) -> bytes:
        return (f"From: {sender}\r\nTo: {address}\r\nSubject: Re: VPN drops\r\n"
                f"Message-ID: <hygiene-{n}@client.example.com>\r\n\r\n{secret}\r\n").encode()

    logged = [ingest_by_pipe(database_url, reply("rita@example.com", 1), **intake),
              ingest_by_pipe(database_url, reply("mallory@example.com", 2), **intake)]
    assert "commented" in logged[0] and "quarantined" in logged[1]
    caplog.set_level(logging.INFO)  # what an operator's log keeps: INFO and above
    dovecot.append(reply("rita@example.com", 3))
    dovecot.append(reply("tom@example.com", 4))
    assert Poller().poll(app) == 2
    logged.append("\n".join(record.getMessage() for record in caplog.records))
    assert "inbox uid" in logged[2]
    for text in logged:
        assert code not in text and secret not in text and address not in text
