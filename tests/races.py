"""Races for the concurrency tests: the same work in several threads released at once,
each in its own app context and database session, as two workers would run it
(``race``); and, for the optimistic lock, racers made to read the same version before
any of them writes (``read_together``) or always overtaken (``someone_else_first``)."""
from __future__ import annotations

import contextlib
import threading
from typing import Callable

from sqlalchemy import event, update

from portal.extensions import db
from portal.incidents.models import Incident


def race(app, work: Callable[[], object], racers: int = 2, timeout: float = 60) -> list:
    """Run ``work()`` in ``racers`` threads started together; returns what each returned
    (in finishing order) and raises the first exception any of them raised."""
    start = threading.Barrier(racers)
    results: list = []
    errors: list[BaseException] = []

    def racer() -> None:
        with app.app_context():
            try:
                start.wait(timeout)
                results.append(work())
            except Exception as exc:  # noqa: BLE001 - raised again in the test's thread
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=racer) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a racer never finished"
    if errors:
        raise errors[0]
    return results


def _first_flush_of_a_changed_incident(session) -> bool:
    return any(isinstance(row, Incident) for row in session.dirty)


@contextlib.contextmanager
def read_together(racers: int = 2, timeout: float = 30):
    """Hold each thread's first flush of a changed incident until ``racers`` threads have
    reached theirs: all of them read the same version before any writes, so all but one
    lose the optimistic race (a real lost race, made certain rather than likely)."""
    barrier = threading.Barrier(racers)
    held = threading.local()

    def hold(session, _flush_context, _instances) -> None:
        if not getattr(held, "done", False) and _first_flush_of_a_changed_incident(session):
            held.done = True
            barrier.wait(timeout)

    event.listen(db.session, "before_flush", hold)
    try:
        yield
    finally:
        event.remove(db.session, "before_flush", hold)


@contextlib.contextmanager
def someone_else_first(incident_id: int):
    """Before every flush that changes an incident, another connection commits a change
    of incident ``incident_id`` (its version moves on): every write of it loses."""
    def overtake(session, _flush_context, _instances) -> None:
        if _first_flush_of_a_changed_incident(session):
            with db.engine.connect() as other:
                other.execute(update(Incident).where(Incident.id == incident_id)
                              .values(version=Incident.version + 1))
                other.commit()

    event.listen(db.session, "before_flush", overtake)
    try:
        yield
    finally:
        event.remove(db.session, "before_flush", overtake)
