"""Issue 28, finding 3: image previews exhausted memory. An all-zero 6,320 × 6,320 PNG of
116 KB was accepted and decoded for its preview inside the upload request (40 megapixels,
120 MB each); four at once took one web worker from 130 to 676 MB.

Now the upload only stores the file (pending preview); the worker makes previews, each in
a child process with bounded memory and time that reads the size from the header and
never decodes more than ``ATTACHMENT_PREVIEW_MAX_PIXELS``."""
from __future__ import annotations

import io
import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from harness.servers import gunicorn
from portal.attachments.models import Attachment, PreviewStatus
from portal.attachments.storage import blob_store
from portal.extensions import db
from tests.attachments.helpers import attach, png, run_previews, stored_blobs
from tests.clients import bearer
from tests.factories import PASSWORD, make_incident, make_user
from tests.processes import app_env, start_process
from tests.races import race
from tests.waiting import wait_until

MiB = 2**20


def encoded(image: Image.Image, image_format: str) -> bytes:
    out = io.BytesIO()
    image.save(out, format=image_format)
    return out.getvalue()


def bomb() -> bytes:
    """The review's file: 6,320 × 6,320 black pixels, 116 KB as a PNG."""
    return encoded(Image.new("RGB", (6320, 6320)), "PNG")


@pytest.fixture
def incident():
    return make_incident(reporter=make_user("reporter"), admin=make_user("admin"))


# --- the request: stores the file, decodes nothing ---------------------------------------

