"""Work a test runs beside itself: a round of a deliverer on a thread of its own, in its
own app context and database session, as another worker would run it."""
from __future__ import annotations

import threading
from typing import Callable

from portal.extensions import db


class Background:
    """``work()`` started on a thread; ``result()`` waits for it (and raises what it
    raised)."""

    def __init__(self, app, work: Callable[[], object]) -> None:
        self._outcome: list = []
        self._thread = threading.Thread(target=self._run, args=(app, work), daemon=True)
        self._thread.start()

    def _run(self, app, work) -> None:
        with app.app_context():
            try:
                self._outcome.append((True, work()))
            except BaseException as exc:  # noqa: BLE001 - raised again in the test's thread
                self._outcome.append((False, exc))
            finally:
                db.session.remove()

    def result(self, timeout: float = 120):
        """What ``work()`` returned (a bound for a broken run, not a measurement)."""
        self._thread.join(timeout)
        if not self._outcome:
            raise TimeoutError(f"the background work did not end in {timeout} s")
        succeeded, value = self._outcome[0]
        if not succeeded:
            raise value
        return value
