"""Attachment fixtures: both storage backends, a cast around one incident, and files."""
from __future__ import annotations

import io

import pytest
from PIL import Image

from portal.attachments import service
from portal.attachments.storage import blob_store
from portal.extensions import db
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


def png(width: int = 640, height: int = 480, color=(200, 30, 30)) -> bytes:
    """A real PNG (a screenshot stand-in)."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG")
    return out.getvalue()


#: A Windows executable's first bytes: what the detector recognises, whatever the name.
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200
SVG_WITH_SCRIPT = (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
                   b'<script>alert(document.cookie)</script></svg>')


def attach(incident, actor, filename="log.txt", data=b"error 13.1 at 09:00\n", **kwargs):
    """Attach through the service and commit."""
    attachment = service.add_attachment(incident, actor, filename, data, **kwargs)
    db.session.commit()
    return attachment


def stored_blobs() -> set[str]:
    return {sha256 for sha256, _ in blob_store().stored()}


def in_memory_multipart(fields: dict) -> dict:
    """A multipart body built in memory: the test client would spool a large one to a
    temporary file that it never closes (a ResourceWarning, not the app's)."""
    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    values = {name: [FileStorage(io.BytesIO(data), filename) for filename, data in value]
              if isinstance(value, list) else value for name, value in fields.items()}
    boundary, body = encode_multipart(values)
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}
