"""Who gets which email, with what subject, parts and link — sent over real SMTP."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.incidents import lifecycle
from portal.incidents.enums import Status
from portal.auth.models import User
from portal.notifications.models import OutboxMessage
from tests.factories import make_incident, make_user


@pytest.fixture
def people():
    return {"ada": make_user("admin", username="ada"), "alan": make_user("admin", username="alan"),
            "off": make_user("admin", username="offadmin", active=False),
            "tom": make_user("technician", username="tom"),
            "rita": make_user("reporter", username="rita")}


def outbox_count() -> int:
    return db.session.scalar(select(func.count(OutboxMessage.id)))


def parts(message):
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return text, html


def test_created_tells_every_active_admin_and_acknowledges_the_reporter(app, people, smtp,
                                                                       deliver):
    incident = lifecycle.create(actor=people["rita"], title="VPN drops every 10 minutes",
                                description="Since 9:00", priority="high")
    db.session.commit()
    assert deliver() == 3
    number = incident.number
    assert [m["Subject"] for m in smtp.sink.to("ada@example.com")] == \
        [f"[{number}] New incident: VPN drops every 10 minutes"]
    assert len(smtp.sink.to("alan@example.com")) == 1
    assert smtp.sink.to("offadmin@example.com") == []          # inactive: skipped
    ack = smtp.sink.to("rita@example.com")
    assert [m["Subject"] for m in ack] == [f"[{number}] We have your report: VPN drops "
                                           "every 10 minutes"]
    text, html = parts(ack[0])
    # Messages are composed when the change is written, with that app's PORTAL_BASE_URL.
    link = f"{app.config['PORTAL_BASE_URL']}/incidents/{incident.id}"
    assert link in text and f'href="{link}"' in html
    assert "Priority:   high" in text and "Due:" in text
    # Each recipient gets their own message: nobody sees the others' addresses.
    assert all(len(m["To"].addresses) == 1 and m["Cc"] is None for m in smtp.sink.messages)


@pytest.mark.parametrize("action,expected", [
    ("assign", {"tom@example.com": "Assigned to you: Printer jam",
                "rita@example.com": "Assigned to tom: Printer jam"}),
    ("resolve", {"rita@example.com": "Resolved: Printer jam"}),
    ("reopen", {"tom@example.com": "Reopened: Printer jam"}),
])
def test_each_event_reaches_the_right_people(action, expected, people, smtp, deliver):
    start_at = {"assign": Status.open, "resolve": Status.in_progress,
                "reopen": Status.resolved}[action]
    incident = make_incident(reporter=people["rita"], admin=people["ada"],
                             technician=people["tom"] if start_at != Status.open else None,
                             status=start_at, title="Printer jam")
    deliver()
    smtp.sink.messages.clear()
    if action == "assign":
        lifecycle.assign(incident, actor=people["ada"], technician=people["tom"])
    elif action == "resolve":
        lifecycle.resolve(incident, actor=people["tom"], resolution_notes="Cleared the rollers")
    else:
        lifecycle.reopen(incident, actor=people["rita"], note="Jammed again")
    db.session.commit()
    deliver()
    got = {m["To"].addresses[0].addr_spec: m["Subject"] for m in smtp.sink.messages}
    assert got == {to: f"[{incident.number}] {subject}" for to, subject in expected.items()}
    if action == "resolve":
        text, html = parts(smtp.sink.messages[0])
        assert "Cleared the rollers" in text and "Cleared the rollers" in html


def test_reopen_without_technician_tells_the_admins(people, smtp, deliver):
    incident = make_incident(reporter=people["rita"], admin=people["ada"])
    lifecycle.resolve(incident, actor=people["ada"], resolution_notes="Restarted")
    db.session.commit()
    deliver()
    smtp.sink.messages.clear()
    lifecycle.reopen(incident, actor=people["rita"])
    db.session.commit()
    deliver()
    assert sorted(m["To"].addresses[0].addr_spec for m in smtp.sink.messages) == \
        ["alan@example.com", "ada@example.com"][::-1]


def test_a_rolled_back_change_writes_and_sends_nothing(people, smtp, deliver):
    lifecycle.create(actor=people["rita"], title="Never saved", description="d")
    db.session.rollback()
    assert outbox_count() == 0 and deliver() == 0 and smtp.sink.messages == []


def test_a_refused_transition_sends_nothing(people, smtp, deliver):
    incident = make_incident(reporter=people["rita"], admin=people["ada"])
    deliver()
    before = len(smtp.sink.messages)
    with pytest.raises(lifecycle.InvalidTransition):
        lifecycle.close(incident, actor=people["rita"])
    db.session.commit()
    assert deliver() == 0 and len(smtp.sink.messages) == before


def test_html_is_escaped_and_text_is_verbatim(people, smtp, deliver):
    title = '<script>alert("x")</script>'
    lifecycle.create(actor=people["rita"], title=title, description='"><img src=x onerror=1>')
    db.session.commit()
    deliver()
    text, html = parts(smtp.sink.to("ada@example.com")[0])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html
    assert title in text


def test_every_path_notifies_the_same_way_even_the_api(client, people, smtp, deliver):
    token = people["rita"].get_auth_token()
    response = client.post("/api/v1/incidents", headers={"Authorization": f"Bearer {token}"},
                           json={"title": "From a script", "description": "d"})
    assert response.status_code == 201
    assert deliver() == 3


def test_creating_an_incident_reads_the_same_whatever_the_number_of_admins(app, client):
    """Every active admin hears of a new incident; writing their messages must read
    nothing per admin (their roles were read one admin at a time, and each message read
    the incident's attachments again). Each message is still one INSERT of its own."""
    from harness.statements import captured_statements
    from tests.clients import bearer

    reporter = make_user("reporter")
    headers = bearer(reporter)
    body = {"title": "Printer on fire", "description": "Smoke from tray 2"}
    reads = []
    for admins in (1, 4):
        while db.session.scalar(select(func.count()).select_from(User).where(
                User.roles.any(name="admin"))) < admins:
            make_user("admin")
        db.session.expunge_all()
        assert client.post("/api/v1/incidents", json=body, headers=headers).status_code == 201
        db.session.expunge_all()
        sent = captured_statements(app, lambda: client.post(
            "/api/v1/incidents", json=body, headers=headers))
        reads.append(sum(1 for statement, _ in sent if statement.lstrip().startswith("SELECT")))
    assert reads[0] == reads[1], f"{reads[0]} reads with 1 admin, {reads[1]} with 4"
