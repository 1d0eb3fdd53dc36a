"""The home page, and the stable incident address that emails link to."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template
from flask_security import auth_required, current_user

from portal.admin import details_url, start_page
from portal.extensions import db
from portal.incidents.access import visible_incidents
from portal.incidents.models import Incident

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    """Visitors see what the portal is; logged-in users go to their role's start page."""
    if current_user.is_authenticated:
        return redirect(start_page(current_user))
    return render_template("home.html", user=current_user)


@bp.get("/incidents/<int:incident_id>")
@auth_required("session")
def incident(incident_id: int):
    """The address emails link to: the incident's page in the user's own grid."""
    found = db.session.scalar(visible_incidents(current_user).where(Incident.id == incident_id))
    if found is None:
        abort(404)  # not visible is not found
    return redirect(details_url(found, current_user))
