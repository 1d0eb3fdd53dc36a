"""What a database holds, read through one connection (so, during a backup, from the
snapshot itself): its schema revision, the rows of every table, and the attachment blobs
its rows name."""
from __future__ import annotations

from dataclasses import dataclass

from alembic.migration import MigrationContext
from sqlalchemy import Connection, func, inspect, select, table, union

from portal.attachments.models import Attachment, AttachmentBlob

#: Tables ``init-db`` fills by itself: a database holding rows only there holds no data.
SEEDED_BY_INIT_DB = frozenset({"alembic_version", "roles"})


@dataclass(frozen=True)
class Contents:
    #: The Alembic revision(s) the schema is at; empty when it was never migrated.
    heads: tuple[str, ...]
    #: Every table and its number of rows.
    tables: dict[str, int]
    #: The sha256 of every file and preview an attachment row names.
    blobs: frozenset[str]
    #: Those of them ``attachment_blobs`` holds (the database storage backend).
    blobs_in_database: frozenset[str]

    @property
    def data_tables(self) -> dict[str, int]:
        """The tables that hold rows, but for those ``init-db`` fills."""
        return {name: rows for name, rows in self.tables.items()
                if rows and name not in SEEDED_BY_INIT_DB}


def contents_of(connection: Connection) -> Contents:
    """Read what the database behind ``connection`` holds (in its current transaction)."""
    heads = tuple(sorted(MigrationContext.configure(connection).get_current_heads()))
    names = sorted(inspect(connection).get_table_names())
    tables = {name: connection.scalar(select(func.count()).select_from(table(name)))
              for name in names}
    blobs: frozenset[str] = frozenset()
    in_database: frozenset[str] = frozenset()
    if Attachment.__tablename__ in tables:
        blobs = frozenset(connection.scalars(union(
            select(Attachment.sha256),
            select(Attachment.preview_sha256).where(Attachment.preview_sha256.is_not(None)))))
    if AttachmentBlob.__tablename__ in tables:
        in_database = frozenset(connection.scalars(select(AttachmentBlob.sha256))) & blobs
    return Contents(heads=heads, tables=tables, blobs=blobs, blobs_in_database=in_database)
