"""Flask-Security's mails (password reset, confirmation, welcome, two-factor) go through
the app's outbox like every other mail: they wait, retry and show in *Mail outbox*, and a
missing or dead mail server never fails the request that sent them.

Every link in them is built from ``PORTAL_BASE_URL``, never from the request's ``Host``
(or ``X-Forwarded-Host``): Flask-Security builds its links with ``url_for(_external=True)``
from the request, so the links it hands over are moved onto the configured base and the
message is rendered again with them.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import current_app, has_request_context, request
from flask_security import MailUtil

from portal.auth.current import security
from portal.extensions import db
from portal.notifications.models import OutboxMessage

#: ``OutboxMessage.event_kind`` of Flask-Security's mails; their bodies carry secrets
#: (reset and confirmation links) and are hidden in the Mail outbox view.
ACCOUNT_MAIL = "account"


def rebase(url: str) -> str:
    """``url`` with its scheme and host replaced by ``PORTAL_BASE_URL``'s."""
    base = current_app.config["PORTAL_BASE_URL"].rstrip("/")
    parts = urlsplit(url)
    return base + parts.path + (f"?{parts.query}" if parts.query else "") + \
        (f"#{parts.fragment}" if parts.fragment else "")


def rebased_links(context: dict[str, Any]) -> dict[str, Any]:
    """The mail's context with every absolute link of this request moved onto the base."""
    if not has_request_context():
        return context
    own = request.host_url  # e.g. "http://evil.example/" when Host was forged
    return {key: rebase(value) if isinstance(value, str) and value.startswith(own) else value
            for key, value in context.items()}


class OutboxMailUtil(MailUtil):
    """Flask-Security's mail hook (``Security(mail_util_cls=...)``): queue, don't send."""

    def send_mail(self, template: str, subject: str, recipient, sender, body, html,
                  **kwargs: Any) -> None:
        context = rebased_links(kwargs)
        if context != kwargs:
            body = security().render_template(f"{template}.txt", **context) \
                if body is not None else None
            html = security().render_template(f"{template}.html", **context) \
                if html is not None else None
        address = recipient[1] if isinstance(recipient, tuple) else recipient
        db.session.add(OutboxMessage(recipient=str(address), subject=str(subject),
                                     text_body=body or "", html_body=html or "",
                                     event_kind=ACCOUNT_MAIL))
        # Flask-Security does not commit after every mail it sends (a reset request
        # changes nothing else): the message is kept now, and delivery woken.
        db.session.commit()
        deliverer = current_app.extensions.get("mail_deliverer")
        if deliverer is not None:
            deliverer.wake()
