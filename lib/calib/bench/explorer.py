"""`python -m calib.bench.explorer`: how fast the manager's explorer answers.

- Cut: `prepare` on the sample (load, check, normalize, cut to one manager, write the snapshot),
  then again from the cache.
- Cold first render: `calib explore` on the sample (the snapshot cut beforehand), a fresh chromium
  asks for the page as soon as the port opens; the time until the pairing view's chart is drawn.
- Warm first render: once the preheated kernels are ready, a new viewer opens the page; median of 5.
- Person change: in the browser, another person chosen and the time until their pairing view shows
  (median of the team); in-process, the widget callback alone (view, HTML, chart spec), median and worst.
Figures are printed, never asserted: machines are shared.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from calib.bench.dashboard import SAMPLE, chromium, kernels_idle, load, serving, wait_until

MANAGER = "E0049"


def cut_timing(config: Path, cache: Path) -> tuple[float, float]:
    """Seconds to cut and write the manager's snapshot, then to find it cached."""
    from calib.apps.explorer.serve import prepare

    started = time.perf_counter()
    prepare(config, MANAGER, cache, log=lambda *_: None)
    first = time.perf_counter() - started
    started = time.perf_counter()
    prepare(config, MANAGER, cache, log=lambda *_: None)
    return first, time.perf_counter() - started


def callback_timing(config: Path, cache: Path) -> list[float]:
    """Seconds of each person change through the widget (the view, its HTML, the chart's spec)."""
    from calib.apps.explorer.serve import SNAPSHOT, prepare
    from calib.apps.explorer.snapshot import load_scoped
    from calib.apps.explorer.widgets import ExplorerApp

    app = ExplorerApp(load_scoped(prepare(config, MANAGER, cache, log=lambda *_: None) / SNAPSHOT))
    seconds = []
    for _, employee_id in list(app.person.options)[1:] + list(app.person.options)[:1]:
        started = time.perf_counter()
        app.person.value = employee_id
        json.dumps(app.chart.spec)
        seconds.append(time.perf_counter() - started)
    return seconds


def browser_timing(workdir: Path, warm_loads: int = 5) -> dict[str, float | list[float]]:
    """Cold and warm first render, and person changes in the page, through the real server."""
    from calib.apps.explorer.serve import prepare

    config = SAMPLE
    prepare(config, MANAGER, Path(workdir) / "reports" / ".cache", log=lambda *_: None)
    command = ("explore", "--manager", MANAGER)
    with serving(config, workdir, wait_for_pool=False, command=command, banner="Team explorer for") as server:
        listening = time.monotonic() - server.started
        with chromium() as browser:
            cold = load(browser, server.url, timeout=180)
            page = browser.page
            changes = []
            labels = page.locator(".calib-person-pick option").all_inner_texts()
            for label in labels[1:]:
                before = page.locator(".calib-explorer h2").first.inner_text()
                started = time.perf_counter()
                page.locator(".calib-person-pick select").select_option(label=label)
                wait_until(lambda b=before: page.locator(".calib-explorer h2").first.inner_text() != b, 60, label)
                changes.append(time.perf_counter() - started)
        warm = []
        for consumed in range(1, warm_loads + 1):
            wait_until(lambda c=consumed: server.pool_fills() >= 1 + c, 300, "a full pool", server)
            wait_until(lambda: kernels_idle(server), 300, "preheated kernels to finish the notebook", server)
            with chromium() as browser:
                warm.append(load(browser, server.url, timeout=180))
    return {"listening_s": listening, "cold_s": cold, "warm_s": warm, "changes_s": changes}


def run() -> list[str]:
    """Every measurement, as printable lines."""
    lines = [f"Explorer benchmark (sample org, manager {MANAGER}: 9 people)"]
    with tempfile.TemporaryDirectory(prefix="calib-bench-explorer-") as scratch:
        cache = Path(scratch) / "cache"
        first, cached = cut_timing(SAMPLE, cache)
        lines.append(f"  cut + snapshot {first:.2f} s; from the cache {cached * 1000:.0f} ms")
        callbacks = callback_timing(SAMPLE, cache)
        lines.append(
            f"  person change, widget callback: median {statistics.median(callbacks) * 1000:.0f} ms, "
            f"worst {max(callbacks) * 1000:.0f} ms ({len(callbacks)} changes)"
        )
        workdir = Path(scratch) / "serve"
        workdir.mkdir()
        figures = browser_timing(workdir)
        changes, warm = figures["changes_s"], figures["warm_s"]
        lines.append(
            f"  `calib explore` + chromium: cold first render {figures['cold_s']:.2f} s (server listening after "
            f"{figures['listening_s']:.1f} s); warm (preheated) median {statistics.median(warm):.2f} s of "
            + ", ".join(f"{s:.2f}" for s in warm)
        )
        lines.append(
            f"  person change in the page: median {statistics.median(changes):.2f} s, worst {max(changes):.2f} s "
            f"({len(changes)} changes)"
        )
    return lines


def main() -> int:
    """Print the explorer's figures."""
    for line in run():
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
