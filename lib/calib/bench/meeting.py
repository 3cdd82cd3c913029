"""Benchmark: one change recorded in the meeting and the views redrawn, at 10k people (target < 200 ms).

The Calibrate tab's widget callback as the facilitator's click runs it, without a browser: the change
committed to a SQLite session store, the session read back, the after-calibration ratings applied
to the frame and the tab (person at hand, distribution now vs submitted vs guideline, change log)
redrawn with its chart spec serialized, as the kernel sends it. Figures are printed, never asserted.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path

CHANGES = 20


def change_benchmark(config: Path, cache: Path, count: int = CHANGES) -> dict[str, float]:
    """Milliseconds per recorded change (median, worst), and the parts: commit and read back, redraw."""
    import ipywidgets as widgets

    from calib.apps.dashboard.meeting import Meeting
    from calib.apps.dashboard.views import load_sources
    from calib.apps.dashboard.widgets import Dashboard
    from calib.apps.serve import ensure_analysis
    from calib.sessions import open_session

    sources = load_sources(config, ensure_analysis(config, cache))
    labels = list(sources.config.rating_labels)
    with tempfile.TemporaryDirectory(prefix="calib-meeting-") as scratch:
        session = open_session(sources.config, "bench", store=str(Path(scratch) / "s.sqlite"), by="bench")
        meeting = Meeting(session, "bench", widgets)
        app = Dashboard(sources, meeting=meeting)
        app._poll.stop()
        total, commit = [], []
        options = [value for _, value in meeting.queue.options]
        for i in range(count):
            meeting.queue.value = options[i % len(options)]
            current = meeting.rating.value
            meeting.rating.value = labels[(labels.index(current) + 1) % len(labels)]
            meeting.reason.value = f"benchmark change {i}: two design docs and a launch"
            started = time.perf_counter()
            meeting.record.click()
            chart = app.panes["Calibrate"].chart
            if chart is not None and chart.spec is not None:
                json.dumps(chart.spec)
            total.append(time.perf_counter() - started)
            if "Recorded" not in meeting.status.value:
                raise RuntimeError(f"the benchmark's change was refused: {meeting.status.value}")
            started = time.perf_counter()
            meeting.reload(sources)
            commit.append(time.perf_counter() - started)
        people = len(meeting.table)
        session.close()
    return {
        "people": float(people),
        "median_ms": statistics.median(total) * 1000,
        "worst_ms": max(total) * 1000,
        "read_back_ms": statistics.median(commit) * 1000,
    }


def run() -> list[str]:
    """Printable lines for `make bench`."""
    from calib.apps.serve import CACHE_ROOT
    from calib.bench.core import BENCH_DIR, LARGE_ORG, ensure_org

    config = ensure_org(BENCH_DIR / "org-10k", LARGE_ORG)
    figures = change_benchmark(config, CACHE_ROOT)
    return [
        "Meeting benchmark (issue 11; target: a change recorded and the views redrawn < 200 ms at 10k people)",
        f"  {int(figures['people']):,} people in the session: change + redraw median {figures['median_ms']:.0f} ms "
        f"(worst {figures['worst_ms']:.0f}) over {CHANGES} changes; of which reading the session back "
        f"{figures['read_back_ms']:.0f} ms",
    ]
