"""SQLAlchemy engines for the alert store: file-backed SQLite or PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url

from services.runtime.files import private_file

WRITE = {"casewatch_write": True}
"""Execution options of a writing transaction (``BEGIN IMMEDIATE`` on SQLite)."""


def engine_for(url: str) -> Engine:
    """An engine whose errors never echo bound values (they hold personal data)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, hide_parameters=True, pool_pre_ping=True)
    if parsed.database in (None, "", ":memory:"):
        raise ValueError("the alert store needs a file-backed SQLite database or PostgreSQL")
    private_file(Path(parsed.database))  # 0600 (its -wal and -shm files follow its mode)
    engine = create_engine(parsed, hide_parameters=True, connect_args={"timeout": 30})
    event.listen(engine, "connect", _sqlite_connected)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _sqlite_connected(dbapi_connection: Any, _record: object) -> None:
    dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (_sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (the inbox) never wait for the consumer
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # Writers take the write lock up front: two appliers then queue instead of both reading
    # "no such alert" and racing to insert it.
    writing = connection.get_execution_options().get("casewatch_write", False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")
