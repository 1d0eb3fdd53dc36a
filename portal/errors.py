"""The portal's error pages (the API answers JSON instead, see ``api/errors.py``)."""
from __future__ import annotations

from flask import render_template
from werkzeug.exceptions import HTTPException

MESSAGES = {
    403: ("Not allowed", "Your role does not allow this page or action."),
    404: ("Not found", "There is no such page or incident, or it is not yours to see."),
    405: ("Not allowed", "This address does not accept that kind of request."),
}


def error_page(error: HTTPException):
    if error.code == 413:
        # The layout asks who is logged in, which reads the (too large) body again:
        # Werkzeug's own plain page says it without touching the request.
        return error
    heading, message = MESSAGES.get(error.code, (error.name, error.description))
    return render_template("error.html", heading=heading, message=message), error.code
