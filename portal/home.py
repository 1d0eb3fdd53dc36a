"""The home page: what the portal holds and where to log in."""
from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_security import auth_required, current_user

from portal.extensions import db
from portal.incidents.access import visible_comments, visible_incidents
from portal.incidents.models import Incident

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    """Greet visitors and point them at the login, or at their incidents."""
    return render_template("home.html", user=current_user)


@bp.get("/incidents/<int:incident_id>")
@auth_required("session")
def incident(incident_id: int):
    """The page emails link to: one incident, its history and the comments you may read."""
    found = db.session.scalar(visible_incidents(current_user).where(Incident.id == incident_id))
    if found is None:
        abort(404)  # not visible is not found
    return render_template("incident.html", incident=found,
                           comments=visible_comments(current_user, found))
