"""The archive: a tar file of named parts and ``manifest.json``, which lists every part
with its size and sha256.

``ArchiveWriter`` adds parts, hashing them as they go in, and the manifest last.
``Archive.open`` reads one back and checks it whole before anything uses it: every part
the manifest lists is there, is a file, has its size and sha256, and nothing else is in
the tar. Parts are read by their listed names only, never extracted by a name the tar
chose, so no member can write outside where it is asked to go.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import tarfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import BinaryIO

from portal.backup.errors import BackupError, first_line

FORMAT = "incident-portal-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
#: The database part of each engine.
DATABASE_PARTS = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
BLOB_PREFIX = "blobs/"
STORAGES = ("filesystem", "database")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20


def blob_part(sha256: str) -> str:
    return f"{BLOB_PREFIX}{sha256}"


@dataclass(frozen=True)
class Part:
    sha256: str
    size: int


@dataclass
class Manifest:
    """What an archive holds; ``parts`` maps each part's name to its size and sha256."""

    app_version: str
    created_at: str
    engine: str
    schema_revision: list[str]
    attachment_storage: str
    tables: dict[str, int]
    parts: dict[str, Part] = field(default_factory=dict)
    #: Blobs the snapshot names that the store did not have (lost before the backup).
    missing_blobs: list[str] = field(default_factory=list)

    @property
    def database_part(self) -> str:
        return DATABASE_PARTS[self.engine]

    @property
    def blob_parts(self) -> list[str]:
        return sorted(name for name in self.parts if name.startswith(BLOB_PREFIX))

    @property
    def rows(self) -> int:
        return sum(self.tables.values())

    @property
    def summary(self) -> str:
        """The schema and the rows, in words."""
        return (f"schema {', '.join(self.schema_revision)}, {self.rows:,} rows in "
                f"{len(self.tables)} tables")

    @property
    def attachments(self) -> str:
        """What the archive holds of the attachments, in words."""
        if self.attachment_storage == "filesystem":
            return f"{len(self.blob_parts):,} attachment files"
        return "the attachments (stored in the database)"

    def to_json(self) -> bytes:
        document = {"format": FORMAT, "format_version": FORMAT_VERSION, **asdict(self)}
        return json.dumps(document, indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        """:raises BackupError: not a manifest of this format (EX_DATAERR)."""
        try:
            document = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _damaged(f"{MANIFEST} is not JSON ({exc})") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise _damaged(f"{MANIFEST} is not the manifest of an Incident Portal backup")
        version = document.get("format_version")
        if isinstance(version, int) and version > FORMAT_VERSION:
            raise _damaged(f"the archive is in format {version}, made by a newer Incident "
                           f"Portal; this one reads format {FORMAT_VERSION}: restore it "
                           "with the version that made it")
        try:
            manifest = cls(
                app_version=_text(document, "app_version"),
                created_at=_text(document, "created_at"),
                engine=_choice(document, "engine", tuple(DATABASE_PARTS)),
                schema_revision=_texts(document, "schema_revision"),
                attachment_storage=_choice(document, "attachment_storage", STORAGES),
                tables=_counts(document, "tables"),
                parts={name: Part(sha256=_sha256(spec, name), size=_size(spec, name))
                       for name, spec in _mapping(document, "parts").items()},
                missing_blobs=_texts(document, "missing_blobs"))
        except (KeyError, TypeError, ValueError) as exc:
            raise _damaged(f"{MANIFEST} is not valid: {exc}") from None
        if not manifest.schema_revision:
            raise _damaged(f"{MANIFEST} names no schema revision")
        manifest._check_names()
        return manifest

    def _check_names(self) -> None:
        if self.database_part not in self.parts:
            raise _damaged(f"{MANIFEST} lists no {self.database_part}")
        for name in self.parts:
            if name == self.database_part:
                continue
            sha256 = name.removeprefix(BLOB_PREFIX)
            if not name.startswith(BLOB_PREFIX) or not _SHA256.fullmatch(sha256):
                raise _damaged(f"{MANIFEST} lists {name!r}, which is no part of a backup")
            if self.parts[name].sha256 != sha256:
                raise _damaged(f"{MANIFEST} gives {name} another sha256 than its name")


def _damaged(reason: str) -> BackupError:
    return BackupError(reason, os.EX_DATAERR)


def _mapping(document: dict, key: str) -> dict:
    value = document[key]
    if not isinstance(value, dict):
        raise TypeError(f"{key} must be an object")
    return value


def _text(document: dict, key: str) -> str:
    value = document[key]
    if not isinstance(value, str):
        raise TypeError(f"{key} must be text")
    return value


def _texts(document: dict, key: str) -> list[str]:
    value = document[key]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError(f"{key} must be a list of text")
    return value


def _choice(document: dict, key: str, choices: tuple[str, ...]) -> str:
    value = _text(document, key)
    if value not in choices:
        raise ValueError(f"{key} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _counts(document: dict, key: str) -> dict[str, int]:
    counts = _mapping(document, key)
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
               for n in counts.values()):
        raise TypeError(f"{key} must map each table to its number of rows")
    return counts


def _sha256(spec: object, name: str) -> str:
    value = spec.get("sha256") if isinstance(spec, dict) else None
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise ValueError(f"the sha256 of {name} is not a sha256")
    return value


def _size(spec: dict, name: str) -> int:
    value = spec.get("size")
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"the size of {name} is not a number of bytes")
    return value


