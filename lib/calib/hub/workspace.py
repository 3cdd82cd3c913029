"""The privileged side: each person's folder, written by the hub (the only reader of the whole org) first.

- **A manager** gets `<state>/users/<name>/`, owned by their account and readable by it alone
  (0700): their cut of the cycle (calib.apps.explorer.serve.prepare: cut before any kernel
  starts), the explorer notebook with that cut's path injected, the Voila template and the
  offline chart bundle. Their server runs as their account, which cannot read the inputs, the
  session store, other people's folders or the hub's own files.
- **An analyst** gets the same kind of folder with a copy of the cycle (the config and every file
  input, the config's paths pointing at the copies; database inputs stay connection strings and
  need the analyst's own credentials) and the notebooks, for JupyterLab under their account.
- **A facilitator**'s meeting runs as the hub's own account (it reads the whole org and writes the
  session store): `<state>/hub/meetings/<name>/` holds the dashboard notebook with the session and
  the facilitator's signed-in name injected. The page runs no code: the kernel takes widget
  messages only, so no one can type another author.
"""

from __future__ import annotations

import os
import pwd
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

from calib.hub.users import Identity

USERS_DIR = "users"  # <state>/users/<name>/: each person's folder, theirs alone (the folder above: 0711)
PRIVATE_DIR = "hub"  # <state>/hub/: the hub's database, secrets, audit log, cache, meetings (0700)
MEETINGS_DIR = "meetings"
CACHE_DIR = "cache"


@dataclass(frozen=True)
class HubSettings:
    """What every part of the hub needs to know (written by `calib hub`, read by JupyterHub's config)."""

    config: Path  # the cycle config
    users_file: Path
    state: Path  # the hub's folder: its database, secrets, audit log, people's folders
    session: str | None = None
    store: str | None = None
    user_python: str = "/opt/calib/venv/bin/python"  # a Python every account can run, with calib installed
    public_host: str = "127.0.0.1"
    port: int = 8000

    @property
    def private(self) -> Path:
        """The hub's own folder: no other account can enter it, whatever the modes of the files in it."""
        return self.state / PRIVATE_DIR

    @property
    def cache(self) -> Path:
        """The hub's cache: the dashboard's analysis and the managers' cuts."""
        return self.private / CACHE_DIR


@dataclass(frozen=True)
class Workspace:
    """A prepared folder and the notebook (or, for JupyterLab, the folder) a server serves."""

    folder: Path
    notebook: Path | None
    templates: Path | None


def account(name: str) -> pwd.struct_passwd:
    """The system account `name` (KeyError when there is none)."""
    return pwd.getpwnam(name)


def private_folder(parent: Path, name: str, owner: pwd.struct_passwd | None) -> Path:
    """`parent/name`, created empty-or-kept, owned by `owner` (or the hub) and 0700; `parent` 0711."""
    parent.mkdir(parents=True, exist_ok=True)
    parent.chmod(0o711)  # others may pass through to their own folder, never list who else has one
    folder = parent / name
    folder.mkdir(mode=0o700, exist_ok=True)
    folder.chmod(0o700)
    if owner is not None:
        os.chown(folder, owner.pw_uid, owner.pw_gid)
    return folder


def hand_over(folder: Path, owner: pwd.struct_passwd) -> None:
    """Everything below `folder` owned by `owner`, folders 0700 and files 0600."""
    for root, dirs, files in os.walk(folder):
        for name in dirs:
            path = Path(root) / name
            os.chown(path, owner.pw_uid, owner.pw_gid)
            path.chmod(0o700)
        for name in files:
            path = Path(root) / name
            os.chown(path, owner.pw_uid, owner.pw_gid)
            path.chmod(0o600)
    os.chown(folder, owner.pw_uid, owner.pw_gid)
    folder.chmod(0o700)


def replace_tree(source: Path, target: Path) -> None:
    """`target` becomes a copy of `source` (whatever was there before is removed)."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)


def prepare_manager(settings: HubSettings, who: Identity) -> Workspace:
    """The manager's folder: their cut, the explorer notebook, template and chart bundle, theirs alone."""
    owner = account(who.name)
    folder = private_folder(settings.state / USERS_DIR, who.name, owner)
    session = started_session(settings)
    workspace = write_cut(settings.config, str(who.employee_id), folder, settings.cache, session, settings.store)
    hand_over(folder, owner)
    return workspace


