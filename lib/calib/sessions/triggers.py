"""Triggers that make the log append-only, in each dialect's own SQL.

On `session_events`: UPDATE and DELETE are refused (and TRUNCATE on PostgreSQL). On `sessions`:
DELETE is refused, and so is an UPDATE that changes a session's identity (id, cycle, name, scope),
moves its head backwards or reopens a locked session. Installed when missing, each time a store
is opened; whoever can drop a trigger can still rewrite the tables, which verify then detects.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

REFUSED = "session log is append-only"

SQLITE = [
    f"""CREATE TRIGGER IF NOT EXISTS session_events_no_update BEFORE UPDATE ON session_events
    BEGIN SELECT RAISE(ABORT, '{REFUSED}: UPDATE refused'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS session_events_no_delete BEFORE DELETE ON session_events
    BEGIN SELECT RAISE(ABORT, '{REFUSED}: DELETE refused'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS sessions_no_delete BEFORE DELETE ON sessions
    BEGIN SELECT RAISE(ABORT, '{REFUSED}: DELETE of a session refused'); END""",
    f"""CREATE TRIGGER IF NOT EXISTS sessions_forward_only BEFORE UPDATE ON sessions
    WHEN NEW.id IS NOT OLD.id OR NEW.cycle IS NOT OLD.cycle OR NEW.name IS NOT OLD.name
      OR NEW.scope IS NOT OLD.scope OR NEW.event_count < OLD.event_count
      OR (OLD.status = 'locked' AND NEW.status IS NOT 'locked')
    BEGIN SELECT RAISE(ABORT, '{REFUSED}: a session''s identity is fixed and its head only moves forward'); END""",
]

POSTGRES_FUNCTIONS = {
    "calib_session_events_refuse": f"""CREATE OR REPLACE FUNCTION calib_session_events_refuse()
    RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '{REFUSED}: % refused', TG_OP; END $$""",
    "calib_sessions_forward_only": f"""CREATE OR REPLACE FUNCTION calib_sessions_forward_only()
    RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN RAISE EXCEPTION '{REFUSED}: DELETE of a session refused'; END IF;
      IF NEW.id <> OLD.id OR NEW.cycle <> OLD.cycle OR NEW.name <> OLD.name OR NEW.scope <> OLD.scope
         OR NEW.event_count < OLD.event_count OR (OLD.status = 'locked' AND NEW.status <> 'locked') THEN
        RAISE EXCEPTION '{REFUSED}: a session''s identity is fixed and its head only moves forward';
      END IF;
      RETURN NEW;
    END $$""",
}
POSTGRES_TRIGGERS = {
    ("session_events", "session_events_no_update_delete"): (
        "BEFORE UPDATE OR DELETE ON session_events FOR EACH ROW EXECUTE FUNCTION calib_session_events_refuse()"
    ),
    ("session_events", "session_events_no_truncate"): (
        "BEFORE TRUNCATE ON session_events FOR EACH STATEMENT EXECUTE FUNCTION calib_session_events_refuse()"
    ),
    ("sessions", "sessions_forward_only"): (
        "BEFORE UPDATE OR DELETE ON sessions FOR EACH ROW EXECUTE FUNCTION calib_sessions_forward_only()"
    ),
}


def install_triggers(conn: Connection, dialect: str) -> None:
    """Create the append-only triggers that are missing (inside the caller's transaction).

    Only what is missing is created, so a database user without the owner's rights (who cannot
    replace a function) can use a store its owner set up.
    """
    if dialect == "sqlite":
        for ddl in SQLITE:
            conn.exec_driver_sql(ddl)
        return
    for name, ddl in POSTGRES_FUNCTIONS.items():
        if conn.execute(sa.text("SELECT 1 FROM pg_proc WHERE proname = :name"), {"name": name}).first() is None:
            conn.execute(sa.text(ddl))  # text(), not exec_driver_sql: psycopg would read RAISE's % as a placeholder
    for (table, name), body in POSTGRES_TRIGGERS.items():
        exists = conn.execute(
            sa.text("SELECT 1 FROM pg_trigger WHERE tgname = :name AND tgrelid = CAST(:table AS regclass)"),
            {"name": name, "table": table},
        ).first()
        if exists is None:
            conn.exec_driver_sql(f"CREATE TRIGGER {name} {body}")
