"""Triggers that make the log append-only, in each dialect's own SQL, and the check that they are intact.

On `session_events`: UPDATE and DELETE are refused (and TRUNCATE on PostgreSQL). On `sessions`:
DELETE is refused, and so is an UPDATE that changes a session's identity (id, cycle, name, scope),
moves its head backwards or reopens a locked session.

They are installed once, with the tables. Whoever can drop (or disable, or replace) a trigger can
rewrite the tables, and re-creating it afterwards would erase that trace: so a trigger that is
missing, disabled or not calib's own, or an unknown trigger on the log's tables, is never repaired
but reported by `verify` as tampering, and writers refuse to append until someone has looked.
"""

from __future__ import annotations

import functools
import re

import sqlalchemy as sa
from sqlalchemy.engine import Connection

REFUSED = "session log is append-only"
TABLES = ("sessions", "session_events")

SQLITE = {
    "session_events_no_update": f"""CREATE TRIGGER IF NOT EXISTS session_events_no_update
    BEFORE UPDATE ON session_events BEGIN SELECT RAISE(ABORT, '{REFUSED}: UPDATE refused'); END""",
    "session_events_no_delete": f"""CREATE TRIGGER IF NOT EXISTS session_events_no_delete
    BEFORE DELETE ON session_events BEGIN SELECT RAISE(ABORT, '{REFUSED}: DELETE refused'); END""",
    "sessions_no_delete": f"""CREATE TRIGGER IF NOT EXISTS sessions_no_delete BEFORE DELETE ON sessions
    BEGIN SELECT RAISE(ABORT, '{REFUSED}: DELETE of a session refused'); END""",
    "sessions_forward_only": f"""CREATE TRIGGER IF NOT EXISTS sessions_forward_only BEFORE UPDATE ON sessions
    WHEN NEW.id IS NOT OLD.id OR NEW.cycle IS NOT OLD.cycle OR NEW.name IS NOT OLD.name
      OR NEW.scope IS NOT OLD.scope OR NEW.event_count < OLD.event_count
      OR (OLD.status = 'locked' AND NEW.status IS NOT 'locked')
    BEGIN SELECT RAISE(ABORT, '{REFUSED}: a session''s identity is fixed and its head only moves forward'); END""",
}

POSTGRES_FUNCTIONS = {  # name -> body (what pg_proc.prosrc holds)
    "calib_session_events_refuse": f"""
    BEGIN RAISE EXCEPTION '{REFUSED}: % refused', TG_OP; END """,
    "calib_sessions_forward_only": f"""
    BEGIN
      IF TG_OP = 'DELETE' THEN RAISE EXCEPTION '{REFUSED}: DELETE of a session refused'; END IF;
      IF NEW.id <> OLD.id OR NEW.cycle <> OLD.cycle OR NEW.name <> OLD.name OR NEW.scope <> OLD.scope
         OR NEW.event_count < OLD.event_count OR (OLD.status = 'locked' AND NEW.status <> 'locked') THEN
        RAISE EXCEPTION '{REFUSED}: a session''s identity is fixed and its head only moves forward';
      END IF;
      RETURN NEW;
    END """,
}
ROW, BEFORE, DELETE, UPDATE, TRUNCATE = 1, 2, 8, 16, 32  # pg_trigger.tgtype bits (PostgreSQL's trigger.h)
POSTGRES_TRIGGERS = {  # name -> (table, timing and events, tgtype, function)
    "session_events_no_update_delete": (
        "session_events",
        "BEFORE UPDATE OR DELETE",
        ROW | BEFORE | UPDATE | DELETE,
        "calib_session_events_refuse",
    ),
    "session_events_no_truncate": (
        "session_events",
        "BEFORE TRUNCATE",
        BEFORE | TRUNCATE,
        "calib_session_events_refuse",
    ),
    "sessions_forward_only": (
        "sessions",
        "BEFORE UPDATE OR DELETE",
        ROW | BEFORE | UPDATE | DELETE,
        "calib_sessions_forward_only",
    ),
}


def trigger_ddl(dialect: str) -> list[str]:
    """The statements that create the triggers (and PostgreSQL's trigger functions), in order."""
    if dialect == "sqlite":
        return list(SQLITE.values())
    functions = [
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $${body}$$"
        for name, body in POSTGRES_FUNCTIONS.items()
    ]
    triggers = [
        f"CREATE TRIGGER {name} {timing} ON {table} FOR EACH {'ROW' if kind & ROW else 'STATEMENT'} "
        f"EXECUTE FUNCTION {function}()"
        for name, (table, timing, kind, function) in POSTGRES_TRIGGERS.items()
    ]
    return functions + triggers


def install_triggers(conn: Connection, dialect: str) -> None:
    """Create the triggers, inside the transaction that creates the tables (and only then)."""
    for ddl in trigger_ddl(dialect):
        conn.execute(sa.text(ddl))  # text(), not exec_driver_sql: psycopg would read RAISE's % as a placeholder


def trigger_problems(conn: Connection, dialect: str) -> list[str]:
    """What is wrong with the append-only triggers: one line each (missing, disabled, replaced, unknown)."""
    return _sqlite_problems(conn) if dialect == "sqlite" else _postgres_problems(conn)


def _sqlite_problems(conn: Connection) -> list[str]:
    rows = conn.exec_driver_sql(
        "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN (?, ?)", TABLES
    ).all()
    found = {name: (table, sql) for name, table, sql in rows}
    problems = []
    for name, ddl in SQLITE.items():
        if name not in found:
            problems.append(f"the append-only trigger {name} is missing (dropped outside calib)")
        elif _normal(found[name][1]) != _normal(ddl):
            problems.append(f"the append-only trigger {name} was replaced by another definition")
    problems += [
        f"an unknown trigger {name} is on the table {found[name][0]}" for name in sorted(set(found) - set(SQLITE))
    ]
    return problems


def _postgres_problems(conn: Connection) -> list[str]:
    rows = conn.execute(
        sa.text(
            "SELECT t.tgname, c.relname, t.tgenabled, t.tgtype, t.tgqual IS NULL AS unconditional, "
            "cardinality(CAST(t.tgattr AS int2[])) AS columns, p.proname, p.prosrc "
            "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_proc p ON p.oid = t.tgfoid "
            "WHERE NOT t.tgisinternal "
            "AND t.tgrelid IN (CAST('sessions' AS regclass), CAST('session_events' AS regclass))"
        )
    ).all()
    found = {row.tgname: row for row in rows}
    problems = []
    for name, (table, _, kind, function) in POSTGRES_TRIGGERS.items():
        row = found.get(name)
        if row is None or row.relname != table:
            problems.append(f"the append-only trigger {name} on {table} is missing (dropped outside calib)")
        elif row.tgenabled not in ("O", "A"):
            problems.append(f"the append-only trigger {name} on {table} is disabled")
        elif row.tgtype != kind or not row.unconditional or row.columns or row.proname != function:
            problems.append(f"the append-only trigger {name} on {table} was replaced by another definition")
        elif _normal(row.prosrc) != _normal(POSTGRES_FUNCTIONS[function]):
            problems.append(f"the trigger function {function} was replaced: it no longer refuses what it should")
    problems += [
        f"an unknown trigger {name} is on the table {found[name].relname}"
        for name in sorted(set(found) - set(POSTGRES_TRIGGERS))
    ]
    return problems


@functools.lru_cache(maxsize=64)  # the same few definitions are compared at every append
def _normal(sql: str) -> str:
    return " ".join(re.sub(r"(?i)\bIF NOT EXISTS\b", "", sql).split())
