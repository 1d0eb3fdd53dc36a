"""The portal's webhook pages (issue 18): admins register endpoints through the form (the
secret shown once), read the delivery log, send a test event, send a delivery again and
rotate the secret; the service's refusals reach the form's fields; nobody else gets in.

Deliveries go to the real receiver of ``tests.webhook_receiver``, which checks their
signatures with the specification's own package.
"""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from harness.statements import count_statements
from portal.admin.webhooks import LOG_SHOWN
from portal.db_types import utcnow
from portal.extensions import db
from portal.webhooks import service, signing
from portal.webhooks.deliver import disable
from portal.webhooks.events import EVENT_TYPES, TEST
from portal.webhooks.models import WebhookDelivery, WebhookEndpoint
from tests.clients import csrf_token_from
from tests.factories import make_user
from tests.webhooks.helpers import deliveries

SECRET = re.compile(r"whsec_[A-Za-z0-9+/]{43}=")
BASE = "/admin/webhooks"


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def post(client, path: str, form: dict | None = None, *, token_from: str = f"{BASE}/"):
    """POST ``form`` with the CSRF token of the page at ``token_from``."""
    token = csrf_token_from(page(client, token_from))
    return client.post(path, data={"csrf_token": token, **(form or {})})


def new_endpoint(client, **form):
    fields = {"url": "", "description": "", "events": list(EVENT_TYPES), "active": "y",
              **form}
    return post(client, f"{BASE}/new/", {k: v for k, v in fields.items() if v is not None},
                token_from=f"{BASE}/new/")


def details(endpoint) -> str:
    return f"{BASE}/details/?id={endpoint.id}"


def shown_secret(response) -> str | None:
    found = SECRET.search(response.get_data(as_text=True))
    return found.group() if found else None


# --- who gets in --------------------------------------------------------------------------

PAGES = [f"{BASE}/", f"{BASE}/new/", "details", "edit"]


@pytest.mark.parametrize("role,code", [("reporter", 403), ("technician", 403), ("admin", 200)])
@pytest.mark.parametrize("where", PAGES)
def test_only_admins_open_the_pages(client, login, register, role, code, where):
    endpoint, _ = register("https://93.184.216.34/hooks")
    path = {"details": details(endpoint), "edit": f"{BASE}/edit/?id={endpoint.id}"}.get(
        where, where)
    login(make_user(role))
    assert client.get(path).status_code == code


@pytest.mark.parametrize("role", ["reporter", "technician"])
@pytest.mark.parametrize("button", ["rotate", "test", "redeliver"])
def test_non_admins_press_no_button(client, login, register, role, button):
    endpoint, _ = register("https://93.184.216.34/hooks")
    before = endpoint.secret_sealed
    login(make_user(role))
    response = post(client, f"{BASE}/{button}/?id={endpoint.id}", token_from="/admin/mine/")
    assert response.status_code == 403
    assert shown_secret(response) is None
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, endpoint.id).secret_sealed == before
    assert deliveries() == []


