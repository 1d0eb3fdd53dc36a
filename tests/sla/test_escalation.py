"""Warnings and breaches: the right people are told, each once, however many workers
look at the same moment, and a breach found while SMTP is down is mailed when it is back.

A high incident created on Monday 23 November 2026 at 09:00 UTC, assigned by an admin
(no response: only the technician's own actions respond): first response is due at 11:00,
the warning comes at 80 %, 10:36.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import time_machine
from sqlalchemy import select

from portal.extensions import db as _db
from portal.incidents import lifecycle
from portal.incidents.enums import EventKind, SlaState
from portal.incidents.models import Incident, IncidentEvent
from portal.notifications.models import OutboxMessage
from portal.sla.escalation import check
from tests.clients import bearer
from tests.factories import make_user
from tests.races import race
from tests.smtp_faults import FaultSmtp

CREATED = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)


def moment(hour: int, minute: int = 0) -> datetime:
    return CREATED.replace(hour=hour, minute=minute)


@pytest.fixture
def incident(admin, technician, reporter, db):
    with time_machine.travel(CREATED, tick=False):
        incident = lifecycle.create(actor=reporter, title="VPN drops", description="often",
                                    priority="high")
        lifecycle.assign(incident, actor=admin, technician=technician)
        db.session.commit()
    db.session.query(OutboxMessage).delete()   # the created/assigned mail is not ours
    db.session.commit()
    return incident


def sla_mail() -> list[tuple[str, str]]:
    return sorted((kind, recipient) for kind, recipient in _db.session.execute(
        select(OutboxMessage.event_kind, OutboxMessage.recipient)
        .where(OutboxMessage.event_kind.like("sla_%"))))


def test_warning_to_the_technician_then_breach_to_technician_and_admins_once(
        incident, admin, technician, db):
    second_admin = make_user("admin")
    assert check(moment(10, 30)) == 0
    assert check(moment(10, 40)) == 1
    assert sla_mail() == [("sla_warning", technician.email)]
    assert check(moment(10, 45)) == 0   # told once
    assert check(moment(11, 5)) == 1
    assert sla_mail() == sorted([("sla_warning", technician.email),
                                 ("sla_breached", technician.email),
                                 ("sla_breached", admin.email),
                                 ("sla_breached", second_admin.email)])
    breach = db.session.scalars(select(IncidentEvent).where(
        IncidentEvent.kind == EventKind.sla_breached)).one()
    assert breach.changes["target"] == "first_response"
    assert breach.changes["late_seconds"] == 5 * 60
    assert breach.note == "first response target missed by 5 min"
    assert check(moment(12)) == 0
    db.session.expire_all()
    assert db.session.get(Incident, incident.id).sla_state is SlaState.breached


def test_a_breach_changes_the_etag_a_read_sees_but_not_what_a_write_may_name(
        incident, admin, client, db):
    """The check stores the new state without a new version: a cached read must still
    see it (no 304), and an edit sent with the tag read before the breach still goes."""
    url = f"/api/v1/incidents/{incident.id}"
    with time_machine.travel(moment(10), tick=False):
        before = client.get(url, headers=bearer(admin)).headers["ETag"]
    assert check(moment(11, 5)) == 1
    with time_machine.travel(moment(11, 6), tick=False):
        again = client.get(url, headers={**bearer(admin), "If-None-Match": before})
        assert again.status_code == 200 and again.get_json()["sla"]["state"] == "breached"
        assert again.headers["ETag"] != before
        edited = client.patch(url, json={"title": "VPN drops hourly"},
                              headers={**bearer(admin), "If-Match": before})
        assert edited.status_code == 200, edited.get_json()


def test_unassigned_warnings_go_to_the_admins(admin, reporter, db):
    with time_machine.travel(CREATED, tick=False):
        lifecycle.create(actor=reporter, title="Printer", description="jams", priority="high")
        db.session.commit()
    db.session.query(OutboxMessage).delete()
    assert check(moment(10, 40)) == 1
    assert sla_mail() == [("sla_warning", admin.email)]


def test_a_warning_found_after_its_breach_is_not_sent(incident, technician, db):
    assert check(moment(11, 30)) == 1
    assert [kind for kind, _ in sla_mail()] == ["sla_breached"] * 2
    assert check(moment(11, 31)) == 0


def test_two_workers_at_the_same_moment_announce_each_once(incident, app, db):
    """Both databases: the claim is the unique (incident, target, kind) row."""
    counts = race(app, lambda: check(moment(11, 5)), timeout=30)  # raises what they raised
    assert sum(counts) == 1
    kinds = db.session.scalars(select(IncidentEvent.kind).where(
        IncidentEvent.kind == EventKind.sla_breached)).all()
    assert len(kinds) == 1
    assert sorted(kind for kind, _ in sla_mail()) == ["sla_breached", "sla_breached"]


def test_the_sla_check_command_runs_once(incident, runner):
    with time_machine.travel(moment(11, 5), tick=False):
        result = runner.invoke(args=["sla-check", "--once"])
    assert result.exit_code == 0 and "Announced 1 SLA" in result.output


@pytest.fixture
def smtp():
    """A server that is down until the test starts it (the same port throughout)."""
    server = FaultSmtp()
    yield server
    server.stop()


def test_a_breach_while_smtp_is_down_is_mailed_when_it_is_back(incident, smtp, deliver,
                                                                technician, db):
    assert check(moment(11, 5)) == 1
    assert deliver() == 0     # refused: nothing lost, it waits in the outbox
    smtp.start()
    assert deliver() == 2
    assert sorted(m["To"] for m in smtp.messages) == sorted(
        recipient for _, recipient in sla_mail())
    assert all("SLA breached" in m["Subject"] for m in smtp.messages)
