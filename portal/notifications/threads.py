"""One conversation per incident, the notifications' side: every notification names the
incident's first message (``In-Reply-To`` and ``References``), so mail clients show one
thread. That is the mail that reported it when it came in by mail, else the incident's
first notification.

Mail in keeps the reporting mail and stands above this package (it reads the outbox to
tell replies from new mail), so it tells each app how to find that mail
(``start_threads_with``, from ``portal.mailin.threads.init_threads``).
"""
from __future__ import annotations

from typing import Callable

from flask import Flask, current_app
from sqlalchemy import select

from portal.extensions import db
from portal.notifications.models import OutboxMessage
from portal.notifications.reply_addresses import reply_address

#: ``app.extensions`` key: the functions that may know an incident's first message.
FIRST_MESSAGES = "mail_thread_starts"


def start_threads_with(app: Flask, first_message: Callable[[int], str | None]) -> None:
    """Have ``app``'s threads start at ``first_message(incident_id)`` when it names one."""
    app.extensions.setdefault(FIRST_MESSAGES, []).append(first_message)


def thread_root(incident_id: int | None) -> str | None:
    """The Message-ID that starts ``incident_id``'s thread, if any."""
    if incident_id is None:
        return None
    for first_message in current_app.extensions.get(FIRST_MESSAGES, ()):
        root = first_message(incident_id)
        if root is not None:
            return root
    return db.session.scalar(select(OutboxMessage.message_id).where(
        OutboxMessage.incident_id == incident_id).order_by(OutboxMessage.id).limit(1))


def outgoing_headers(message: OutboxMessage) -> dict[str, str]:
    """The headers of one notification besides its own Message-ID: threading, where
    replies go (the recipient's reply address, ``reply_addresses``), and that it was sent
    by a machine (so auto-responders stay quiet)."""
    headers = {"Auto-Submitted": "auto-generated",
               "X-Auto-Response-Suppress": "All"}
    root = thread_root(message.incident_id)
    if root is not None and root != message.message_id:
        headers["In-Reply-To"] = root
        headers["References"] = root
    # The recipient's own reply address: a reply to it proves who wrote it.
    reply_to = reply_address(message.incident_id, message.recipient)
    if reply_to:
        headers["Reply-To"] = reply_to
    return headers
