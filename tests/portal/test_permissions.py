"""The permission rules the grids ask rather than decide: CSV export
(``access.may_export``) and bulk actions (``lifecycle.may_take_in_bulk``), one table of
roles each. The API exposes neither (it lists incidents page by page and acts on one at
a time), so the portal is their one door."""
from __future__ import annotations

import pytest

from portal.extensions import db
from portal.incidents import lifecycle
from portal.incidents.access import may_export
from portal.incidents.enums import Action, Status
from portal.incidents.models import Incident
from tests.clients import csrf_token_from, log_in
from tests.factories import make_incident, make_user

#: role, a grid the role opens, whether they may export it.
EXPORTS = [("admin", "incidents", True), ("admin", "queue", True), ("admin", "mine", True),
           ("technician", "queue", False), ("technician", "mine", False),
           ("reporter", "mine", False)]


@pytest.mark.parametrize("role,grid,may", EXPORTS)
def test_only_admins_export_a_grid_as_csv(client, role, grid, may):
    user = make_user(role)
    make_incident(reporter=user, admin=make_user("admin"), technician=None)
    assert may_export(user) is may
    log_in(client, user)
    response = client.get(f"/admin/{grid}/export/csv/")
    if may:
        assert response.status_code == 200 and response.mimetype == "text/csv"
    else:
        assert response.status_code == 302 and response.mimetype != "text/csv"
        assert "Permission denied" in client.get(response.headers["Location"]).get_data(
            as_text=True)


#: role, the grid they act from, a command with nothing to ask, the status the incident
#: is in (one where that role may take it on that one incident), whether bulk may.
BULK = [("admin", "incidents", "start", Status.assigned, True),
        ("admin", "incidents", "delete", Status.open, True),
        ("technician", "queue", "start", Status.assigned, True),
        ("technician", "queue", "hold", Status.in_progress, True),
        ("reporter", "mine", "close", Status.resolved, False)]


@pytest.mark.parametrize("role,grid,command,status,may", BULK)
def test_staff_take_commands_in_bulk_and_reporters_one_at_a_time(client, role, grid,
                                                                  command, status, may):
    user, admin = make_user(role), make_user("admin")
    technician = user if role == "technician" else make_user("technician")
    incident = make_incident(reporter=user, admin=admin, technician=technician,
                             status=status)
    assert Action(command) in lifecycle.allowed_actions(user, incident)
    assert lifecycle.may_take_in_bulk(user, command) is may
    log_in(client, user)
    token = csrf_token_from(client.get(f"/admin/{grid}/").get_data(as_text=True))
    client.post(f"/admin/{grid}/action/", data={
        "csrf_token": token, "action": command, "rowid": [str(incident.id)],
        "url": f"/admin/{grid}/"})
    db.session.expire_all()
    after = db.session.get(Incident, incident.id)
    assert (after is None or after.status is not status) is may


@pytest.mark.parametrize("role", ["technician", "reporter"])
def test_nobody_takes_in_bulk_what_their_role_never_may(role):
    user = make_user(role)
    assert not lifecycle.may_take_in_bulk(user, "delete")
    assert lifecycle.may_take_in_bulk(user, "take") is (role == "technician")
