"""The log against someone with write access to the store (issue 17): anchors, keys, triggers, file modes.

Every attack is run with the database's own tools (or SQLAlchemy without calib's rules), on a
SQLite file and on a real PostgreSQL server.
"""

from __future__ import annotations

import csv
import os
import stat
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from conftest import ROOT
from sessions_support import raw_sql, rewind, rewrite_chain

from calib.inputs.config import load_config
from calib.sessions import StoreError, open_session
from calib.sessions.store import SessionStore

ENV = "CALIB_SESSION_KEY"
KEY = "k3y-" + "7f" * 16  # what `secrets.token_hex` gives, with a marker to look for in every output
ANCHORS = "sessions: {anchors: state/anchors.jsonl}\n"


def calib(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`calib session ...` in a process of its own, with no key but the one in `env`."""
    environment = {k: v for k, v in os.environ.items() if k != ENV} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "calib.cli", "session", *args], capture_output=True, text=True, cwd=ROOT, timeout=120,
        env=environment,
    )


@pytest.fixture(autouse=True)
def no_key(monkeypatch):
    """No session key unless a test sets one (the developer's shell may have one)."""
    monkeypatch.delenv(ENV, raising=False)


@pytest.fixture
def server(request, store_url):
    """The PostgreSQL server when the store is on it, else None."""
    return request.getfixturevalue("postgres_server") if "://" in store_url else None


@pytest.fixture
def config(tiny_cycle, store_url):
    """The tiny cycle; on PostgreSQL its config names an anchor file (a SQLite store has one beside it)."""
    return load_config(tiny_cycle(config=(lambda text: text + ANCHORS) if "://" in store_url else None))


def anchor_file(config, store_url) -> str:
    return str(config.base_dir / "state" / "anchors.jsonl") if "://" in store_url else f"{store_url}.anchors"


def meeting(config, store_url, *, lock: bool = True) -> str:
    """Three changes and a lock (events 1-5); the head printed at the lock."""
    with open_session(config, "q3", store=store_url, by="Ana") as session:
        session.set_rating("E3", "Far exceeds", reason="shipped", by="Ana")
        session.set_rating("E4", "Exceeds", reason="led", by="Bo")
        session.set_rating("E5", "Meets", reason="grew", by="Cy")
        if lock:
            event = session.lock(by="Fa", reason="meeting over")
            return f"{event.seq}:{event.hash}"
        events = session.events()
        return f"{len(events)}:{events[-1].hash}"


def test_a_rewound_tail_is_caught_by_the_anchor_file(config, store_url, server):
    head = meeting(config, store_url)
    rewind(store_url, server, keep=4, put_back=True)  # the lock and the row's head gone; triggers as they were
    with open_session(config, "q3", store=store_url, by="Bo") as session:
        assert not session.state().locked
        session.set_rating("E6", "Meets", reason="after the meeting", by="Bo")  # the reopened session took a change
        result = session.verify()
    assert not result.ok
    path = anchor_file(config, store_url)
    lines = open(path, encoding="ascii").read().splitlines()
    assert len(lines) == 5  # one per committed append: 3 changes (the first with the open event), the lock, 1 after
    assert result.problems[0].startswith(f"{path} line 4 records the head 5:{head.split(':')[1][:16]}... (locked) but ")
    assert "event 5 has another hash: the log was rewritten after that head and its lock removed" in result.problems[0]
    assert len(result.problems) == 1
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"


def test_a_removed_lock_is_named_with_its_anchor_and_writers_refuse(config, store_url, server):
    head = meeting(config, store_url)
    rewind(store_url, server, keep=4, put_back=False)
    with open_session(config, "q3", store=store_url, by="Bo") as session:
        result = session.verify()
        with pytest.raises(StoreError) as refused:
            session.set_rating("E6", "Meets", reason="late", by="Bo")
    path = anchor_file(config, store_url)
    assert not result.ok
    assert result.problems[0] == (
        f"{path} line 4 records the head {head[:18]}... (locked) but the log "
        "holds 4 events: events were removed from its end (the lock among them)"
    )
    assert any("trigger" in p and "is missing" in p for p in result.problems[1:])
    assert "run `calib session verify`" in str(refused.value) and "\n" not in str(refused.value)


def test_a_dropped_trigger_is_reported_and_never_recreated(config, store_url, server):
    meeting(config, store_url, lock=False)
    name = "session_events_no_update" if server is None else "session_events_no_update_delete"
    ok, error = raw_sql(store_url, f"DROP TRIGGER {name}" + ("" if server is None else " ON session_events"), server)
    assert ok, error
    for _ in range(2):  # opening the store again does not put it back
        with open_session(config, "q3", store=store_url) as session:
            result = session.verify()
            assert not result.ok and result.problems == (
                f"the append-only trigger {name}"
                + ("" if server is None else " on session_events")
                + " is missing (dropped outside calib)",
            )
        with open_session(config, "q3", store=store_url, by="Bo") as session:
            with pytest.raises(
                StoreError, match=f"{name}.* is missing .*nothing was written: run `calib session verify`"
            ):
                session.note("E3", "n", by="Bo")
    if server is not None:  # disabled, or its function replaced: the same
        sql = (
            "CREATE TRIGGER session_events_no_update_delete BEFORE UPDATE OR DELETE ON session_events FOR EACH ROW "
            "EXECUTE FUNCTION calib_session_events_refuse();"
            "ALTER TABLE sessions DISABLE TRIGGER sessions_forward_only;"
            "CREATE OR REPLACE FUNCTION calib_session_events_refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RETURN NEW; END $$;"
        )
        ok, error = raw_sql(store_url, sql, server)
        assert ok, error
        with open_session(config, "q3", store=store_url) as session:
            assert set(session.verify().problems) == {
                "the append-only trigger sessions_forward_only on sessions is disabled",
                "the trigger function calib_session_events_refuse was replaced: it no longer refuses what it should",
            }


def test_a_full_rewrite_is_caught_with_a_key(config, store_url, monkeypatch):
    monkeypatch.setenv(ENV, KEY)
    meeting(config, store_url)
    rewrite_chain(store_url, {3: "nothing special"})  # every hash recomputed, without the key
    Path(anchor_file(config, store_url)).unlink(missing_ok=True)  # and the anchors gone too
    with open_session(config, "q3", store=store_url) as session:
        result = session.verify()
        assert session.events()[2].reason == "nothing special"
    assert not result.ok and result.broken_seq == 1 and result.hashing.startswith("HMAC-SHA256 with the key id ")
    assert "does not match its hash: it was changed after it was written (or recomputed without the session's key)" in (
        result.problem
    )
    monkeypatch.delenv(ENV)
    with open_session(config, "q3", store=store_url) as session:  # no key: nothing is claimed
        unkeyed = session.verify()
        assert (
            not unkeyed.ok
            and "is hashed with a key (id " in unkeyed.problem
            and "none is configured" in unkeyed.problem
        )
        with pytest.raises(StoreError, match="is hashed with a key .* none is configured: set CALIB_SESSION_KEY"):
            session.note("E3", "n", by="Bo")


def test_without_a_key_a_full_rewrite_passes_and_verify_says_so(config, store_url):
    meeting(config, store_url)
    rewrite_chain(store_url, {3: "nothing special"})
    Path(anchor_file(config, store_url)).unlink(missing_ok=True)
    with open_session(config, "q3", store=store_url) as session:
        result = session.verify()
    assert result.ok and result.hashing == "SHA-256 without a key"
    assert any(
        "a full rewrite of the log by someone with write access to the store" in n and "cannot be excluded" in n
        for n in result.notes
    )


def test_a_session_older_than_the_key_stays_unkeyed_and_verifies(config, store_url, monkeypatch):
    meeting(config, store_url, lock=False)
    monkeypatch.setenv(ENV, KEY)
    with open_session(config, "q3", store=store_url, by="Bo") as session:
        session.note("E3", "after the key", by="Bo")  # appended as the session was created: plain SHA-256
        result = session.verify()
    assert result.ok and result.events == 5 and result.hashing == "SHA-256 without a key"
    assert any(n.startswith("hashed without a key although one is configured") for n in result.notes)
    with open_session(config, "q4", store=store_url, by="Bo") as keyed:
        keyed.note("E3", "a new session", by="Bo")
        assert keyed.verify().ok and keyed.events()[0].from_value.startswith("hmac-sha256:")


def test_a_keyed_session_rewritten_as_unkeyed_contradicts_its_anchors(config, store_url, monkeypatch):
    monkeypatch.setenv(ENV, KEY)
    meeting(config, store_url)
    rewrite_chain(store_url, {3: "nothing special"}, open_from=None)  # claims it never had a key
    with open_session(config, "q3", store=store_url) as session:
        result = session.verify()
    assert (
        not result.ok
        and "line 1 records the head 2:" in result.problem
        and "event 2 has another hash" in result.problem
    )
    assert any("hashed without a key although one is configured" in n for n in result.notes)


def test_the_key_file_must_be_private_and_the_key_is_never_shown(tiny_cycle, tmp_path):
    key_file = tmp_path / "session.key"
    key_file.write_text(KEY + "\n")
    os.chmod(key_file, 0o644)
    config_path = tiny_cycle(config=lambda text: text + "sessions: {key_file: session.key}\n")
    store = str(tmp_path / "s.sqlite")

    common = [str(config_path), "--session", "q3", "--store", store]
    loose = calib("set", *common, "--employee", "E3", "--rating", "Far exceeds", "--reason", "r", "--by", "Ana")
    assert loose.returncode == 1 and loose.stderr == (
        f"error: session key file {key_file} can be read by others (mode 0644): run `chmod 600 {key_file}`\n"
    )
    os.chmod(key_file, 0o600)
    runs = [
        calib("set", *common, "--employee", "E3", "--rating", "Far exceeds", "--reason", "r", "--by", "Ana"),
        calib("lock", *common, "--by", "Fa"),
        calib("log", *common, "--format", "json"),
        calib("export", *common, "--out", str(tmp_path / "out.csv")),
        calib("verify", *common),
        calib("verify", *common, env={ENV: "another key of 32 characters...."}),
    ]
    assert [r.returncode for r in runs] == [0, 0, 0, 0, 0, 1]
    assert "hashing: HMAC-SHA256 with the key id " in runs[4].stdout
    assert "the configured key (CALIB_SESSION_KEY) has the id " in runs[5].stderr
    written = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p != key_file]
    assert not any(KEY in r.stdout + r.stderr for r in runs) and not any(KEY.encode() in b for b in written)
    short = calib("verify", *common, env={ENV: "short"})
    assert short.returncode == 1 and "5 bytes, at least 16 expected" in short.stderr and "short" not in short.stderr


def test_store_anchor_and_export_files_are_private(tiny_cycle, tmp_path):
    config = load_config(tiny_cycle())
    store = tmp_path / "private" / "s.sqlite"
    previous = os.umask(0o022)
    try:
        with open_session(config, "q3", store=str(store), by="Ana") as session:
            session.set_rating("E3", "Far exceeds", reason="r", by="Ana")
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in store.parent.iterdir()}  # -wal, -shm: open now
            from calib.sessions.export import write_export

            write_export(session, tmp_path / "out" / "q3.csv")
            write_export(session, tmp_path / "out" / "q3.xlsx")
    finally:
        os.umask(previous)
    assert modes == {"s.sqlite": 0o600, "s.sqlite-wal": 0o600, "s.sqlite-shm": 0o600, "s.sqlite.anchors": 0o600}
    written = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in written] == ["q3-head.csv", "q3-log.csv", "q3.csv", "q3.xlsx"]
    assert {stat.S_IMODE(p.stat().st_mode) for p in written} == {0o600}
    os.chmod(store, 0o644)  # an older store, created world-readable: verify says how to fix it
    with SessionStore(store) as opened:
        assert f"{store} can be read by others (mode 0644): run `chmod 600 {store}`" in opened.file_notes()


