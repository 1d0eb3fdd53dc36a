"""The portal's error pages (the API answers JSON instead, see ``api/errors.py``)."""
from __future__ import annotations

from flask import jsonify, render_template, request
from flask_wtf.csrf import CSRFError
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
    if isinstance(error, CSRFError):
        heading, message = ("The form expired",
                            "This form has expired or did not come from the portal: nothing "
                            "was changed. Go back, reload the page and try again.")
    else:
        heading, message = MESSAGES.get(error.code, (error.name, error.description))
    if request.is_json:  # a script posting JSON to a page (Flask-Security's JSON login)
        detail = error.description if isinstance(error, CSRFError) else message
        return jsonify(code=error.code, status=error.name, message=detail), error.code
    return render_template("error.html", heading=heading, message=message), error.code
