"""Whose address is it: an account owns its email address only once the address is
confirmed (``User.confirmed_at``), so registering someone else's address first gains
nothing (account pre-hijacking).

- **Self-registration** (``REGISTRATION_OPEN``) makes an account whose address is not
  confirmed (Flask-Security's ``SECURITY_CONFIRMABLE``; the link goes out through the
  outbox). Until its link is followed it cannot log in (portal, JSON or API token), mail
  in does not take it for the address's owner (``owner_of``), it reports no incident and
  receives no notification.
- **Every other way** of making an account confirms it (``confirm_user``): an admin (the
  Users form, the API, ``manage.py create-user``), the demo data, and mail in (an account
  made for a sender has no password: only whoever reads the address can set one, with
  "forgot password").
- **An unconfirmed account holds nothing against one that proves or vouches for the
  address**: registering the address (or the username) again, an admin creating or
  renaming an account to it, or mail in making an account for it removes the unconfirmed
  one (``release``), which is audited. The squatter's link stops working with it.
"""
from __future__ import annotations

import logging

from sqlalchemy import func, or_, select

from portal.auth.audit import record
from portal.auth.models import AccessKind, User
from portal.extensions import db

log = logging.getLogger("portal.access")


def owner_of(address: str) -> User | None:
    """The account that owns ``address`` (any case): one whose address is confirmed; an
    unconfirmed registration of it owns nothing."""
    return db.session.scalar(select(User).where(
        func.lower(User.email) == address.lower(), User.confirmed_at.is_not(None)))


def unconfirmed_holders(*, email: str | None = None,
                        username: str | None = None) -> list[User]:
    """The unconfirmed accounts that hold ``email`` or ``username`` (any case)."""
    wanted = [func.lower(column) == value.lower()
              for column, value in ((User.email, email), (User.username, username)) if value]
    if not wanted:
        return []
    return list(db.session.scalars(select(User).where(
        or_(*wanted), User.confirmed_at.is_(None)).order_by(User.id)))


def release(*, email: str | None = None, username: str | None = None,
            keep: User | None = None) -> None:
    """Remove the unconfirmed accounts holding ``email`` or ``username`` (but ``keep``),
    so that an account that proves or vouches for them can have them; the caller commits.

    Such an account never logged in and owns nothing (no incident, comment or file names
    it: ``portal.incidents.lifecycle.create`` refuses it), so removing it removes nobody's
    work; its sessions, tokens and throttle keys cannot exist. The access audit keeps
    who it was.
    """
    holders = [holder for holder in unconfirmed_holders(email=email, username=username)
               if keep is None or holder.id != keep.id]
    for holder in holders:
        log.info("unconfirmed account %s (%s) removed: its address or username is taken "
                 "by a new account", holder.id, holder.username)
        record(AccessKind.registration_replaced, identity=holder.email,
               detail=f"unconfirmed account {holder.username} removed")
        db.session.delete(holder)
    if holders:
        # Before the new row is written: it may take the same unique email or username.
        db.session.flush()
