"""One race for the concurrency tests: the same work in several threads released at
once, each in its own app context and database session, as two workers would run it."""
from __future__ import annotations

import threading
from typing import Callable

from portal.extensions import db


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
