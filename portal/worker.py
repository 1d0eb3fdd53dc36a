"""``python manage.py worker``: one process for the app's background jobs.

A job is registered by the module that owns the work, in its ``register_job()``, which
``create_app`` calls (``register(Job(...))``; registering a name again replaces the job,
so every app of a process registers the same ones). The worker runs each job
when it is due — at most ``interval`` after its last run, sooner when the job's last run
said so (it returns the seconds until it has work again) — and wakes a job early when new
work arrives:

- on PostgreSQL through ``LISTEN``: the transaction that writes the work sends ``NOTIFY
  <channel>``, which the server delivers when it commits;
- on SQLite by polling the job's ``ready`` query (cheap and indexed) every
  ``WORKER_WAKE_POLL_SECONDS``.

Several workers may run at once. A job either claims its own work so that each piece is
done once (mail claims outbox rows), or is ``exclusive``: then one worker at a time runs it
(a PostgreSQL advisory lock, or a lock file beside the SQLite database) and the others skip
that round.

The same loop can also run in a daemon thread of a web process (``InProcess``; the
in-process mail deliverer is one), woken by that process's own commits instead.
"""
from __future__ import annotations

import contextlib
import fcntl
import logging
import signal
import threading
import time
import zlib
from dataclasses import dataclass
from typing import Callable, Iterator

from flask import Flask
from sqlalchemy import text

from portal.extensions import db

log = logging.getLogger(__name__)
#: The longest a worker waits after a job failed (a database outage) before trying again.
ERROR_PAUSE = 5.0


@dataclass(frozen=True)
class Job:
    """A periodic job. ``run`` does one round in an app context and may return the seconds
    until it next has work (``None``: its interval)."""

    name: str
    #: Seconds between rounds at most (a number, or read from the app's config).
    interval: float | Callable[[Flask], float]
    run: Callable[[], float | None]
    #: PostgreSQL ``NOTIFY`` channel that wakes the job early.
    channel: str | None = None
    #: SQLite: a quick query telling whether new work waits (polled).
    ready: Callable[[], bool] | None = None
    #: Whether the job runs in this app (e.g. mail needs ``MAIL_SERVER``).
    enabled: Callable[[Flask], bool] = lambda app: True
    #: One worker at a time runs it (for jobs that do not claim their work).
    exclusive: bool = False

    def interval_for(self, app: Flask) -> float:
        return float(self.interval(app) if callable(self.interval) else self.interval)


JOBS: dict[str, Job] = {}


def register(job: Job) -> Job:
    """Add ``job`` to the worker (registering a name again replaces it)."""
    JOBS[job.name] = job
    return job


def enabled_jobs(app: Flask, names: list[str] | None = None) -> list[Job]:
    jobs = [JOBS[name] for name in names] if names else list(JOBS.values())
    return [job for job in jobs if job.enabled(app)]


