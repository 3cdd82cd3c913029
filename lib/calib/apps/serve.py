"""`calib serve`: the calibration dashboard over Voila, on an analysis cached for the config's inputs.

1. The analysis: `calib.analyses.runner` is run once per set of inputs and cached in
   `reports/.cache/analysis-<fingerprint>/` (findings.json + tables/, exactly as `calib analyze`
   writes them, plus `snapshot/`: the normalized frames the person packet reads, as Parquet).
   The fingerprint hashes the config file, every input's sha256 and the library's own code, so an
   edited input or a new version of an analysis is never served from a stale cache.
2. How the paths reach the kernel: serve writes a copy of `notebooks/calibration_dashboard.ipynb`
   with its parameters injected by papermill (absolute `config` and `results` paths) into the
   cache folder and starts Voila on that one file. In single-notebook mode Voila serves only that
   notebook, and the notebook never reads URL parameters, so a URL cannot choose which files the
   kernel reads. (Voila's `prelaunch_hook` could inject them per request instead, but Voila
   refuses a prelaunch hook together with preheated kernels, and preheating is what makes a page
   load fast.)
3. Voila runs in this process with secure defaults: it binds 127.0.0.1 unless told otherwise and
   requires a token off loopback; no tracebacks or code reach the page; preheated kernels; idle
   kernels of closed tabs are culled; a template with no network fetch (see `voila_argv`).
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import json
import os
import secrets
import shutil
import sys
import time
from pathlib import Path

from calib.files import NOTEBOOKS

CACHE_ROOT = Path("reports/.cache")  # relative to the working directory, like `calib analyze --out`
NOTEBOOK = NOTEBOOKS / "calibration_dashboard.ipynb"
TEMPLATE = "calib"
POOL_SIZE = 2  # preheated kernels waiting for the next viewer: two fit a 2-core machine
CULL_IDLE_TIMEOUT = 300  # seconds an idle kernel with no open tab lives on
CULL_INTERVAL = 60
SNAPSHOT = "snapshot"
SNAPSHOT_FORMAT = 2  # raise when write_snapshot writes something new: older caches are then rebuilt
# what ensure_analysis runs (code_digest)
ANALYSIS_ROOTS = ("analyses.runner", "frame", "delivery.sources", "inputs.validate", "inputs.config")

# Voila's lab template, minus its Font Awesome CDN stylesheets and the Mermaid loader: no request
# ever leaves the server. Everything else (widget manager, spinner, styles) is the lab template's.
TEMPLATE_INDEX = """\
{%- extends 'lab/index.html.j2' -%}
{% import "spinner.macro.html.j2" as spinner %}
{%- block notebook_css -%}
  {% if frontend == "voila" %}
    {{ resources.include_js("static/voila-style.js") }}
  {% endif %}
  {{ spinner.css() }}
  <style>
    .jp-mod-noOutputs.jp-mod-noInput { display: none; }
  </style>
  {{ super.super() }}
{%- endblock notebook_css -%}
{%- block html_head_js_mermaidjs -%}
{%- endblock html_head_js_mermaidjs -%}
"""
TEMPLATE_CONF = {"base_template": "lab"}


def file_sha256(path: Path) -> str:
    """The sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def code_digest() -> str:
    """A digest of the library code behind the analysis and the snapshot, so a changed analysis is re-run.

    The modules are those `calib.analyses.runner` and `calib.frame` import, followed through the
    package's own imports: editing the dashboard, charts or reports leaves the cache valid.
    """
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for name in sorted(analysis_modules(package)):
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
    for name in ("evidence", "criteria_scores", "peer_feedback", "telemetry", "teams"):
        if data.has(name):
            data[name].reset_index(drop=True).to_parquet(folder / f"{name}.parquet", index=False)
    (folder / "done").write_text("ok\n")


def write_served_notebook(results: Path, config_path: Path, cache_root: Path, source: Path = NOTEBOOK) -> Path:
    """The dashboard notebook with `config`, `results` and `cache` injected by papermill, in results/voila/.

    That folder is Voila's root. The copy is rewritten only when the notebook or the paths change.
    """
    from calib.errors import UsageError
    from calib.files import write_text_atomic

    if not source.is_file():
        raise UsageError(f"serve: the dashboard notebook {source} is missing (run from a clone of the repository)")
    parameters = {"config": str(config_path), "results": str(results), "cache": str(cache_root)}
    key = hashlib.sha256(source.read_bytes() + json.dumps(parameters, sort_keys=True).encode()).hexdigest()
    target = results / "voila" / source.name
    if target.is_file():
        try:
            if json.loads(target.read_text(encoding="utf-8"))["metadata"].get("calib_served_from") == key:
                return target
        except (ValueError, KeyError):
            pass  # unreadable: write it again
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    notebook = load_notebook_node(str(source))  # papermill's reader: every cell gets a tags list
    notebook.metadata.pop("jupytext", None)
    parameterized = parameterize_notebook(notebook, parameters, kernel_name="python3", language="python")
    parameterized.metadata["calib_served_from"] = key
    write_text_atomic(target, nbformat.writes(parameterized))
    return target


