"""*Webhooks* (Admin menu, Integrations): the endpoints admins register, each with its
delivery log, "Send again" per delivery, "Send a test event" and "Rotate secret".

Every change goes through ``portal.webhooks.service``, which checks the input (the URL's
address, the event types, the lengths) and raises ``WebhookRefused`` naming the field:
the form shows it on that field, with what was typed kept. A secret is shown once, on
the page that answers the POST that made it (register, rotate), as the API tokens page
shows a token: never in a flash, the session or a log.
"""
from __future__ import annotations

from flask import flash, g, make_response, redirect, request
from flask_admin import expose
from flask_admin.form import FormOpts
from flask_admin.helpers import is_form_submitted
from flask_admin.model.helpers import get_mdict_item_or_list
from flask_security import current_user
from sqlalchemy import func, select
from wtforms import BooleanField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from portal.admin.base import SecureModelView, safe_return_url
from portal.display import when
from portal.extensions import db
from portal.ids import parse_id
from portal.plain_text_input import PortalForm
from portal.webhooks import service
from portal.webhooks.events import DESCRIPTIONS, EVENT_TYPES
from portal.webhooks.models import (DESCRIPTION_MAX, URL_MAX, WebhookDelivery,
                                    WebhookEndpoint)
from portal.webhooks.service import WebhookRefused

#: The delivery log shows the newest ones, this many.
LOG_SHOWN = 50
FORM_FIELDS = ("url", "description", "events", "active", "internal")


