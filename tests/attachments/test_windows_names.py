"""What a name becomes on Windows (``windows_names``), as a table: the name Windows
saves, or why no file can have it there."""
from __future__ import annotations

import pytest

from portal.attachments.windows_names import as_windows_saves

pytestmark = pytest.mark.no_db

#: sent, saved (None: refused)
CASES = [
    ("report.pdf", "report.pdf"),
    ("report.pdf.", "report.pdf"),
    ("run.bat . . ", "run.bat"),
    ("a. b.txt", "a. b.txt"),              # only the end counts
    (".bashrc", ".bashrc"),
    ("console.txt", "console.txt"),        # a device name only as the whole stem
    ("com10.log", "com10.log"),
    ("nul-report.txt", "nul-report.txt"),
    ("résumé.pdf..", "résumé.pdf"),
    ("CON", None), ("con.txt", None), ("Nul.tar.gz", None), ("PRN .txt", None),
    ("aux", None), ("COM1", None), ("lpt9.log", None), ("COM¹.txt", None),
    ("CONIN$", None), ("a.txt:evil.bat", None), ("x:", None), ("...", None), (". .", None),
]


@pytest.mark.parametrize("sent,saved", CASES)
def test_the_name_windows_saves(sent, saved):
    if saved is None:
        with pytest.raises(ValueError):
            as_windows_saves(sent)
    else:
        assert as_windows_saves(sent) == saved
