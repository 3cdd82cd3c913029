"""PostgreSQL least privilege on a real server: the application's role records changes but cannot rewrite history."""

from __future__ import annotations

import subprocess
import sys
import uuid

import psycopg
import pytest
from conftest import ROOT

FORBIDDEN = [
    "UPDATE session_events SET reason = 'rewritten' WHERE seq = 2",
    "DELETE FROM session_events WHERE seq = 3",
    "TRUNCATE session_events",
    "DELETE FROM sessions",
    "UPDATE sessions SET name = 'other'",
    "UPDATE sessions SET event_count = 2",  # a column it may update, but never backwards
    "UPDATE sessions SET status = 'open'",  # nor reopen a lock
    "ALTER TABLE session_events DISABLE TRIGGER ALL",
    "ALTER TABLE session_events DISABLE TRIGGER session_events_no_update_delete",
    "DROP TRIGGER session_events_no_update_delete ON session_events",
    "CREATE TRIGGER sneak BEFORE INSERT ON session_events FOR EACH ROW EXECUTE FUNCTION calib_session_events_refuse()",
    "CREATE OR REPLACE FUNCTION calib_session_events_refuse() RETURNS trigger LANGUAGE plpgsql "
    "AS $$ BEGIN RETURN NEW; END $$",
    "ALTER TABLE session_events OWNER TO CURRENT_USER",
    "ALTER TABLE session_events ADD COLUMN note text",
    "DROP TABLE session_events CASCADE",
]


def calib(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "calib.cli", "session", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


@pytest.fixture
def roles(postgres_server):
    """A fresh owner role (no login) and application role (login) on the throwaway server."""
    suffix = uuid.uuid4().hex[:8]
    owner, app = f"calib_owner_{suffix}", f"calib_app_{suffix}"
    with psycopg.connect(
        host=str(postgres_server.root), port=postgres_server.port, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f"CREATE ROLE {owner} NOLOGIN")
        conn.execute(f"CREATE ROLE {app} LOGIN")
    return owner, app


def as_role(server, url: str, role: str) -> str:
    return url.replace("postgres@/", f"{role}@/")


def refused_as(server, url: str, role: str, sql: str) -> str:
    """Run `sql` as `role` with psycopg (any client would do): the error, or '' when it went through."""
    database = url.split("@/", 1)[1].split("?", 1)[0]
    with psycopg.connect(host=str(server.root), port=server.port, user=role, dbname=database) as conn:
        try:
            conn.execute(sql)
        except psycopg.Error as exc:
            return str(exc).splitlines()[0]
        return ""


def test_the_printed_sql_gives_the_app_role_append_only_rights(tiny_cycle, postgres_server, roles):
    owner, app = roles
    config, url = str(tiny_cycle()), postgres_server.create_database()
    printed = calib("setup-roles", config, "--owner", owner, "--app", app)
    assert printed.returncode == 0, printed.stderr
    assert f"GRANT SELECT, INSERT ON TABLE sessions, session_events TO {app};" in printed.stdout
    assert f"GRANT UPDATE (status, event_count, head_hash) ON TABLE sessions TO {app};" in printed.stdout
    run = postgres_server.psql(url, printed.stdout)  # as a database administrator would run it
    assert run.returncode == 0, run.stderr

    store = ["--session", "q3", "--store", as_role(postgres_server, url, app)]
    for args in (
        ["set", config, *store, "--employee", "E3", "--rating", "Far exceeds", "--reason", "shipped", "--by", "Ana"],
        ["set", config, *store, "--employee", "E4", "--rating", "Exceeds", "--reason", "led", "--by", "Bo"],
        ["lock", config, *store, "--by", "Fa"],
        ["verify", config, *store],
    ):
        done = calib(*args)
        assert done.returncode == 0, done.stderr  # calib runs as the app role: no DDL, triggers checked
    for sql in FORBIDDEN:
        error = refused_as(postgres_server, url, app, sql)
        assert "permission denied" in error or "must be owner" in error or "append-only" in error, (sql, error)
    assert calib("verify", config, *store).returncode == 0  # nothing changed


def test_apply_sets_up_an_existing_store_and_refuses_unsafe_roles(tiny_cycle, postgres_server, roles):
    owner, app = roles
    config, url = str(tiny_cycle()), postgres_server.create_database()
    first = calib(
        "set",
        config,
        "--session",
        "q3",
        "--store",
        url,
        "--employee",
        "E3",
        "--rating",
        "Far exceeds",
        "--reason",
        "before the roles",
        "--by",
        "Ana",
    )
    assert first.returncode == 0, first.stderr  # a store created by the superuser, as before this command existed
    same = calib("setup-roles", config, "--owner", owner, "--app", owner, "--store", url, "--apply")
    assert same.returncode == 1 and same.stderr == (
        f"error: --owner and --app are both {owner}: the application's role must not own the log\n"
    )
    missing = calib("setup-roles", config, "--owner", owner, "--app", "nobody_here", "--store", url, "--apply")
    assert missing.returncode == 1 and "role nobody_here does not exist" in missing.stderr
    applied = calib("setup-roles", config, "--owner", owner, "--app", app, "--store", url, "--apply")
    assert applied.returncode == 0, applied.stderr
    assert f"owned by {owner}" in applied.stdout
    app_url = as_role(postgres_server, url, app)
    later = calib(
        "set",
        config,
        "--session",
        "q3",
        "--store",
        app_url,
        "--employee",
        "E4",
        "--rating",
        "Exceeds",
        "--reason",
        "after the roles",
        "--by",
        "Bo",
    )
    assert later.returncode == 0, later.stderr
    assert "permission denied" in refused_as(postgres_server, url, app, FORBIDDEN[0])
    assert calib("setup-roles", config, "--owner", "Bad-Name", "--app", app).stderr.startswith(
        "error: --owner 'Bad-Name': expected a role name"
    )
