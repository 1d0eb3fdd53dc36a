"""Counting the SQL statements a piece of work sends: the suite's statement-count tests
and the benchmark (bench/statements.py) use the same counter."""
from __future__ import annotations

from typing import Callable

from flask import Flask
from sqlalchemy import event

from portal.extensions import db


def count_statements(app: Flask, call: Callable[[], object]) -> int:
    """How many SQL statements ``call()`` sends to the database."""
    return len(captured_statements(app, call))


def captured_statements(app: Flask, call: Callable[[], object]) -> list[tuple[str, object]]:
    """The SQL statements ``call()`` sends, each with its parameters as sent."""
    statements: list[tuple[str, object]] = []

    def listener(_connection, _cursor, statement, parameters, _context, _many) -> None:
        statements.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", listener)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return statements
