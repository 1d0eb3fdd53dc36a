"""The incident JSON's shortcuts give what marshmallow's own way gives: nested objects
serialised field by field (``Inline``), times cut from ``isoformat()``."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from marshmallow import fields

from api.schemas import IncidentSchema
from portal.incidents.representation import SlaSchema, UserRefSchema, UTCDateTime


@pytest.mark.parametrize("status", ["open", "assigned", "on_hold", "resolved", "closed"])
def test_nested_objects_are_what_their_schemas_dump(app, incident_in, status):
    incident = incident_in(status)
    with app.app_context():
        dumped = IncidentSchema(only=("reporter", "technician", "sla")).dump(incident)
        assert dumped["sla"] == SlaSchema().dump(incident)
        assert dumped["reporter"] == UserRefSchema().dump(incident.reporter)
        assert dumped["technician"] == (UserRefSchema().dump(incident.technician)
                                        if incident.technician else None)


@pytest.mark.parametrize("value", [
    datetime(2026, 11, 22, 9, 14, 3, tzinfo=timezone.utc),
    datetime(2026, 11, 22, 9, 14, 3, 999999, tzinfo=timezone.utc),
    datetime(2026, 3, 29, 1, 30, 0, 1, tzinfo=timezone(timedelta(hours=2))),
    datetime(1999, 12, 31, 23, 59, 59, 500000, tzinfo=timezone(timedelta(hours=-5))),
])
def test_times_are_utc_with_whole_seconds_and_a_z(value):
    expected = fields.DateTime(format="%Y-%m-%dT%H:%M:%SZ")._serialize(
        value.astimezone(timezone.utc), "t", None)
    assert UTCDateTime()._serialize(value, "t", None) == expected
