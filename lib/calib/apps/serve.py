"""`calib serve`: the calibration dashboard over Voila, on an analysis cached for the config's inputs.

1. The analysis: `calib.analyses.runner` is run once per set of inputs and cached in
   `reports/.cache/analysis-<fingerprint>/` (findings.json + tables/, exactly as `calib analyze`
   writes them, plus `snapshot/`: the normalized frames the person packet reads, as Parquet).
   The fingerprint hashes the config file, every input's sha256 and the library's own code, so an
   edited input or a new version of an analysis is never served from a stale cache.
2. How the paths reach the kernel: serve writes a copy of `notebooks/calibration_dashboard.ipynb`
   with its parameters injected by papermill (absolute `config` and `results` paths) into the
   cache folder and starts Voila on that one file (calib.apps.voila: a URL cannot choose which
   files the kernel reads).
3. Voila runs in this process with the workbench's secure defaults (calib.apps.voila): 127.0.0.1
   unless told otherwise, a token on every server and a Host check, no tracebacks or code in the page, preheated
   kernels, idle kernels culled, a template with no network fetch.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import time
from pathlib import Path

from calib.apps import voila
from calib.apps.voila import POOL_SIZE, TEMPLATE, is_loopback, voila_argv, write_template
from calib.files import NOTEBOOKS

CACHE_ROOT = Path("reports/.cache")  # relative to the working directory, like `calib analyze --out`
NOTEBOOK = NOTEBOOKS / "calibration_dashboard.ipynb"
SNAPSHOT = "snapshot"
SNAPSHOT_FORMAT = 3  # raise when write_snapshot writes something new: older caches are then rebuilt
# what ensure_analysis runs (code_digest)
ANALYSIS_ROOTS = ("analyses.runner", "frame", "delivery.sources", "inputs.validate", "inputs.config")


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def code_digest(roots: tuple[str, ...] = ANALYSIS_ROOTS) -> str:
    """A digest of the library code behind the analysis and the snapshot, so a changed analysis is re-run.

    The modules are those `roots` (by default `calib.analyses.runner` and `calib.frame`) import,
    followed through the package's own imports: editing the dashboard, charts or reports leaves
    the cache valid.
    """
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for name in sorted(analysis_modules(package, roots)):
        digest.update(name.encode())
        digest.update(_module_path(package, name).read_bytes())
    return digest.hexdigest()


def _module_path(package: Path, name: str) -> Path:
    """`a.b` -> package/a/b.py, or package/a/b/__init__.py for a subpackage."""
    base = package.joinpath(*name.split("."))
    return base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"


def analysis_modules(package: Path, roots: tuple[str, ...] = ANALYSIS_ROOTS) -> set[str]:
    """The package's modules (dotted, below `calib`) reachable from `roots` through its own imports."""
    import ast

    seen: set[str] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        path = _module_path(package, name)
        if name in seen or not path.is_file():
            continue
        seen.add(name)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "calib":
                module = node.module.partition(".")[2]
                if module:
                    todo.append(module)
                for alias in node.names:  # `from calib.x import y` may name a module y
                    todo.append(f"{module}.{alias.name}" if module else alias.name)
            elif isinstance(node, ast.Import):
                todo += [a.name.partition(".")[2] for a in node.names if a.name.startswith("calib.")]
    return seen


def analysis_fingerprint(config) -> str:
    """The fingerprint of a config's current inputs (see calib.analyses.results.inputs_fingerprint).

    Parameters
    ----------
    config
        A loaded `CycleConfig` (its `source` is the YAML file).
    """
    from calib.analyses.results import inputs_fingerprint

    sources = {
        "config": file_sha256(config.source) if config.source else None,
        "inputs": {name: file_sha256(config.input_path(name)) for name in sorted(config.inputs)},
        "code": code_digest(),
        "snapshot": SNAPSHOT_FORMAT,
    }
    return inputs_fingerprint(sources)


def ensure_analysis(config_path: str | Path, cache_root: str | Path = CACHE_ROOT, *, log=print) -> Path:
    """The cached analysis folder for the config's current inputs, running the analysis if missing.

    The folder holds findings.json and tables/ as `calib analyze` writes them, and snapshot/ with
    the normalized frames the dashboard's person packet reads. It appears whole or not at all.

    Raises
    ------
    calib.errors.ConfigError, calib.errors.InputError
        When the config or an input is invalid (nothing is cached then).
    """
    from calib.inputs.config import load_config

    config = load_config(config_path)
    target = Path(cache_root).resolve() / f"analysis-{analysis_fingerprint(config)[:20]}"
    if (target / "findings.json").is_file() and (target / SNAPSHOT / "done").is_file():
        return target
    # Imported only now: the analyses (statsmodels, scipy) take seconds to import, a cached start does not.
    from calib.analyses.runner import run_analyses, write_analysis
    from calib.delivery.sources import load_cycle
    from calib.files import staging_dir
    from calib.frame import normalize

    log(f"Analysing {config_path} (first time for these inputs; cached in {target}) ...")
    started = time.perf_counter()
    normalized = normalize(load_cycle(config))
    analysis = run_analyses(normalized)
    staged = staging_dir(target)
    try:
        write_analysis(analysis, staged)
        write_snapshot(normalized, staged / SNAPSHOT)
        if target.exists():  # a stale half-made folder, or another server finished first
            if (target / SNAPSHOT / "done").is_file():
                shutil.rmtree(staged, ignore_errors=True)
                return target
            shutil.rmtree(target, ignore_errors=True)
        os.replace(staged, target)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    log(f"Analysed in {time.perf_counter() - started:.1f} s.")
    return target


