"""What a file name becomes where most downloads are saved: on Windows.

Windows drops trailing dots and spaces when it saves a file (``run.bat.`` is saved as
``run.bat``, and runs), reads ``a.txt:evil.bat`` as a hidden stream ``evil.bat`` of
``a.txt``, and opens a device instead of a file for the reserved names (``CON``,
``NUL.txt``, ``COM1.log``: the part before the first dot decides). Every check on a name
(the deny-list of extensions) must see the name Windows will use, so the name is made
that one first: trailing dots and spaces are dropped (the name stored, shown and sent is
the one Windows saves), and a name Windows would read as something else than a file (a
stream, a device) is refused.
"""
from __future__ import annotations

#: The device names Windows reserves, with or without an extension, in any case.
RESERVED = frozenset({"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
                      *(f"{port}{n}" for port in ("COM", "LPT") for n in "0123456789¹²³")})


def as_windows_saves(name: str) -> str:
    """``name`` as Windows saves it (trailing dots and spaces dropped).

    :raises ValueError: only dots and spaces, a ``:`` (an alternate data stream), or a
        reserved device name; the message says why.
    """
    saved = name.rstrip(". ")
    if not saved:
        raise ValueError("a file name may not be only dots and spaces")
    if ":" in saved:
        raise ValueError("a file name may not contain ':' (Windows reads a.txt:evil.bat as "
                         "a hidden stream evil.bat of a.txt)")
    device = saved.split(".", 1)[0].rstrip(" ").upper()
    if device in RESERVED:
        raise ValueError(f"{device} is a device name on Windows (CON, PRN, AUX, NUL, "
                         "COM1 to COM9, LPT1 to LPT9, with any extension): no file can "
                         "be saved under it")
    return saved
