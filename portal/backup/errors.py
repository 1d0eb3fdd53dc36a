"""``BackupError``: why a backup or a restore did not happen, in one sentence, with the
sysexits exit code the command line ends with (``os.EX_*``)."""
from __future__ import annotations

import os


class BackupError(Exception):
    """A backup or restore refused or failed. A refusal wrote nothing; a backup that
    fails leaves no archive; a restore that fails after its checks may have written
    files into ``ATTACHMENTS_DIR`` (unreferenced: the collector removes them) and, on
    PostgreSQL, says when it had dropped the target's tables."""

    def __init__(self, message: str, exit_code: int = os.EX_SOFTWARE) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


def first_line(exc: BaseException | str) -> str:
    """The first line of an error (a driver's or a program's), or its type's name."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
