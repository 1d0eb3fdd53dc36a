"""``add_attachment``, the contract other code (mail in) calls, and the storage beneath:
refusals with their status and words, type detection from the bytes, previews made once,
the garbage collector, and the command line."""
from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from portal.attachments import service
from portal.attachments.content import detect_type
from portal.attachments.previews import render
from portal.attachments.models import Attachment
from portal.attachments.service import AttachmentRefused
from portal.attachments.storage import FilesystemStore, blob_store
from portal.extensions import db
from portal.incidents.enums import EventKind, Status
from portal.incidents.lifecycle import InvalidTransition, NotAllowed, NotVisible
from portal.incidents.models import IncidentEvent
from tests.attachments.helpers import (EXE, SVG_WITH_SCRIPT, attach, png, run_previews,
                                      stored_blobs)
from tests.factories import make_incident

DETECTED = [
    (png(4, 4), "image/png"),
    (EXE, "application/x-msdownload"),
    (b"\x7fELF\x02\x01\x01" + b"\x00" * 60, "application/x-executable"),
    (b"%PDF-1.4\n", "application/pdf"),
    (b"#!/usr/bin/env python\nprint(1)\n", "text/x-shellscript"),
    (SVG_WITH_SCRIPT, "text/plain"),
    ("Grüße\n".encode(), "text/plain"),
    (b"\x00\x01\x02\xff", "application/octet-stream"),
]


@pytest.mark.parametrize("data,content_type", DETECTED)
def test_types_come_from_the_bytes(data, content_type):
    assert detect_type(data) == content_type


@pytest.mark.parametrize("data", [SVG_WITH_SCRIPT, b"GIF89a broken", EXE])
def test_only_readable_raster_images_get_a_preview(data):
    assert render(data, detect_type(data)).png is None


@pytest.mark.usefixtures("backend")
class TestAddAttachment:
    """The contract: same checks as uploads, rows in the session, nothing committed."""

    def test_adds_row_and_event_without_committing(self, cast, incident):
        attachment = service.add_attachment(incident, cast["reporter_of_it"], "a.txt", b"hello")
        assert attachment.id is not None and attachment.content_type == "text/plain"
        kinds = db.session.scalars(select(IncidentEvent.kind).where(
            IncidentEvent.incident_id == incident.id).order_by(IncidentEvent.id)).all()
        assert kinds[-1] == EventKind.attachment_added
        db.session.rollback()
        assert db.session.scalar(select(func.count(Attachment.id))) == 0

    @pytest.mark.parametrize("filename,data,status,words", [
        ("x.bin", b"", 422, "x.bin: the file is empty"),
        ("big.txt", b"y" * 2049, 413, "big.txt: the file is 2 KiB; the limit is 2 KiB"),
        ("run.sh", b"echo hi\n", 422, "run.sh: .sh files may not be attached"),
        ("a\nb.txt", b"x", 422, "a?b.txt: a file name may not contain control characters"),
        ("a\x00b.txt", b"x", 422, "a?b.txt: a file name may not contain control characters"),
        ("C:\\temp\\x.txt", b"x", 422, "C:\\temp\\x.txt: a file name may not be a path"),
        ("", b"x", 422, "(no name): the file has no name"),
    ])
    def test_refusals_name_the_file_and_carry_a_status(self, cast, incident, limits,
                                                       filename, data, status, words):
        limits(ATTACHMENT_MAX_BYTES=2048)
        with pytest.raises(AttachmentRefused) as refused:
            service.add_attachment(incident, cast["reporter_of_it"], filename, data)
        assert refused.value.status == status and str(refused.value).startswith(words)

    @pytest.mark.parametrize("role,error", [("other_reporter", NotVisible),
                                            ("other_technician", NotVisible)])
    def test_who_may_not_see_may_not_attach(self, cast, incident, role, error):
        with pytest.raises(error):
            service.add_attachment(incident, cast[role], "a.txt", b"x")

    def test_internal_needs_staff_and_closed_takes_none(self, cast, incident):
        with pytest.raises(NotAllowed):
            service.add_attachment(incident, cast["reporter_of_it"], "a.txt", b"x", internal=True)
        closed = make_incident(reporter=cast["reporter_of_it"], admin=cast["admin"],
                               technician=cast["technician_on_it"], status=Status.closed)
        with pytest.raises(InvalidTransition):
            service.add_attachment(closed, cast["admin"], "a.txt", b"x")

    def test_a_preview_is_made_once_and_shared(self, cast, incident):
        first = attach(incident, cast["reporter_of_it"], "a.png", png())
        second = attach(incident, cast["reporter_of_it"], "b.png", png())
        run_previews()
        assert first.preview_sha256 == second.preview_sha256 is not None
        third = attach(incident, cast["reporter_of_it"], "c.png", png())
        assert third.preview_sha256 == first.preview_sha256  # known bytes: at once
        assert stored_blobs() == {first.sha256, first.preview_sha256}


