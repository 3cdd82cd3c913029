"""`calib explore CONFIG --manager ID`: the explorer for one manager, served the way `calib serve` serves.

Scoped by construction, in this process, before any kernel starts:
1. `prepare` loads and checks the cycle, cuts it to the manager's people
   (calib.scope.filter_subtree) and writes that cut alone as a scoped snapshot
   (calib.apps.explorer.snapshot) into `reports/.cache/explorer-<fingerprint>/snapshot/`. The
   fingerprint covers the config, every input's bytes, the code that makes the cut, and the
   manager id, so a changed input or another manager never reads a stale or foreign folder.
2. The served copy of notebooks/team_explorer.ipynb gets, through papermill, the snapshot's
   absolute path and nothing else that points at data: its `config` parameter is emptied, so the
   kernel never learns where the full inputs live. Voila serves that one notebook from a folder
   that holds nothing else (calib.apps.voila: offline template, 127.0.0.1 by default, a token and a
   Host check on every server, preheated kernels, no tracebacks, no source; kernels accept widget
   messages only).

The manager id enters in one place, `prepare(config, manager_id)`: a future sign-in would call it
with the signed-in user's employee id and serve the notebook copy it returns. With `--session`, the
calibration session's ratings are put into the cut here too (the kernel never reads the store).
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

from calib.apps import voila
from calib.apps.serve import CACHE_ROOT, code_digest, file_sha256
from calib.files import NOTEBOOKS

NOTEBOOK = NOTEBOOKS / "team_explorer.ipynb"
SNAPSHOT = "snapshot"
SCOPE_ROOTS = ("scope", "frame", "inputs.validate", "inputs.config", "inputs.leveling", "apps.explorer.snapshot")


def scoped_fingerprint(config, manager_id: str, session: dict | None = None) -> str:
    """The fingerprint of one manager's cut of a config's current inputs (and of the session's log, when given)."""
    from calib.analyses.results import inputs_fingerprint
    from calib.apps.explorer.snapshot import FORMAT

    sources = {
        "config": file_sha256(config.source) if config.source else None,
        "inputs": {name: file_sha256(config.input_path(name)) for name in sorted(config.inputs)},
        "leveling": file_sha256(config.base_dir / config.leveling_framework) if config.leveling_framework else None,
        "code": code_digest(SCOPE_ROOTS),
        "format": FORMAT,
        "manager": manager_id,
        "session": session,  # name, store, events, head hash: a new event makes a new cut
    }
    return inputs_fingerprint(sources)


def prepare(
    config_path: str | Path,
    manager_id: str,
    cache_root: str | Path = CACHE_ROOT,
    *,
    session: str | None = None,
    store: str | None = None,
    log=print,
) -> Path:
    """The folder holding `manager_id`'s scoped snapshot (made now when missing or stale).

    With `session`, the calibration session's current ratings are the cut's after-calibration
    ratings: read here, from the store, before any kernel starts, and written into the snapshot with
    the session's name and status, so the kernel still reads nothing but that folder. A session with
    new events since the last cut makes a new cut.

    Raises
    ------
    calib.errors.ConfigError, calib.errors.InputError, calib.errors.UsageError
        An invalid config or input, an unknown manager or one with nobody reporting to them;
        nothing is written then.
    calib.sessions.SessionError, calib.sessions.StoreError
        No such session, or its store is missing or cannot be read (a store is never created here).
    """
    from calib.inputs.config import load_config

    config = load_config(config_path)
    head = _session_head(config, session, store) if session else None
    target = Path(cache_root).resolve() / f"explorer-{scoped_fingerprint(config, manager_id, head)[:20]}"
    if (target / SNAPSHOT / "done").is_file():
        return target
    from calib.apps.explorer.model import open_team
    from calib.apps.explorer.snapshot import write_scoped
    from calib.files import staging_dir

    started = time.perf_counter()
    explorer = open_team(config_path, manager_id, session=session, store=store)  # the cut: only the manager's people
    staged = staging_dir(target)
    try:
        write_scoped(explorer.normalized, explorer.leveling, manager_id, staged / SNAPSHOT, session=explorer.session)
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        os.replace(staged, target)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    log(f"Cut {config_path} to {manager_id}'s people in {time.perf_counter() - started:.1f} s (cached in {target}).")
    return target


def _session_head(config, session: str, store: str | None) -> dict:
    """Where the session's log stands (name, store, events, head hash, status): what its cut is keyed by."""
    from calib.outputs.report.session import existing_store
    from calib.sessions.store import SessionStore

    with SessionStore(existing_store(config, store)) as opened:
        record = opened.find(config.cycle, session)
        if record is None:
            from calib.sessions import SessionError

            raise SessionError(f"no session named {session!r} in {config.cycle} in the store {opened.shown}")
        return {"name": record.name, "store": opened.shown, "events": record.event_count, "head": record.head_hash,
                "status": record.status}  # fmt: skip


def write_served_notebook(folder: Path, source: Path = NOTEBOOK) -> Path:
    """The explorer notebook with the snapshot's path injected (and `config` emptied), in folder/voila/."""
    parameters = {
        "snapshot": str(folder / SNAPSHOT),
        "config": "",  # never the inputs: the kernel reads the snapshot only
        "manager_id": "",  # the snapshot names its manager
        "assets": str(folder / "assets"),
    }
    return voila.write_served_notebook(source, parameters, folder / "voila")


def cli_explore(args: argparse.Namespace) -> int:
    """`calib explore CONFIG --manager ID [--session NAME [--store S]] [--port] [--host] [--no-browser]`."""
    from calib.errors import UsageError

    session, store = getattr(args, "session", None), getattr(args, "store", None)
    if store and not session:
        raise UsageError("--store names where a session is kept: give --session too")
    cache_root = CACHE_ROOT.resolve()
    folder = prepare(args.config, args.manager, cache_root, session=session, store=store)
    notebook = write_served_notebook(folder)
    shown = f", after calibration = session {session}" if session else ""
    return voila.launch(
        notebook,
        cache_root,
        host=args.host,
        port=args.port,
        no_browser=args.no_browser,
        banner=f"Team explorer for {args.manager}'s people{shown}",
        warning="Anyone with this URL sees this manager's people: share it with them only.",
    )
