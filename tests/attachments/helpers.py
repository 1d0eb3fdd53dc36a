"""Helpers of the attachment tests: files (a real PNG, an executable, an SVG with a
script), attaching through the service, the worker's previews, the stored blobs, an
in-memory multipart body."""
from __future__ import annotations

import io

from PIL import Image

from portal.attachments import service
from portal.attachments.storage import blob_store
from portal.extensions import db


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


def run_previews() -> None:
    """Make every pending preview, as the worker's ``attachment-previews`` job does."""
    from portal.attachments.previews import make_previews

    while make_previews() == 0:
        pass
    db.session.expire_all()


def stored_blobs() -> set[str]:
    """The content hashes the blob store holds."""
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