class _Hashing:
    """Reads through to ``source``, hashing and counting what passes."""

    def __init__(self, source: BinaryIO) -> None:
        self.source = source
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.source.read(size)
        self.digest.update(chunk)
        self.size += len(chunk)
        return chunk


def sha256_of_stream(source: BinaryIO) -> tuple[str, int]:
    """The sha256 and the length of what ``source`` holds from here to its end."""
    reader = _Hashing(source)
    while reader.read(_CHUNK):
        pass
    return reader.digest.hexdigest(), reader.size


class ArchiveWriter:
    """Writes a new archive at ``path``: ``add`` each part, then ``finish`` with the
    manifest (which gets every part's size and sha256)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.parts: dict[str, Part] = {}
        self._file = path.open("xb")
        self._tar = tarfile.open(fileobj=self._file, mode="w", format=tarfile.PAX_FORMAT)

    def add(self, name: str, source: BinaryIO, size: int) -> Part:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = size, int(time.time()), 0o600
        reader = _Hashing(source)
        self._tar.addfile(info, reader)  # reads exactly ``size`` bytes, or raises
        self.parts[name] = Part(reader.digest.hexdigest(), size)
        return self.parts[name]

    def finish(self, manifest: Manifest) -> None:
        """Add the manifest, close the tar and put it on disk (fsync)."""
        manifest.parts = dict(self.parts)
        raw = manifest.to_json()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime, info.mode = len(raw), int(time.time()), 0o600
        self._tar.addfile(info, io.BytesIO(raw))
        self._tar.close()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def abandon(self) -> None:
        self._tar.close()
        self._file.close()


class Archive:
    """An archive checked whole against its manifest (``open``); read its parts by name."""

    def __init__(self, path: Path, tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo],
                 manifest: Manifest) -> None:
        self.path = path
        self._tar = tar
        self._members = members
        self.manifest = manifest

    @classmethod
    def open(cls, path: Path) -> Archive:
        """Open the archive at ``path`` and check every part against the manifest.

        :raises BackupError: no such file (EX_NOINPUT); not an archive, incomplete,
            damaged or altered (EX_DATAERR).
        """
        if not path.is_file():
            raise BackupError(f"{path}: no such file", os.EX_NOINPUT)
        try:
            tar = tarfile.open(path, mode="r:*")  # also when someone compressed it
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise _damaged(f"{path} is not a backup archive (not a tar file: "
                           f"{first_line(exc)})") from None
        try:
            archive = cls._checked(path, tar)
        except BaseException:
            tar.close()
            raise
        return archive

    @classmethod
    def _checked(cls, path: Path, tar: tarfile.TarFile) -> Archive:
        try:
            members = {member.name: member for member in tar.getmembers()}
            if MANIFEST not in members:
                raise _damaged(f"{path} has no {MANIFEST}: an incomplete archive, or none "
                               "that manage.py backup wrote")
            manifest = Manifest.from_json(cls._read(tar, members[MANIFEST]))
            unlisted = sorted(set(members) - set(manifest.parts) - {MANIFEST})
            if unlisted:
                raise _damaged(f"{path} holds {unlisted[0]}, which its manifest does not "
                               "list: the archive was altered")
            for name, part in sorted(manifest.parts.items()):
                member = members.get(name)
                if member is None:
                    raise _damaged(f"{path} is incomplete: {name} is missing")
                if not member.isfile():
                    raise _damaged(f"{path}: {name} is not a file")
                sha256, size = sha256_of_stream(tar.extractfile(member))
                if (sha256, size) != (part.sha256, part.size):
                    raise _damaged(f"{path}: {name} is damaged or altered (sha256 {sha256}, "
                                   f"{size} bytes; the manifest says {part.sha256}, "
                                   f"{part.size} bytes)")
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise _damaged(f"{path} is incomplete or damaged: {first_line(exc)}") from None
        return cls(path, tar, members, manifest)

    @staticmethod
    def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
        if not member.isfile():
            raise _damaged(f"{member.name} is not a file")
        return tar.extractfile(member).read()

    def part(self, name: str) -> BinaryIO:
        """The bytes of a listed part, to read."""
        return self._tar.extractfile(self._members[name])

    def close(self) -> None:
        self._tar.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
