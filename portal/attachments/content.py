"""What a file is and what it may be called: the content type detected from its bytes
(``filetype``, never the client's header), the filename rules, and the
preview of raster images (Pillow).
"""
from __future__ import annotations

import io
import unicodedata
import warnings

import filetype
from PIL import Image, UnidentifiedImageError

from portal.attachments.models import FILENAME_MAX
from portal.attachments.windows_names import as_windows_saves

#: The only types ever shown inline (as their preview): raster images Pillow re-encodes.
RASTER_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
PREVIEW_SIZE = (320, 320)
#: Larger images are not decoded for a preview (a decompression bomb costs no memory).
PREVIEW_MAX_PIXELS = 40_000_000
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


def preview_of(data: bytes, content_type: str) -> bytes | None:
    """A small PNG of a raster image, or None (not one, too large, or unreadable)."""
    if content_type not in RASTER_IMAGES:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.width * image.height > PREVIEW_MAX_PIXELS:
                    return None
                image.thumbnail(PREVIEW_SIZE)
                if image.mode not in ("RGB", "RGBA"):
                    image = image.convert("RGBA")
                out = io.BytesIO()
                image.save(out, format="PNG", optimize=True)
                return out.getvalue()
    except (UnidentifiedImageError, Image.DecompressionBombError,
            Image.DecompressionBombWarning, OSError, ValueError, SyntaxError):
        return None
