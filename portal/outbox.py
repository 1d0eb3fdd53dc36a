"""The outbox pattern, shared by every kind of message the app sends after a commit: rows
written in the transaction of the change that caused them, claimed by one deliverer at a
time, retried with backoff, ended as ``sent`` or ``failed``.

Mail (``portal.notifications``) and webhooks (``portal.webhooks``) each keep their own
table — an email and an HTTP delivery hold different things — and share the columns
(``OutboxRow``) and the claiming below; a deliverer's round (``Round``) claims batch after
batch:

- a claim names its deliverer (``host:pid:token``); ``claim`` takes due rows with
  ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, a conditional ``UPDATE ... WHERE
  claimed_at IS NULL ... RETURNING`` on SQLite, so with no fault no row goes twice;
- a live deliverer keeps its claims fresh (``Heartbeat``) and re-stamps each row just
  before sending it (``still_ours``), skipping one another deliverer took over meanwhile;
- a claim not refreshed for the claim timeout is taken over by any deliverer's next
  batch, the age judged against the current time; a claim whose process is gone from this
  host (``kill -9``) is released before the next batch of any deliverer on this host
  (``release_dead_claims``), so neither waits for a round to end.

Delivery is therefore at-least-once: each row carries an identifier sent unchanged on
every attempt (a ``Message-ID``, a ``webhook-id``) so receivers can drop a second copy.
"""
from __future__ import annotations

import hashlib
import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import String, Text, or_, select, text, update
from sqlalchemy.orm import Mapped, mapped_column

from portal.db_types import UTCDateTime, utcnow
from portal.extensions import db

log = logging.getLogger(__name__)
#: This host in claims, hashed to a fixed length (claims hold ``host:pid:token``).
HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:12]


class OutboxStatus(StrEnum):
    pending = "pending"   # waiting for its next attempt (claimed_at set while sending)
    sent = "sent"
    failed = "failed"     # given up on: an admin may send it again


class OutboxRow:
    """The columns every outbox table has (a declarative mixin)."""

    status: Mapped[str] = mapped_column(String(10), default=OutboxStatus.pending.value)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Indexed: the claimed rows are few, and the heartbeat and the release of dead
    #: deliverers' claims look them up by it among every row ever sent.
    claimed_by: Mapped[str | None] = mapped_column(String(64), index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def notify_workers(session, channel: str) -> None:
    """Wake the workers listening on ``channel`` when this transaction commits
    (PostgreSQL's NOTIFY is delivered at commit, and never for a rollback); SQLite
    workers poll instead."""
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text(f"NOTIFY {channel}"))


def new_claim_token() -> str:
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:16]}"


def due(model, due_by: datetime, now: datetime, timeout: timedelta):
    """The condition of a row that may be claimed: due by ``due_by``, and free or held by
    a claim not refreshed since ``now - timeout``."""
    return ((model.status == OutboxStatus.pending.value)
            & (model.next_attempt_at <= due_by)
            & or_(model.claimed_at.is_(None), model.claimed_at < now - timeout))


def claim(model, limit: int, timeout: timedelta, *, due_by: datetime | None = None,
          where=None, token: str | None = None) -> tuple[list, str]:
    """Claim up to ``limit`` rows of ``model`` due by ``due_by`` (default: now) and meeting
    ``where``, taking over claims older than ``timeout`` as of now; commits the claim.
    Returns the rows, oldest due first, and the claim's token (``token``, or a new one)."""
    now, token = utcnow(), token or new_claim_token()
    condition = due(model, due_by or now, now, timeout)
    if where is not None:
        condition = condition & where
    due_ids = (select(model.id).where(condition)
               .order_by(model.next_attempt_at, model.id).limit(limit))
    stamp = dict(claimed_at=now, claimed_by=token)
    if db.engine.dialect.name == "postgresql":
        ids = list(db.session.scalars(due_ids.with_for_update(skip_locked=True)))
        if ids:
            db.session.execute(update(model).where(model.id.in_(ids)).values(**stamp))
    else:
        # One UPDATE under SQLite's write lock: the due condition is checked again as rows
        # are claimed, so a row another deliverer just claimed is skipped.
        ids = list(db.session.scalars(
            update(model).where(model.id.in_(due_ids.scalar_subquery()), condition)
            .values(**stamp).returning(model.id)
            .execution_options(synchronize_session=False)))
    db.session.commit()
    if not ids:
        return [], token
    return list(db.session.scalars(select(model).where(model.id.in_(ids))
                                   .order_by(model.next_attempt_at, model.id))), token


