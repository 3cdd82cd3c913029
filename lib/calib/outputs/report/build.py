"""`calib report`: the cycle report as one self-contained HTML page, beside findings.json and tables/.

The flow, one function each: load and validate the cycle (errors propagate as `calib.errors`
exceptions, which the CLI prints and exits 1 on); keep one org when asked; run every analysis
once and write findings.json, tables/ and lineage.json into a staging folder; execute
notebooks/cycle_report.ipynb with papermill against that folder; export HTML without code through
an offline template (templates/nbconvert/calib_report: no script, no CDN, inline CSS) and check
it; write per-manager packets when asked (`calib.outputs.report.packets`, no kernel per packet); only then swap
the staging folder into place with `replace_dir`. A failure anywhere leaves no partial report and
an existing report untouched.

Blind mode goes through `calib.privacy` (the one redaction layer): every label and free text
shows pseudonyms, findings.json and tables/ are written with ids, names, handles and e-mails
replaced, so a blind folder holds none of them; the bias audit (tables/bias_audit.csv, the
adverse_impact findings) and any protected-attribute column are left out and the report says they
are hidden in blind mode.

With `--session NAME` the session's current ratings are the after-calibration ratings (see
`calib.outputs.report.prepare`): the report's header names the session, its status and its store,
lineage.json records them, and the "Calibration changes" section shows what the session changed.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from calib.files import NOTEBOOKS, replace_dir, staging_dir, write_text_atomic
from calib.outputs.report.prepare import prepare_results

NOTEBOOK = NOTEBOOKS / "cycle_report.ipynb"
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
REPORT_HTML = "report.html"
_OFFLINE_BAD = (
    re.compile(r"<script\b[^>]*\bsrc\s*=", re.I),
    re.compile(
        r"<(?:script|link|img|iframe|source|video|audio|embed|object)\b[^>]*\b(?:src|href|data)\s*=\s*[\"']?\s*(?:https?:)?//",
        re.I,
    ),
    re.compile(r"url\(\s*[\"']?\s*(?:https?:)?//", re.I),
    re.compile(r"@import", re.I),
)


WARMUP = (  # what the notebook's first cell imports, and vl-convert's first (slow) render
    "import altair, pandas, vl_convert\n"
    "from calib.outputs.report import sections as report_sections\n"
    "from calib.outputs.report.prepare import report_context\n"
    "vl_convert.vegalite_to_svg({'mark': 'point', 'data': {'values': [{}]}})\n"
    "del altair, pandas, vl_convert, report_sections, report_context\n"
)


@contextmanager
def warm_kernel() -> Iterator[object]:
    """A kernel for the report notebook, started (and its imports loaded) while the analyses run.

    The analyses use one core; the kernel's start-up and imports use the other, which takes
    several seconds off a report. The warm-up only imports what the notebook's first cell imports.
    """
    from jupyter_client import AsyncKernelManager
    from jupyter_core.utils import run_sync

    manager = AsyncKernelManager(kernel_name="python3")
    # the kernel's own stderr (a transport notice at start-up) is not for the user's terminal;
    # errors in cells still reach papermill as messages
    run_sync(manager.start_kernel)(cwd=str(NOTEBOOK.parent), stderr=subprocess.DEVNULL)
    client = manager.client()
    client.start_channels()
    try:
        client.execute(WARMUP, silent=True, store_history=False)
        yield _Warm(manager, client)
    finally:
        client.stop_channels()
        if run_sync(manager.is_alive)():
            run_sync(manager.shutdown_kernel)(now=True)


@dataclass
class _Warm:
    manager: object
    client: object

    def ready(self, timeout: float = 300) -> object:
        """The kernel manager, once the warm-up has finished (its reply is not otherwise needed)."""
        from jupyter_core.utils import run_sync

        run_sync(self.client.get_shell_msg)(timeout=timeout)
        return self.manager


def execute_notebook(
    output: Path, *, results: Path, config: Path, cycle: str, org: str, blind: bool, kernel: object = None
) -> None:
    """Run the report notebook with papermill against a results folder (one kernel per report)."""
    import papermill

    # nbconvert takes seconds to import: do it while this process only waits for the kernel
    threading.Thread(target=importlib.import_module, args=("nbconvert",), daemon=True).start()
    papermill.execute_notebook(
        str(NOTEBOOK),
        str(output),
        parameters={"config": str(config), "results": str(results), "cycle": cycle, "org": org, "blind": blind},
        kernel_name="python3",
        progress_bar=False,
        log_output=False,
        cwd=str(NOTEBOOK.parent),
        **({"km": kernel} if kernel is not None else {}),
    )


def export_html(notebook: Path, *, title: str) -> str:
    """The executed notebook as HTML: no code, no prompts, no script, styles inline; checked offline."""
    import nbformat
    from nbconvert import HTMLExporter

    node = nbformat.read(str(notebook), as_version=4)
    node.metadata.pop("widgets", None)
    node.metadata["title"] = title
    node.cells = [c for c in node.cells if c.cell_type != "raw"]
    exporter = HTMLExporter(
        template_name="calib_report",
        extra_template_basedirs=[str(TEMPLATES / "nbconvert")],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    html, _ = exporter.from_notebook_node(node)
    check_offline(html)
    return html


def check_offline(html: str) -> None:
    """Raise if the page would load anything: a script with src, a remote stylesheet, image or frame."""
    for pattern in _OFFLINE_BAD:
        found = pattern.search(html)
        if found:
            raise RuntimeError(f"the report HTML would load from the network: {found.group(0)[:120]!r}")


# -- the command ----------------------------------------------------------------------------------


def build_report(
    config: str | Path,
    out: str | Path,
    *,
    cycle: str = "",
    org: str = "",
    blind: bool = False,
    per_manager: bool = False,
    session: str | None = None,
    store: str | None = None,
    engine: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Write the whole report folder, or nothing: report.html, findings.json, tables/, lineage.json, packets/.

    `session` (and its `store`) makes that calibration session's ratings the after-calibration
    ratings and adds session.json. `engine` runs the delivery stage (None: the config's).
    `progress` is told each stage as it starts. Returns what was
    written and how long each step took.
    """
    tell = progress or (lambda stage: None)
    out = Path(out).resolve()  # the kernel runs in notebooks/: every path it gets is absolute
    config = Path(config).resolve()
    staged = staging_dir(out)
    timings: dict[str, float] = {}
    started = time.perf_counter()
    try:
        with warm_kernel() as kernel:
            prepared = prepare_results(
                config,
                staged,
                cycle=cycle,
                org=org,
                blind=blind,
                session=session,
                store=store,
                engine=engine,
                progress=progress,
            )
            tell("running the report notebook ...")
            timings["analyze"] = time.perf_counter() - started
            work = staged / ".work"
            work.mkdir()
            executed = work / "cycle_report.ipynb"
            step = time.perf_counter()
            execute_notebook(
                executed,
                results=staged,
                config=config,
                cycle=prepared.lineage["cycle"],
                org=org,
                blind=blind,
                kernel=kernel.ready(),
            )
            timings["notebook"] = time.perf_counter() - step
        step = time.perf_counter()
        tell("writing report.html ...")
        scope = f" — {org}" if org else ""
        if prepared.session is not None:
            scope += f" — session {prepared.session['name']} ({prepared.session['status']})"
        html = export_html(executed, title=f"Calibration report {prepared.lineage['cycle']}{scope}")
        write_text_atomic(staged / REPORT_HTML, html)
        timings["html"] = time.perf_counter() - step
        shutil.rmtree(work)
        packets = 0
        if per_manager:
            from calib.outputs.report.packets import write_packets

            step = time.perf_counter()
            tell("writing the manager packets ...")
            packets = write_packets(prepared, staged / "packets", blind=blind)
            timings["packets"] = time.perf_counter() - step
        _shareable(staged)
        replace_dir(staged, out)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    timings["total"] = time.perf_counter() - started
    return {
        "folder": out,
        "html": out / REPORT_HTML,
        "html_bytes": (out / REPORT_HTML).stat().st_size,
        "packets": packets,
        "findings": len(prepared.analysis.findings),
        "session": prepared.session,
        "seconds": timings,
    }


