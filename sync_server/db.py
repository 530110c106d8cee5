"""Engine and session factory; SQLite gets WAL, foreign keys and a busy timeout on every connection.

Sessions are opened per request by `sync_server.api.deps`; nothing below that layer commits.
"""

from __future__ import annotations

import sqlite3
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from pydantic_core import to_json
from sqlalchemy import JSON, Connection, Engine, Table, create_engine, event, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from shared.clock import Clock
from sync_server.config import Settings


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the sqlite3 module, emit BEGIN: sqlite3's own handling breaks
    # SAVEPOINT (per-operation savepoints in a push) and cannot begin IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # A writing transaction takes the write lock up front; a deferred one that reads and then
    # writes fails at once with SQLITE_BUSY when another writer committed in between.
    immediate = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


WRITE_OPTION = "gridsweep_write"
"""Execution option marking a session that will write (SQLite: BEGIN IMMEDIATE)."""


def begin_write(session: Session) -> None:
    """Call first in a unit of work that writes, before anything else touches the database."""
    session.connection(execution_options={WRITE_OPTION: True})


REQUEST_THREADS = 40
"""Requests FastAPI runs at once in threads: anyio's default thread limiter (its total_tokens)."""


def _sqlite_file_pool() -> dict[str, Any]:
    # Every request thread holds at most one connection (sync_server.api.deps), so a pool as
    # large as the threadpool never makes a request wait for one; the overflow covers requests
    # that hold a connection between two threadpool hops (the gated writer, a GET between its
    # dependencies and its route). The default 5 + 10 ran dry under 100 devices at once.
    # A file SQLite connection is cheap: a file handle and a page cache.
    return {"pool_size": REQUEST_THREADS, "max_overflow": 20}


_CLOCKS: weakref.WeakKeyDictionary[Engine, Clock] = weakref.WeakKeyDictionary()


def clock_of(engine: Engine) -> Clock:
    """The clock rows written through `engine` are stamped by (`models.stamp_default`)."""
    return _CLOCKS.get(engine) or Clock()


def make_engine(settings: Settings, *, clock: Clock | None = None) -> Engine:
    """The engine for the settings' database; `clock` (default: the settings') stamps the
    bookkeeping times (created_at and the like) of the rows written through it."""
    engine = _make_engine(settings)
    _CLOCKS[engine] = clock or settings.clock()
    return engine


def _make_engine(settings: Settings) -> Engine:
    url = settings.sqlalchemy_url
    if settings.is_sqlite:
        path = settings.sqlite_path()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=settings.sql_echo,
            connect_args={"check_same_thread": False, "timeout": 30},
            **(_sqlite_file_pool() if path is not None else {}),
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # As many connections as request threads (the pool and its overflow): a push waiting on
    # another's row lock holds its connection, and with 10 + 10 for 40 threads, 100 phones
    # pushing at once into one process waited out the pool timeout (docs/deploy.md sizes
    # max_connections for this).
    half = REQUEST_THREADS // 2
    return create_engine(
        url, echo=settings.sql_echo, pool_pre_ping=True, pool_size=half, max_overflow=half
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit when the block ends cleanly, roll back when it raises."""
    with factory() as session, session.begin():
        begin_write(session)
        yield session


class RawJSON(str):
    """A JSON column's value already serialized (by pydantic, in Rust): `insert_rows` stores
    the text as it is instead of serializing it again."""


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert new rows, all with the same keys: COPY on PostgreSQL, executemany on SQLite.

    Both go to the driver directly with the values the INSERT would have bound (each column's
    bind processing: UTC datetimes, JSON), in the session's transaction, so a rollback undoes it
    and a duplicate key fails the same way. Columns missing from the rows get their Python-side
    scalar default (or the database default); a callable default falls back to the INSERT.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect
    plan = _copy_plan(table, rows[0].keys(), dialect)
    if plan is None:
        session.execute(insert(table), rows)
        return
    names, processors, defaults = plan
    session.flush()  # as session.execute would: pending ORM rows first (foreign keys)
    raw = session.connection().connection.driver_connection
    assert raw is not None
    keys = [name for name in names if name not in defaults]
    fill = [defaults[name] for name in names if name in defaults]
    values = (
        [
            value if value is None or process is None or type(value) is RawJSON else process(value)
            for value, process in zip([row[key] for key in keys] + fill, processors, strict=True)
        ]
        for row in rows
    )
    columns = ", ".join(f'"{name}"' for name in names)
    if dialect.name != "postgresql":
        statement = f'INSERT INTO "{table.name}" ({columns}) VALUES ({", ".join("?" * len(names))})'
        try:
            raw.executemany(statement, values)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(statement, None, exc) from exc
        return
    statement = f'COPY "{table.name}" ({columns}) FROM STDIN'
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row_values in values:
                copy.write_row(row_values)
    except psycopg.IntegrityError as exc:  # what the INSERT would raise
        raise IntegrityError(statement, None, exc) from exc


def _copy_plan(
    table: Table, keys: Any, dialect: Any
) -> tuple[list[str], list[Any], dict[str, Any]] | None:
    """Column names (the row keys, then defaulted columns), their bind processors, defaults."""
    names = list(keys)
    defaults: dict[str, Any] = {}
    for column in table.columns:
        if column.name in keys or column.default is None:
            continue
        if not column.default.is_scalar:
            return None
        defaults[column.name] = column.default.arg  # type: ignore[attr-defined]
    names += list(defaults)
    processors = [
        _json_text
        if isinstance(table.c[name].type, JSON)
        else table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        for name in names
    ]
    return names, processors, defaults


def _json_text(value: Any) -> str:
    # pydantic's serializer (Rust): the same JSON as the column type's json.dumps, a fraction
    # of the cost over the thousands of rows a push or an import writes.
    return to_json(value).decode()
