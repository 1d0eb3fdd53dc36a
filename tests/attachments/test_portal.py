"""Attachments in the portal through the test client, with real multipart forms: files
reported with an incident or a comment, refusals shown on the form that keeps what was
typed, the incident page's list, its links and delete buttons."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from portal.attachments.models import Attachment
from portal.extensions import db
from portal.incidents.models import Comment, Incident
from tests.attachments.helpers import (EXE, attach, in_memory_multipart, png, run_previews,
                                      stored_blobs)
from tests.clients import csrf_token_from, log_in

pytestmark = pytest.mark.usefixtures("backend")


def report(client, *files, title="Monitor flickers"):
    token = csrf_token_from(client.get("/admin/mine/new/").get_data(as_text=True))
    return client.post("/admin/mine/new/", content_type="multipart/form-data", data={
        "csrf_token": token, "title": title, "description": "Since Monday",
        "priority": "high", "category": "hardware",
        "attachments": [(io.BytesIO(data), name) for name, data in files]})


def page_of(client, incident):
    return client.get(f"/admin/incident/details/?id={incident.id}").get_data(as_text=True)


def test_report_with_two_files_lists_them_with_a_preview(client, cast):
    log_in(client, cast["reporter_of_it"])
    response = report(client, ("error.png", png()), ("trace.log", b"Traceback ...\n"))
    assert response.status_code == 302
    incident = db.session.scalars(select(Incident)).one()
    names = db.session.scalars(select(Attachment.filename).where(
        Attachment.incident_id == incident.id).order_by(Attachment.id)).all()
    assert names == ["error.png", "trace.log"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "error.png" in page and "trace.log" in page
    assert page.count("Preview pending") == 1  # the image's, until the worker's round
    shot = db.session.scalars(select(Attachment).where(Attachment.filename == "error.png")).one()
    run_previews()
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f'src="/attachments/{shot.id}/preview"' in page and "Preview pending" not in page
    with client.get(f"/attachments/{shot.id}/preview") as preview:
        assert preview.status_code == 200 and preview.mimetype == "image/png"
        assert preview.headers["Content-Disposition"] == "inline"
        assert preview.headers["Content-Security-Policy"] == "sandbox"
        assert preview.get_data().startswith(b"\x89PNG")
    with client.get(f"/attachments/{shot.id}") as download:
        assert download.headers["Content-Disposition"].startswith("attachment;")
        assert download.get_data() == png()


def test_a_refused_file_is_a_form_error_and_nothing_is_reported(client, cast):
    log_in(client, cast["reporter_of_it"])
    response = report(client, ("fine.png", png()), ("setup.exe", EXE), title="Keep me")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "setup.exe: .exe files may not be attached" in page
    assert 'value="Keep me"' in page  # the form is shown again as it was filled in
    assert db.session.scalars(select(Incident)).all() == []
    assert db.session.scalars(select(Attachment)).all() == []


def test_a_file_over_the_limit_names_the_file_and_the_limit(client, cast, limits):
    limits(ATTACHMENT_MAX_BYTES=1024)
    log_in(client, cast["reporter_of_it"])
    page = report(client, ("huge.log", b"x" * 4096)).get_data(as_text=True)
    assert "huge.log: the file is 4 KiB; the limit is 1 KiB per file" in page
    assert db.session.scalars(select(Incident)).all() == []


def test_a_comment_with_a_file(client, cast, incident):
    log_in(client, cast["reporter_of_it"])
    page = page_of(client, incident)
    assert 'enctype="multipart/form-data"' in page
    response = client.post(f"/admin/incident/comment/?id={incident.id}",
                           content_type="multipart/form-data", data={
                               "csrf_token": csrf_token_from(page), "body": "Here is the log",
                               "attachments": [(io.BytesIO(b"boot failed\n"), "boot.log")]})
    assert response.status_code == 302
    attachment = db.session.scalars(select(Attachment)).one()
    comment = db.session.scalars(select(Comment)).one()
    assert attachment.comment_id == comment.id and attachment.filename == "boot.log"


def test_a_refused_comment_file_keeps_the_comment_text(client, cast, incident):
    log_in(client, cast["reporter_of_it"])
    response = client.post(f"/admin/incident/comment/?id={incident.id}",
                           content_type="multipart/form-data", data={
                               "csrf_token": csrf_token_from(page_of(client, incident)),
                               "body": "Typed with care",
                               "attachments": [(io.BytesIO(b""), "empty.txt")]})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "empty.txt: the file is empty" in page and "Typed with care" in page
    assert db.session.scalars(select(Comment)).all() == []


def test_internal_comment_files_are_marked_for_staff_and_hidden_from_reporters(
        app, client, cast, incident):
    from portal.incidents import lifecycle
    note = lifecycle.comment(incident, actor=cast["technician_on_it"], body="our notes",
                             internal=True)
    secret = attach(incident, cast["technician_on_it"], "firewall-rules.txt", comment=note)
    log_in(client, cast["reporter_of_it"])
    assert "firewall-rules.txt" not in page_of(client, incident)
    with client.get(f"/attachments/{secret.id}") as refused:
        assert refused.status_code == 404
    staff = app.test_client()
    log_in(staff, cast["technician_on_it"])
    page = page_of(staff, incident)
    assert "firewall-rules.txt" in page and "internal" in page


@pytest.mark.parametrize("role,deletable", [("reporter_of_it", True), ("technician_on_it", False),
                                            ("admin", True)])
def test_delete_buttons_where_allowed_and_deleting(app, cast, incident, role, deletable):
    attachment = attach(incident, cast["reporter_of_it"], "old.log")
    client = app.test_client()
    log_in(client, cast[role])
    page = page_of(client, incident)
    action = f'action="/attachments/{attachment.id}/delete"'
    assert (action in page) is deletable
    response = client.post(f"/attachments/{attachment.id}/delete",
                           data={"csrf_token": csrf_token_from(page)}, follow_redirects=True)
    assert response.status_code == 200
    remaining = db.session.scalars(select(Attachment.id)).all()
    assert remaining == ([] if deletable else [attachment.id])
    text = response.get_data(as_text=True)
    assert ("Deleted old.log." in text) is deletable
    assert stored_blobs(), "the blob stays for the garbage collector"


def test_another_reporter_gets_not_found(client, cast, incident):
    attachment = attach(incident, cast["reporter_of_it"])
    log_in(client, cast["other_reporter"])
    for url in (f"/attachments/{attachment.id}", f"/attachments/{attachment.id}/preview"):
        with client.get(url) as response:
            assert response.status_code == 404
    assert client.post(f"/attachments/{attachment.id}/delete", data={
        "csrf_token": csrf_token_from(client.get("/admin/mine/").get_data(as_text=True))
    }).status_code == 404


def test_a_report_may_carry_more_than_other_forms(app, client, cast):
    data = b"\x00log" * (3 * 1024 * 1024 // 4)
    assert len(data) > app.config["MAX_CONTENT_LENGTH"]
    log_in(client, cast["reporter_of_it"])
    token = csrf_token_from(client.get("/admin/mine/new/").get_data(as_text=True))
    response = client.post("/admin/mine/new/", **in_memory_multipart({
        "csrf_token": token, "title": "Crash", "description": "core attached",
        "priority": "high", "category": "software", "attachments": [("core.dump", data)]}))
    assert response.status_code == 302
    assert db.session.scalars(select(Attachment.size)).all() == [len(data)]
