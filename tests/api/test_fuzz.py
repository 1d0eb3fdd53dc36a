"""Property-based fuzzing of the whole API from its own OpenAPI document (schemathesis):
no request a client can send produces a 5xx, and responses match the documented schemas.

Each operation is fuzzed with schemathesis's strategies in both positive (valid) and
negative (invalid) modes, with every check schemathesis has (the CLI's ``--checks all``:
negative data rejected, documented response headers, a deleted resource gone, auth not
ignored, ...), bounded by example counts so the run stays well under two minutes. A third
run sends a valid bearer token beside a junk ``Authentication-Token`` (the document's
second security scheme): the bearer wins, so the junk header changes no answer. (schemathesis's lazy pytest fixture does not work with pytest 9, so the
operations are iterated here.)
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks

from portal.extensions import db as _db
from tests.factories import make_incident, make_user

load_all_checks()
ALL_CHECKS = CHECKS.get_all()
#: (generation mode, a junk second token header?, examples per operation)
RUNS = [(GenerationMode.POSITIVE, False, 20), (GenerationMode.NEGATIVE, False, 12),
        (GenerationMode.POSITIVE, True, 5)]


def operations(app):
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.slow
@pytest.mark.parametrize("mode, junk_second_header, examples", RUNS,
                         ids=["positive", "negative", "junk-second-header"])
def test_api_never_fails_and_matches_its_schema(app, mode, junk_second_header, examples):
    admin = make_user("admin")
    technician = make_user("technician")
    for status in ("open", "assigned", "resolved"):  # something for ids to hit
        make_incident(reporter=make_user("reporter"), admin=admin, technician=technician,
                      status=status)
    headers = {"Authorization": f"Bearer {admin.get_auth_token()}"}
    if junk_second_header:
        headers["Authentication-Token"] = "junk"
    checked = []
    for operation in operations(app):
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=examples, deadline=None, derandomize=True,
                  database=None, suppress_health_check=list(HealthCheck))
        def fuzz(case):
            try:
                case.call_and_validate(headers=headers, checks=ALL_CHECKS)
            finally:
                _db.session.rollback()
        fuzz()
        checked.append(f"{operation.method.upper()} {operation.path}")
    # Every operation the document lists, one per (method, path) of the API's routes.
    documented = {f"{method.upper()} {path}" for path, item in
                  app.test_client().get("/api/openapi.json").get_json()["paths"].items()
                  for method in item if method != "parameters"}
    assert set(checked) == documented and len(checked) == 41, checked