@contextlib.contextmanager
def exclusively(name: str) -> Iterator[bool]:
    """Yield whether this process holds the job's lock (held until the block ends)."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        key = zlib.crc32(f"incident-portal:job:{name}".encode())
        with engine.connect() as connection:
            held = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:key)"),
                                          {"key": key}))
            try:
                yield held
            finally:
                if held:
                    connection.scalar(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
        return
    path = engine.url.database
    if not path or path == ":memory:":
        yield True  # one process owns an in-memory database
        return
    with open(f"{path}.job-{name}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


class PostgresWaker:
    """Waits on ``LISTEN`` for the jobs' channels, on a connection of its own."""

    def __init__(self, app: Flask, jobs: list[Job]) -> None:
        self.app = app
        self.channels = {job.channel: job.name for job in jobs if job.channel}
        self.connection = None
        self.retry_at = 0.0  # after a failure, reconnect no sooner than this

    def _connect(self):
        with self.app.app_context():
            pooled = db.engine.raw_connection()
        connection = pooled.driver_connection  # the psycopg connection
        pooled.detach()  # ours for good, outside the pool
        connection.autocommit = True
        for channel in self.channels:
            connection.execute(f"LISTEN {channel}")
        return connection

    def wait(self, timeout: float) -> set[str]:
        """Block up to ``timeout`` seconds; return the names of the jobs notified."""
        if not self.channels:
            time.sleep(timeout)
            return set()
        if self.connection is None and time.monotonic() < self.retry_at:
            time.sleep(timeout)
            return set()
        try:
            if self.connection is None:
                self.connection = self._connect()
                # Work may have arrived while we were not listening: look once.
                return set(self.channels.values())
            woken = {self.channels.get(notice.channel)
                     for notice in self.connection.notifies(timeout=timeout, stop_after=1)}
            woken |= {self.channels.get(notice.channel)
                      for notice in self.connection.notifies(timeout=0)}
            return woken - {None}
        except Exception as exc:  # noqa: BLE001 - the database went away: retry later
            log.warning("worker: cannot listen for new work (jobs still run on their "
                        "schedule): %s: %s", type(exc).__name__, str(exc).strip()[:200])
            self.close()
            self.retry_at = time.monotonic() + ERROR_PAUSE
            return set()

    def close(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(Exception):
                self.connection.close()
            self.connection = None


class PollingWaker:
    """SQLite: asks each job's ``ready`` query every ``WORKER_WAKE_POLL_SECONDS``."""

    def __init__(self, app: Flask, jobs: list[Job], stop: threading.Event) -> None:
        self.app, self.stop = app, stop
        self.jobs = [job for job in jobs if job.ready]
        self.poll = app.config["WORKER_WAKE_POLL_SECONDS"]

    def wait(self, timeout: float) -> set[str]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if self.stop.wait(min(self.poll, left)):
                return set()
            if not self.jobs:
                continue
            with self.app.app_context():
                try:
                    woken = {job.name for job in self.jobs if job.ready()}
                except Exception as exc:  # noqa: BLE001 - a busy or absent database
                    log.warning("worker: cannot look for new work: %s", type(exc).__name__)
                    woken = set()
                finally:
                    db.session.remove()
            if woken:
                return woken
        return set()

    def close(self) -> None:
        pass


class EventWaker:
    """In a web process: the jobs wake when ``set`` is called (a commit of this process
    queued work for them); nothing is polled or listened to."""

    def __init__(self, jobs: list[Job]) -> None:
        self.names = {job.name for job in jobs}
        self.event = threading.Event()

    def set(self) -> None:
        self.event.set()

    def wait(self, timeout: float) -> set[str]:
        if not self.event.wait(timeout):
            return set()
        self.event.clear()
        return set(self.names)

    def close(self) -> None:
        pass


class Worker:
    """Runs ``jobs`` until ``stop`` is set (SIGTERM and SIGINT set it in ``run``).

    ``waker`` tells it of new work; by default it listens (PostgreSQL) or polls (SQLite).
    """

    def __init__(self, app: Flask, jobs: list[Job], *, waker=None) -> None:
        self.app, self.jobs = app, jobs
        self.stop = threading.Event()
        self.rounds: dict[str, int] = {job.name: 0 for job in jobs}
        if waker is None:
            with app.app_context():
                postgres = db.engine.dialect.name == "postgresql"
            waker = PostgresWaker(app, jobs) if postgres else \
                PollingWaker(app, jobs, self.stop)
        self.waker = waker

    def run_job(self, job: Job) -> float:
        """One round of ``job``; returns the seconds until it should run again."""
        interval = job.interval_for(self.app)
        with self.app.app_context():
            try:
                with (exclusively(job.name) if job.exclusive
                      else contextlib.nullcontext(True)) as mine:
                    wait = job.run() if mine else None
                return interval if wait is None else max(0.05, min(interval, wait))
            except Exception:  # noqa: BLE001 - the worker must outlive a bad moment
                log.exception("worker: job %s failed", job.name)
                db.session.rollback()
                return min(interval, ERROR_PAUSE)
            finally:
                db.session.remove()
                self.rounds[job.name] += 1

    def run(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.stop.set())
        self.loop()

    def loop(self) -> None:
        due = {job.name: 0.0 for job in self.jobs}
        log.info("worker running: %s", ", ".join(due) or "no jobs")
        try:
            while not self.stop.is_set():
                for job in self.jobs:
                    if due[job.name] <= time.monotonic() and not self.stop.is_set():
                        due[job.name] = time.monotonic() + self.run_job(job)
                # Wake at least every second, so a stop request is seen promptly.
                timeout = max(0.0, min(min(due.values(), default=1.0) - time.monotonic(), 1.0))
                for name in self.waker.wait(timeout):
                    due[name] = 0.0
        finally:
            self.waker.close()


class InProcess:
    """The worker's loop hosted by a daemon thread of a web process instead of by
    ``manage.py worker``: the same rounds, waits and error pauses, woken by ``wake``."""

    def __init__(self, app: Flask, jobs: list[Job], *, name: str) -> None:
        self.app, self.name = app, name
        self.waker = EventWaker(jobs)
        self.worker = Worker(app, jobs, waker=self.waker)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the thread (once per process; again after ``stop``)."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self.worker.stop.clear()
                self._thread = threading.Thread(target=self.worker.loop, name=self.name,
                                                daemon=True)
                self._thread.start()

    def wake(self) -> None:
        """Run the jobs now (starting the thread if it is not running)."""
        self.start()
        self.waker.set()

    def stop(self, timeout: float = 10) -> None:
        """Stop the thread after its current round; wait up to ``timeout`` seconds."""
        self.worker.stop.set()
        self.waker.set()
        if self._thread is not None:
            self._thread.join(timeout)
