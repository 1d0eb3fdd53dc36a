"""The OpenAPI document is valid and describes every endpoint; Swagger UI is local."""
from __future__ import annotations

import re

import pytest
from openapi_spec_validator import validate


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