class WebhookForm(PortalForm):
    """An endpoint's fields. No rules here: ``service`` checks them and names the field."""

    url = StringField("URL", render_kw={"maxlength": URL_MAX, "placeholder": "https://"},
                      description="Where deliveries are POSTed. Loopback, link-local and "
                                  "cloud metadata addresses are refused.")
    description = StringField("Description", render_kw={"maxlength": DESCRIPTION_MAX},
                              description="Who receives it, for the list (optional).")
    events = SelectMultipleField(
        "Event types", default=list(EVENT_TYPES), validate_choice=False,
        choices=[SelectChoice(name, f"{name} — {DESCRIPTIONS[name]}") for name in EVENT_TYPES],
        widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    active = BooleanField("Active", default=True,
                          description="Off: no events are queued for it. Switching it on "
                                      "again clears why it was switched off.")
    internal = BooleanField("Internal", description="Internal endpoints also get internal "
                                                    "comments, as staff see them.")


def events_short(events: list[str] | None) -> str:
    """``All event types``, or the first two and how many more."""
    events = list(events or [])
    if set(events) >= set(EVENT_TYPES):
        return "All event types"
    if len(events) <= 2:
        return ", ".join(events) or "None"
    return f"{events[0]}, {events[1]} and {len(events) - 2} more"


def state_words(endpoint: WebhookEndpoint) -> str:
    """``Active``, ``Off``, or ``Disabled automatically on …: reason``."""
    if endpoint.active:
        return "Active"
    if endpoint.disabled_at:
        return (f"Disabled automatically on {when(endpoint.disabled_at)}: "
                f"{endpoint.disabled_reason}")
    return "Off"


def last_deliveries(endpoint_ids) -> dict[int, WebhookDelivery]:
    """The newest delivery of each of ``endpoint_ids`` (one statement)."""
    newest = (select(func.max(WebhookDelivery.id)).where(
        WebhookDelivery.endpoint_id.in_(endpoint_ids)).group_by(WebhookDelivery.endpoint_id))
    return {row.endpoint_id: row for row in db.session.scalars(
        select(WebhookDelivery).where(WebhookDelivery.id.in_(newest)))}


class WebhookView(SecureModelView):
    """Admins register, change and remove webhook endpoints and read their delivery logs."""

    list_template = "admin/webhook_list.html"
    create_template = "admin/webhook_form.html"
    edit_template = "admin/webhook_form.html"
    details_template = "admin/webhook_details.html"
    # The list and details templates lay the columns out themselves.
    column_list = ("description", "url", "events", "active", "internal")
    column_labels = {"url": "URL", "events": "Event types", "active": "State"}
    column_default_sort = ("id", False)
    can_view_details = True
    can_set_page_size = False
    form = WebhookForm
    # A list of checkboxes, not one input: Flask-Admin's "form-control" would give it the
    # height of one line, and the boxes would spill over the fields below.
    form_widget_args = {"events": {"class": "webhook-events"}}

    def render(self, template, **kwargs):
        if template == self.list_template:
            rows = kwargs.get("data") or []
            kwargs["last"] = last_deliveries([row.id for row in rows]) if rows else {}
        elif template == self.details_template:
            endpoint = kwargs["model"]
            kwargs["deliveries"] = list(db.session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
                .order_by(WebhookDelivery.id.desc()).limit(LOG_SHOWN)))
            kwargs["delivery_count"] = db.session.scalar(
                select(func.count()).where(WebhookDelivery.endpoint_id == endpoint.id))
            kwargs.setdefault("secret", None)
            kwargs.setdefault("secret_new", False)
        kwargs.update(events_short=events_short, state_words=state_words)
        return super().render(template, **kwargs)

    def _details(self, endpoint: WebhookEndpoint, *, secret: str | None = None,
                 rotated: bool = False, status: int = 200):
        """The endpoint's page; with ``secret``, the one time it is shown (and kept in no
        cache, so "back" does not show it again)."""
        response = make_response(self.render(
            self.details_template, model=endpoint, details_columns=self._details_columns,
            get_value=self.get_detail_value, secret=secret, secret_new=not rotated,
            return_url=self.get_url(".index_view")), status)
        if secret:
            response.cache_control.no_store = True
            response.cache_control.private = True
        return response

    # --- writes: through the service, refusals on their fields ---------------------------

    def _refused(self, refused: WebhookRefused, form=None) -> None:
        db.session.rollback()
        field = getattr(form, refused.field, None) if form is not None and refused.field \
            else None
        if field is not None:
            field.errors = [*field.errors, refused.message]
        else:  # a button's refusal ("switch the endpoint on first: ..."), as a sentence
            flash(refused.message[:1].upper() + refused.message[1:] + ".", "error")

    def _changes(self, form) -> dict:
        return {name: form[name].data for name in FORM_FIELDS}

    def create_model(self, form):
        try:
            endpoint, secret = service.create(current_user, **self._changes(form))
            db.session.commit()
        except WebhookRefused as refused:
            self._refused(refused, form)
            return False
        g.webhook_secret = secret  # for create_view's answer, this request only
        return endpoint

    def update_model(self, form, model):
        try:
            service.update(current_user, model, **self._changes(form))
            db.session.commit()
        except WebhookRefused as refused:
            self._refused(refused, form)
            return False
        return True

    def delete_model(self, model):
        try:
            service.delete(current_user, model)
            db.session.commit()
        except WebhookRefused as refused:
            self._refused(refused)
            return False
        return True

    @expose("/new/", methods=("GET", "POST"))
    def create_view(self):
        """Flask-Admin's create, except that success answers with the endpoint's page and
        its secret, this once (a redirect would need the secret kept until the next GET)."""
        form = self.create_form()
        if self.validate_form(form):
            endpoint = self.create_model(form)
            if endpoint:
                flash("Endpoint registered. Copy its secret now: it is not shown again.",
                      "success")
                return self._details(endpoint, secret=g.pop("webhook_secret"), status=201)
        elif is_form_submitted():
            flash("The form expired: try again.", "error")
        return self.render(self.create_template, form=form,
                           form_opts=FormOpts(widget_args=self.form_widget_args),
                           return_url=safe_return_url(self.get_url(".index_view")))

    # --- the buttons of an endpoint's page ------------------------------------------------

    def _endpoint_or_back(self):
        """The endpoint named by ``?id=``; None (with a flash) when there is none."""
        endpoint = self.get_one(get_mdict_item_or_list(request.args, "id") or "")
        if endpoint is None:
            flash("No such webhook endpoint.", "error")
        return endpoint

    @expose("/rotate/", methods=("POST",))
    def rotate_view(self):
        """A new secret, shown on the page answering this POST; the old one signs too for
        24 hours."""
        endpoint = self._endpoint_or_back()
        if endpoint is None:
            return redirect(self.get_url(".index_view"))
        try:
            secret = service.rotate_secret(current_user, endpoint)
            db.session.commit()
        except WebhookRefused as refused:
            self._refused(refused)
            return redirect(self.get_url(".details_view", id=endpoint.id))
        flash("The secret was rotated: the previous one keeps signing for 24 hours.",
              "success")
        return self._details(endpoint, secret=secret, rotated=True)

    @expose("/test/", methods=("POST",))
    def test_view(self):
        """Queue a ``webhook.test`` event; the worker sends it like any other."""
        endpoint = self._endpoint_or_back()
        if endpoint is None:
            return redirect(self.get_url(".index_view"))
        try:
            service.send_test(current_user, endpoint)
            db.session.commit()
            flash("A test event is queued: the worker sends it shortly; its delivery is "
                  "at the top of the log.", "success")
        except WebhookRefused as refused:
            self._refused(refused)
        return redirect(self.get_url(".details_view", id=endpoint.id))

    @expose("/redeliver/", methods=("POST",))
    def redeliver_view(self):
        """Send one delivery of this endpoint again (form field ``delivery``)."""
        endpoint = self._endpoint_or_back()
        if endpoint is None:
            return redirect(self.get_url(".index_view"))
        number = parse_id(request.form.get("delivery", ""))
        delivery = db.session.get(WebhookDelivery, number) if number else None
        if delivery is None or delivery.endpoint_id != endpoint.id:
            flash("No such delivery in this endpoint's log.", "error")
            return redirect(self.get_url(".details_view", id=endpoint.id))
        try:
            service.redeliver(current_user, delivery)
            db.session.commit()
            flash(f"Delivery {delivery.id} ({delivery.event_type}) is queued again, with "
                  "the same webhook-id.", "success")
        except WebhookRefused as refused:
            self._refused(refused)
        return redirect(self.get_url(".details_view", id=endpoint.id))
