"""What the backup tests share (their fixtures, ``new_database`` and ``storage``, are in
tests/conftest.py): the rows of every table, the blobs a database names, and archives
rewritten the ways a damaged or altered one would be."""
from __future__ import annotations

import contextlib
import io
import json
import tarfile
from pathlib import Path
from typing import Callable

from sqlalchemy import create_engine, inspect, select, table, text, union
from sqlalchemy.pool import NullPool

from portal.attachments.models import Attachment
from portal.settings.database import database_url as sqlalchemy_url


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


@contextlib.contextmanager
def connected(url: str):
    engine = create_engine(sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def every_row(url: str) -> dict[str, list[tuple]]:
    """Each table of the database and all its rows, in one order whatever the engine
    returned them in."""
    with connected(url) as connection:
        return {name: sorted((tuple(row) for row in connection.execute(
                    select(text("*")).select_from(table(name)))), key=repr)
                for name in sorted(inspect(connection).get_table_names())}


def named_blobs(url: str) -> set[str]:
    """The sha256 of every file and preview the database's attachment rows name."""
    with connected(url) as connection:
        return set(connection.scalars(union(
            select(Attachment.sha256),
            select(Attachment.preview_sha256).where(Attachment.preview_sha256.is_not(None)))))


def rewrite(path: Path, *, drop: str | None = None, replace: dict[str, bytes] | None = None,
            add: dict[str, bytes] | None = None, rename: tuple[str, str] | None = None,
            manifest: Callable[[dict], None] | None = None) -> None:
    """Rewrite the archive at ``path``: without the member ``drop``, with other bytes
    for the members in ``replace``, extra members ``add``, a part renamed (in the
    manifest too), the manifest changed by ``manifest`` (which edits the parsed JSON in
    place)."""
    with tarfile.open(path) as tar:
        members = {member.name: tar.extractfile(member).read() for member in tar.getmembers()}
    members.update(replace or {})
    members.update(add or {})
    if drop:
        del members[drop]
    document = json.loads(members["manifest.json"]) if "manifest.json" in members else None
    if rename:
        old, new = rename
        members[new] = members.pop(old)
        document["parts"][new] = document["parts"].pop(old)
    if manifest:
        manifest(document)
    if document is not None:
        members["manifest.json"] = json.dumps(document).encode()
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def archive_members(path: Path) -> list[str]:
    with tarfile.open(path) as tar:
        return tar.getnames()
