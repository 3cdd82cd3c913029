"""Engines for the session store: a SQLite file path or a database URL, and where the store is by default.

A SQLite file is opened in WAL mode with synchronous=FULL and a busy timeout, and every write
transaction starts with `BEGIN IMMEDIATE` (SQLAlchemy's documented recipe for taking over
pysqlite's BEGIN): concurrent writers queue for the write lock before they read, so none reads a
version another is about to replace. A new SQLite file is created 0600 before SQLite opens it:
SQLite gives its -wal and -shm files the database file's mode, so all three are private to their
owner. PostgreSQL needs nothing special here; the store locks the session's row FOR UPDATE.
"""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.engine import URL, Connection, make_url

from calib.inputs.config import CycleConfig
from calib.sessions.errors import StoreError

DEFAULT_STORE = Path("reports/sessions.sqlite")  # relative to the working directory, like `calib analyze --out`
BUSY_TIMEOUT_S = 60  # a SQLite writer waits this long for another writer's transaction


def resolve_store(config: CycleConfig | None, store: str | Path | None = None) -> str:
    """The store to use: `store` if given, else the config's `sessions.store`, else DEFAULT_STORE.

    A path in the config is relative to the config's folder; a path given here or the default is
    relative to the working directory. URLs are returned unchanged.
    """
    if store is not None and str(store).strip():
        return str(store)
    configured = config.sessions.store if config is not None else None
    if configured:
        if "://" in configured:
            return configured
        return str((config.base_dir / Path(configured).expanduser()).resolve())
    return str(DEFAULT_STORE.resolve())


def store_url(target: str | Path) -> URL:
    """A SQLAlchemy URL for a SQLite file path, a `sqlite:///` URL or a `postgresql://` URL."""
    text = str(target).strip()
    if "://" not in text:
        return URL.create("sqlite", database=str(Path(text).expanduser().resolve()))
    try:
        url = make_url(text)
    except sa.exc.ArgumentError:
        raise StoreError(f"session store {text.split('://')[0]}://...: not a database URL") from None
    backend = url.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and url.database not in (None, "", ":memory:"):
        return url.set(drivername="sqlite")
    raise StoreError(
        f"session store {url.render_as_string(hide_password=True)}: expected a SQLite file path "
        "or a postgresql:// URL"
    )


def sqlite_engine(url: URL) -> sa.Engine:
    """A SQLite engine: WAL, synchronous=FULL, busy timeout; BEGIN IMMEDIATE for writes, BEGIN for reads
    (a connection with the execution option `calib_read_only`)."""
    path = Path(url.database)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # an empty file is a new database
    except FileExistsError:
        pass  # an existing store keeps its mode (verify says when others can read it)
    engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_S})

    @sa_event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record) -> None:  # DB-API objects: untyped
        dbapi_connection.isolation_level = None  # pysqlite emits no BEGIN of its own: we do, below
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_S * 1000}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")  # a commit survives power loss, not only a crash
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @sa_event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        # Writers take the write lock before their first read, so no one reads a version that a
        # concurrent writer is about to replace; readers get a consistent WAL snapshot instead.
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("calib_read_only") else "BEGIN IMMEDIATE")

    return engine


def postgres_engine(url: URL) -> sa.Engine:
    """A PostgreSQL engine (psycopg 3) whose pooled connections are checked before use."""
    return sa.create_engine(url, pool_pre_ping=True)
