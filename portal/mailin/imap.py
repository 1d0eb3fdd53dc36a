"""Polling the intake mailbox over IMAP (``MAIL_INBOX_URL``), a job of the worker.

Each round reads every message in the folder, hands its bytes to ``pipeline.ingest`` and
then moves it to ``MAIL_INBOX_DONE_FOLDER`` (created if missing). Where moving fails the
message is flagged ``\\Seen`` and its UID remembered, so this process does not read it
again; and whatever reads it again (another worker, a restart) finds its Message-ID
already ingested, so nothing is processed twice. A message whose ingest failed (the
database went away) stays where it is and is read again next round.

The job is ``exclusive``: one worker at a time polls the mailbox.

``MAIL_INBOX_URL``: ``imaps://USER:PASSWORD@HOST:993/FOLDER`` (TLS), ``imap://...:143/...``
(STARTTLS), and ``imap://...?tls=none`` for a local server without TLS (tests, trying it
out). The user and password are percent-encoded (``helpdesk%40example.com``).
"""
from __future__ import annotations

import email.policy
import imaplib
import logging
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from flask import Flask, current_app
from imap_tools import AND, BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.consts import MailMessageFlags
from imap_tools.errors import ImapToolsError

from portal.db_errors import UNAVAILABLE, describe
from portal.extensions import db
from portal.mailin.pipeline import ingest
from portal.worker import ERROR_PAUSE, Job, register

log = logging.getLogger(__name__)
#: Regenerate fetched messages as they came: no refolding of long header lines.
_AS_RECEIVED = email.policy.compat32.clone(max_line_length=0)
#: Messages read in one round at most (the next round takes the rest).
BATCH = 50


class InboxSettingError(ValueError):
    """``MAIL_INBOX_URL`` cannot be read; the message names what is wrong (never the
    password)."""


@dataclass(frozen=True)
class Inbox:
    """Where to poll, read from ``MAIL_INBOX_URL``."""

    security: str      # "tls", "starttls" or "none"
    host: str
    port: int
    username: str
    password: str
    folder: str

    @classmethod
    def from_url(cls, url: str) -> Inbox:
        parts = urlsplit(url)
        if parts.scheme not in ("imap", "imaps"):
            raise InboxSettingError("MAIL_INBOX_URL must start with imaps:// or imap://")
        if not parts.hostname or parts.username is None or parts.password is None:
            raise InboxSettingError("MAIL_INBOX_URL needs a user, a password and a host")
        try:
            port = parts.port
        except ValueError:
            raise InboxSettingError("MAIL_INBOX_URL has a port that is not a number") \
                from None
        if parts.scheme == "imaps":
            security = "tls"
        else:
            security = "none" if parse_qs(parts.query).get("tls") == ["none"] else "starttls"
        return cls(security=security, host=parts.hostname,
                   port=port or (993 if security == "tls" else 143),
                   username=unquote(parts.username), password=unquote(parts.password),
                   folder=unquote(parts.path.lstrip("/")) or "INBOX")

    def connect(self, timeout: float) -> BaseMailBox:
        box_class = {"tls": MailBox, "starttls": MailBoxStartTls,
                     "none": MailBoxUnencrypted}[self.security]
        box = box_class(self.host, self.port, timeout=timeout)
        try:
            return box.login(self.username, self.password, initial_folder=self.folder)
        except BaseException:
            box.client.shutdown()  # a refused login leaves its connection open otherwise
            raise


class Poller:
    """Reads the mailbox; remembers the UIDs it could not move (per UIDVALIDITY)."""

    def __init__(self) -> None:
        self.unmovable: set[tuple[str, str]] = set()

    def poll(self, app: Flask | None = None) -> int:
        """One round; returns how many messages were ingested (duplicates included)."""
        config = (app or current_app).config
        inbox = Inbox.from_url(config["MAIL_INBOX_URL"])
        done_folder = config["MAIL_INBOX_DONE_FOLDER"]
        handled = 0
        with inbox.connect(timeout=config["MAIL_TIMEOUT"]) as box:
            validity = str(box.folder.status(inbox.folder, ["UIDVALIDITY"])["UIDVALIDITY"])
            can_move = self._ensure_folder(box, done_folder)
            uids = [uid for uid in box.uids(AND(all=True))
                    if (validity, uid) not in self.unmovable][:BATCH]
            for uid in uids:
                message = next(box.fetch(AND(uid=uid), mark_seen=False), None)
                if message is None:  # gone meanwhile (another client moved it)
                    continue
                outcome = ingest(message.obj.as_bytes(policy=_AS_RECEIVED))
                handled += 1
                log.info("inbox uid %s: %s", uid, outcome.describe())
                if not (can_move and self._move(box, uid, done_folder)):
                    box.flag(uid, MailMessageFlags.SEEN, True)
                    self.unmovable.add((validity, uid))
        return handled

    @staticmethod
    def _ensure_folder(box: BaseMailBox, name: str) -> bool:
        try:
            if not box.folder.exists(name):
                box.folder.create(name)
            return True
        except Exception as exc:  # noqa: BLE001 - the server refuses: flag instead of move
            log.warning("inbox: cannot create folder %r (%s): processed mail is flagged "
                        "\\Seen instead", name, type(exc).__name__)
            return False

    @staticmethod
    def _move(box: BaseMailBox, uid: str, folder: str) -> bool:
        try:
            box.move(uid, folder)
            return True
        except Exception as exc:  # noqa: BLE001 - flag it instead
            log.warning("inbox: cannot move uid %s to %r (%s): flagged \\Seen", uid, folder,
                        type(exc).__name__)
            return False


def inbox_enabled(app: Flask) -> bool:
    return bool(app.config["MAIL_INBOX_URL"])


#: This process's poller (the worker runs one).
POLLER = Poller()
#: What a round meets when the mailbox or the database is away (refused, cut, timed
#: out, login refused): an outage to report in a line, not a fault in the code.
OUTAGES = (OSError, imaplib.IMAP4.error, ImapToolsError, *UNAVAILABLE)


def poll_round() -> float | None:
    """The worker's round: poll once; the next round comes after the interval. A mailbox
    or database that is away costs one WARNING line naming the cause (its traceback at
    DEBUG), and the next round comes after the worker's error pause."""
    try:
        POLLER.poll()
    except OUTAGES as exc:
        log.warning("inbox: the round failed, trying again in %.0f s: %s", ERROR_PAUSE,
                    describe(exc))
        log.debug("inbox: the failed round's traceback", exc_info=True)
        db.session.rollback()
        return ERROR_PAUSE
    return None


def register_job() -> None:
    """Give ``manage.py worker`` the ``inbox`` job (registering again replaces it)."""
    register(Job(name="inbox", interval=lambda app: app.config["MAIL_INBOX_POLL_SECONDS"],
                 run=poll_round, enabled=inbox_enabled, exclusive=True))
