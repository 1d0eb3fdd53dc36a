"""The attachment API with real multipart uploads, on both storage backends: who may do
what (the role matrix), what is refused (each a 4xx with nothing stored), the download
headers, one blob per distinct file."""
from __future__ import annotations

import hashlib
import io

import pytest
from sqlalchemy import func, select

from portal.attachments.models import Attachment
from portal.extensions import db
from portal.incidents.enums import EventKind, Status
from portal.incidents.models import IncidentEvent
from tests.attachments.helpers import (EXE, SVG_WITH_SCRIPT, attach, in_memory_multipart, png,
                                        run_previews, stored_blobs)
from tests.clients import bearer
from tests.factories import make_incident

pytestmark = pytest.mark.usefixtures("backend")

ROLES = ("anonymous", "other_reporter", "reporter_of_it", "other_technician",
         "technician_on_it", "admin")


def headers_of(cast, role):
    return {} if role == "anonymous" else bearer(cast[role])


def upload(client, incident_id, headers, filename="log.txt", data=b"disk full\n", **form):
    return client.post(f"/api/v1/incidents/{incident_id}/attachments", headers=headers,
                       data={"file": (io.BytesIO(data), filename), **form},
                       content_type="multipart/form-data")


def fetch(client, url, headers):
    """GET ``url`` and read it whole, closing the file it streams from."""
    with client.get(url, headers=headers) as response:
        response.get_data()
    return response


def count_rows() -> int:
    return db.session.scalar(select(func.count(Attachment.id)))


# --- uploading and reading back -------------------------------------------------------

def test_upload_then_list_read_and_download(client, cast, incident):
    shot = png()
    response = upload(client, incident.id, bearer(cast["reporter_of_it"]), "screen shot.png", shot)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["filename"] == "screen shot.png" and body["content_type"] == "image/png"
    assert body["size"] == len(shot) and body["sha256"] == hashlib.sha256(shot).hexdigest()
    assert body["uploader"]["id"] == cast["reporter_of_it"].id
    # The worker makes the preview: pending at upload, there after its round.
    assert body["has_preview"] is False and body["preview_status"] == "pending"
    assert response.headers["Location"].endswith(f"/api/v1/attachments/{body['id']}")
    run_previews()

    listed = client.get(f"/api/v1/incidents/{incident.id}/attachments",
                        headers=bearer(cast["technician_on_it"])).get_json()
    assert [a["id"] for a in listed] == [body["id"]]
    assert listed[0]["has_preview"] is True and listed[0]["preview_status"] == "ready"
    one = client.get(f"/api/v1/attachments/{body['id']}", headers=bearer(cast["admin"]))
    assert one.get_json()["filename"] == "screen shot.png"
    content = fetch(client, body["content_url"], bearer(cast["reporter_of_it"]))
    assert content.status_code == 200 and content.data == shot
    assert content.headers["ETag"] == f'"{body["sha256"]}"'
    assert content.headers["Content-Length"] == str(len(shot))
    assert client.get(f"/api/v1/incidents/{incident.id}", headers=bearer(cast["reporter_of_it"])
                      ).get_json()["attachment_count"] == 1
    history = db.session.scalars(select(IncidentEvent.kind).where(
        IncidentEvent.incident_id == incident.id).order_by(IncidentEvent.id)).all()
    assert history[-1] == EventKind.attachment_added


def test_an_unchanged_download_answers_304_to_its_etag(client, cast, incident):
    attachment = attach(incident, cast["reporter_of_it"])
    url = f"/api/v1/attachments/{attachment.id}/content"
    etag = fetch(client, url, bearer(cast["reporter_of_it"])).headers["ETag"]
    again = fetch(client, url, {**bearer(cast["reporter_of_it"]), "If-None-Match": etag})
    assert again.status_code == 304


def test_an_upload_tied_to_an_internal_comment_is_internal(client, cast, incident):
    from portal.incidents import lifecycle
    note = lifecycle.comment(incident, actor=cast["technician_on_it"], body="dmesg attached",
                             internal=True)
    db.session.commit()
    response = upload(client, incident.id, bearer(cast["technician_on_it"]), "dmesg.txt",
                      comment_id=str(note.id))
    assert response.status_code == 201 and response.get_json()["internal"] is True
    assert response.get_json()["comment_id"] == note.id


