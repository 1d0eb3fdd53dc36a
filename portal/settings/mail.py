"""Outgoing mail settings: the SMTP server (Flask-Mailman) and the outbox's delivery."""
from __future__ import annotations

from portal.settings.declare import FLAG, NUMBER, TEXT, WHOLE, Area, Setting, Type

#: An empty value is no value: Flask-Mailman then does not log in.
OPTIONAL = Type("text", lambda raw: raw or None, blank_is_default=False)

AREA = Area("Mail", "SMTP and the outbox; delivery is off while `MAIL_SERVER` is empty", (
    Setting("MAIL_SERVER", "", "the SMTP server (empty: messages wait in the outbox)", TEXT),
    Setting("MAIL_PORT", "25", "its port", WHOLE),
    Setting("MAIL_USE_TLS", "0", "STARTTLS (usually port 587)", FLAG),
    Setting("MAIL_USE_SSL", "0", "SMTP over TLS (usually port 465)", FLAG),
    Setting("MAIL_USERNAME", "", "login name at the server (empty: no login)", OPTIONAL),
    Setting("MAIL_PASSWORD", "", "its password", OPTIONAL),
    Setting("MAIL_DEFAULT_SENDER", "incident-portal@localhost",
            "the From: address of every message", TEXT),
    Setting("MAIL_CONNECT_TIMEOUT", "5", "seconds to reach the server (connect, greeting, "
            "login)", NUMBER),
    Setting("MAIL_TIMEOUT", "10", "then seconds to wait for each answer", NUMBER),
    Setting("MAIL_MAX_ATTEMPTS", "8", "attempts before a message is marked failed (an "
            "admin can retry it)", WHOLE),
    Setting("MAIL_RETRY_BASE_SECONDS", "30", "first retry after this many seconds, "
            "doubling each time", WHOLE),
    Setting("MAIL_RETRY_MAX_SECONDS", "3600", "...at most this long", WHOLE),
    Setting("MAIL_MAX_PER_MINUTE", "0", "messages sent a minute at most (0: no limit)",
            WHOLE),
    Setting("MAIL_POLL_SECONDS", "30", "the longest a deliverer sleeps when nothing is due "
            "(it wakes at the next due time, and on new mail)", WHOLE),
    Setting("MAIL_DELIVERY_THREAD", "1", "each web worker delivers in a background "
            "thread (0: leave it to `manage.py worker`)", FLAG),
    Setting("MAIL_CLAIM_TIMEOUT_SECONDS", "60", "a claim on a message not refreshed for "
            "this long (its deliverer died) is taken over", NUMBER),
))