def started_session(settings: HubSettings) -> str | None:
    """The hub's `--session` once the meeting has created it (with its first change), else None.

    Until then managers see the reviews' ratings, which is where the session starts.
    """
    if not settings.session:
        return None
    from calib.inputs.config import load_config
    from calib.sessions.engine import resolve_store
    from calib.sessions.store import SessionStore

    config = load_config(settings.config)
    with SessionStore(resolve_store(config, settings.store)) as opened:
        return settings.session if opened.find(config.cycle, settings.session) is not None else None


def write_cut(
    config: Path, employee_id: str, folder: Path, cache: Path, session: str | None = None, store: str | None = None
) -> Workspace:
    """Write one manager's explorer into `folder`: their cut, the served notebook, the template, the charts' bundle.

    What `calib cut` writes for an init container (see the README's production notes), and what
    the hub writes before a manager's server starts. With `session`, the cut holds that calibration
    session's ratings as they stand now (a new event in the log makes a new cut at the next start).
    """
    from calib.apps.explorer.serve import SNAPSHOT, prepare, write_served_notebook
    from calib.apps.offline import bundle_file, enable_offline_charts
    from calib.apps.voila import write_template

    cut = prepare(config, employee_id, cache, log=lambda *_: None, session=session, store=store)
    folder.mkdir(parents=True, exist_ok=True)
    replace_tree(cut / SNAPSHOT, folder / SNAPSHOT)
    bundles = cache / "assets"
    bundles.mkdir(parents=True, exist_ok=True)
    enable_offline_charts(bundles)  # built once, then read from the cache
    (folder / "assets").mkdir(exist_ok=True)
    shutil.copy2(bundle_file(bundles), folder / "assets" / bundle_file(bundles).name)
    return Workspace(folder, write_served_notebook(folder), write_template(folder))


def prepare_facilitator(settings: HubSettings, who: Identity) -> Workspace:
    """The facilitator's meeting: the dashboard notebook with the session and their signed-in name."""
    from calib.apps.serve import NOTEBOOK, ensure_analysis
    from calib.apps.voila import write_served_notebook, write_template

    results = ensure_analysis(settings.config, settings.cache, log=lambda *_: None)
    folder = private_folder(settings.private / MEETINGS_DIR, who.name, None)
    parameters = {
        "config": str(settings.config),
        "results": str(results),
        "cache": str(settings.cache),
        "session": settings.session or "",
        "store": settings.store or "",
        "facilitator": who.name,  # the signed-in user: no typed name anywhere
    }
    notebook = write_served_notebook(NOTEBOOK, parameters, folder / "voila")
    return Workspace(folder, notebook, write_template(folder))


def prepare_analyst(settings: HubSettings, who: Identity) -> Workspace:
    """The analyst's folder: a copy of the cycle (config and file inputs) and the notebooks, theirs alone."""
    from calib.files import NOTEBOOKS

    owner = account(who.name)
    folder = private_folder(settings.state / USERS_DIR, who.name, owner)
    copy_cycle(settings.config, folder / "data")
    notebooks = folder / "notebooks"
    notebooks.mkdir(exist_ok=True)
    for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
        target = notebooks / notebook.name
        if not target.exists():  # an analyst's own edits are kept
            shutil.copy2(notebook, target)
    hand_over(folder, owner)
    return Workspace(folder, None, None)


def copy_cycle(config_path: Path, target: Path) -> Path:
    """Copy a cycle config and its file inputs into `target`; the copy's paths point at the copies.

    Returns the copied config. Database inputs keep their connection strings; the session store
    is left out (it stays the hub's).
    """
    from calib.inputs.config import load_config

    config = load_config(config_path)
    raw = yaml.safe_load(Path(config_path).read_text(encoding="utf-8-sig"))
    if target.exists():
        shutil.rmtree(target)
    (target / "inputs").mkdir(parents=True)
    inputs = raw.get("inputs") or {}
    for name, spec in config.inputs.items():
        if spec.path is None:
            continue
        source = config.base_dir / spec.path
        copied = Path("inputs") / name / Path(str(spec.path)).name
        for path in sorted(source.parent.glob(source.name)) if any(c in str(spec.path) for c in "*?[") else [source]:
            destination = target / copied.parent / path.name if path != source else target / copied
            destination.parent.mkdir(parents=True, exist_ok=True)
            (shutil.copytree if path.is_dir() else shutil.copy2)(path, destination)
        if isinstance(inputs.get(name), dict):
            inputs[name] = {**inputs[name], "path": str(copied)}
        else:
            inputs[name] = str(copied)
    if config.leveling_framework:
        name = Path(str(config.leveling_framework)).name
        shutil.copy2(config.base_dir / config.leveling_framework, target / name)
        raw["leveling_framework"] = name
    raw.pop("sessions", None)
    out = target / Path(config_path).name
    out.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return out
