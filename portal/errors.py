"""The portal's error pages (the API answers JSON instead, see ``api/errors.py``)."""
from __future__ import annotations

from flask import g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from portal.db_errors import database_error_noted, unavailable_response
from portal.extensions import db

MESSAGES = {
    403: ("Not allowed", "Your role does not allow this page or action."),
    404: ("Not found", "There is no such page or incident, or it is not yours to see."),
    405: ("Not allowed", "This address does not accept that kind of request."),
    500: ("Something went wrong",
          "The portal could not finish this request, and saved nothing of it. Try again; "
          "if it happens again, give the service desk the reference below."),
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
    if error.code >= 500 and database_error_noted():
        # The database failed in this request (and then something else, say an error
        # handler): the layout would ask it who is logged in. The plain 503 instead.
        return unavailable_response()
    if error.code >= 500:
        # Whatever failed may have left the transaction unusable: the layout's counts
        # start from a clean one (and are skipped, see portal.admin.navigation).
        db.session.rollback()
        g.portal_failed = True
    # The request id is in the log line of the failure: the reference support asks for.
    return render_template("error.html", heading=heading, message=message,
                           request_id=g.get("request_id") if error.code >= 500 else None,
                           title=heading), error.code