class Round:
    """One deliverer's round over an outbox table, claiming batch after batch under one
    token that one ``Heartbeat`` keeps fresh.

    Before each batch (``claim``) the claims of this host's dead deliverers are released,
    and a claim is judged stale against the current time, so however long the round lasts
    (a backlog, a slow server) a dead deliverer's rows wait at most the claim timeout, and
    on this host at most one batch. A row is due when it was due as the round started: a
    retry falls in the next round, so each row is tried at most once per round. Leaving
    the block with an exception gives back what the round still holds (``release``).
    """

    def __init__(self, model, timeout: timedelta) -> None:
        self.model, self.timeout = model, timeout
        self.started, self.token = utcnow(), new_claim_token()
        self._heartbeat = Heartbeat(model, self.token, timeout.total_seconds() / 3)

    def claim(self, limit: int, where=None) -> list:
        """The next batch: up to ``limit`` due rows meeting ``where``; commits the claim."""
        release_dead_claims(self.model)
        rows, _ = claim(self.model, limit, self.timeout, due_by=self.started, where=where,
                        token=self.token)
        return rows

    def __enter__(self) -> Round:
        self._heartbeat.__enter__()
        return self

    def __exit__(self, kind, _exc, _traceback) -> None:
        self._heartbeat.__exit__()
        if kind is not None:
            release(self.model, self.token)


def _process_gone(pid: int) -> bool:
    """Whether ``pid`` no longer runs on this host (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return False


def release_dead_claims(model) -> int:
    """Release the claims of this host's deliverers whose process is gone; commits."""
    owners = db.session.scalars(select(model.claimed_by).distinct().where(
        model.claimed_by.is_not(None), model.claimed_by.like(f"{HOST}:%"),
        model.status == OutboxStatus.pending.value)).all()
    dead = [owner for owner in owners
            if owner.split(":")[1].isdigit() and _process_gone(int(owner.split(":")[1]))]
    if not dead:
        return 0
    released = db.session.execute(
        update(model).where(model.claimed_by.in_(dead),
                            model.status == OutboxStatus.pending.value)
        .values(claimed_at=None, claimed_by=None)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    log.warning("released %d claims on %s of deliverers that died", released,
                model.__tablename__)
    return released


class Heartbeat:
    """Keeps a claim fresh from a thread of its own (its own connection) while a batch is
    being sent, so no other deliverer takes it over however slow the receiver is."""

    def __init__(self, model, token: str, interval: float) -> None:
        self.table, self.token, self.interval = model.__table__, token, interval
        self.engine = db.engine
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"{self.table.name}-claim-heartbeat")

    def _run(self) -> None:
        table = self.table
        while not self._stop.wait(self.interval):
            try:
                with self.engine.begin() as connection:
                    connection.execute(update(table).where(table.c.claimed_by == self.token)
                                       .values(claimed_at=utcnow()))
            except Exception as exc:  # noqa: BLE001 - the claim then simply times out
                log.warning("claim heartbeat on %s failed: %s", table.name,
                            type(exc).__name__)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self._stop.set()
        self._thread.join()


def release(model, token: str, where=None) -> None:
    """Best effort after a failed round: give back what this claim still holds (of it,
    the rows meeting ``where``; a row sent but not recorded goes again, with its
    identifier)."""
    condition = model.claimed_by == token
    if where is not None:
        condition = condition & where
    try:
        db.session.rollback()
        db.session.execute(update(model).where(condition)
                           .values(claimed_at=None, claimed_by=None)
                           .execution_options(synchronize_session=False))
        db.session.commit()
    except Exception:  # noqa: BLE001 - the database is away: the claim times out instead
        db.session.rollback()


def still_ours(row, token: str) -> bool:
    """Re-stamp the claim just before sending; False when another deliverer took the row
    over (or it is no longer pending)."""
    model = type(row)
    taken = db.session.execute(
        update(model).where(model.id == row.id, model.claimed_by == token,
                            model.status == OutboxStatus.pending.value)
        .values(claimed_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return taken == 1


def ready(model) -> bool:
    """Whether an unclaimed row is due now (the worker's cheap SQLite poll)."""
    return db.session.scalar(select(model.id).where(
        model.status == OutboxStatus.pending.value, model.next_attempt_at <= utcnow(),
        model.claimed_at.is_(None)).limit(1)) is not None
