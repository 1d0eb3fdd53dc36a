"""*Inbound mail* (under Audit): every message that came in, with its status and reason;
a quarantined one can be accepted as a new incident, attached to an incident, or
discarded. The decisions are the pipeline's (``portal.mailin.pipeline``); this view only
adapts the form to them."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_admin import expose
from flask_security import current_user
from wtforms import StringField

from portal.admin.audit import _when
from portal.admin.base import ReadOnlyModelView
from portal.admin.changes import attempt
from portal.admin.filters import UTCBetween
from portal.extensions import db
from portal.ids import parse_id
from portal.incidents.access import visible_incidents
from portal.incidents.models import Incident
from portal.mailin import pipeline
from portal.mailin.models import InboundMail, InboundStatus
from portal.mailin.reading import read
from portal.plain_text_input import PortalForm


class DecisionForm(PortalForm):
    """The decision on a quarantined message; ``incident`` only for *attach*."""

    incident = StringField("Incident number (for “attach”)")


def _incident_of(form: DecisionForm) -> Incident | None:
    """The incident an admin typed (``42`` or ``INC-42``), among those they see."""
    number = parse_id((form.incident.data or "").strip().upper().removeprefix("INC-"))
    if number is None:
        return None
    return db.session.scalar(visible_incidents(current_user).where(Incident.id == number))


class InboundMailView(ReadOnlyModelView):
    """The inbound mail: what came in, what became of it, and the quarantine."""

    details_template = "admin/inbound_mail_details.html"
    column_list = ("received_at", "sender", "sender_proof", "subject", "status", "action",
                   "incident", "reason")
    column_details_list = column_list + ("message_id", "size")
    column_labels = {"received_at": "Received", "message_id": "Message-ID",
                     "size": "Size (bytes)", "sender_proof": "Sender proven by"}
    column_formatters = {
        "received_at": _when,
        "sender_proof": lambda v, c, m, n: m.sender_proof or "nothing (unverified)",
        "incident": lambda v, c, m, n: m.incident.number if m.incident else "",
    }
    column_filters = ("status", "sender", UTCBetween(InboundMail.received_at, "Received"))
    column_searchable_list = ("sender", "subject")
    column_choices = {"status": [(s.value, s.value) for s in InboundStatus]}
    column_default_sort = ("received_at", True)

    def render(self, template, **kwargs):
        if template == self.details_template:
            row = kwargs["model"]
            kwargs["decision_form"] = DecisionForm()
            kwargs["quarantined"] = row.status == InboundStatus.quarantined.value
            # The text as the pipeline read it; the raw message stays untouched.
            kwargs["text"] = read(row.raw).text if row.size == len(row.raw) else \
                "(too large: only the headers were kept)"
        return super().render(template, **kwargs)

    @expose("/decide/", methods=("POST",))
    def decide_view(self):
        """Carry out the button pressed: ``decision`` is accept, attach or discard."""
        row = self.get_one(request.args.get("id", ""))
        if row is None:
            return redirect(url_for(".index_view"))
        form = DecisionForm()
        decision = request.form.get("decision")
        back = redirect(url_for(".details_view", id=row.id))
        if not form.validate_on_submit():
            flash("The form expired: try again.", "error")
            return back
        if decision not in ("accept", "attach", "discard"):
            flash("Choose accept, attach or discard.", "error")
            return back
        try:
            if decision == "accept":
                outcome = attempt(lambda: pipeline.accept_as_new(row, admin=current_user))
                if outcome.ok:
                    flash(f"{outcome.result.number} opened from the message.", "success")
            elif decision == "attach":
                incident = _incident_of(form)
                if incident is None:
                    flash("Incident number: no incident with that number.", "error")
                    return back
                if attempt(lambda: pipeline.attach_to(row, incident,
                                                      admin=current_user)).ok:
                    flash(f"The message was added to {incident.number}.", "success")
            else:
                pipeline.discard(row, admin=current_user)
                db.session.commit()
                flash("The message was discarded.", "success")
        except pipeline.DecisionRefused as refused:
            db.session.rollback()
            flash(str(refused), "error")
        return back
