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

**No job waits for another.** Each job runs in a thread of its own, and each round is
time-boxed: a job that works in batches asks ``time_box().over()`` between them and ends
its round when ``WORKER_ROUND_SECONDS`` have passed (or the worker is stopping), saying it
has more to do, so the next round starts at once with a fresh look at the work. A webhook
receiver that hangs therefore holds the webhook job's thread, never the mail's.

Several workers may run at once. A job either claims its own work so that each piece is
done once (mail claims outbox rows), or is ``exclusive``: then one worker at a time runs it
(a PostgreSQL advisory lock, or a lock file beside the SQLite database) and the others skip
that round.

The same jobs can also run in a web process (``InProcess``; the in-process mail deliverer
is one): the same threads and rounds, woken by that process's own commits instead of
listening or polling.
"""
from __future__ import annotations

import contextlib
import fcntl
import logging
import math
import signal
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Callable, Iterator

from flask import Flask
from sqlalchemy import text

from portal.extensions import db

log = logging.getLogger(__name__)
#: The longest a worker waits after a job failed (a database outage) before trying again.
ERROR_PAUSE = 5.0
#: How long a stopping worker waits for its jobs' rounds to end.
STOP_GRACE = 30.0


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


@dataclass(frozen=True)
class TimeBox:
    """When the current round should end: at ``ends`` (``time.monotonic()``), or at once
    when ``stopping`` is set. Threads a round starts take it along (``time_box()`` is the
    calling thread's)."""

    ends: float = math.inf
    stopping: threading.Event = field(default_factory=threading.Event)

    def over(self) -> bool:
        return self.stopping.is_set() or time.monotonic() >= self.ends


_current = threading.local()


def time_box() -> TimeBox:
    """The time box of the round this thread runs (outside the worker: none, a round then
    runs until its work is done, as ``deliver-mail --once`` wants)."""
    return getattr(_current, "box", None) or TimeBox()


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


class Worker:
    """Runs each of ``jobs`` in a thread of its own until ``stop`` is set (SIGTERM and
    SIGINT set it in ``run``).

    ``start`` starts the threads and ``wake`` runs jobs now; ``loop`` also tells them of
    new work as it arrives — ``waker`` by default listens (PostgreSQL) or polls (SQLite) —
    and, once stopped, waits for their rounds to end.
    """

    def __init__(self, app: Flask, jobs: list[Job], *, waker=None) -> None:
        self.app, self.jobs = app, jobs
        self.stop = threading.Event()
        self.rounds: dict[str, int] = {job.name: 0 for job in jobs}
        self._wakes = {job.name: threading.Event() for job in jobs}
        self._threads: list[threading.Thread] = []
        self._waker = waker

    def run_job(self, job: Job) -> float:
        """One round of ``job``; returns the seconds until it should run again."""
        interval = job.interval_for(self.app)
        with self.app.app_context():
            _current.box = TimeBox(time.monotonic() + self.app.config["WORKER_ROUND_SECONDS"],
                                   self.stop)
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
                _current.box = None
                db.session.remove()
                self.rounds[job.name] += 1

    def _run_rounds(self, job: Job) -> None:
        woken = self._wakes[job.name]
        while not self.stop.is_set():
            woken.clear()  # a wake during the round is kept: the next round starts at once
            wait = self.run_job(job)
            woken.wait(wait)

    def start(self) -> None:
        """Start a thread per job that has none running."""
        alive = {thread.name for thread in self._threads if thread.is_alive()}
        started = [threading.Thread(target=self._run_rounds, args=(job,), daemon=True,
                                    name=f"job-{job.name}")
                   for job in self.jobs if f"job-{job.name}" not in alive]
        self._threads = [thread for thread in self._threads if thread.is_alive()] + started
        for thread in started:
            thread.start()

    def wake(self, names=None) -> None:
        """Run these jobs (all by default) now, or right after their current round."""
        for name in self._wakes if names is None else names:
            if name in self._wakes:
                self._wakes[name].set()

    def join(self, timeout: float = STOP_GRACE) -> None:
        """Stop, and wait up to ``timeout`` seconds for the current rounds to end."""
        self.stop.set()
        self.wake()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("worker: %s did not end its round in %g s", thread.name, timeout)

    def run(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: self.stop.set())
        self.loop()

    def loop(self) -> None:
        """Run the jobs, waking them as work arrives, until ``stop`` is set."""
        waker = self._waker or self._default_waker()
        log.info("worker running: %s", ", ".join(self.rounds) or "no jobs")
        self.start()
        try:
            while not self.stop.is_set():
                # At most a second between looks, so a stop request is seen promptly.
                self.wake(waker.wait(1.0))
        finally:
            waker.close()
            self.join()

    def _default_waker(self):
        with self.app.app_context():
            postgres = db.engine.dialect.name == "postgresql"
        return PostgresWaker(self.app, self.jobs) if postgres else \
            PollingWaker(self.app, self.jobs, self.stop)


class InProcess:
    """The worker's jobs hosted by a web process instead of by ``manage.py worker``: the
    same threads and rounds, woken by ``wake`` (this process's commits) instead of by
    listening or polling."""

    def __init__(self, app: Flask, jobs: list[Job]) -> None:
        self.app = app
        self.worker = Worker(app, jobs)
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the jobs' threads (once per process; again after ``stop``)."""
        with self._lock:
            if self.worker.stop.is_set():  # stopped: let the last rounds end first
                self.worker.join()
                self.worker.stop.clear()
            self.worker.start()

    def wake(self) -> None:
        """Run the jobs now (starting their threads if they are not running)."""
        self.start()
        self.worker.wake()

    def stop(self, timeout: float = 10) -> None:
        """Stop the threads after their current round; wait up to ``timeout`` seconds."""
        self.worker.join(timeout)
