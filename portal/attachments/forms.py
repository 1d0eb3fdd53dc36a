"""The portal's file input, one field shared by the report and the comment forms."""
from __future__ import annotations

from wtforms import MultipleFileField


def attachments_field() -> MultipleFileField:
    """Several files at once (or dropped on the input); checked when the form is saved."""
    return MultipleFileField(
        "Attachments", description="Screenshots, logs: several files, up to the size "
                                   "limit each. Executables and scripts are refused.")


def uploads_in(field: MultipleFileField) -> list[tuple[str, bytes]]:
    """The files a form's input carried, as (filename, bytes); an empty input is none."""
    return [(upload.filename, upload.read()) for upload in field.data or ()
            if getattr(upload, "filename", "")]

