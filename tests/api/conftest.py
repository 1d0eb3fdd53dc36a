"""API test fixtures: a cast of users around one incident."""
from __future__ import annotations

import pytest

from portal.incidents.enums import Status
from tests.factories import make_incident


@pytest.fixture
def incident_in(cast):
    """Build the cast's incident in a given status (assigned to technician_on_it unless open)."""
    def build(status: str):
        technician = None if status == "open" else cast["technician_on_it"]
        return make_incident(reporter=cast["reporter_of_it"], admin=cast["admin"],
                             technician=technician, status=Status(status))
    return build
