"""What a flush added to the incidents' history and talk, noted for the session hooks that
act on it when the change commits (mail notifications, webhooks), and their registration
on ``db.session``."""
from __future__ import annotations

from typing import Callable, Collection

from sqlalchemy import event
from sqlalchemy.orm import Session

from portal.extensions import db
from portal.incidents.enums import EventKind
from portal.incidents.models import Comment, IncidentEvent


def note_written(session: Session, key: str, kinds: Collection[EventKind]) -> None:
    """Keep in ``session.info[key]`` the history entries of ``kinds`` and the comments the
    flush just wrote (``after_flush``: ``session.new`` still holds them)."""
    written = [obj for obj in session.new
               if (isinstance(obj, IncidentEvent) and obj.kind in kinds)
               or isinstance(obj, Comment)]
    if written:
        session.info.setdefault(key, []).extend(written)


def listen_once(hooks: dict[str, Callable]) -> None:
    """Register ``hooks`` (session event name → function) on ``db.session``, once: it is one
    scoped session for every app of the process, and a hook registered twice runs twice."""
    for name, hook in hooks.items():
        if not event.contains(db.session, name, hook):
            event.listen(db.session, name, hook)
