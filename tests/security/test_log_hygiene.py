"""Finding 8 in the small: every field of a log line escaped, token paths and query
values redacted; the whole journey against a real server is in ``test_served.py``."""
from __future__ import annotations

import logging

import pytest

from portal.log_hygiene import TOKEN_PREFIXES, escape, redact_path, redact_target
from portal.logging_setup import FORMAT, SafeFormatter


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
