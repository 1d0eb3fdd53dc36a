"""``/api/v1/webhooks``: register, read, change, rotate, test, the delivery log and send
again, as an admin's script would use them (the deliveries themselves: tests/webhooks)."""
from __future__ import annotations

import pytest

from portal.webhooks.deliver import deliver_due
from tests.clients import bearer

BASE = "/api/v1/webhooks"


@pytest.fixture
def made(client, admin, receiver, allow_loopback):
    response = client.post(BASE, headers=bearer(admin), json={
        "url": receiver.url, "events": ["incident.created"], "description": "Chat"})
    assert response.status_code == 201, response.get_json()
    return response


def test_the_secret_is_in_the_creation_answer_only(client, admin, made):
    body = made.get_json()
    assert body["secret"].startswith("whsec_")
    assert made.headers["Location"].endswith(f"{BASE}/{body['id']}")
    again = client.get(f"{BASE}/{body['id']}", headers=bearer(admin)).get_json()
    assert "secret" not in again and again["events"] == ["incident.created"]
    listed = client.get(BASE, headers=bearer(admin)).get_json()
    assert [row["id"] for row in listed] == [body["id"]] and "secret" not in listed[0]


@pytest.mark.parametrize("body, field, words", [
    ({"url": "http://127.0.0.1/x", "events": ["incident.created"]}, "url", "loopback"),
    ({"url": "http://169.254.169.254/", "events": ["incident.created"]}, "url", "metadata"),
    ({"url": "https://93.184.216.34/", "events": ["incident.exploded"]}, "events", "one of"),
    ({"url": "https://93.184.216.34/", "events": []}, "events", "Length"),
    ({"events": ["incident.created"]}, "url", "Missing"),
    ({"url": "https://93.184.216.34/", "events": ["incident.created"], "active": 0},
     "active", "boolean"),
])
def test_bad_input_is_422_naming_the_field(client, admin, body, field, words):
    response = client.post(BASE, headers=bearer(admin), json=body)
    assert response.status_code == 422
    assert field in str(response.get_json())
    assert words.lower() in str(response.get_json()).lower()


def test_change_rotate_test_log_and_send_again(client, admin, made, receiver, app):
    webhook = made.get_json()
    url = f"{BASE}/{webhook['id']}"
    changed = client.patch(url, headers=bearer(admin),
                           json={"events": ["incident.created", "incident.closed"]})
    assert changed.status_code == 200
    assert changed.get_json()["events"] == ["incident.created", "incident.closed"]
    rotated = client.post(f"{url}/rotate-secret", headers=bearer(admin)).get_json()
    assert rotated["secret"] != webhook["secret"] and rotated["secret_rotated_until"]

    queued = client.post(f"{url}/test", headers=bearer(admin))
    assert queued.status_code == 202 and queued.get_json()["status"] == "pending"
    receiver.answers = [500]
    deliver_due()
    [logged] = client.get(f"{url}/deliveries", headers=bearer(admin)).get_json()
    assert logged["status"] == "pending" and logged["response_status"] == 500
    assert logged["attempts"] == 1 and logged["duration_ms"] is not None
    again = client.post(f"{url}/deliveries/{logged['id']}/redeliver", headers=bearer(admin))
    assert again.status_code == 202 and again.get_json()["attempts"] == 0
    deliver_due()
    sent = client.get(f"{url}/deliveries?status=sent", headers=bearer(admin)).get_json()
    assert [row["id"] for row in sent] == [logged["id"]]
    [first, second] = receiver.received
    assert first.webhook_id == second.webhook_id
    assert second.signed_by(rotated["secret"]) and second.signed_by(webhook["secret"])

    assert client.delete(url, headers=bearer(admin)).status_code == 204
    assert client.get(url, headers=bearer(admin)).status_code == 404


def test_a_delivery_of_another_endpoint_is_404(client, admin, made, receiver):
    first = made.get_json()
    other = client.post(BASE, headers=bearer(admin), json={
        "url": receiver.url + "?b", "events": ["incident.created"]}).get_json()
    delivery = client.post(f"{BASE}/{first['id']}/test", headers=bearer(admin)).get_json()
    wrong = client.post(f"{BASE}/{other['id']}/deliveries/{delivery['id']}/redeliver",
                        headers=bearer(admin))
    assert wrong.status_code == 404


def test_a_switched_off_endpoint_takes_no_test(client, admin, made):
    url = f"{BASE}/{made.get_json()['id']}"
    client.patch(url, headers=bearer(admin), json={"active": False})
    response = client.post(f"{url}/test", headers=bearer(admin))
    assert response.status_code == 422 and response.get_json()["errors"]
