"""Optimistic concurrency, decided once for every front door.

``Incident.version`` is SQLAlchemy's version counter: an UPDATE (or DELETE) of an incident
that someone else changed since it was read matches no row and raises ``StaleDataError``.
What that means depends on what the caller said:

- a caller who named the version it read (the API's ``If-Match``) is told its version is
  stale: 412 (``api.errors``), and decides itself;
- a caller who named none asked for a change of the incident as it is: the change is
  made again on what is there now (the lifecycle checks its rules again), at most
  ``ATTEMPTS`` times in all; past that, ``ChangedMeanwhile`` (409, ``changed_meanwhile``).
  A lost race is never a 412 to a client that sent no precondition, and never a 500.
"""
from __future__ import annotations

from typing import Callable, TypeVar

from sqlalchemy.orm.exc import StaleDataError

from portal.extensions import db
from portal.refusals import Refused

T = TypeVar("T")

#: How many times a change is made before a lost race is answered 409: each loss means
#: someone else's change committed meanwhile, so a few suffice but under a stampede.
ATTEMPTS = 5


class ChangedMeanwhile(Refused, http_status=409, code="changed_meanwhile"):
    """The incident kept changing under the change, ``ATTEMPTS`` times: nothing was
    changed; the same request may be sent again (409)."""


def again_if_raced(change: Callable[[], T], *, attempts: int = ATTEMPTS) -> T:
    """Run ``change`` (which commits); when it loses an optimistic race, roll back and run
    it again, on the rows as they are now (every loaded row is expired by the rollback).

    :raises ChangedMeanwhile: it lost ``attempts`` times.
    """
    for _ in range(attempts):
        try:
            return change()
        except StaleDataError:
            db.session.rollback()
    raise ChangedMeanwhile(f"the incident was changed by others {attempts} times while "
                           "this change was being made: nothing was changed; try again")
