"""Read-only trails for admins: incident history, the access audit, and the mail outbox
(with *retry* for messages that ran out of attempts)."""
from __future__ import annotations

from flask import current_app, flash, url_for
from flask_admin.actions import action
from sqlalchemy import select
from markupsafe import Markup
from sqlalchemy.orm import joinedload

from portal.admin.base import ReadOnlyModelView
from portal.admin.filters import Equal, UTCBetween
from portal.admin.timeline import change_words
from portal.auth.models import AccessEvent, AccessKind
from portal.display import when
from portal.extensions import db
from portal.ids import parse_id
from portal.incidents.enums import EventKind
from portal.incidents.models import IncidentEvent
from portal.notifications.account_mail import ACCOUNT_MAIL
from portal.notifications.deliver import retry
from portal.notifications.models import OutboxMessage, OutboxStatus


def _when(view, context, model, name):
    return when(getattr(model, name), seconds=True) if getattr(model, name) else ""


def _words(value: str | None) -> str:
    return value.replace("_", " ").capitalize() if value else ""


def _incident_link(view, context, model, name):
    """The incident's number, linking to its page (the address emails use)."""
    if model.incident is None:
        return "(deleted)"
    return Markup('<a href="{url}">{number}</a>').format(
        url=url_for("home.incident", incident_id=model.incident_id),
        number=model.incident.number)


class EventView(ReadOnlyModelView):
    """Every change of every incident: who, when, from what to what."""

    column_list = ("created_at", "incident", "kind", "actor", "from_status", "to_status",
                   "changes", "note")
    column_labels = {"created_at": "When", "from_status": "From", "to_status": "To"}
    column_formatters = {
        "created_at": _when,
        "incident": _incident_link,
        "kind": lambda v, c, m, n: m.kind.label,
        "actor": lambda v, c, m, n: m.actor.username if m.actor else "system",
        "from_status": lambda v, c, m, n: m.from_status.label if m.from_status else "",
        "to_status": lambda v, c, m, n: m.to_status.label if m.to_status else "",
        "changes": lambda v, c, m, n: "; ".join(change_words(m.changes)),
    }
    column_formatters_detail = column_formatters
    column_filters = (
        Equal(IncidentEvent.kind, "Kind", options=[(k.value, k.label) for k in EventKind]),
        Equal(IncidentEvent.incident_id, "Incident number"),
        UTCBetween(IncidentEvent.created_at, "When"),
    )
    column_searchable_list = ("note",)
    column_default_sort = ("created_at", True)

    def get_query(self):
        return super().get_query().options(joinedload(IncidentEvent.incident),
                                           joinedload(IncidentEvent.actor))


class AccessEventView(ReadOnlyModelView):
    """Logins, failures, logouts, 2FA, roles and activation, with IP."""

    column_list = ("created_at", "kind", "identity", "user", "actor", "ip", "detail")
    column_labels = {"created_at": "When", "identity": "Account", "actor": "Changed by",
                     "ip": "IP address"}
    column_formatters = {
        "created_at": _when,
        "kind": lambda v, c, m, n: _words(m.kind),
        "user": lambda v, c, m, n: m.user.username if m.user else "",
        "actor": lambda v, c, m, n: m.actor.username if m.actor else "",
    }
    column_filters = ("kind", "identity", "ip",
                      UTCBetween(AccessEvent.created_at, "When"))
    column_searchable_list = ("identity", "ip")
    column_default_sort = ("created_at", True)
    column_choices = {"kind": [(k.value, _words(k.value)) for k in AccessKind]}


def _body(message: OutboxMessage) -> str:
    # Account mails carry reset and confirmation links: whoever reads them could take
    # over the account, so not even admins see them here.
    if message.event_kind == ACCOUNT_MAIL:
        return "(account mail from the login system: the body is not shown)"
    return message.text_body


class OutboxView(ReadOnlyModelView):
    """The mail outbox: what waits, what went, what failed and why (and, when delivery
    is off, a banner saying so)."""

    list_template = "admin/outbox_list.html"

    column_list = ("created_at", "recipient", "subject", "status", "attempts",
                   "next_attempt_at", "sent_at", "last_error")
    column_details_list = column_list + ("text_body",)
    column_labels = {"created_at": "Queued", "next_attempt_at": "Next attempt",
                     "last_error": "Last error", "sent_at": "Sent", "text_body": "Text"}
    column_formatters = {"created_at": _when, "next_attempt_at": _when, "sent_at": _when,
                         "status": lambda v, c, m, n: _words(m.status),
                         "text_body": lambda v, c, m, n: _body(m)}
    column_filters = ("status", "recipient",
                      UTCBetween(OutboxMessage.created_at, "Queued"))
    column_searchable_list = ("recipient", "subject")

    @action("retry", "Retry", "Send the selected failed messages again?")
    def action_retry(self, ids):
        messages = db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.id.in_([n for n in map(parse_id, ids) if n]))).all()
        failed = [m for m in messages if m.status == OutboxStatus.failed.value]
        for message in failed:
            retry(message)
        db.session.commit()
        deliverer = current_app.extensions.get("mail_deliverer")
        if failed and deliverer is not None:
            deliverer.wake()
        skipped = len(messages) - len(failed)
        flash(f"{len(failed)} message(s) queued again."
              + (f" {skipped} skipped: only failed messages are retried." if skipped else ""),
              "success" if failed else "error")
