"""Finding 7: the assign and resolve forms take a return URL; one that leaves the site
(browsers read ``/\\t/host`` and ``/\\host`` as ``//host``) is replaced by the grid's own."""
from __future__ import annotations

import re

import pytest

from tests.clients import csrf_token_from
from tests.factories import make_incident, make_user

HOSTILE = ["/%09/evil.example", "/%5Cevil.example", "//evil.example", "https://evil.example/",
           "javascript:alert(1)", "/%0D%0A/evil.example"]


@pytest.mark.parametrize("form", ["assign", "resolve"])
@pytest.mark.parametrize("target", HOSTILE)
def test_hostile_return_urls_are_not_followed(client, login, form, target):
    admin, technician = make_user("admin"), make_user("technician")
    incident = make_incident(reporter=make_user("reporter"), admin=admin)
    login(admin)
    path = f"/admin/incidents/command/{form}/?ids={incident.id}&url={target}"
    page = client.get(path)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    [cancel] = re.findall(r'href="([^"]*)">Cancel<', html)
    [kept] = re.findall(r'name="url" value="([^"]*)"', html)
    assert cancel == kept == "/admin/incidents/"
    data = {"csrf_token": csrf_token_from(html), "ids": str(incident.id),
            "technician_id": technician.id, "resolution_notes": "Replaced the cable"}
    done = client.post(path, data=data)
    assert done.status_code == 302
    assert done.headers["Location"].startswith("/admin/incidents/")


def test_a_local_return_url_is_kept(client, login):
    admin = make_user("admin")
    incident = make_incident(reporter=make_user("reporter"), admin=admin)
    login(admin)
    page = client.get(f"/admin/incidents/command/resolve/?ids={incident.id}"
                      "&url=/admin/incidents/?page=1").get_data(as_text=True)
    assert 'href="/admin/incidents/?page=1"' in page
