"""Attachment settings (``portal/attachments``): where blobs live, what may be uploaded,
how previews are bounded, and when unreferenced blobs are collected (README
"Attachments")."""
from __future__ import annotations

from portal.settings.declare import (PROJECT_ROOT, SUFFIXES, WHOLE, Area, Setting, Type,
                                     choice, positive)

MiB = 1024 * 1024
#: Executables and scripts: refused by name (extension) and by detected type.
DENIED_EXTENSIONS = ("exe", "dll", "com", "bat", "cmd", "msi", "msp", "scr", "pif", "cpl",
                     "ps1", "psm1", "vbs", "vbe", "js", "jse", "wsf", "wsh", "hta", "jar",
                     "sh", "bash", "zsh", "csh", "ksh", "py", "pl", "rb", "php", "elf",
                     "app", "apk", "deb", "rpm", "dmg", "lnk", "reg")
DENIED_TYPES = ("application/x-msdownload", "application/x-executable",
                "application/x-mach-binary", "application/x-sharedlib",
                "application/vnd.microsoft.portable-executable", "application/x-dosexec",
                "application/java-archive", "application/x-deb", "application/x-rpm",
                "application/x-shellscript", "text/x-shellscript")

AREA = Area("Attachments", "files on incidents and comments (see \"Attachments\")", (
    Setting("ATTACHMENT_STORAGE", "filesystem", "`filesystem` (files under "
            "`ATTACHMENTS_DIR`) or `database` (blobs in the database, shared by every "
            "container on it)", choice("filesystem", "database")),
    # A relative folder is the project's (the image's /app), whatever the cwd.
    Setting("ATTACHMENTS_DIR", "data/attachments", "the folder for `filesystem` (relative: "
            "in the project)", Type("folder", lambda raw: str(PROJECT_ROOT / raw),
                                    blank_is_default=False)),
    Setting("ATTACHMENT_MAX_BYTES", str(10 * MiB), "largest file (larger: 413 naming the "
            "file)", WHOLE),
    Setting("ATTACHMENT_MAX_PER_INCIDENT", "50", "files per incident", WHOLE),
    Setting("ATTACHMENT_MAX_REQUEST_BYTES",
            lambda read: 5 * read["ATTACHMENT_MAX_BYTES"] + MiB,
            "the largest body of a form or upload that carries files (then 413)", WHOLE,
            shown="5 × `ATTACHMENT_MAX_BYTES` + 1 MiB"),
    Setting("ATTACHMENT_DENIED_EXTENSIONS", ",".join(DENIED_EXTENSIONS),
            "refused file name extensions", SUFFIXES, shown="executables and scripts"),
    Setting("ATTACHMENT_DENIED_TYPES", ",".join(DENIED_TYPES), "refused detected media "
            "types", SUFFIXES, shown="executables and scripts"),
    # A preview decodes the whole image: about 4 bytes a pixel, and a 116 KB PNG can
    # declare 40 megapixels. 12 Mpx is a 4000 × 3000 photo; its preview process peaks
    # near 120 MiB of address space.
    Setting("ATTACHMENT_PREVIEW_MAX_PIXELS", "12000000", "images with more pixels get no "
            "preview (their size is read from the header, never decoded)", WHOLE,
            check=positive),
    Setting("ATTACHMENT_PREVIEW_MEMORY_MB", "256", "the address space of the process that "
            "makes one preview (`RLIMIT_AS`); over it, no preview", WHOLE, check=positive),
    Setting("ATTACHMENT_PREVIEW_TIMEOUT_SECONDS", "10", "that process's CPU and wall time; "
            "over it, no preview", WHOLE, check=positive),
    # An upload writes its blob before its row commits; the collector must not take it in
    # between.
    Setting("ATTACHMENT_GC_GRACE_SECONDS", "3600", "`gc-attachments` leaves blobs younger "
            "than this", WHOLE),
    Setting("ATTACHMENT_GC_INTERVAL_SECONDS", "0", "the worker's attachments-gc job runs "
            "this often (0: never; run it from cron)", WHOLE),
))
