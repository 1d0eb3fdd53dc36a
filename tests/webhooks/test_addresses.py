"""Where webhooks may go: no loopback, link-local, metadata or (by default) private
addresses, checked on saving and again after DNS at every delivery; no redirects."""
from __future__ import annotations

import ipaddress

import pytest

from portal.extensions import db
from portal.webhooks import service
from portal.webhooks.service import WebhookRefused
from tests.factories import make_incident
from tests.webhook_receiver import Receiver
from tests.webhooks.helpers import deliveries


@pytest.mark.parametrize("url, reason", [
    ("http://127.0.0.1:8080/hooks", "loopback"),
    ("http://[::1]/hooks", "loopback"),
    ("http://[::ffff:127.0.0.1]/hooks", "loopback"),
    ("http://localhost:8080/hooks", "loopback"),          # a name that resolves to it
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://[fd00:ec2::254]/", "metadata"),
    ("http://100.100.100.200/", "metadata"),
    ("http://0.0.0.0/", "not a unicast"),
    ("http://10.1.2.3/hooks", "WEBHOOK_ALLOW_PRIVATE"),
    ("http://192.168.0.10/hooks", "WEBHOOK_ALLOW_PRIVATE"),
    ("http://100.64.0.1/hooks", "WEBHOOK_ALLOW_PRIVATE"),
    ("ftp://example.com/hooks", "https://"),
    ("http://user:secret@93.184.216.34/hooks", "user name or password"),
    ("http://no-such-host.invalid/hooks", "does not resolve"),
    ("http:///hooks", "no host"),
    ("http://93.184.216.34:99999/", "not a valid URL"),
])
def test_refused_on_saving(admin, url, reason):
    with pytest.raises(WebhookRefused) as refused:
        service.create(admin, url=url, events=["incident.created"])
    assert refused.value.field == "url" and reason in refused.value.message


def test_private_addresses_with_the_setting_and_public_ones_always(admin, app, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE", True)
    for url in ("http://10.1.2.3/hooks", "https://93.184.216.34/hooks"):
        endpoint, _secret = service.create(admin, url=url, events=["incident.created"])
        assert endpoint.url == url
    with pytest.raises(WebhookRefused, match="loopback"):
        service.create(admin, url="http://127.0.0.1/", events=["incident.created"])
    with pytest.raises(WebhookRefused, match="metadata"):
        service.create(admin, url="http://169.254.169.254/", events=["incident.created"])


def test_checked_again_at_delivery(register, receiver, send, admin, reporter, app,
                                   monkeypatch):
    """Saved while allowed; by delivery time the address is refused (as when a name is
    pointed elsewhere): nothing is sent, and retrying would not help."""
    register(receiver.url)
    make_incident(reporter=reporter, admin=admin)
    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_ADDRESSES", ())
    assert send() == 0
    [delivery] = deliveries()
    assert receiver.received == []
    assert delivery.status == "failed" and "loopback" in delivery.last_error


def test_the_request_goes_to_the_checked_address_with_the_name_as_host(
        register, receiver, send, admin, reporter):
    register(f"http://localhost:{receiver.port}/hooks")
    make_incident(reporter=reporter, admin=admin)
    assert send() == 1
    assert receiver.received[0].headers["host"] == f"localhost:{receiver.port}"


def test_redirects_are_not_followed(register, receiver, send, admin, reporter):
    target = Receiver().start()
    try:
        receiver.redirect_to = target.url
        register(receiver.url)
        make_incident(reporter=reporter, admin=admin)
        assert send() == 0
        assert target.received == []
        [delivery] = deliveries()
        assert delivery.response_status == 302 and "redirect, not followed" in \
            delivery.last_error
    finally:
        target.stop()


def test_the_allow_list_is_read_from_the_environment():
    from portal.config import ConfigError, load_config

    config = load_config(environ={"APP_ENV": "testing",
                                  "WEBHOOK_ALLOW_ADDRESSES": "127.0.0.1/32, fd00::/8"})
    assert config["WEBHOOK_ALLOW_ADDRESSES"] == (ipaddress.ip_network("127.0.0.1/32"),
                                                 ipaddress.ip_network("fd00::/8"))
    with pytest.raises(ConfigError, match="WEBHOOK_ALLOW_ADDRESSES"):
        load_config(environ={"APP_ENV": "testing", "WEBHOOK_ALLOW_ADDRESSES": "localhost"})


def test_saved_event_types_are_checked(admin):
    with pytest.raises(WebhookRefused) as refused:
        service.create(admin, url="https://93.184.216.34/", events=["incident.exploded"])
    assert refused.value.field == "events"
    with pytest.raises(WebhookRefused) as refused:
        service.create(admin, url="https://93.184.216.34/", events=[])
    assert refused.value.field == "events"
    db.session.rollback()
