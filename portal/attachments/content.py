"""What a file is and what it may be called: the content type detected from its bytes
(``filetype``, never the client's header) and the filename rules. Previews are
``previews``' (made by the worker, never in a request).
"""
from __future__ import annotations

import unicodedata

import filetype

from portal.attachments.models import FILENAME_MAX
from portal.attachments.windows_names import as_windows_saves

OCTET_STREAM = "application/octet-stream"


def detect_type(data: bytes) -> str:
    """The content type of ``data`` from its bytes: a known signature, else a script
    (``#!``), else text when it reads as UTF-8, else ``application/octet-stream``."""
    kind = filetype.guess(data)
    if kind is not None:
        return kind.mime
    if data.startswith(b"#!"):
        return "text/x-shellscript"  # no signature library knows scripts
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return OCTET_STREAM
    return OCTET_STREAM if "\x00" in text else "text/plain"


def extension_of(filename: str) -> str:
    """``report.tar.gz`` → ``gz``; no dot → ``""``."""
    _, dot, extension = filename.rpartition(".")
    return extension.lower() if dot else ""


class BadFilename(ValueError):
    """A filename that is refused; the message says why."""


def check_filename(raw: str) -> str:
    """The filename to store, show and send in ``Content-Disposition`` (NFC, trimmed,
    as Windows saves it: ``windows_names``). It is never used as a path, and names that
    look like one are refused outright.

    :raises BadFilename: empty, a path (``/`` or ``\\``), ``.``/``..``, control or
        format characters (NUL, line breaks, direction overrides), a name Windows reads
        as a stream or a device (``a.txt:evil.bat``, ``NUL.txt``), over ``FILENAME_MAX``.
    """
    name = unicodedata.normalize("NFC", raw or "").strip()
    if not name:
        raise BadFilename("the file has no name")
    if "/" in name or "\\" in name or name in (".", ".."):
        raise BadFilename("a file name may not be a path (no / or \\)")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise BadFilename("a file name may not contain control characters "
                          "(NUL, line breaks, direction marks)")
    try:
        name = as_windows_saves(name)  # before any check: the name downloads get
    except ValueError as bad:
        raise BadFilename(str(bad)) from None
    if len(name) > FILENAME_MAX:
        raise BadFilename(f"the name is {len(name)} characters long; the most is "
                          f"{FILENAME_MAX}")
    return name


def shown_filename(raw: str, *, length: int = 60) -> str:
    """``raw`` made safe to quote in a message: control characters as ``?``, shortened."""
    shown = "".join("?" if unicodedata.category(c).startswith("C") else c
                    for c in (raw or "")).strip() or "(no name)"
    return shown if len(shown) <= length else shown[:length - 1] + "…"
