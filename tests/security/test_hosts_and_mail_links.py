"""Finding 1 (and issue 13, bug 4): mailed links follow PORTAL_BASE_URL, never the
request's Host; other hosts answer 400; Flask-Security's mails wait in the outbox (no mail
server needed) and their bodies are hidden from the Mail outbox view."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal.notifications.account_mail import ACCOUNT_MAIL
from portal.extensions import db
from portal.notifications.models import OutboxMessage
from tests.clients import csrf_token_from
from tests.factories import make_user


def request_reset(client, email, **kwargs):
    token = csrf_token_from(client.get("/reset", **kwargs).get_data(as_text=True))
    return client.post("/reset", data={"email": email, "csrf_token": token}, **kwargs)


def mails_to(address) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.recipient == address).order_by(OutboxMessage.id)))


def links_in(message: OutboxMessage) -> list[str]:
    return re.findall(r"https?://[^\s\"'<>]+", message.text_body + message.html_body)


@pytest.mark.parametrize("how", ["Host", "X-Forwarded-Host"])
def test_reset_link_uses_the_base_url_whatever_the_host_says(make_app, how):
    app = make_app(BEHIND_PROXY=True, PORTAL_BASE_URL="https://portal.example.com")
    client, victim = app.test_client(), make_user("reporter")
    kwargs = {"base_url": "http://evil.example"} if how == "Host" else \
        {"headers": {"X-Forwarded-Host": "evil.example"}}
    assert request_reset(client, victim.email, **kwargs).status_code == 200
    [mail] = mails_to(victim.email)
    links = links_in(mail)
    assert any(link.startswith("https://portal.example.com/reset/") for link in links), links
    assert not any("evil.example" in link for link in links)


@pytest.mark.parametrize("kwargs", [
    {"base_url": "http://evil.example"},
    {"headers": {"X-Forwarded-Host": "evil.example"}},
])
def test_requests_for_other_hosts_answer_400(make_app, kwargs):
    app = make_app(BEHIND_PROXY=True, TRUSTED_HOSTS=["portal.example.com"])
    client = app.test_client()
    assert client.get("/reset", base_url="http://portal.example.com").status_code == 200
    response = client.get("/reset", **kwargs)
    assert response.status_code == 400
    assert "host" in response.get_data(as_text=True)


def test_production_trusts_the_base_url_host_and_loopback(make_app):
    app = make_app(APP_ENV="production", SECRET_KEY="x" * 40, SECURITY_PASSWORD_SALT="y" * 40,
                   PORTAL_BASE_URL="https://desk.example.org")
    assert app.config["TRUSTED_HOSTS"] == ["desk.example.org", "localhost", "127.0.0.1"]
    assert app.test_client().get("/healthz", base_url="http://evil.example").status_code == 400


def test_forgot_password_without_a_mail_server_queues_the_mail(make_app):
    # The default of `make run`: no MAIL_SERVER. The reset mail used to go straight to
    # SMTP (localhost:25, refused) and the page answered 500.
    app = make_app(MAIL_BACKEND="smtp", MAIL_SERVER="", MAIL_PORT=1)
    user = make_user("reporter")
    response = request_reset(app.test_client(), user.email)
    assert response.status_code == 200
    [mail] = mails_to(user.email)
    assert mail.event_kind == ACCOUNT_MAIL and mail.status == "pending"
    assert "/reset/" in mail.text_body


def test_admins_cannot_read_reset_links_in_the_outbox(client, login):
    admin, victim = make_user("admin"), make_user("reporter")
    request_reset(client, victim.email)
    [mail] = mails_to(victim.email)
    reset_link = next(link for link in links_in(mail) if "/reset/" in link)
    token = reset_link.rsplit("/", 1)[1]
    login(admin)
    for page in (client.get("/admin/outbox/"),
                 client.get(f"/admin/outbox/details/?id={mail.id}")):
        assert page.status_code == 200
        assert token not in page.get_data(as_text=True)
    assert "body is not shown" in client.get(
        f"/admin/outbox/details/?id={mail.id}").get_data(as_text=True)