def _shareable(folder: Path) -> None:
    """Temporary files are private (0600); the finished report gets the user's usual permissions."""
    mask = os.umask(0)
    os.umask(mask)
    for path in [folder, *folder.rglob("*")]:
        path.chmod((0o777 if path.is_dir() else 0o666) & ~mask)


def cli_report(args: argparse.Namespace, progress: Callable[[str], None] | None = None) -> int:
    """`calib report CONFIG [--cycle C] [--org O] [--out DIR] [--blind] [--per-manager] [--session S [--store URL]]
    [--engine E]`."""
    from calib.errors import UsageError

    session = getattr(args, "session", None)
    store = getattr(args, "store", None)
    if store and session is None:
        raise UsageError("--store names where a session is kept: give --session too")
    done = build_report(
        args.config,
        args.out,
        cycle=args.cycle or "",
        org=args.org or "",
        blind=bool(args.blind),
        per_manager=bool(getattr(args, "per_manager", False)),
        session=session,
        store=store,
        engine=getattr(args, "engine", None),
        progress=progress,
    )
    if progress is not None and hasattr(progress, "done"):
        progress.done()
    folder = done["folder"]
    used = done["session"]
    print(
        f"Wrote the report to {done['html']} ({done['html_bytes'] / 1e6:.1f} MB, {done['seconds']['total']:.0f} s), "
        f"with findings.json, tables/ and lineage.json in {folder}" + (" (blind mode)" if args.blind else "")
    )
    if used is not None:
        print(
            f"After calibration = session {used['name']} ({used['status']}, {used['rating_changes']} rating "
            f"changes, {used['people_changed']} people changed), from {used['store']}; what it changed: "
            f"{folder / 'session.json'}"
        )
    if done["packets"]:
        print(f"Wrote {done['packets']} manager packets and an index: {folder / 'packets' / 'index.html'}")
    return 0