@pytest.mark.usefixtures("backend")
def test_gc_removes_only_unreferenced_blobs(cast, incident):
    kept = attach(incident, cast["reporter_of_it"], "kept.txt", b"kept")
    orphan = blob_store().put(b"a commit that failed")  # written, row never committed
    db.session.commit()
    assert stored_blobs() == {kept.sha256, orphan}
    assert service.collect_garbage() == 0, "younger than the grace period"
    assert service.collect_garbage(timedelta(0)) == 1
    assert stored_blobs() == {kept.sha256}


def test_reusing_a_blob_makes_it_young_again(app, tmp_path):
    store = FilesystemStore(tmp_path)
    sha256 = store.put(b"old file")
    hour_ago = time.time() - 3600
    os.utime(store.path(sha256), (hour_ago, hour_ago))
    store.put(b"old file")  # an upload in flight reuses it
    from portal.attachments.storage import grace_cutoff
    assert not store.remove(sha256, older_than=grace_cutoff(timedelta(minutes=30)))


def test_gc_removes_leftovers_of_crashed_writes(tmp_path):
    store = FilesystemStore(tmp_path)
    kept = store.put(b"a whole file")
    leftover = store.path(kept).parent / f"{FilesystemStore.TEMP_PREFIX}crashed"
    leftover.write_bytes(b"half a file")
    assert [sha256 for sha256, _ in store.stored()] == [kept], "a leftover is no blob"
    from portal.db_types import utcnow
    assert store.remove_leftovers(older_than=utcnow()) == 1
    assert not leftover.exists() and store.path(kept).exists()


def test_gc_command(runner, cast, incident, backend):
    blob_store().put(b"nobody's")
    db.session.commit()
    result = runner.invoke(args=["gc-attachments", "--grace", "0"])
    assert result.exit_code == 0 and "Removed 1 unreferenced attachment blob." in result.output
    bad = runner.invoke(args=["gc-attachments", "--grace", "-1"])
    assert bad.exit_code != 0 and "Traceback" not in bad.output


def test_the_collector_removes_no_file_while_a_backup_holds_removals(runner, limits,
                                                                     tmp_path):
    """A backup copies the files its snapshot names; one deleted meanwhile must still be
    there to copy (backups themselves: tests/reliability/test_backup.py)."""
    limits(ATTACHMENT_STORAGE="filesystem", ATTACHMENTS_DIR=str(tmp_path / "blobs"))
    orphan = blob_store().put(b"its attachment was deleted during the backup")
    db.session.commit()
    with blob_store().removals_held():
        held = runner.invoke(args=["gc-attachments", "--grace", "0"])
        assert held.exit_code == 0 and "Removed 0 unreferenced" in held.output
        assert stored_blobs() == {orphan}
    after = runner.invoke(args=["gc-attachments", "--grace", "0"])
    assert after.exit_code == 0 and "Removed 1 unreferenced attachment blob." in after.output
    assert stored_blobs() == set()


def test_the_worker_job_collects_when_switched_on(app, limits, backend):
    from portal.worker import JOBS
    job = JOBS["attachments-gc"]
    assert not job.enabled(app), "off by default: cron runs gc-attachments"
    limits(ATTACHMENT_GC_INTERVAL_SECONDS=86400, ATTACHMENT_GC_GRACE_SECONDS=0)
    assert job.enabled(app) and job.interval_for(app) == 86400
    blob_store().put(b"orphan")
    db.session.commit()
    job.run()
    assert stored_blobs() == set()