def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue  # ended meanwhile
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def peak_rss(pid: int) -> int:
    """The process's peak resident memory so far (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmHWM for {pid}")


def api(base_url: str, path: str, *, token: str | None = None, data: bytes | None = None,
        content_type: str = "application/json") -> tuple[int, bytes]:
    headers = {"Content-Type": content_type}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{base_url}{path}", data=data, headers=headers,
                                     method="POST" if data is not None else "GET")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read()


def upload(base_url: str, token: str, incident_id: int, name: str, data: bytes):
    boundary, body = encode_multipart({"file": FileStorage(io.BytesIO(data), name)})
    status, answer = api(base_url, f"/api/v1/incidents/{incident_id}/attachments",
                         token=token, data=body,
                         content_type=f"multipart/form-data; boundary={boundary}")
    return status, json.loads(answer)


@pytest.mark.slow
def test_four_bombs_at_once_leave_the_web_process_memory_flat(app, database_url,
                                                               incident, tmp_path):
    reporter = incident.reporter
    env = {"ATTACHMENTS_DIR": app.config["ATTACHMENTS_DIR"],
           "ATTACHMENT_STORAGE": app.config["ATTACHMENT_STORAGE"]}
    with gunicorn(database_url, workers=1, extra_env=env,
                  log_path=tmp_path / "gunicorn.log") as base_url:
        [master] = [pid for pid in children_of(os.getpid())
                    if b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        [web] = children_of(master)
        status, answer = api(base_url, "/api/v1/auth/token", data=json.dumps(
            {"email": reporter.email, "password": PASSWORD}).encode())
        token = json.loads(answer)["token"]
        # Warm: every code path of an upload has run once before the measure.
        assert upload(base_url, token, incident.id, "warm.png", png())[0] == 201
        before = peak_rss(web)

        data = bomb()
        answers = race(app, lambda: upload(base_url, token, incident.id, "zeros.png", data),
                       racers=4)
        grown = peak_rss(web) - before

        assert [status for status, _ in answers] == [201] * 4
        # Each would have cost 120 MB decoded; the bodies are 116 KB.
        assert grown < 40 * MiB, f"the web process grew by {grown / MiB:.0f} MiB"
        for _status, body in answers:
            assert body["preview_status"] == "pending" and body["has_preview"] is False
        # The file itself is stored and downloadable, byte for byte.
        attachment_id = answers[0][1]["id"]
        status, content = api(base_url, f"/api/v1/attachments/{attachment_id}/content",
                              token=token)
        assert status == 200 and content == data


# --- the worker: never decodes above the budget ---------------------------------------

def test_the_worker_makes_no_preview_of_the_bomb(incident, caplog):
    bombed = attach(incident, incident.reporter, "zeros.png", bomb())
    assert bombed.preview_status == PreviewStatus.pending
    blobs = stored_blobs()
    run_previews()
    assert bombed.preview_status == PreviewStatus.too_large
    assert bombed.preview_sha256 is None and stored_blobs() == blobs
    assert "more than 12000000 pixels" in caplog.text
    # The same bytes again take the verdict at once: the worker is not asked twice.
    again = attach(incident, incident.reporter, "zeros-again.png", bomb())
    assert again.preview_status == PreviewStatus.too_large


BUDGET = 100 * 100
FORMATS = ["PNG", "JPEG", "GIF", "WEBP"]


@pytest.mark.parametrize("image_format", FORMATS)
@pytest.mark.parametrize("size, status", [
    ((100, 100), PreviewStatus.ready),        # exactly the budget
    ((101, 100), PreviewStatus.too_large),    # one column more
    ((10_000, 2), PreviewStatus.too_large),   # long and thin: pixels count, not sides
])
def test_the_pixel_budget_per_format(app, monkeypatch, incident, image_format, size, status):
    monkeypatch.setitem(app.config, "ATTACHMENT_PREVIEW_MAX_PIXELS", BUDGET)
    image = Image.new("RGB", size, (200, 30, 30))
    attachment = attach(incident, incident.reporter, f"shot.{image_format.lower()}",
                        encoded(image, image_format))
    run_previews()
    assert attachment.preview_status == status
    assert (attachment.preview_sha256 is not None) is (status == PreviewStatus.ready)


def test_the_preview_process_is_bounded_in_memory(app, monkeypatch, incident):
    """A 12-megapixel image is within the pixel budget, and its decoding needs more than
    64 MiB: with that bound the process gives up, and the worker carries on."""
    monkeypatch.setitem(app.config, "ATTACHMENT_PREVIEW_MEMORY_MB", 64)
    photo = attach(incident, incident.reporter, "photo.png",
                   encoded(Image.new("RGBA", (4000, 3000), (1, 2, 3, 4)), "PNG"))
    small = attach(incident, incident.reporter, "small.png", png(64, 48))
    run_previews()
    assert photo.preview_status == PreviewStatus.failed and photo.preview_sha256 is None
    assert small.preview_status == PreviewStatus.ready


@pytest.mark.slow
def test_a_normal_image_gets_its_preview_after_the_worker_runs(app, client, database_url,
                                                               incident, processes,
                                                               tmp_path):
    shot = png(800, 450)
    answer = client.post(f"/api/v1/incidents/{incident.id}/attachments",
                         headers=bearer(incident.reporter),
                         data={"file": (io.BytesIO(shot), "screen.png")})
    assert answer.status_code == 201 and answer.get_json()["preview_status"] == "pending"
    attachment_id = answer.get_json()["id"]
    processes.append(start_process(
        ["worker", "--job", "attachment-previews"],
        app_env(database_url, ATTACHMENTS_DIR=app.config["ATTACHMENTS_DIR"],
                ATTACHMENT_STORAGE=app.config["ATTACHMENT_STORAGE"]),
        tmp_path / "worker.log"))

    def made() -> bool:
        db.session.expire_all()
        return db.session.scalar(select(Attachment.preview_status).where(
            Attachment.id == attachment_id)) == PreviewStatus.ready

    assert wait_until(made, timeout=60), (tmp_path / "worker.log").read_text()[-2000:]
    with client.get(f"/api/v1/attachments/{attachment_id}",
                    headers=bearer(incident.reporter)) as read:
        assert read.get_json()["has_preview"] is True
    preview_sha256 = db.session.get(Attachment, attachment_id).preview_sha256
    with blob_store().open(preview_sha256) as blob:
        preview = Image.open(io.BytesIO(blob.read()))
        assert preview.format == "PNG" and preview.size == (320, 180)
