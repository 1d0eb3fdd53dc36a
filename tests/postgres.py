"""Create or drop a throwaway PostgreSQL database for a test pass.

``python -m tests.postgres create NAME`` prints the URL to use as ``TEST_DATABASE_URL``;
``python -m tests.postgres drop NAME`` removes it; ``python -m tests.postgres ping`` exits
0 when the server answers.
"""
from __future__ import annotations

import os
import sys

import psycopg

SERVER = os.environ.get("TEST_POSTGRES_SERVER", "postgresql://postgres@127.0.0.1:5432")


def _admin_connection() -> psycopg.Connection:
    return psycopg.connect(f"{SERVER}/postgres", autocommit=True, connect_timeout=3)


def create(name: str) -> str:
    with _admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{SERVER}/{name}"


def drop(name: str) -> None:
    with _admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    try:
        if command == "ping":
            _admin_connection().close()
        elif command == "create":
            print(create(argv[1]))
        elif command == "drop":
            drop(argv[1])
        else:
            print("usage: python -m tests.postgres ping|create NAME|drop NAME", file=sys.stderr)
            return 2
    except psycopg.OperationalError as exc:
        print(f"PostgreSQL at {SERVER}: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
