"""Helpers for the session tests: raw SQL as a tamperer would run it, and writer processes.

The writers run in separate processes (multiprocessing's spawn, or a plain subprocess that is
killed with SIGKILL), so they import only the library, never pytest fixtures.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

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
