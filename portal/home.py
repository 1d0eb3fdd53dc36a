"""The home page: what the portal holds and where to log in."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_security import current_user

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    """Greet visitors and point them at the login, or at their incidents."""
    return render_template("home.html", user=current_user)
