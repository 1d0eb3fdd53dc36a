"""The rule of ``portal.plain_text`` at the web app's doors, declared once for all of them.

- **Requests** (``refuse_control_characters``, before every view): every query-string
  value, and on the API every string of a JSON body and every form field. The API
  answers 422 through its one refusal handler (``ControlCharacters``: the problem
  details' ``code`` is ``control_characters``, ``errors`` name the field under
  ``query``, ``json`` or ``form``). A portal page asked with a bad query value (a
  search, a grid's filter) is shown without that value and says so, as grids drop an
  argument they cannot take; other methods answer 422 naming it.
- **Forms** (``PlainTextFields``): every field of every portal form is asked before any
  other validator (some look the value up in the database, which cannot hold NUL); a
  field that breaks the rule shows it as its error. The portal's own forms and
  Flask-Admin's derive from ``PortalForm``; Flask-Security's forms are given the mixin
  through its form-customisation API (``init_plain_text``).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from flask import Flask, abort, flash, redirect, request
from flask_security import FormInfo
from flask_wtf import FlaskForm

from portal.auth.current import security
from portal.plain_text import ControlCharacters, problem


def _strings(value: Any, name: str) -> Iterator[tuple[str, str]]:
    """``(field, text)`` for every string in a JSON value, in order, each named by its
    top-level key (no recursion: a deep body cannot exhaust the stack)."""
    pending = [(name, value)]
    while pending:
        name, value = pending.pop()
        if isinstance(value, str):
            yield name, value
        elif isinstance(value, dict):
            pending.extend(reversed([(name or str(key), item) for key, item in value.items()]))
        elif isinstance(value, list):
            pending.extend(reversed([(name, item) for item in value]))


def _inputs(api: bool) -> Iterator[tuple[str, str, str]]:
    """``(location, field, text)`` for what the request sends that a view may read."""
    for name, value in request.args.items(multi=True):
        yield "query", name, value
    if not api:
        return  # the portal's forms ask the rule themselves (PlainTextFields)
    for name, value in request.form.items(multi=True):
        yield "form", name, value
    if request.is_json:
        for name, value in _strings(request.get_json(silent=True), ""):
            yield "json", name or "body", value


def refuse_control_characters():
    """Refuse (API) or drop with a message (portal pages) the first input that breaks the
    rule, before the view runs."""
    api = request.path.startswith("/api/")
    for location, name, value in _inputs(api):
        words = problem(value)
        if words is None:
            continue
        if api:
            raise ControlCharacters(f"{name} {words}", field=name, location=location)
        if request.method not in ("GET", "HEAD"):
            abort(422, description=f"{name} {words}; nothing was changed.")
        flash(f"{name} {words}: it was ignored.", "error")
        kept = [(key, item) for key, item in request.args.items(multi=True) if key != name]
        path = request.script_root + request.path
        return redirect(f"{path}?{urlencode(kept)}" if kept else path)
    return None


class PlainTextFields:
    """Form mixin: the rule is asked of every value sent in any field, before the form's
    own validators; the first field that breaks it gets the error and nothing else runs."""

    def validate(self, *args: Any, **kwargs: Any) -> bool:
        refused = False
        for field in self:
            for value in getattr(field, "raw_data", None) or ():
                words = problem(value) if isinstance(value, str) else None
                if words is not None:
                    field.errors = [f"{field.label.text} {words}"]
                    refused = True
                    break
        return False if refused else super().validate(*args, **kwargs)


class PortalForm(PlainTextFields, FlaskForm):
    """The base of the portal's forms (and of Flask-Admin's, ``form_base_class``)."""


def init_plain_text(app: Flask) -> None:
    """Ask the rule of ``app``'s requests, and give Flask-Security's forms the mixin
    (after ``init_security``)."""
    app.before_request(refuse_control_characters)
    flask_security = security(app)
    for name, info in list(flask_security.forms.items()):
        if info.cls is not None and not issubclass(info.cls, PlainTextFields):
            checked = type(info.cls.__name__, (PlainTextFields, info.cls), {})
            flask_security.set_form_info(name, FormInfo(instantiator=info.instantiator,
                                                        cls=checked))