def test_anonymous_visitors_go_to_the_login_page(client):
    response = client.get(f"{BASE}/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_admin_menu_has_webhooks_under_integrations(client, login, admin):
    login(admin)
    nav = page(client, "/admin/").split("</nav>")[0]
    menu = nav.split('aria-labelledby="admin-menu"')[1]
    assert menu.index("Integrations") < menu.index(f'href="{BASE}/"')
    assert "Webhooks" in menu


# --- registering: the secret once; refusals on their fields --------------------------------

def test_an_admin_registers_an_endpoint_and_sees_its_secret_once(client, login, admin,
                                                                 allow_loopback, receiver,
                                                                 caplog):
    login(admin)
    form = page(client, f"{BASE}/new/")
    for event_type in EVENT_TYPES:  # every type offered, described, ticked by default
        assert re.search(rf'<input checked[^>]*value="{re.escape(event_type)}"', form), \
            event_type
    assert "Internal endpoints also get internal comments" in form

    response = new_endpoint(client, url=receiver.url, description="Ops chat bridge")
    assert response.status_code == 201
    secret = shown_secret(response)
    assert secret is not None
    text = response.get_data(as_text=True)
    assert "Standard Webhooks" in text and "shown this once" in text
    assert "no-store" in response.headers["Cache-Control"]

    endpoint = db.session.scalar(select(WebhookEndpoint))
    assert (endpoint.url, endpoint.description) == (receiver.url, "Ops chat bridge")
    assert endpoint.events == list(EVENT_TYPES) and endpoint.active
    assert endpoint.created_by_id == admin.id
    assert signing.unseal(endpoint.secret_sealed) == secret
    # Shown once: not on the next visit, nor in the session cookie, nor in a log.
    for again in (details(endpoint), f"{BASE}/", f"{BASE}/edit/?id={endpoint.id}"):
        assert secret not in page(client, again)
    with client.session_transaction() as session:
        assert secret not in repr(dict(session))
    assert secret not in caplog.text


REFUSALS = [
    # field, form, what the page says on the field
    ("url", {"url": "http://127.0.0.1/"}, "127.0.0.1 is 127.0.0.1, a loopback address"),
    ("url", {"url": "ftp://example.com/"}, "the URL must start with https:// or http://"),
    ("url", {"url": ""}, "a URL is needed"),
    ("events", {"events": None}, "choose at least one event type"),
    ("events", {"events": ["incident.exploded"]}, "unknown event type"),
    ("description", {"description": "x" * 256}, "at most 255 characters"),
]


@pytest.mark.parametrize("field,form,message", REFUSALS,
                         ids=[f"{field}: {message}" for field, _, message in REFUSALS])
def test_a_refusal_is_an_error_on_its_field_and_keeps_the_rest(client, login, admin, field,
                                                               form, message):
    login(admin)
    typed = {"url": "https://93.184.216.34/hooks", "description": "Ops chat bridge",
             "events": ["incident.created", "incident.resolved"], **form}
    response = new_endpoint(client, **typed)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    # The message sits in the field's own feedback, after its input.
    after_field = text.split(f'name="{field}"', 1)[1]
    feedback = re.search(r'class="invalid-feedback[^"]*"[^>]*>(.*?)</', after_field, re.DOTALL)
    assert feedback and message in html.unescape(feedback.group(1)), text
    # What was typed is still there.
    if field != "url":
        assert 'value="https://93.184.216.34/hooks"' in text
    if field != "description":
        assert 'value="Ops chat bridge"' in text
    if field != "events":
        assert re.search(r'<input checked[^>]*value="incident.resolved"', text)
        assert not re.search(r'<input checked[^>]*value="incident.updated"', text)
    assert db.session.scalar(select(WebhookEndpoint.id)) is None


def test_editing_goes_through_the_service(client, login, admin, register):
    endpoint, _ = register("https://93.184.216.34/hooks", description="Old")
    disable(endpoint, "every delivery failed for 24 hours; last: the receiver answered 503")
    db.session.commit()
    login(admin)
    listing = page(client, f"{BASE}/")
    assert "Disabled automatically" in listing and "the receiver answered 503" in listing
    edit = f"{BASE}/edit/?id={endpoint.id}"
    assert "Tick Active to switch it on again" in page(client, edit)
    refused = post(client, edit, {"url": "http://169.254.169.254/", "description": "New",
                                  "events": ["incident.closed"], "active": "y"},
                   token_from=edit)
    assert refused.status_code == 200
    assert "a link-local or cloud metadata address" in refused.get_data(as_text=True)
    saved = post(client, edit, {"url": "https://93.184.216.34/v2", "description": "New",
                                "events": ["incident.closed"], "active": "y"},
                 token_from=edit)
    assert saved.status_code == 302
    db.session.expire_all()
    endpoint = db.session.get(WebhookEndpoint, endpoint.id)
    assert (endpoint.url, endpoint.description, endpoint.events, endpoint.active) == \
        ("https://93.184.216.34/v2", "New", ["incident.closed"], True)
    assert endpoint.disabled_reason is None  # switched on again: the reason goes


# --- the delivery log and its buttons -------------------------------------------------------

def test_a_test_event_is_delivered_and_shows_in_the_log(client, login, admin, register,
                                                         receiver, send):
    endpoint, secret = register(receiver.url, description="Ops chat bridge")
    login(admin)
    assert "No deliveries yet" in page(client, details(endpoint))
    queued = post(client, f"{BASE}/test/?id={endpoint.id}", token_from=details(endpoint))
    assert queued.status_code == 302 and queued.headers["Location"].endswith(details(endpoint))
    assert send() == 1
    assert receiver.received[0].verified(secret)["type"] == TEST
    log = page(client, details(endpoint))
    row = log.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    assert TEST in row and "sent" in row and '<span class="response-code">200</span>' in row
    assert "{&#34;ok&#34;: true}" in row  # the first KB of the answer, escaped
    listing = page(client, f"{BASE}/")
    assert "Ops chat bridge" in listing and "badge-delivery-sent" in listing


def test_send_again_requeues_a_failed_delivery(client, login, admin, register, receiver,
                                               send):
    endpoint, secret = register(receiver.url)
    login(admin)
    post(client, f"{BASE}/test/?id={endpoint.id}", token_from=details(endpoint))
    receiver.answers = [503, 503]
    send()  # 503: retried later
    # Its day of retries is over: the next 503 fails it for good.
    db.session.execute(update(WebhookDelivery).values(
        expires_at=utcnow() - timedelta(seconds=1), next_attempt_at=utcnow()))
    db.session.commit()
    send()
    (delivery,) = deliveries()
    assert (delivery.status, delivery.response_status) == ("failed", 503)
    log = page(client, details(endpoint))
    assert "badge-delivery-failed" in log and "the receiver answered 503" in log
    assert "receiver says no" in log

    again = post(client, f"{BASE}/redeliver/?id={endpoint.id}",
                 {"delivery": str(delivery.id)}, token_from=details(endpoint))
    assert again.status_code == 302
    db.session.expire_all()
    delivery = db.session.get(WebhookDelivery, delivery.id)
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    assert send() == 1
    assert len({request.webhook_id for request in receiver.received}) == 1  # one message
    assert receiver.received[-1].signed_by(secret)
    assert "badge-delivery-sent" in page(client, details(endpoint))


@pytest.mark.parametrize("sent", ["", "abc", "-1", "0", "1.5", "99999999999999999999",
                                  "999999", "other endpoint's"])
def test_send_again_of_no_such_delivery_is_a_message(client, login, admin, register, sent):
    endpoint, _ = register("https://93.184.216.34/hooks")
    other, _ = register("https://93.184.216.34/other")
    login(admin)
    post(client, f"{BASE}/test/?id={other.id}", token_from=details(other))
    if sent == "other endpoint's":
        sent = str(deliveries(endpoint_id=other.id)[0].id)
    response = post(client, f"{BASE}/redeliver/?id={endpoint.id}", {"delivery": sent},
                    token_from=details(endpoint))
    assert response.status_code == 302
    assert "No such delivery" in page(client, response.headers["Location"])


def test_send_again_of_a_delivery_being_sent_is_refused_with_a_message(client, login, admin,
                                                                       register):
    endpoint, _ = register("https://93.184.216.34/hooks")
    login(admin)
    post(client, f"{BASE}/test/?id={endpoint.id}", token_from=details(endpoint))
    db.session.execute(update(WebhookDelivery).values(claimed_at=utcnow(), attempts=3))
    db.session.commit()
    (delivery,) = deliveries()
    response = post(client, f"{BASE}/redeliver/?id={endpoint.id}",
                    {"delivery": str(delivery.id)}, token_from=details(endpoint))
    assert "It is being sent right now." in page(client, response.headers["Location"])
    db.session.expire_all()
    assert db.session.get(WebhookDelivery, delivery.id).attempts == 3


@pytest.mark.parametrize("button", ["rotate", "test", "redeliver"])
@pytest.mark.parametrize("named", ["", "?id=abc", "?id=999999", "?id=99999999999999999999"])
def test_a_button_of_no_such_endpoint_goes_back_to_the_list(client, login, admin, button,
                                                            named):
    login(admin)
    response = post(client, f"{BASE}/{button}/{named}")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"{BASE}/")
    assert "No such webhook endpoint" in page(client, f"{BASE}/")


