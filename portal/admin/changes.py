"""One way for portal views to make a change: run it, commit (again, when it lost a race
with someone else's change), and on a refusal (any ``portal.refusals.Refused``: the
lifecycle's, an attachment's, an account's, a mail decision's) roll back and say why.
Nothing is ever half-written, and every refusal reaches the user in the domain's own
words."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Generic, TypeVar

from flask import flash

from portal.admin.form_keys import commit_with_key
from portal.extensions import db
from portal.incidents.races import again_if_raced
from portal.refusals import Refused

T = TypeVar("T")


@dataclass
class Outcome(Generic[T]):
    """What came of one change: its result, or the refusal."""

    result: T | None = None
    refusal: Refused | None = None

    @property
    def ok(self) -> bool:
        return self.refusal is None


def attempt(change: Callable[[], T], *, report: bool = True) -> Outcome[T]:
    """Run ``change`` and commit, again when it lost a race with someone else's change
    (``portal.incidents.races``); on a refusal roll back and (``report``) flash it."""
    def committed() -> T:
        result = change()
        commit_with_key()  # and the form's one-time key, when it has one
        return result

    try:
        result = again_if_raced(committed)
    except Refused as refused:
        db.session.rollback()
        if report:
            flash(refused.message, "error")
        return Outcome(refusal=refused)
    return Outcome(result=result)


def numbers(incidents: list[Any]) -> str:
    """``INC-10``, ``INC-10 and INC-1``, ``INC-10, INC-4 and INC-1``."""
    labels = [incident.number for incident in incidents]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