# --- the role matrix --------------------------------------------------------------------

READ_MATRIX = {  # list, metadata, download: the same answers
    "anonymous": 401, "other_reporter": 404, "reporter_of_it": 200, "other_technician": 404,
    "technician_on_it": 200, "admin": 200,
}
DELETE_MATRIX = {  # an attachment the reporter uploaded, on an assigned incident
    "anonymous": 401, "other_reporter": 404, "reporter_of_it": 204, "other_technician": 404,
    "technician_on_it": 403, "admin": 204,
}
UPLOAD_MATRIX = {"anonymous": 401, "other_reporter": 404, "reporter_of_it": 201,
                 "other_technician": 404, "technician_on_it": 201, "admin": 201}


@pytest.mark.parametrize("what", ["list", "metadata", "content"])
@pytest.mark.parametrize("role,code", READ_MATRIX.items())
def test_who_reads_attachments(client, cast, incident, what, role, code):
    attachment = attach(incident, cast["reporter_of_it"])
    url = {"list": f"/api/v1/incidents/{incident.id}/attachments",
           "metadata": f"/api/v1/attachments/{attachment.id}",
           "content": f"/api/v1/attachments/{attachment.id}/content"}[what]
    assert fetch(client, url, headers_of(cast, role)).status_code == code


@pytest.mark.parametrize("role,code", DELETE_MATRIX.items())
def test_who_deletes_an_attachment(client, cast, incident, role, code):
    attachment = attach(incident, cast["reporter_of_it"])
    response = client.delete(f"/api/v1/attachments/{attachment.id}",
                             headers=headers_of(cast, role))
    assert response.status_code == code
    assert count_rows() == (0 if code == 204 else 1)
    if code == 204:
        kinds = db.session.scalars(select(IncidentEvent.kind).where(
            IncidentEvent.incident_id == incident.id).order_by(IncidentEvent.id)).all()
        assert kinds[-1] == EventKind.attachment_deleted


@pytest.mark.parametrize("role,code", UPLOAD_MATRIX.items())
def test_who_uploads(client, cast, incident, role, code):
    response = upload(client, incident.id, headers_of(cast, role))
    assert response.status_code == code
    assert count_rows() == (1 if code == 201 else 0)


@pytest.mark.parametrize("status,uploader,code", [
    (Status.resolved, "reporter_of_it", 201),   # a resolved incident still takes comments
    (Status.closed, "reporter_of_it", 409),     # a closed one takes none, nor files
    (Status.closed, "admin", 409),
])
def test_uploads_follow_the_comment_rule(client, cast, status, uploader, code):
    incident = make_incident(reporter=cast["reporter_of_it"], admin=cast["admin"],
                             technician=cast["technician_on_it"], status=status)
    assert upload(client, incident.id, bearer(cast[uploader])).status_code == code


@pytest.mark.parametrize("role,code", [("reporter_of_it", 403), ("admin", 204)])
def test_on_a_closed_incident_only_an_admin_deletes(client, cast, role, code):
    incident = make_incident(reporter=cast["reporter_of_it"], admin=cast["admin"],
                             technician=cast["technician_on_it"], status=Status.resolved)
    attachment = attach(incident, cast["reporter_of_it"])
    from portal.incidents import lifecycle
    lifecycle.close(incident, actor=cast["reporter_of_it"])
    db.session.commit()
    response = client.delete(f"/api/v1/attachments/{attachment.id}",
                             headers=bearer(cast[role]))
    assert response.status_code == code


@pytest.mark.parametrize("role,sees", [("reporter_of_it", False), ("other_reporter", False),
                                       ("technician_on_it", True), ("admin", True)])
