"""Least privilege on PostgreSQL: one role owns the log, the application's role can only add to it.

The owner role owns the tables, their sequences, the trigger functions and (through the tables)
the triggers; nobody logs in as it in daily use. The application's role (the one in the store URL
calib runs with) may SELECT and INSERT both tables and UPDATE only the head columns of `sessions`
(status, event_count, head_hash; the forward-only trigger still refuses moving a head backwards or
reopening a lock). It holds no UPDATE, DELETE or TRUNCATE on the log, and, owning nothing, it can
neither ALTER a table nor drop, disable or replace a trigger. So the application, or whoever takes
its credentials, cannot rewrite history; the owner and superusers still can (verify, anchors and a
key are for them).

`role_sql` is the whole setup as SQL for a database administrator to read and run; `apply_roles`
runs it through calib (as a role allowed to create the tables and change their owner: a superuser
or the owner itself), creating the tables and triggers only when the store has none.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

from calib.sessions.errors import SessionError, StoreError
from calib.sessions.store import SessionStore, events_table, metadata, sessions_table
from calib.sessions.triggers import POSTGRES_FUNCTIONS, trigger_ddl

ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")
HEAD_COLUMNS = ("status", "event_count", "head_hash")  # what an append updates in `sessions`


def check_role(name: str, what: str) -> str:
    """A role name calib writes into SQL unquoted: lower-case letters, digits and `_`, not starting with a digit."""
    if not ROLE.fullmatch(name):
        raise SessionError(f"{what} {name[:80]!r}: expected a role name of lower-case letters, digits and _")
    return name


def schema_sql() -> list[str]:
    """The tables, their indexes, the trigger functions and the triggers (for a store that has none)."""
    dialect = postgresql.dialect()
    statements = [str(CreateTable(table).compile(dialect=dialect)).strip() for table in metadata.sorted_tables]
    statements += [
        str(CreateIndex(index).compile(dialect=dialect)) for t in metadata.sorted_tables for index in t.indexes
    ]
    return statements + trigger_ddl("postgresql")


def privilege_sql(owner: str, app: str) -> list[str]:
    """Ownership to `owner`; to `app`, SELECT and INSERT and an UPDATE of the head columns only."""
    tables = f"{sessions_table.name}, {events_table.name}"
    return [
        f"ALTER TABLE {sessions_table.name} OWNER TO {owner}",
        f"ALTER TABLE {events_table.name} OWNER TO {owner}",
        *(f"ALTER FUNCTION {name}() OWNER TO {owner}" for name in POSTGRES_FUNCTIONS),
        f"REVOKE ALL ON TABLE {tables} FROM PUBLIC",
        f"REVOKE ALL ON TABLE {tables} FROM {app}",
        f"GRANT USAGE ON SCHEMA public TO {app}",
        f"GRANT SELECT, INSERT ON TABLE {tables} TO {app}",
        f"GRANT UPDATE ({', '.join(HEAD_COLUMNS)}) ON TABLE {sessions_table.name} TO {app}",
        f"GRANT USAGE ON SEQUENCE {sessions_table.name}_id_seq, {events_table.name}_id_seq TO {app}",
    ]


def role_sql(owner: str, app: str) -> str:
    """The whole setup, as a script for psql (`psql -v ON_ERROR_STOP=1 -f FILE`)."""
    owner, app = check_role(owner, "--owner"), check_role(app, "--app")
    lines = [
        f"-- calib session store: {owner} owns the log; {app} (calib's role) may only read it and add to it.",
        f"-- The roles must exist: CREATE ROLE {owner} NOLOGIN; CREATE ROLE {app} LOGIN PASSWORD '...';",
        f"-- Run as a superuser or as {owner}. {app} must not own the database or its schema public.",
        "BEGIN;",
        "-- 1. The tables and their append-only triggers: skip this part when the store already has them",
        "--    (re-creating a trigger would erase the trace of its removal: run `calib session verify` first).",
        *(f"{statement};" for statement in schema_sql()),
        "-- 2. Ownership and privileges (safe to run again).",
        *(f"{statement};" for statement in privilege_sql(owner, app)),
        "COMMIT;",
    ]
    return "\n".join(lines) + "\n"


def apply_roles(store: SessionStore, owner: str, app: str) -> list[str]:
    """Set up least privilege on `store` (tables created, as a SessionStore does, only when missing).

    Refused, with nothing changed, when the store is not PostgreSQL, a role is missing, the
    application's role is a superuser, a member of the owner role or owner of the schema, or the
    store's triggers are not intact. Returns what was done, as lines to print.
    """
    owner, app = check_role(owner, "--owner"), check_role(app, "--app")
    if store.dialect != "postgresql":
        raise SessionError(
            f"session store {store.shown}: setup-roles is for a PostgreSQL store (a SQLite file has no roles)"
        )
    if owner == app:
        raise SessionError(f"--owner and --app are both {owner}: the application's role must not own the log")
    problems = store.integrity_problems()
    if problems:
        raise StoreError(
            f"session store {store.shown}: {problems[0]}: run `calib session verify` before setting up roles"
        )
    with store.transaction("could not be set up") as conn:
        for role in (owner, app):
            if conn.execute(sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first() is None:
                raise SessionError(f"role {role} does not exist on {store.shown}: CREATE ROLE it first (README)")
        app_row = conn.execute(
            sa.text(
                "SELECT r.rolsuper, pg_has_role(:app, :owner, 'MEMBER') AS member, "
                "pg_has_role(:app, n.nspowner, 'MEMBER') AS schema_owner "
                "FROM pg_roles r, pg_namespace n WHERE r.rolname = :app AND n.nspname = 'public'"
            ),
            {"app": app, "owner": owner},
        ).one()
        why = (
            "is a superuser"
            if app_row.rolsuper
            else f"is a member of {owner}"
            if app_row.member
            else "owns the schema public (it could drop the log's tables)"
            if app_row.schema_owner
            else None
        )
        if why:
            raise SessionError(f"role {app} {why}: the application's role must not be able to rewrite the log")
        for statement in privilege_sql(owner, app):
            conn.exec_driver_sql(statement)
    return [
        f"session store {store.shown}: tables, trigger functions and triggers owned by {owner}",
        f"{app} may SELECT and INSERT the log and UPDATE only {', '.join(HEAD_COLUMNS)} of sessions; "
        "no UPDATE, DELETE or TRUNCATE of the log, no ALTER, no trigger",
    ]
