"""The OpenAPI document is valid and describes every endpoint; Swagger UI is local."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from tests.components import missing


@pytest.fixture
def spec(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_the_document_validates(spec):
    validate(spec)
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] == "Incident Portal API" and spec["info"]["description"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_every_registered_api_route_is_documented_with_summary_and_errors(app, spec):
    documented = {re.sub(r"\{(\w+)\}", r"<int:\1>", path) for path in spec["paths"]}
    routes = {rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1")}
    assert routes == {path for path in documented}
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            assert operation.get("summary"), f"{method} {path} has no summary"
            codes = set(operation["responses"])
            assert any(code.startswith("2") for code in codes)
            if path != "/api/v1/auth/token":
                assert "401" in codes, f"{method} {path} does not document 401"


def test_swagger_ui_is_served_from_the_app(client):
    page = client.get("/api/docs").get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(src.startswith("/api/docs/static/") for src in sources)
    with client.get("/api/docs/static/swagger-ui-bundle.js") as script:
        assert script.status_code == 200


def test_health(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


# --- what generated clients and linters need --------------------------------------------

def operations(spec):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield path, method, operation


def test_every_operation_has_a_unique_operation_id_and_a_description(spec):
    ids = [operation.get("operationId") for _, _, operation in operations(spec)]
    assert all(ids) and len(set(ids)) == len(ids)
    assert {"listIncidents", "createIncident", "getIncident", "resolveIncident",
            "assignIncident"} <= set(ids)
    for path, method, operation in operations(spec):
        assert operation.get("description"), f"{method} {path} has no description"


def test_servers_contact_and_license(spec):
    assert spec["servers"][0]["url"].startswith("http")
    assert spec["info"]["contact"]["url"] and spec["info"]["license"]["name"] == "MIT"
    assert spec["info"]["license"]["url"].startswith("https://")


def test_if_match_is_a_parameter_wherever_412_can_come_back(spec):
    stale_able = [(path, method, operation) for path, method, operation in operations(spec)
                  if "412" in operation["responses"]]
    assert len(stale_able) >= 10  # put, patch, delete and every command
    for path, method, operation in stale_able:
        names = {(p.get("in"), p.get("name")) for p in operation.get("parameters", [])}
        assert ("header", "If-Match") in names, f"{method} {path}"


@pytest.mark.parametrize("path, method, code, header", [
    ("/api/v1/incidents", "post", "201", "Location"),
    ("/api/v1/incidents", "post", "201", "ETag"),
    ("/api/v1/incidents", "get", "200", "X-Pagination"),
    ("/api/v1/incidents/{incident_id}", "get", "200", "ETag"),
    ("/api/v1/incidents/{incident_id}/resolve", "post", "200", "ETag"),
    ("/api/v1/users", "post", "201", "Location"),
    ("/api/v1/users", "get", "200", "X-Pagination"),
    ("/api/v1/auth/token", "post", "200", "X-RateLimit-Remaining"),
])
def test_response_headers_are_declared(spec, path, method, code, header):
    assert header in spec["paths"][path][method]["responses"][code]["headers"]


def response(spec, reference):
    return spec["components"]["responses"][reference["$ref"].rsplit("/", 1)[1]]


def test_shared_error_responses_declare_their_headers(spec):
    token = spec["paths"]["/api/v1/auth/token"]["post"]["responses"]
    assert "Retry-After" in response(spec, token["429"])["headers"]
    incidents = spec["paths"]["/api/v1/incidents"]["post"]["responses"]
    assert "WWW-Authenticate" in response(spec, incidents["401"])["headers"]
    assert response(spec, incidents["400"])["content"]["application/json"]["schema"] == \
        {"$ref": "#/components/schemas/Error"}


def test_schemas_say_what_is_always_sent_and_what_may_be_null(spec):
    schemas = spec["components"]["schemas"]
    incident = schemas["Incident"]
    assert set(incident["required"]) == set(incident["properties"])
    assert incident["properties"]["technician"]["anyOf"] == [
        {"$ref": "#/components/schemas/UserRef"},
        {"type": "object", "nullable": True, "enum": [None]}]
    assert incident["properties"]["status"] == {"allOf": [
        {"$ref": "#/components/schemas/Status"}], "readOnly": True}
    assert schemas["Event"]["properties"]["to_status"]["anyOf"][0] == \
        {"$ref": "#/components/schemas/Status"}
    assert schemas["Status"]["enum"] == ["open", "assigned", "in_progress", "on_hold",
                                         "resolved", "closed"]
    assert schemas["UserRef"]["properties"]["email"]["format"] == "email"
    assert incident["properties"]["id"]["format"] == "int64"
    assert incident["example"]["status"] == "assigned"
    # One Status, one Priority, one Category: no copies inlined anywhere.
    assert "in_progress" not in str({name: schema for name, schema in schemas.items()
                                     if name != "Status"})


def test_create_links_to_reading_and_acting_on_the_new_incident(spec):
    links = spec["paths"]["/api/v1/incidents"]["post"]["responses"]["201"]["links"]
    assert links["GetIncident"]["operationId"] == "getIncident"
    assert links["ResolveIncident"]["parameters"] == {"incident_id": "$response.body#/id"}


def test_page_is_bounded(spec):
    page = next(p for p in spec["paths"]["/api/v1/incidents"]["get"]["parameters"]
                if p["name"] == "page")
    assert page["schema"]["format"] == "int64" and page["schema"]["maximum"] == 100_000


NODE_BIN = Path(__file__).resolve().parents[2] / "node_modules" / ".bin"


@pytest.mark.parametrize("tool, command", [
    ("redocly", ["lint", "--format=json"]),
    ("spectral", ["lint", "--format=json", "--quiet", "--ruleset", "{ruleset}"]),
])
def test_linters_find_no_errors(spec, tmp_path, tool, command):
    executable = NODE_BIN / tool
    if not executable.exists():
        missing(f"{tool} is not installed (make node-tools)")
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(spec))
    ruleset = tmp_path / ".spectral.yaml"
    ruleset.write_text('extends: ["spectral:oas"]\n')
    arguments = [part.format(ruleset=ruleset) for part in command]
    result = subprocess.run([str(executable), *arguments, str(document)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    output = result.stdout
    if tool == "redocly":
        problems = json.loads(output[output.index("{"):])["problems"]
        errors = [p for p in problems if p["severity"] == "error"]
    else:
        errors = [p for p in json.loads(output or "[]") if p["severity"] == 0]
    assert not errors, errors
