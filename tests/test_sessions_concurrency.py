"""Several writer processes at once, and writers killed with SIGKILL: no acknowledged change is lost.

Runs on a SQLite file and on a real PostgreSQL server. No timing is asserted.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sessions_support import concurrent_writer

from calib.inputs.config import load_config
from calib.sessions import open_session

WRITERS, CHANGES = 4, 250
SUPPORT = Path(__file__).parent / "sessions_support.py"


@pytest.mark.slow
def test_four_writers_lose_nothing_and_versions_only_increase(tiny_cycle, store_url):
    config_path = str(tiny_cycle())
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    writers = [
        context.Process(target=concurrent_writer, args=(config_path, store_url, w, CHANGES, start, results))
        for w in range(WRITERS)
    ]
    for writer in writers:
        writer.start()
    start.set()
    acked = dict(results.get(timeout=600) for _ in writers)
    for writer in writers:
        writer.join(timeout=60)
        assert writer.exitcode == 0
    with open_session(load_config(config_path), "load", store=store_url) as session:
        events = session.events()
        assert session.verify().ok
    ratings = [e for e in events if e.kind == "rating"]
    assert len(ratings) == WRITERS * CHANGES
    stored = {e.seq: e.hash for e in events}
    assert all(stored.get(seq) == digest for acks in acked.values() for seq, digest, _, _ in acks)
    by_person: dict[str, list] = {}
    for event in ratings:
        by_person.setdefault(event.employee_id, []).append(event)
    for person_events in by_person.values():
        assert [e.version for e in person_events] == list(range(1, len(person_events) + 1))
        assert all(e.base_version == e.version - 1 for e in person_events)
        # no lost update: each change starts from the rating the previous one left
        assert all(b.from_value == a.to_value for a, b in zip(person_events, person_events[1:], strict=False))


@pytest.mark.slow
def test_a_writer_killed_at_any_moment_loses_no_acknowledged_change(tiny_cycle, store_url):
    config_path = str(tiny_cycle())
    rng = random.Random(20261129)
    acknowledged: dict[int, str] = {}
    for _ in range(6):
        writer = subprocess.Popen(
            [sys.executable, str(SUPPORT), config_path, store_url, "10000"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
        )
        assert writer.stdout.readline().strip() == "ready", writer.stderr.read()
        for _ in range(rng.randint(3, 40)):
            line = writer.stdout.readline().split()
            assert line and line[0] == "ack", writer.stderr.read()
            acknowledged[int(line[1])] = line[2]
        writer.send_signal(signal.SIGKILL)  # wherever it is: mid-transaction, mid-commit, printing
        writer.wait(timeout=60)
        for line in writer.stdout.read().splitlines():  # acks printed before the kill landed count too
            if line.startswith("ack "):
                _, seq, digest = line.split()
                acknowledged[int(seq)] = digest
    with open_session(load_config(config_path), "crash", store=store_url) as session:
        stored = {e.seq: e.hash for e in session.events()}
        assert session.verify().ok
    assert len(acknowledged) >= 6 * 3
    assert {seq: stored.get(seq) for seq in acknowledged} == acknowledged
