"""`python -m calib.bench.dashboard`: how fast the dashboard answers (issue 5).

- Filter redraw at 10k people: the owner's cached 10k org (`calib.bench.core`), its analysis cached like
  `calib serve` caches it; 20 filter changes, timing (a) the pure path (`select` + the view + the
  chart's spec, as JupyterChart serializes it) and (b) the widget callback (a control's value set,
  the visible tab redrawn, the new spec serialized), median and worst, for every tab.
- Cold first render: `calib serve` on the sample (analysis cached), a fresh chromium asks for the
  page as soon as the port opens; the time until the first chart is drawn.
- Warm first render: once the preheated kernels are ready, a new viewer (fresh browser profile) opens
  the page; median of 5, the pool refilled between loads.
Figures are printed, never asserted: machines are shared. The helpers that start the real server and
drive chromium are shared with tests/test_dashboard_browser.py.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from calib.files import SAMPLE_DIR

CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SAMPLE = SAMPLE_DIR / "cycle.yml"
CHART = ".calib-dashboard svg.marks"  # a drawn chart (vega's SVG renderer)
POOL_READY = "is filled with"  # Voila's log line once the preheated kernels are ready


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A running `calib serve`: its process, URL (with the token if any) and log."""

    process: subprocess.Popen
    port: int
    url: str
    log: Path
    started: float
    kernels_seen: set[int] = field(default_factory=set)

    def text(self) -> str:
        """The server's output so far."""
        return self.log.read_text(errors="replace")

    def pool_fills(self) -> int:
        """How many times Voila has reported a full pool of preheated kernels."""
        return self.text().count(POOL_READY)

    def kernels(self) -> list[int]:
        """The kernel processes alive under this server."""
        return [pid for pid in descendants(self.process.pid) if b"ipykernel" in _cmdline(pid)]


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        children = [p for p, parent in parents.items() if parent == current]
        found += children
        frontier += children
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def wait_until(condition, timeout: float, what: str, server: Server | None = None, every: float = 0.2) -> None:
    """Poll `condition` until true; fail with the server's log tail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if server is not None and server.process.poll() is not None:
            raise RuntimeError(f"the server exited while waiting for {what}:\n{server.text()[-3000:]}")
        time.sleep(every)
    tail = server.text()[-3000:] if server is not None else ""
    raise TimeoutError(f"no {what} within {timeout:.0f} s\n{tail}")


@contextmanager
def serving(
    config: Path,
    workdir: Path,
    *,
    host: str = "127.0.0.1",
    wait_for_pool: bool = True,
    timeout: float = 600,
    env: dict[str, str | None] | None = None,
    command: tuple[str, ...] = ("serve",),
    banner: str = "Calibration dashboard for",
) -> Iterator[Server]:
    """Run `python -m calib.cli serve CONFIG [ARGS]` in `workdir` (its analysis cache: workdir/reports/.cache).

    `command` picks another app (e.g. `("explore", "--manager", "E0049")`), which prints `banner`
    before its URL. The server runs in its own process group, which is always stopped on exit
    (TERM, then KILL), and so is every kernel it started, even when the caller fails.
    """
    port = free_port()
    log = Path(workdir) / f"serve-{port}.log"
    extra = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", **(env or {})}
    env = {k: v for k, v in {**os.environ, **extra}.items() if v is not None}
    argv = [sys.executable, "-m", "calib.cli", command[0], str(config), *command[1:], "--port", str(port)]
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [*argv, "--host", host, "--no-browser"],
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    server = Server(process, port, f"http://127.0.0.1:{port}/", log, time.monotonic())
    try:
        wait_until(lambda: banner in server.text(), timeout, "the app's URL", server)
        token = re.search(r"\?token=([\w-]+)", server.text())
        if token:
            server.url += f"?token={token.group(1)}"
        wait_until(lambda: _accepts(port), timeout, "listening port", server)
        if wait_for_pool:
            wait_until(lambda: server.pool_fills() > 0, timeout, "preheated kernels", server)
        yield server
    finally:
        stop(server)


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def stop(server: Server) -> None:
    """Stop the server's process group, then any kernel left behind (kernels run in their own groups)."""
    kernels = set(server.kernels()) | server.kernels_seen
    for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 5)):
        try:
            os.killpg(server.process.pid, sig)
        except ProcessLookupError:
            break
        try:
            server.process.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue
    for pid in kernels:
        if _cmdline(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@dataclass
class Browser:
    """A page in a fresh chromium profile that records console errors and blocks every request off the server."""

    page: object
    errors: list[str]
    external: list[str]
    dialogs: list[str]


@contextmanager
def chromium(user_data_dir: Path | None = None, *, width: int = 1920, height: int = 1080) -> Iterator[Browser]:
    """Debian's chromium through Playwright (never a downloaded browser), a fresh profile each time."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)")
    with tempfile.TemporaryDirectory(prefix="calib-chromium-") as fresh, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(user_data_dir or fresh),
            executable_path=CHROMIUM,
            args=BROWSER_ARGS,
            headless=True,
            viewport={"width": width, "height": height},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            browser = Browser(page, [], [], [])
            page.on("console", lambda m: browser.errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: browser.errors.append(f"page error: {e}"))

            def dialog(d) -> None:
                browser.dialogs.append(d.message)
                d.dismiss()

            page.on("dialog", dialog)

            def block(route) -> None:
                browser.external.append(route.request.url)
                route.abort()

            # Matched by the browser driver: only requests leaving 127.0.0.1 are routed (and refused).
            context.route(re.compile(r"^(?!http://127\.0\.0\.1[:/])(?!ws://127\.0\.0\.1[:/])(?!data:)(?!blob:)"), block)
            yield browser
        finally:
            context.close()


def load(browser: Browser, url: str, *, timeout: float = 90) -> float:
    """Open the page and wait for a drawn chart; seconds from the request."""
    started = time.perf_counter()
    browser.page.goto(url, wait_until="commit", timeout=timeout * 1000)
    browser.page.wait_for_selector(CHART, timeout=timeout * 1000)
    return time.perf_counter() - started


# -- filter redraw at 10k --------------------------------------------------------------------------
def filter_changes(sources, count: int = 20) -> list[tuple[str, str]]:
    """`count` filter changes, cycling through orgs, disciplines, levels and managers."""
    from calib.apps.dashboard.widgets import ALL, filter_options, manager_options

    options = filter_options(sources)
    choices = {
        "org": [v for _, v in options["org"] if v != ALL],
        "discipline": [v for _, v in options["discipline"] if v != ALL],
        "level": [v for _, v in options["level"] if v != ALL],
        "manager": [v for _, v in manager_options(sources, blind=False) if v != ALL][::97],
    }
    changes: list[tuple[str, str]] = []
    while len(changes) < count:
        for name, values in choices.items():
            if values:
                changes.append((name, values[len(changes) % len(values)]))
                changes.append((name, ALL))
    return changes[:count]


def filter_benchmark(config: Path, cache: Path, count: int = 20) -> dict[str, dict[str, float]]:
    """Median and worst milliseconds per filter change, per tab: the pure path and the widget callback."""
    from calib.apps.dashboard import widgets as dashboard
    from calib.apps.serve import ensure_analysis

    sources = dashboard.load_sources(config, ensure_analysis(config, cache))
    changes = filter_changes(sources, count)
    base = dashboard.Filters(cycle=sources.config.cycle)
    out: dict[str, dict[str, float]] = {"people": {"n": float(len(sources.rows(base)))}}
    person = dashboard.person_options(sources, base)[0][1]
    for tab in dashboard.TABS:
        pure, callback = [], []
        filters = base
        for name, value in changes:
            filters = replace(filters, **{name: value})
            started = time.perf_counter()
            view = (
                dashboard.person(sources, filters, person)
                if tab == "Person"
                else dashboard.VIEWS[tab](sources, filters)
            )
            if view.chart is not None:
                json.dumps(view.chart.to_dict())
            pure.append(time.perf_counter() - started)
        app = dashboard.Dashboard(sources)
        app.tabs.selected_index = dashboard.TABS.index(tab)
        for name, value in changes:
            started = time.perf_counter()
            app.controls[name].value = value
            chart = app.panes[tab].chart
            if chart is not None and chart.spec is not None:
                json.dumps(chart.spec)  # what the kernel sends to the browser
            callback.append(time.perf_counter() - started)
        if app.error.layout.display != "none":
            raise RuntimeError(f"the {tab} tab failed during the benchmark: {app.error.value}")
        out[tab] = {
            "pure_median_ms": statistics.median(pure) * 1000,
            "pure_max_ms": max(pure) * 1000,
            "callback_median_ms": statistics.median(callback) * 1000,
            "callback_max_ms": max(callback) * 1000,
        }
    return out


# -- first render through the real server ------------------------------------------------------------
def bytecode_cache(folder: Path) -> dict[str, str | None]:
    """Environment for Python's usual bytecode cache, kept in `folder` (warmed here, outside the venv)."""
    env = {"PYTHONDONTWRITEBYTECODE": None, "PYTHONPYCACHEPREFIX": str(folder)}
    modules = (
        "calib.apps.dashboard.widgets, calib.apps.serve, calib.analyses.runner, calib.cli, "
        "ipykernel.kernelapp, voila.app, ipywidgets"
    )
    child = {k: v for k, v in {**os.environ, **env}.items() if v is not None}
    subprocess.run(
        [sys.executable, "-c", f"import {modules}, anywidget, papermill.parameterize"], env=child, check=True
    )
    return env


def render_benchmark(
    config: Path, workdir: Path, warm_loads: int = 5, env: dict[str, str | None] | None = None
) -> dict[str, float | list[float]]:
    """Cold and warm first render of the page (seconds), the analysis cached beforehand."""
    from calib.apps.serve import ensure_analysis

    ensure_analysis(config, Path(workdir) / "reports" / ".cache", log=lambda *_: None)
    with serving(config, workdir, wait_for_pool=False, env=env) as server:
        listening = time.monotonic() - server.started
        with chromium() as browser:
            cold = load(browser, server.url)
        warm = []
        for consumed in range(1, warm_loads + 1):
            # Voila logs "filled" once at start and once per kernel it replaces, as soon as the kernel runs;
            # the notebook is executed after that: wait until the kernels are idle too.
            wait_until(lambda c=consumed: server.pool_fills() >= 1 + c, 300, "a full pool", server)
            wait_until(lambda: kernels_idle(server), 300, "preheated kernels to finish the notebook", server)
            with chromium() as browser:
                warm.append(load(browser, server.url))
    return {"server_listening_s": listening, "cold_s": cold, "warm_s": warm, "warm_median_s": statistics.median(warm)}


def kernels_idle(server: Server, window: float = 1.0) -> bool:
    """True when no kernel of the server used more than 2% of a core over `window` seconds."""
    from calib.apps.serve import POOL_SIZE

    def cpu() -> dict[int, int]:
        ticks = {}
        for pid in server.kernels():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks[pid] = int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks
        return ticks

    before = cpu()
    time.sleep(window)
    after = cpu()
    hz = os.sysconf("SC_CLK_TCK")
    busy = [pid for pid in after if after[pid] - before.get(pid, 0) > 0.02 * hz * window]
    return len(after) >= POOL_SIZE and not busy


def run() -> list[str]:
    """Every measurement, as printable lines."""
    from calib.apps.serve import CACHE_ROOT
    from calib.bench.core import BENCH_DIR, LARGE_ORG, ensure_org

    lines = ["Dashboard benchmark (issue 5; targets: redraw < 200 ms at 10k, cold < 5 s, warm < 2 s)"]
    config = ensure_org(BENCH_DIR / "org-10k", LARGE_ORG)
    figures = filter_benchmark(config, CACHE_ROOT)
    lines.append(f"  filter change at {int(figures.pop('people')['n']):,} people in view, median (worst) of 20:")
    for tab, f in figures.items():
        lines.append(
            f"    {tab:<13} callback {f['callback_median_ms']:6.0f} ms ({f['callback_max_ms']:4.0f}); "
            f"pure view + spec {f['pure_median_ms']:6.0f} ms ({f['pure_max_ms']:4.0f})"
        )
    runs = []
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        runs.append(("as configured here (PYTHONDONTWRITEBYTECODE is set: every import compiles)", None))
    with tempfile.TemporaryDirectory(prefix="calib-bench-") as scratch:
        runs.append(("with Python's bytecode cache (a usual install)", bytecode_cache(Path(scratch) / "pycache")))
        for label, env in runs:
            workdir = Path(scratch) / f"serve-{len(lines)}"
            workdir.mkdir()
            render = render_benchmark(SAMPLE, workdir, env=env)
            lines.append(
                f"  sample org, `calib serve` + chromium, {label}: cold first render {render['cold_s']:.2f} s "
                f"(server listening after {render['server_listening_s']:.1f} s); warm (preheated) first render "
                f"median {render['warm_median_s']:.2f} s of {', '.join(f'{s:.2f}' for s in render['warm_s'])}"
            )
    return lines


def main() -> int:
    """Print the dashboard's figures."""
    for line in run():
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