def write_snapshot(normalized, folder: Path) -> None:
    """The frames the dashboard reads besides the analysis tables, as Parquet (types kept)."""
    from calib.frame import PEOPLE_COLUMNS
    from calib.privacy import IDENTIFYING

    folder.mkdir(parents=True, exist_ok=True)
    data = normalized.data
    normalized.frame.to_parquet(folder / "frame.parquet", index=False)
    people = data["people"]
    # handles and e-mails too: blind mode must find them inside free text (calib.privacy)
    keep = [c for c in dict.fromkeys([*PEOPLE_COLUMNS, *IDENTIFYING]) if c in people.columns]
    people[keep].reset_index(drop=True).to_parquet(folder / "people.parquet", index=False)
    normalized.team_dora.to_parquet(folder / "team_dora.parquet", index=False)
    normalized.team_slos.to_parquet(folder / "team_slos.parquet", index=False)
    for name in ("evidence", "criteria_scores", "peer_feedback", "telemetry", "teams", "expectations"):
        if data.has(name):
            data[name].reset_index(drop=True).to_parquet(folder / f"{name}.parquet", index=False)
    (folder / "done").write_text("ok\n")


def write_served_notebook(
    results: Path, config_path: Path, cache_root: Path, source: Path = NOTEBOOK, *, extra: dict | None = None
) -> Path:
    """The dashboard notebook with `config`, `results`, `cache` (and `extra`) injected by papermill, in results/voila/.

    That folder is Voila's root. The copy is rewritten only when the notebook or the parameters change.
    """
    parameters = {"config": str(config_path), "results": str(results), "cache": str(cache_root), **(extra or {})}
    return voila.write_served_notebook(source, parameters, results / "voila")


def session_parameters(config_path: Path, args: argparse.Namespace) -> dict[str, str]:
    """`session`, `store` (absolute: the kernel runs elsewhere) and `facilitator` for an editable dashboard.

    The store is opened once here, so a bad URL or a missing facilitator is one line before the
    server starts; the session itself is created with its first change.
    """
    from calib.errors import UsageError
    from calib.inputs.config import load_config
    from calib.sessions import open_session
    from calib.sessions.engine import resolve_store

    name = getattr(args, "session", None)
    if not name:
        return {}
    facilitator = (getattr(args, "facilitator", None) or "").strip()
    if not facilitator:
        raise UsageError("serve --session needs --facilitator NAME: every change records who made it")
    config = load_config(config_path)
    store = resolve_store(config, getattr(args, "store", None))
    if "://" not in store:
        store = str(Path(store).expanduser().resolve())
    open_session(config, name, store=store, by=facilitator).close()
    return {"session": name, "store": store, "facilitator": facilitator}


def dashboard_url(host: str, port: int, token: str | None) -> str:
    """The URL to open (with the token when one is required)."""
    return voila.app_url(host, port, token)


def cli_serve(args: argparse.Namespace) -> int:
    """`calib serve CONFIG [--port] [--host] [--no-browser]`: analyse if needed, then serve with Voila."""
    config_path = Path(args.config).resolve()
    cache_root = CACHE_ROOT.resolve()
    meeting = session_parameters(config_path, args)
    results = ensure_analysis(config_path, cache_root)
    notebook = write_served_notebook(results, config_path, cache_root, extra=meeting)
    if meeting:
        who = meeting["facilitator"]
        print(f"Session {meeting['session']!r}, facilitated by {who}: changes are recorded.", flush=True)
    return voila.launch(
        notebook,
        cache_root,
        host=args.host,
        port=args.port,
        no_browser=args.no_browser,
        banner=f"Calibration dashboard for {args.config}",
        warning="Anyone with this URL can see the dashboard: share it only with the room.",
    )


__all__ = [  # the shared Voila pieces tests and benchmarks read from here
    "POOL_SIZE",
    "TEMPLATE",
    "analysis_fingerprint",
    "code_digest",
    "dashboard_url",
    "ensure_analysis",
    "is_loopback",
    "voila_argv",
    "write_served_notebook",
    "write_snapshot",
    "write_template",
]
