"""Waiting for a state, never for a length of time: a condition polled until it holds or
a deadline passes (the deadline is a bound for a broken run, not a measurement)."""
from __future__ import annotations

import time
from typing import Callable


#: The usual bound: long enough for a process to start and answer on a machine whose two
#: cores are taken by ``stress-ng --cpu 2`` and another suite (20 s was not: a worker's
#: first mail came later), short enough that a broken run ends.
DEADLINE = 60


def wait_until(condition: Callable[[], object], timeout: float = DEADLINE,
               interval: float = 0.05) -> bool:
    """Poll ``condition`` until it is true or ``timeout`` seconds pass; say whether it held."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return bool(condition())
        time.sleep(interval)
    return True
