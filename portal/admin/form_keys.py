"""One-time keys of the portal's forms: a form sent twice (a double click, a retry after
an answer that never came, the browser's back button and *Send* again) changes things
once, and the second copy is answered as the first was.

Each form that changes something carries a hidden ``form_key`` (``form_key_field()`` in
its template: a new UUID each time the form is drawn). Its view is wrapped in
``sent_once``:

- a key already used by this user answers again what the first copy answered (its
  flash messages, then the same redirect) and changes nothing;
- the same key sent with other contents (the page kept by the browser, edited, sent
  again) changes nothing either, and says so;
- otherwise the view runs, and the key is stored **in the transaction of the change**
  (``attempt``, ``portal.admin.changes``, calls ``commit_with_key``): it commits exactly
  when the change does. A change that failed leaves its key unused, so sending again
  works; a change that committed is never made again with its key, even when its answer
  was lost (a 5xx after the commit), and then the copy is told it was saved already.

The keys live beside the API's ``Idempotency-Key`` answers (``portal.idempotency``): per
user, for ``IDEMPOTENCY_HOURS``, with a ``form:`` prefix of their own. A form posted
without a key (a script) runs as it always did.
"""
from __future__ import annotations

import functools
import hashlib
import json
import logging
import re
import uuid
from dataclasses import dataclass

from flask import flash, g, redirect, request, session, url_for
from flask_admin.helpers import is_safe_url
from flask_security import current_user
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from portal.admin.base import safe_return_url
from portal.extensions import db
from portal.idempotency import IdempotentRequest, find, forget_expired

log = logging.getLogger(__name__)

FIELD = "form_key"
PREFIX = "form:"
_KEY = re.compile(r"[0-9a-f]{32}")
_PENDING = "form_key_pending"
REDIRECTS = (301, 302, 303, 307, 308)
#: What the second copy of a form is told when the first one's answer was not recorded
#: (the first is still finishing, or its answer was lost after its change committed).
SAVED_ALREADY = "This form was sent already and what it asked for was saved; it was not " \
                "done a second time."
OTHER_CONTENTS = "This form was sent already, with other contents: nothing was changed " \
                 "now. Reload the page to send something new."


def form_key_field() -> Markup:
    """The hidden input of a new key, for a form's template (``{{ form_key() }}``)."""
    return Markup(f'<input type="hidden" name="{FIELD}" value="{uuid.uuid4().hex}">')


@dataclass
class _Pending:
    """The key of the request being answered, until its change commits with it."""

    user_id: int
    key: str
    fingerprint: str
    row_id: int | None = None


def _fingerprint() -> str:
    """What the form asked for: where it went and what it held (files by name)."""
    fields = sorted((name, value) for name, value in request.form.items(multi=True)
                    if name not in (FIELD, "csrf_token"))
    files = sorted((name, upload.filename or "") for name, upload in
                   request.files.items(multi=True))
    text = json.dumps([request.method, request.full_path, fields, files])
    return hashlib.sha256(text.encode()).hexdigest()


def _answer_again(kept: IdempotentRequest, fingerprint: str):
    """The first copy's answer: its flash messages, then its redirect (or, where it has
    none, back to the form's page)."""
    referrer = request.referrer if request.referrer and is_safe_url(request.referrer) \
        else None
    fallback = safe_return_url(referrer or url_for("admin.index"))
    if kept.fingerprint != fingerprint:
        flash(OTHER_CONTENTS, "error")
        return redirect(kept.location or fallback)
    if kept.status_code is None:
        flash(SAVED_ALREADY, "info")
        return redirect(fallback)
    for category, message, markup in json.loads(kept.body or "[]"):
        flash(Markup(message) if markup else message, category)
    if kept.location:
        return redirect(kept.location, code=kept.status_code)
    return redirect(fallback)


def _sent_key() -> str | None:
    key = request.form.get(FIELD, "") if request.method == "POST" else ""
    return PREFIX + key if _KEY.fullmatch(key) and current_user.is_authenticated else None


def sent_once(view):
    """Answer a form's second copy as its first (see the module); wraps a POST view."""
    @functools.wraps(view)
    def once(*args, **kwargs):
        key = _sent_key()
        if key is None:
            return view(*args, **kwargs)
        user_id, fingerprint = current_user.id, _fingerprint()
        kept = find(user_id, key)
        if kept is not None:
            return _answer_again(kept, fingerprint)
        pending = g.setdefault(_PENDING, _Pending(user_id, key, fingerprint))
        flashed = len(session.get("_flashes", []))
        try:
            response = view(*args, **kwargs)
        except IntegrityError:
            # The same key, sent at the same moment, committed first: this copy's change
            # was rolled back with it.
            db.session.rollback()
            kept = find(user_id, key)
            if kept is None:
                raise
            return _answer_again(kept, fingerprint)
        if pending.row_id is not None:
            _record(pending.row_id, response, session.get("_flashes", [])[flashed:])
        return response
    return once


def commit_with_key() -> None:
    """Commit the change, with this request's form key when it has one not yet used."""
    pending = g.get(_PENDING)
    row = None
    if pending is not None and pending.row_id is None:
        forget_expired()
        row = IdempotentRequest(user_id=pending.user_id, key=pending.key,
                                fingerprint=pending.fingerprint)
        db.session.add(row)
    db.session.commit()
    if row is not None:
        pending.row_id = row.id


def _record(row_id: int, response, flashes) -> None:
    """Keep the answer for a second copy. The change is committed already: a failure
    here costs only the replay's words (the copy is told it was saved already)."""
    try:
        kept = db.session.get(IdempotentRequest, row_id)
        kept.status_code = response.status_code
        kept.location = response.headers.get("Location") if response.status_code in \
            REDIRECTS else None
        kept.body = json.dumps([[category, str(message), isinstance(message, Markup)]
                                for category, message in flashes])
        db.session.commit()
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("form key %s: the answer was not kept (%s)", row_id, type(exc).__name__)