def test_a_test_event_for_an_endpoint_that_is_off_is_refused_with_a_message(
        client, login, admin, register):
    endpoint, _ = register("https://93.184.216.34/hooks", active=False)
    login(admin)
    response = post(client, f"{BASE}/test/?id={endpoint.id}", token_from=details(endpoint))
    assert "Switch the endpoint on first" in page(client, response.headers["Location"])
    assert deliveries() == []


def test_rotating_shows_the_new_secret_once_and_both_sign_for_a_day(client, login, admin,
                                                                    register, receiver, send):
    endpoint, old = register(receiver.url)
    login(admin)
    rotated = post(client, f"{BASE}/rotate/?id={endpoint.id}", token_from=details(endpoint))
    assert rotated.status_code == 200
    new = shown_secret(rotated)
    assert new and new != old
    assert "two signatures" in rotated.get_data(as_text=True)
    assert "no-store" in rotated.headers["Cache-Control"]
    assert new not in page(client, details(endpoint))
    post(client, f"{BASE}/test/?id={endpoint.id}", token_from=details(endpoint))
    assert send() == 1
    (request,) = receiver.received
    assert request.signed_by(new) and request.signed_by(old)


def test_the_log_escapes_what_a_receiver_answered(client, login, admin, register):
    endpoint, _ = register("https://93.184.216.34/hooks")
    login(admin)
    post(client, f"{BASE}/test/?id={endpoint.id}", token_from=details(endpoint))
    db.session.execute(update(WebhookDelivery).values(
        response_status=200, response_body="<script>alert(1)</script>",
        last_error="<img src=x onerror=alert(2)>"))
    db.session.commit()
    log = page(client, details(endpoint))
    assert "<script>alert(1)" not in log and "&lt;script&gt;alert(1)" in log
    assert "<img src=x" not in log


