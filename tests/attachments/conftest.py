"""Attachment fixtures: both storage backends, settings for one test, an incident with its
cast (the files and helpers are in ``helpers.py``)."""
from __future__ import annotations

import pytest

from portal.incidents.enums import Status
from tests.factories import make_incident


@pytest.fixture(params=["filesystem", "database"])
def backend(request, app, tmp_path):
    """Every test that takes it runs once per storage backend (its own folder)."""
    saved = {key: app.config[key] for key in ("ATTACHMENT_STORAGE", "ATTACHMENTS_DIR")}
    app.config.update(ATTACHMENT_STORAGE=request.param, ATTACHMENTS_DIR=str(tmp_path / "blobs"))
    yield request.param
    app.config.update(saved)


@pytest.fixture
def limits(app):
    """Change attachment settings for one test: ``limits(ATTACHMENT_MAX_BYTES=100)``."""
    saved = {}

    def set_limits(**config):
        for key in config:
            saved.setdefault(key, app.config[key])
        app.config.update(config)
    yield set_limits
    app.config.update(saved)


@pytest.fixture
def incident(cast):
    """Reported by ``reporter``, assigned to ``technician_on_it``."""
    return make_incident(reporter=cast["reporter_of_it"], admin=cast["admin"],
                         technician=cast["technician_on_it"], status=Status.assigned)
