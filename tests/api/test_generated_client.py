"""A Python client generated from the document by ``openapi-python-client`` (as an
integrator would) runs the README's workflow against a real server, stale ``If-Match``
included: the document is exact enough for a tool we did not write."""
from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

from harness.servers import gunicorn
from tests.factories import PASSWORD, make_user

GENERATOR = Path(sys.executable).with_name("openapi-python-client")
#: No post-generation hooks: the generated code is imported, not formatted.
CONFIG = "post_hooks: []\nproject_name_override: portal-client\n" \
         "package_name_override: portal_client\n"


def generate_client(spec: dict, folder: Path):
    (folder / "openapi.json").write_text(json.dumps(spec))
    (folder / "config.yaml").write_text(CONFIG)
    subprocess.run([str(GENERATOR), "generate", "--path", "openapi.json", "--output-path",
                    "client", "--config", "config.yaml"],
                   cwd=folder, check=True, capture_output=True, timeout=120)
    sys.path.insert(0, str(folder / "client"))
    try:
        return importlib.import_module("portal_client")
    finally:
        sys.path.remove(str(folder / "client"))


def test_the_readme_workflow_through_a_generated_client(client, database_url, tmp_path):
    admin, technician = make_user("admin"), make_user("technician")
    generate_client(client.get("/api/openapi.json").get_json(), tmp_path)
    from portal_client import AuthenticatedClient, Client
    from portal_client.api.auth import create_token
    from portal_client.models import TokenRequest
    try:
        with gunicorn(database_url, workers=1, log_path=tmp_path / "gunicorn.log") as base:
            with Client(base_url=base) as anonymous:
                token = create_token.sync(client=anonymous, body=TokenRequest(
                    email=admin.email, password=PASSWORD))
            with AuthenticatedClient(base_url=base, token=token.token) as api:
                readme_workflow(api, technician)
    finally:
        for name in [module for module in sys.modules if module.startswith("portal_client")]:
            del sys.modules[name]


def readme_workflow(api, technician) -> None:
    """Report, list, assign, then resolve: once with a stale ETag (412), then fresh."""
    from portal_client.api.incidents import (assign_incident, create_incident, get_incident,
                                             list_incidents, resolve_incident)
    from portal_client.models import (Assign, Category, Error, IncidentCreate, Priority,
                                      Resolve, Status)
    created = create_incident.sync_detailed(client=api, body=IncidentCreate(
        title="VPN drops every 10 minutes", description="Since this morning, on gw2.",
        priority=Priority.HIGH, category=Category.NETWORK))
    assert created.status_code == 201
    incident = created.parsed
    assert incident.technician is None and incident.status is Status.OPEN
    assert created.headers["Location"].endswith(f"/api/v1/incidents/{incident.id}")

    listed = list_incidents.sync_detailed(client=api, status=[Status.OPEN, Status.ASSIGNED],
                                          priority=[Priority.HIGH], overdue=False,
                                          page_size=5)
    assert [item.id for item in listed.parsed] == [incident.id]
    assert json.loads(listed.headers["X-Pagination"])["total"] == 1

    read = get_incident.sync_detailed(incident.id, client=api)
    stale_etag = read.headers["ETag"]
    unchanged = get_incident.sync_detailed(incident.id, client=api, if_none_match=stale_etag)
    assert unchanged.status_code == 304
    assigned = assign_incident.sync(incident.id, client=api,
                                    body=Assign(technician_id=technician.id))
    assert assigned.technician.username == technician.username

    notes = Resolve(resolution_notes="Replaced the gateway certificate.")
    refused = resolve_incident.sync_detailed(incident.id, client=api, body=notes,
                                             if_match=stale_etag)
    assert refused.status_code == 412 and isinstance(refused.parsed, Error)
    fresh_etag = get_incident.sync_detailed(incident.id, client=api).headers["ETag"]
    resolved = resolve_incident.sync(incident.id, client=api, body=notes,
                                     if_match=fresh_etag)
    assert resolved.status is Status.RESOLVED and resolved.resolved_at is not None