def test_removing_an_endpoint_removes_its_log(client, login, admin, register):
    endpoint, _ = register("https://93.184.216.34/hooks")
    login(admin)
    post(client, f"{BASE}/test/?id={endpoint.id}", token_from=details(endpoint))
    response = post(client, f"{BASE}/delete/", {"id": str(endpoint.id), "url": f"{BASE}/"},
                    token_from=details(endpoint))
    assert response.status_code == 302
    assert db.session.scalar(select(WebhookEndpoint.id)) is None
    assert deliveries() == []


def test_the_log_shows_the_newest_deliveries_and_says_how_many_there_are(client, login,
                                                                         admin, register):
    endpoint, _ = register("https://93.184.216.34/hooks")
    for _ in range(LOG_SHOWN + 1):
        service.send_test(admin, endpoint)
    db.session.commit()
    newest, oldest = deliveries()[-1], deliveries()[0]
    login(admin)
    log = page(client, details(endpoint))
    assert f"The newest {LOG_SHOWN} of {LOG_SHOWN + 1} deliveries." in log
    assert log.count('name="delivery"') == LOG_SHOWN
    assert f'name="delivery" value="{newest.id}"' in log
    assert f'name="delivery" value="{oldest.id}"' not in log


@pytest.mark.parametrize("where", ["list", "details"])
def test_the_pages_send_as_many_statements_whatever_the_number_of_endpoints(
        app, client, login, admin, register, where):
    login(admin)
    counts = []
    for added in (2, 6):
        for _ in range(added):
            endpoint, _ = register("https://93.184.216.34/hooks", owner=admin)
            for _ in range(3):
                service.send_test(admin, endpoint)
        db.session.commit()
        path = f"{BASE}/" if where == "list" else details(endpoint)
        client.get(path)  # warm
        db.session.expunge_all()
        counts.append(count_statements(app, lambda: client.get(path)))
        admin = db.session.merge(admin)
    assert counts[0] == counts[1], counts
