"""Keeping a check true until the write it guards commits (a count before an insert),
across threads, workers and containers: ``lock_row``.

- PostgreSQL: ``SELECT … FOR UPDATE`` of the row. Others locking the same row wait for
  this transaction to end; readers never wait. Under READ COMMITTED each later statement
  sees what the previous holder committed.
- SQLite has no row locks: the transaction takes the database's one write lock at once
  (``BEGIN IMMEDIATE``) instead of at its first write. Every other writer waits for it
  (up to ``busy_timeout``), and what it reads afterwards is the latest committed state.
  A transaction that wrote already holds that lock.
"""
from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db


def lock_row(model, row_id: int) -> None:
    """Hold ``model``'s row ``row_id`` against every other ``lock_row`` of it (SQLite:
    against every writer) until the current transaction commits or rolls back."""
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        db.session.execute(select(model.id).where(model.id == row_id).with_for_update())
        return
    # pysqlite begins its own (deferred) transaction only at the first write: before one,
    # the connection is outside any, and the immediate one can begin here.
    if not connection.connection.driver_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
