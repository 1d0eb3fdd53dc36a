"""Small helpers that build test rows through the same code paths the app uses."""
from __future__ import annotations

import itertools

from flask_security import hash_password
from flask_security.confirmable import confirm_user

from portal.auth.models import User
from portal.auth.security import user_datastore
from portal.extensions import db
from portal.incidents import lifecycle
from portal.incidents.enums import Status
from portal.incidents.models import Incident

PASSWORD = "correct-horse-battery"
_serial = itertools.count(1)


def make_user(role: str | None = "reporter", *, username: str | None = None,
              active: bool = True, roles: list[str] | None = None,
              confirmed: bool = True, email: str | None = None) -> User:
    """Create and commit a user holding ``role`` (or ``roles``), its address confirmed
    as an admin's account is (``confirmed=False``: a registration waiting for its link)."""
    n = next(_serial)
    username = username or f"{role or 'nobody'}{n}"
    user = user_datastore().create_user(
        email=email or f"{username}@example.com", username=username,
        password=hash_password(PASSWORD), active=active,
        roles=roles if roles is not None else ([role] if role else []))
    if confirmed:
        confirm_user(user)
    db.session.commit()
    return user


#: The lifecycle steps that bring a new incident to each status.
PATH_TO = {
    Status.open: [],
    Status.assigned: ["assign"],
    Status.in_progress: ["assign", "start"],
    Status.on_hold: ["assign", "start", "hold"],
    Status.resolved: ["assign", "start", "resolve"],
    Status.closed: ["assign", "start", "resolve", "close"],
}


def make_incident(*, reporter: User, admin: User, technician: User | None = None,
                  status: Status = Status.open, **fields) -> Incident:
    """Create an incident through the lifecycle and walk it to ``status``; committed."""
    incident = lifecycle.create(actor=reporter, title=fields.pop("title", "Mail is down"),
                                description=fields.pop("description", "No mail since 9:00"),
                                **fields)
    for step in PATH_TO[Status(status)]:
        if step == "assign":
            lifecycle.assign(incident, actor=admin, technician=technician)
        elif step == "resolve":
            lifecycle.resolve(incident, actor=admin, resolution_notes="Restarted the server")
        elif step == "close":
            lifecycle.close(incident, actor=reporter)
        else:
            getattr(lifecycle, step)(incident, actor=admin)
    db.session.commit()
    return incident
