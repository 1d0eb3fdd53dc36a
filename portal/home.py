"""The home page, the top bar's search, the favicon, and the stable incident address
that emails link to."""
from __future__ import annotations

import re

from flask import (Blueprint, abort, current_app, redirect, render_template, request,
                   send_from_directory)
from flask_security import auth_required, current_user
from sqlalchemy.orm import joinedload

from portal.admin import details_url, start_page
from portal.admin.base import SEARCH_MAX_CHARS, SEARCH_MAX_WORDS
from portal.extensions import db
from portal.ids import parse_id
from portal.incidents.access import visible_incidents
from portal.incidents.listing import ORDER, text_search
from portal.incidents.models import Incident

bp = Blueprint("home", __name__)

#: ``INC-42``, ``inc 42``, ``#42`` or ``42``: a jump to that incident.
INCIDENT_NUMBER = re.compile(r"(?:INC[- ]?|#)?([0-9]{1,19})", re.IGNORECASE)
#: Search results shown at once (newest first); narrow the words for older ones.
SEARCH_RESULTS = 50


@bp.get("/")
def index():
    """Visitors see what the portal is; logged-in users go to their role's start page."""
    if current_user.is_authenticated:
        return redirect(start_page(current_user))
    return render_template("home.html", user=current_user)


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for it whatever the page links; the same drawing as the page icon."""
    return send_from_directory(current_app.static_folder, "favicon.svg",
                               mimetype="image/svg+xml", max_age=86400)


def _visible(incident_id: int) -> Incident | None:
    return db.session.scalar(visible_incidents(current_user).where(Incident.id == incident_id))


@bp.get("/incidents/<int:incident_id>")
@auth_required("session")
def incident(incident_id: int):
    """The address emails link to: the incident's page in the user's own grid."""
    found = _visible(incident_id)
    if found is None:
        abort(404)  # not visible is not found
    return redirect(details_url(found, current_user))


@bp.get("/search")
@auth_required("session")
def search():
    """The top bar's search: a number jumps to that incident's page; words find incidents
    by title, description, reporter or technician, among those the user may see."""
    text = request.args.get("q", "").strip()
    problem = None
    if len(text) > SEARCH_MAX_CHARS or len(text.split()) > SEARCH_MAX_WORDS:
        problem = (f"Search takes at most {SEARCH_MAX_WORDS} words and "
                   f"{SEARCH_MAX_CHARS} characters.")
    results: list[Incident] = []
    if text and not problem:
        number = INCIDENT_NUMBER.fullmatch(text)
        if number and parse_id(number.group(1)):
            found = _visible(parse_id(number.group(1)))
            if found is not None:
                return redirect(details_url(found, current_user))
        results = db.session.scalars(
            visible_incidents(current_user).where(text_search(text))
            .order_by(*ORDER["-created_at"]).limit(SEARCH_RESULTS)
            .options(joinedload(Incident.reporter), joinedload(Incident.technician))).all()
    return render_template("search.html", text=text, problem=problem, results=results,
                           limit=SEARCH_RESULTS, title=f"Search: {text}" if text else "Search")
