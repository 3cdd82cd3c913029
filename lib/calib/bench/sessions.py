"""Session store benchmarks (`make bench`): sequential writes and export, and four writers at once.

On a SQLite file, and on a throwaway PostgreSQL server when Debian's binaries are installed:
10,000 rating changes written by one process on the sample org, then the session exported
(reviews + log, CSV and XLSX); and four processes writing 250 changes each at the same moment,
counting what was lost (it must be 0) and checking that per-person versions only increase.
Figures are printed, never asserted (machines are shared: the load average is printed beside them).
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
from pathlib import Path

SAMPLE = Path("data_samples/cycle.yml")
SEQUENTIAL, WRITERS, PER_WRITER = 10_000, 4, 250


def sequential(store: str, out_dir: Path, changes: int = SEQUENTIAL) -> dict:
    """Seconds to write `changes` rating changes in one process, then to export CSV and XLSX."""
    from calib.inputs.config import load_config
    from calib.sessions import open_session
    from calib.sessions.export import write_export

    config = load_config(SAMPLE)
    labels = config.rating_labels
    with open_session(config, "bench-sequential", store=store, by="bench") as session:
        people = session.members()
        current = {p: session.roster.submitted(p).before for p in people}  # where the session starts
        started = time.perf_counter()
        for i in range(changes):
            person = people[i % len(people)]
            label = labels[(labels.index(current[person]) + 1) % len(labels)]
            session.set_rating(person, label, reason=f"bench change {i}", by="bench")
            current[person] = label
        written = time.perf_counter()
        write_export(session, out_dir / "sequential.csv")
        exported_csv = time.perf_counter()
        write_export(session, out_dir / "sequential.xlsx")
        exported_xlsx = time.perf_counter()
        ok = session.verify().ok
    return {
        "write_s": written - started,
        "csv_s": exported_csv - written,
        "xlsx_s": exported_xlsx - exported_csv,
        "verified": ok,
    }


def _writer(store: str, worker: int, count: int, ready, start, done) -> None:
    from calib.inputs.config import load_config
    from calib.sessions import SessionError, open_session

    config = load_config(SAMPLE)
    labels = config.rating_labels
    with open_session(config, "bench-concurrent", store=store, by=f"writer-{worker}") as session:
        people = session.members()[:24]  # few people: the writers contend for the same ones
        ready.put(worker)
        start.wait()
        for i in range(count):
            person = people[(worker * 5 + i) % len(people)]
            for attempt in range(len(labels)):
                try:
                    session.set_rating(person, labels[(i + attempt) % len(labels)], reason=f"w{worker} {i}",
                                       by=f"writer-{worker}")
                    break
                except SessionError as exc:  # already at that label: try the next one
                    if "already" not in str(exc):
                        raise
    done.put(worker)


def concurrent(store: str) -> dict:
    """Four processes × 250 changes released at once: seconds, changes lost, versions in order."""
    from calib.inputs.config import load_config
    from calib.sessions import open_session

    context = multiprocessing.get_context("spawn")
    ready, start, done = context.Queue(), context.Event(), context.Queue()
    writers = [
        context.Process(target=_writer, args=(store, w, PER_WRITER, ready, start, done)) for w in range(WRITERS)
    ]
    for writer in writers:
        writer.start()
    with open_session(load_config(SAMPLE), "bench-concurrent", store=store, by="bench") as session:
        for _ in writers:  # every writer has imported, loaded the roster and opened the store
            ready.get(timeout=300)
        started = time.perf_counter()
        start.set()
        finished = [done.get(timeout=900) for _ in writers]
        seconds = time.perf_counter() - started
        for writer in writers:
            writer.join(timeout=60)
        events = [e for e in session.events() if e.kind == "rating"]
        ok = session.verify().ok
    versions: dict[str, list[int]] = {}
    for event in events:
        versions.setdefault(event.employee_id, []).append(event.version)
    ordered = all(v == list(range(1, len(v) + 1)) for v in versions.values())
    return {"seconds": seconds, "lost": WRITERS * PER_WRITER - len(events), "ordered": ordered, "verified": ok,
            "writers": len(finished)}


def run() -> list[str]:
    """Every measurement, as printable lines."""
    from calib.bench.postgres import PostgresServer, postgres_bin

    lines = [f"Session store benchmark ({SEQUENTIAL:,} sequential changes; {WRITERS} writers x {PER_WRITER} at once)"]
    with tempfile.TemporaryDirectory(prefix="calib-bench-sessions-") as scratch:
        folder = Path(scratch)
        stores = [("SQLite file (WAL, synchronous=FULL)", lambda name: str(folder / f"{name}.sqlite"))]
        server = None
        bin_dir = postgres_bin()
        if bin_dir is not None:
            server = PostgresServer(bin_dir)
            try:
                server.start()
                stores.append(("PostgreSQL (throwaway server, unix socket)", lambda name: server.create_database()))
            except RuntimeError as exc:
                lines.append(f"  PostgreSQL: not measured ({exc})")
                server.stop()
                server = None
        else:
            lines.append("  PostgreSQL: not measured (install Debian's postgresql)")
        try:
            for label, make_store in stores:
                seq = sequential(make_store("sequential"), folder)
                lines.append(
                    f"  {label}: {SEQUENTIAL:,} changes in {seq['write_s']:.1f} s "
                    f"({1000 * seq['write_s'] / SEQUENTIAL:.2f} ms each); export CSV {seq['csv_s']:.2f} s, "
                    f"XLSX {seq['xlsx_s']:.2f} s; verify {'ok' if seq['verified'] else 'FAILED'} "
                    f"({_load()})"
                )
                con = concurrent(make_store("concurrent"))
                lines.append(
                    f"  {label}: {WRITERS} writers x {PER_WRITER} at once in {con['seconds']:.1f} s, "
                    f"lost={con['lost']}, versions strictly increasing: {con['ordered']}, "
                    f"verify {'ok' if con['verified'] else 'FAILED'} ({_load()})"
                )
        finally:
            if server is not None:
                server.stop()
    return lines


def bench_sessions() -> list[str]:
    """Print the session store's figures (as `make bench` does) and return them."""
    lines = run()
    print("\n".join(lines), flush=True)
    return lines


def _load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


if __name__ == "__main__":
    bench_sessions()
