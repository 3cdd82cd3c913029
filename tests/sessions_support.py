"""Helpers for the session tests: raw SQL as a tamperer would run it, and writer processes.

The writers run in separate processes (multiprocessing's spawn, or a plain subprocess that is
killed with SIGKILL), so they import only the library, never pytest fixtures.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import sqlalchemy as sa

LABELS = ["Does not meet", "Partially meets", "Meets", "Exceeds", "Far exceeds"]
TINY_PEOPLE = ["E2", "E3", "E4", "E5", "E6", "E7"]  # reviewed in the tiny cycle's 2026-H1


def raw_sql(store: str, sql: str, server=None) -> tuple[bool, str]:
    """Run SQL with the database's own tools, bypassing calib: (succeeded, error text)."""
    if "://" not in store:
        connection = sqlite3.connect(store, isolation_level=None)
        try:
            connection.executescript(sql)
            return True, ""
        except sqlite3.DatabaseError as exc:
            return False, str(exc)
        finally:
            connection.close()
    run = server.psql(store, sql)
    return run.returncode == 0, run.stderr


def tamper_engine(store: str) -> sa.Engine:
    """An engine on the store that knows nothing of calib's rules (autocommit: each statement stands)."""
    url = store if "://" in store else f"sqlite:///{store}"
    return sa.create_engine(url, isolation_level="AUTOCOMMIT")


def trigger_definitions(store: str) -> list[str]:
    """The triggers' own definitions, as a tamperer copies them before dropping them (to put them back)."""
    with tamper_engine(store).connect() as conn:
        if "://" not in store:
            return [row[0] for row in conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'trigger'")]
        return [row[0] for row in conn.exec_driver_sql(
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal")]


def drop_triggers_sql(store: str) -> str:
    """SQL dropping every append-only trigger (the first step of every rewrite)."""
    if "://" not in store:
        return "".join(f"DROP TRIGGER {name};" for name in
                       ("session_events_no_update", "session_events_no_delete", "sessions_no_delete",
                        "sessions_forward_only"))
    return ("DROP TRIGGER session_events_no_update_delete ON session_events;"
            "DROP TRIGGER session_events_no_truncate ON session_events;"
            "DROP TRIGGER sessions_forward_only ON sessions;")


def rewind(store: str, server, keep: int, *, put_back: bool) -> None:
    """The attack of issue 17: triggers dropped, the events after `keep` deleted and the session's
    row rewound to event `keep` in one UPDATE; the triggers put back as they were when `put_back`."""
    definitions = trigger_definitions(store)
    sql = (
        drop_triggers_sql(store)
        + f"DELETE FROM session_events WHERE seq > {keep};"
        + f"UPDATE sessions SET event_count = {keep}, status = 'open', "
        f"head_hash = (SELECT hash FROM session_events WHERE seq = {keep});"
        + ("".join(f"{d};" for d in definitions) if put_back else "")
    )
    ok, error = raw_sql(store, sql, server)
    assert ok, error


def rewrite_chain(store: str, reasons: dict[int, str], *, secret: bytes | None = None,
                  open_from: str | None | bool = False) -> None:
    """A full rewrite by someone with write access and calib's code: reasons edited, every hash
    recomputed (with `secret`, or plain SHA-256), the session's head moved along, triggers put back.
    `open_from` (unless False) replaces the open event's `from`, the session's hashing."""
    from calib.sessions.events import Draft, Event, seal

    definitions = trigger_definitions(store)
    engine = tamper_engine(store)
    with engine.connect() as conn:
        for statement in drop_triggers_sql(store).split(";")[:-1]:
            conn.exec_driver_sql(statement)
        session = conn.exec_driver_sql("SELECT id, cycle, name FROM sessions").one()
        rows = conn.exec_driver_sql(
            "SELECT seq, kind, author, at, employee_id, from_value, to_value, base_version, version, reason "
            f"FROM session_events WHERE session_id = {session.id} ORDER BY seq"
        ).all()
        prev = "0" * 64
        for row in rows:
            fields = row._asdict()
            seq, at = fields.pop("seq"), fields.pop("at")
            fields["reason"] = reasons.get(seq, fields["reason"])
            if seq == 1 and open_from is not False:
                fields["from_value"] = open_from
            keyed = {"secret": secret} if secret is not None else {}
            event: Event = seal(Draft(**fields), cycle=session.cycle, session=session.name, seq=seq, at=at,
                                prev_hash=prev, **keyed)
            conn.execute(
                sa.text("UPDATE session_events SET reason = :reason, from_value = :from_value, prev_hash = :prev, "
                        "hash = :hash WHERE session_id = :id AND seq = :seq"),
                {"reason": event.reason, "from_value": event.from_value, "prev": prev, "hash": event.hash,
                 "id": session.id, "seq": seq},
            )
            prev = event.hash
        conn.execute(sa.text("UPDATE sessions SET head_hash = :head WHERE id = :id"), {"head": prev, "id": session.id})
        for definition in definitions:
            conn.exec_driver_sql(definition)
    engine.dispose()


def concurrent_writer(config: str, store: str, worker: int, count: int, start, results) -> None:
    """Write `count` rating changes to session `load`, starting when `start` is set; report acks."""
    from calib.inputs.config import load_config
    from calib.sessions import SessionError, open_session

    with open_session(load_config(config), "load", store=store, by=f"writer-{worker}") as session:
        acked = []
        start.wait()
        for i in range(count):
            person = TINY_PEOPLE[(worker + i) % len(TINY_PEOPLE)]
            for attempt in range(len(LABELS)):
                label = LABELS[(worker + i + attempt) % len(LABELS)]
                try:
                    reason = f"writer {worker} change {i}"
                    event = session.set_rating(person, label, reason=reason, by=f"writer-{worker}")
                    break
                except SessionError as exc:  # someone just set this person to this label: try another
                    if "already" not in str(exc):
                        raise
            acked.append((event.seq, event.hash, person, event.version))
        results.put((worker, acked))


def kill_target(config: str, store: str, changes: int) -> None:
    """Write changes one after another, printing `ack SEQ HASH` after each commit (SIGKILLed by the test)."""
    from calib.inputs.config import load_config
    from calib.sessions import open_session

    with open_session(load_config(config), "crash", store=store, by="crasher") as session:
        print("ready", flush=True)
        for i in range(changes):
            person = TINY_PEOPLE[i % len(TINY_PEOPLE)]
            if i % 3 == 2:
                event = session.note(person, f"note {i}", by="crasher")
            else:
                current = session.table().set_index("employee_id").loc[person, "rating"]
                label = LABELS[(LABELS.index(current) + 1) % len(LABELS)]
                event = session.set_rating(person, label, reason=f"crash test {i}", by="crasher")
            print(f"ack {event.seq} {event.hash}", flush=True)


if __name__ == "__main__":  # python tests/sessions_support.py CONFIG STORE CHANGES
    sys.path.insert(0, str(Path(__file__).parent))
    kill_target(sys.argv[1], sys.argv[2], int(sys.argv[3]))