def test_internal_attachments_are_for_staff_only(client, cast, incident, role, sees):
    public = attach(incident, cast["reporter_of_it"], "public.txt")
    internal = attach(incident, cast["technician_on_it"], "internal.txt", internal=True)
    headers = bearer(cast[role])
    listed = client.get(f"/api/v1/incidents/{incident.id}/attachments", headers=headers)
    names = [a["filename"] for a in listed.get_json()] if listed.status_code == 200 else []
    assert ("internal.txt" in names) is sees
    for url in (f"/api/v1/attachments/{internal.id}",
                f"/api/v1/attachments/{internal.id}/content"):
        assert fetch(client, url, headers).status_code == (200 if sees else 404)
    count = client.get(f"/api/v1/incidents/{incident.id}", headers=headers)
    if role != "other_reporter":
        assert count.get_json()["attachment_count"] == (2 if sees else 1)
    assert client.delete(f"/api/v1/attachments/{internal.id}", headers=headers
                         ).status_code in ((204, 403) if sees else (404,))
    assert public.id != internal.id


def test_a_reporter_may_not_upload_internal_files(client, cast, incident):
    response = upload(client, incident.id, bearer(cast["reporter_of_it"]), internal="true")
    assert response.status_code == 403 and count_rows() == 0


# --- bad input: a clear 4xx, nothing stored -------------------------------------------

BAD_UPLOADS = [
    # id, filename, bytes, status, words in the message
    ("denied extension", "tool.exe", EXE, 422, ["tool.exe", ".exe"]),
    ("denied type renamed", "cat.png", EXE, 422, ["cat.png", "application/x-msdownload"]),
    ("script renamed", "notes.txt", b"#!/bin/sh\nrm -rf /\n", 422, ["notes.txt", "script"]),
    ("empty file", "empty.log", b"", 422, ["empty.log", "empty"]),
    ("path", "../../etc/passwd", b"root:x:0:0\n", 422, ["../../etc/passwd", "path"]),
    ("NUL", "a\x00b.txt", b"x", 422, ["a?b.txt", "control"]),
    # A raw line break cannot even be sent in a part's header: the part is no file.
    ("newline", "a\nb.txt", b"x", 422, ["file"]),
    ("300 characters", "é" * 296 + ".png", png(), 422, ["300 characters", "255"]),
]


@pytest.mark.parametrize("filename,data,status,words",
                         [case[1:] for case in BAD_UPLOADS],
                         ids=[case[0] for case in BAD_UPLOADS])
def test_bad_uploads_are_refused_and_store_nothing(client, cast, incident, filename, data,
                                                   status, words):
    response = upload(client, incident.id, bearer(cast["reporter_of_it"]), filename, data)
    assert response.status_code == status, response.get_json()
    message = response.get_json()["message"]
    for word in words:
        assert word in message
    assert count_rows() == 0 and stored_blobs() == set()


def test_a_file_over_the_limit_is_413_naming_file_and_limit(client, cast, incident, limits):
    limits(ATTACHMENT_MAX_BYTES=1024)
    response = upload(client, incident.id, bearer(cast["reporter_of_it"]), "big.log", b"x" * 2048)
    assert response.status_code == 413
    assert response.get_json()["message"] == ("big.log: the file is 2 KiB; the limit is "
                                              "1 KiB per file")
    assert count_rows() == 0 and stored_blobs() == set()


def test_the_51st_file_is_refused(client, cast, incident):
    for n in range(50):
        attach(incident, cast["reporter_of_it"], f"part{n}.txt", f"part {n}\n".encode())
    blobs = stored_blobs()
    response = upload(client, incident.id, bearer(cast["reporter_of_it"]), "part50.txt", b"more")
    assert response.status_code == 422
    assert "part50.txt" in response.get_json()["message"]
    assert count_rows() == 50 and stored_blobs() == blobs


@pytest.mark.parametrize("body", [
    lambda: {"data": {"other": (io.BytesIO(b"x"), "x.txt")},
             "content_type": "multipart/form-data"},
    lambda: {"data": {"file": "not a file part"}, "content_type": "multipart/form-data"},
    lambda: {"json": {"file": "aGVsbG8="}},
    lambda: {"data": b"just bytes", "content_type": "application/octet-stream"},
], ids=["missing file field", "file as text", "JSON body", "raw body"])
def test_a_body_without_a_file_field_is_422(client, cast, incident, body):
    response = client.post(f"/api/v1/incidents/{incident.id}/attachments",
                           headers=bearer(cast["reporter_of_it"]), **body())
    assert response.status_code == 422
    assert "file" in response.get_json()["message"]
    assert count_rows() == 0