def write_template(cache_root: Path) -> Path:
    """Write the `calib` Voila template; returns the folder to add to JUPYTER_PATH."""
    from calib.files import write_text_atomic

    root = Path(cache_root).resolve() / "voila-template"
    folder = root / "voila" / "templates" / TEMPLATE
    write_text_atomic(folder / "index.html.j2", TEMPLATE_INDEX)
    write_text_atomic(folder / "conf.json", json.dumps(TEMPLATE_CONF) + "\n")
    return root


def is_loopback(host: str) -> bool:
    """Whether `host` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def voila_argv(notebook: Path, *, host: str, port: int, token: str | None, open_browser: bool) -> list[str]:
    """Voila's command line: secure, fast and steady defaults (see the module docstring).

    Parameters
    ----------
    token
        Required when `host` is not a loopback address; None on loopback (no token needed).
    """
    if token is None and not is_loopback(host):
        raise ValueError(f"a token is required when serving on {host} (not a loopback address)")
    argv = [
        str(notebook),
        f"--Voila.ip={host}",
        f"--Voila.port={port}",
        "--Voila.port_retries=0",  # the port asked for, or a clear failure: never a surprise port
        f"--Voila.open_browser={open_browser}",
        f"--VoilaConfiguration.template={TEMPLATE}",
        "--VoilaConfiguration.show_tracebacks=False",
        "--VoilaConfiguration.strip_sources=True",
        "--VoilaConfiguration.preheat_kernel=True",
        f"--VoilaConfiguration.default_pool_size={POOL_SIZE}",
        "--VoilaConfiguration.extension_denylist=jupyterlab-jupytext",  # its lab extension errors inside Voila
        "--KernelManager.transport=ipc",  # kernels talk over Unix sockets in a private folder, no TCP ports
        f"--MappingKernelManager.cull_idle_timeout={CULL_IDLE_TIMEOUT}",
        f"--MappingKernelManager.cull_interval={CULL_INTERVAL}",
        # A tab still open on the projector keeps its kernel however long the room talks;
        # a closed tab disconnects, and its kernel is culled after the idle timeout.
        "--MappingKernelManager.cull_connected=False",
    ]
    if token is not None:
        argv.append(f"--Voila.token={token}")
    return argv


def dashboard_url(host: str, port: int, token: str | None) -> str:
    """The URL to open (with the token when one is required)."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/" + (f"?token={token}" if token else "")


def cli_serve(args: argparse.Namespace) -> int:
    """`calib serve CONFIG [--port] [--host] [--no-browser]`: analyse if needed, then serve with Voila."""
    config_path = Path(args.config).resolve()
    cache_root = CACHE_ROOT.resolve()
    results = ensure_analysis(config_path, cache_root)
    notebook = write_served_notebook(results, config_path, cache_root)
    template_root = write_template(cache_root)
    token = None if is_loopback(args.host) else secrets.token_urlsafe(32)
    argv = voila_argv(
        notebook, host=args.host, port=args.port, token=token, open_browser=token is None and not args.no_browser
    )
    print(f"Calibration dashboard for {args.config}: {dashboard_url(args.host, args.port, token)}", flush=True)
    if token:
        print("Anyone with this URL can see the dashboard: share it only with the room.", flush=True)
    paths = [str(template_root), *filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))]
    os.environ["JUPYTER_PATH"] = os.pathsep.join(paths)  # where Voila finds the `calib` template
    sys.stdout.flush()
    voila_app().launch_instance(argv=argv)
    return 0


def voila_app():
    """Voila's application, with its page handler fixed in three ways (see PageHandler)."""
    from voila.app import Voila
    from voila.tornado.handler import TornadoVoilaHandler

    class PageHandler(TornadoVoilaHandler):
        """The page, with three fixes.

        - It sets the `_xsrf` cookie: the page shuts its kernel down on `beforeunload` with a beacon
          that echoes that cookie, which Voila never sets, so every shutdown failed with 403 and
          kernels piled up until culled (voila-dashboards/voila#1458).
        - A page asked for just after start waits for the pooled kernel already starting instead of
          starting one more (Voila records its pool only once a pooled kernel runs).
        - `?template=` and `?theme=` are ignored: a URL chooses nothing on the server (another
          template would also fetch fonts from a CDN and skip the preheated kernels).
        """

        async def get(self, path=None):
            self.xsrf_token  # noqa: B018 (a property read for its side effect: the _xsrf cookie)
            await super().get(path)

        def get_argument(self, name, default=None, strip=True):
            if name in ("template", "theme"):
                return default
            return super().get_argument(name, default, strip)

        def should_use_rendered_notebook(self, notebook_data, pool_size, template_name, theme, request_args):
            if pool_size > 0 and not notebook_data:
                return True
            return super().should_use_rendered_notebook(notebook_data, pool_size, template_name, theme, request_args)

    class CalibVoila(Voila):
        def init_handlers(self):
            return [
                (route[0], PageHandler, *route[2:]) if route[1] is TornadoVoilaHandler else route
                for route in super().init_handlers()
            ]

    return CalibVoila