def test_lock_and_export_print_the_head_and_verify_checks_a_head_given_back(tiny_cycle, tmp_path):
    store = tmp_path / "s.sqlite"
    common = [str(tiny_cycle()), "--session", "q3", "--store", str(store)]

    assert (
        calib("set", *common, "--employee", "E3", "--rating", "Exceeds", "--reason", "r", "--by", "Ana").returncode == 0
    )
    locked = calib("lock", *common, "--by", "Fa")
    printed = locked.stdout.splitlines()[1]
    assert printed.startswith("head 3:") and printed.endswith("checks the log against it"), locked.stdout
    head = printed.split()[1].rstrip(":")
    exported = calib("export", *common, "--out", str(tmp_path / "hr.csv"))
    assert exported.returncode == 0 and exported.stdout.splitlines()[0].endswith(f"; head {head}")
    row = next(csv.DictReader((tmp_path / "hr-head.csv").open(encoding="utf-8", newline="")))
    assert (
        (row["cycle"], row["session"], row["status"], row["events"], row["head"])
        == ("2026-H1", "q3", "locked", "3", head)
        and row["head_hash"] == head[2:]
        and row["hashing"] == "SHA-256 without a key"
    )
    assert calib("export", *common, "--out", str(tmp_path / "hr.xlsx")).returncode == 0
    sheet = openpyxl.load_workbook(tmp_path / "hr.xlsx")["head"]
    assert dict(zip(*sheet.iter_rows(values_only=True), strict=True))["head"] == head
    agreed = calib("verify", *common, "--head", head)
    assert agreed.returncode == 0 and "heads kept outside the store that agree with the log: 3 (" in agreed.stdout
    assert "  hashing: SHA-256 without a key\n" in agreed.stdout
    assert "  note: hashed without a key: a full rewrite of the log by someone with write access to the store (every " \
        "hash recomputed) cannot be excluded" in agreed.stdout

    rewind(str(store), None, keep=2, put_back=True)
    os.unlink(f"{store}.anchors")  # whoever can write the store's folder can remove the file beside it
    assert (
        calib("set", *common, "--employee", "E4", "--rating", "Exceeds", "--reason", "r", "--by", "Bo").returncode == 0
    )
    unanchored = calib("verify", *common)
    assert unanchored.returncode == 0 and "agree with the log: 1 (" in unanchored.stdout  # what a head kept away is for
    caught = calib("verify", *common, "--head", head)
    assert caught.returncode == 1 and caught.stderr == (
        f"error: session 2026-H1/q3 in {store}: altered: --head records the head {head[:18]}... but event 3 has "
        "another hash: the log was rewritten after that head\n"
    )
    assert calib("verify", *common, "--head", "3:xyz").stderr == (
        "error: --head '3:xyz': expected COUNT:HASH as `lock` and `export` print it\n"
    )


def test_an_edited_anchor_file_is_reported_and_a_line_cut_short_is_not(config, store_url):
    meeting(config, store_url, lock=False)
    path = anchor_file(config, store_url)
    lines = open(path, encoding="ascii").read().splitlines()
    other = lines[0].replace('"store": "', '"store": "elsewhere/')
    with open(path, "w", encoding="ascii") as out:  # line 2 edited by hand, a line of another store, a cut line
        out.write("\n".join([lines[0], "{not json", *lines[1:], other, lines[0][:40]]))
    with open_session(config, "q3", store=store_url) as session:
        result = session.verify()
    assert result.problems == (f"{path} line 2 is not an anchor line: the anchor file was edited (or damaged)",)
    assert f"{path} line 6 was cut short (a writer stopped mid-line): not checked" in result.notes
    assert f"1 line(s) of {path} anchor a session of this name in another store: not checked" in result.notes
    assert result.anchors == 3