def test_an_unknown_comment_is_422(client, cast, incident):
    response = upload(client, incident.id, bearer(cast["reporter_of_it"]), comment_id="999999")
    assert response.status_code == 422 and "comment_id" in response.get_json()["message"]


# --- downloads are never run or shown by the browser ---------------------------------

@pytest.mark.parametrize("filename,data", [("drawing.svg", SVG_WITH_SCRIPT),
                                           ("page.html", b"<html><script>x()</script>"),
                                           ("shot.png", png(20, 20))])
def test_downloads_are_attachments_with_nosniff_and_sandbox(client, cast, incident,
                                                            filename, data):
    response = upload(client, incident.id, bearer(cast["reporter_of_it"]), filename, data)
    url = response.get_json()["content_url"]
    download = fetch(client, url, bearer(cast["reporter_of_it"]))
    assert download.data == data
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert filename in download.headers["Content-Disposition"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Security-Policy"] == "sandbox"
    assert "image/svg" not in download.headers["Content-Type"]  # SVG detected as text
    assert "text/html" not in download.headers["Content-Type"]


def test_a_unicode_name_is_sent_encoded(client, cast, incident):
    response = upload(client, incident.id, bearer(cast["reporter_of_it"]), "Übersicht 📸.png",
                      png(10, 10))
    download = fetch(client, response.get_json()["content_url"], bearer(cast["reporter_of_it"]))
    disposition = download.headers["Content-Disposition"]
    assert "filename*=UTF-8''%C3%9Cbersicht%20%F0%9F%93%B8.png" in disposition


# --- one blob per distinct file, and the garbage collector -----------------------------

def test_the_same_file_twice_is_one_blob_and_survives_one_deletion(client, cast, incident):
    data = b"same log\n"
    first = upload(client, incident.id, bearer(cast["reporter_of_it"]), "a.log", data).get_json()
    second = upload(client, incident.id, bearer(cast["reporter_of_it"]), "b.log", data).get_json()
    assert first["sha256"] == second["sha256"] and stored_blobs() == {first["sha256"]}
    assert client.delete(f"/api/v1/attachments/{first['id']}",
                         headers=bearer(cast["reporter_of_it"])).status_code == 204
    from portal.attachments.service import collect_garbage
    from datetime import timedelta
    assert collect_garbage(timedelta(0)) == 0
    assert fetch(client, second["content_url"], bearer(cast["reporter_of_it"])).data == data


def test_deleting_an_incident_deletes_its_rows_and_gc_its_blobs(client, cast, incident):
    from datetime import timedelta

    from portal.attachments.service import collect_garbage
    kept_incident = make_incident(reporter=cast["reporter_of_it"], admin=cast["admin"])
    kept = attach(kept_incident, cast["reporter_of_it"], "kept.png", png(30, 30))
    attach(incident, cast["reporter_of_it"], "gone.png", png(40, 40))
    run_previews()
    assert len(stored_blobs()) == 4  # two files, two previews
    assert client.delete(f"/api/v1/incidents/{incident.id}",
                         headers=bearer(cast["admin"])).status_code == 204
    assert db.session.scalars(select(Attachment.id)).all() == [kept.id]
    assert collect_garbage(timedelta(hours=1)) == 0, "recent blobs are left alone"
    assert collect_garbage(timedelta(0)) == 2
    assert stored_blobs() == {kept.sha256, kept.preview_sha256}


def test_a_file_larger_than_other_request_bodies_may_be_uploaded(app, client, cast, incident):
    """Uploads may exceed MAX_CONTENT_LENGTH (2 MiB, for JSON and forms) up to the file
    limit; other bodies stay bounded."""
    data = b"\x00log" * (3 * 1024 * 1024 // 4)
    assert len(data) > app.config["MAX_CONTENT_LENGTH"]
    response = client.post(f"/api/v1/incidents/{incident.id}/attachments",
                           headers=bearer(cast["reporter_of_it"]),
                           **in_memory_multipart({"file": [("core.dump", data)]}))
    assert response.status_code == 201 and response.get_json()["size"] == len(data)
    too_big = client.post(f"/api/v1/incidents/{incident.id}/comments",
                          headers=bearer(cast["reporter_of_it"]),
                          data=b"x" * len(data), content_type="application/json")
    assert too_big.status_code == 413
