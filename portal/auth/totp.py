"""Authenticator codes that work once: Flask-Security's ``Totp`` with replay refusal.

Flask-Security leaves remembering the last accepted code to the application
(``get_last_counter``/``set_last_counter``). The time step of each accepted code is kept
on the user (``tf_totp_last_step``), and a code of that step or an earlier one is
refused, on every path that checks codes (the portal's second step, the API's token
endpoint). The step is claimed with one conditional ``UPDATE``, so two requests racing
with the same code cannot both win.
"""
from __future__ import annotations

from flask_security import Totp
from passlib.exc import UsedTokenError
from sqlalchemy import or_, update

from portal.auth.models import User
from portal.extensions import db


class ReplayProofTotp(Totp):
    """``Security(totp_cls=ReplayProofTotp)``."""

    def get_last_counter(self, user) -> int | None:
        return user.tf_totp_last_step

    def set_last_counter(self, user, tmatch) -> None:
        claimed = db.session.execute(
            update(User).where(User.id == user.id, or_(User.tf_totp_last_step.is_(None),
                                                       User.tf_totp_last_step < tmatch.counter))
            .values(tf_totp_last_step=tmatch.counter)
            .execution_options(synchronize_session=False)).rowcount
        if not claimed:
            # verify_totp turns a TokenError into "wrong code".
            raise UsedTokenError(expire_time=tmatch.expire_time)
        user.tf_totp_last_step = tmatch.counter
