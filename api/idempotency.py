"""``Idempotency-Key`` on the API's ``POST``s: the same key and request within
``IDEMPOTENCY_HOURS`` answers what the first one did and creates nothing; the same key
with another request is a 422; a copy sent while the first still runs is a 409.

Only successful answers are kept: a refused request changed nothing, so it may be sent
again with the same key once corrected.
"""
from __future__ import annotations

import functools
import hashlib
import re
from datetime import timedelta

from flask import Response, request
from flask_smorest import abort
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from api.access import caller
from portal.db_types import utcnow
from portal.extensions import db
from portal.idempotency import IDEMPOTENCY_HOURS, IdempotentRequest, find, forget_expired

HEADER = "Idempotency-Key"
#: Printable ASCII without spaces, as the keys clients make (UUIDs, hashes) are.
KEY = re.compile(r"[\x21-\x7e]{1,255}")
#: A reservation older than this belongs to a request that died (its worker was killed):
#: it no longer blocks the key.
ABANDONED_AFTER = timedelta(minutes=5)

#: The header's documentation, for ``@blp.doc(parameters=[PARAMETER])``.
PARAMETER = {
    "name": HEADER, "in": "header", "required": False,
    "description": f"Any unique string (a UUID): sending the same request again with the "
                   f"same key within {IDEMPOTENCY_HOURS} h answers the first answer and "
                   f"creates nothing; the same key with another request is refused (422).",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": KEY.pattern},
}


def _fingerprint() -> str:
    digest = hashlib.sha256(f"{request.method} {request.path}\n".encode())
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _replay(kept: IdempotentRequest, fingerprint: str) -> Response:
    if kept.status_code is None:
        abort(409, message=f"a request with this {HEADER} is still running: retry later")
    if kept.fingerprint != fingerprint:
        message = f"{HEADER} {kept.key!r} was sent with another request"
        abort(422, message=message, errors={"headers": {HEADER: [message]}})
    headers = {"Idempotent-Replayed": "true"}
    headers.update({name: value for name, value in (("Location", kept.location),
                                                    ("ETag", kept.etag)) if value})
    return Response(kept.body, status=kept.status_code, headers=headers,
                    mimetype="application/json")


def _release(reservation_id: int) -> None:
    db.session.rollback()
    db.session.execute(delete(IdempotentRequest).where(IdempotentRequest.id == reservation_id))
    db.session.commit()


def idempotent(view):
    """Honour ``Idempotency-Key`` on ``POST``: put it after ``authenticated`` in a view's
    ``decorators`` (it needs the caller)."""
    @functools.wraps(view)
    def once(*args, **kwargs):
        key = request.headers.get(HEADER)
        if request.method != "POST" or key is None:
            return view(*args, **kwargs)
        if not KEY.fullmatch(key):
            message = "must be 1 to 255 printable characters without spaces"
            abort(422, message=f"{HEADER}: {message}", errors={"headers": {HEADER: [message]}})
        user_id, fingerprint = caller().id, _fingerprint()
        forget_expired()
        kept = find(user_id, key)
        if kept and kept.status_code is None and kept.created_at < utcnow() - ABANDONED_AFTER:
            db.session.delete(kept)
            db.session.flush()  # before the new reservation: a flush inserts first
            kept = None
        if kept:
            return _replay(kept, fingerprint)
        reservation = IdempotentRequest(user_id=user_id, key=key, fingerprint=fingerprint)
        db.session.add(reservation)
        try:
            db.session.commit()
        except IntegrityError:  # the same key, sent at the same moment, got in first
            db.session.rollback()
            return _replay(find(user_id, key), fingerprint)
        reservation_id = reservation.id
        try:
            response = view(*args, **kwargs)
        except BaseException:
            _release(reservation_id)
            raise
        if not 200 <= response.status_code < 300:
            _release(reservation_id)
            return response
        kept = db.session.get(IdempotentRequest, reservation_id)
        kept.status_code, kept.body = response.status_code, response.get_data(as_text=True)
        kept.location, kept.etag = response.headers.get("Location"), response.headers.get("ETag")
        db.session.commit()
        return response
    return once
