"""What `calib hub` checks before it starts: each problem one line naming the file or the user, and the fix.

The operating system is what keeps a manager's server away from the rest of the org, so the hub
refuses to start when it could not:
- an input of the cycle, or the session store, that other accounts can read (group- or
  world-readable; the spawned accounts would read it): `chmod 600 FILE`;
- a user of USERS.yml with no system account of that name (signing in with the machine's accounts);
- a manager whose employee id is nobody's manager in the people file;
- a hub that is not root while it must start servers under other accounts;
- a folder that people's servers must enter (the hub's state, the Python they run) that they cannot.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from calib.errors import Problem
from calib.hub.users import UsersFile
from calib.hub.workspace import HubSettings, account

OWN_ACCOUNT_ROLES = ("manager", "analyst")  # their servers run under their own account


def exposed(path: Path) -> str | None:
    """The mode, when other accounts (group or world) can read `path`; None when only its owner can."""
    mode = path.stat().st_mode
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        return f"{stat.S_IMODE(mode):04o}"
    return None


def data_files(settings: HubSettings) -> Iterator[tuple[str, Path]]:
    """(what, path) of every file holding the org's data: inputs, the leveling framework, a SQLite store."""
    from calib.inputs.config import load_config
    from calib.sessions.engine import resolve_store

    config = load_config(settings.config)
    for name, spec in config.inputs.items():
        if spec.path is None:
            continue
        source = config.base_dir / spec.path
        matches = sorted(source.parent.glob(source.name)) if any(c in str(spec.path) for c in "*?[") else [source]
        for match in matches:
            found = [p for p in match.rglob("*") if p.is_file()] if match.is_dir() else [match]
            yield from ((f"input {name}", p) for p in found if p.exists())
    if config.leveling_framework:
        yield "the leveling framework", config.base_dir / config.leveling_framework
    store = resolve_store(config, settings.store)
    if "://" not in store:
        for suffix in ("", "-wal", "-shm"):
            path = Path(store + suffix)
            if path.exists():
                yield "the session store", path


def file_problems(settings: HubSettings) -> list[Problem]:
    """Data files other accounts can read."""
    problems = []
    for what, path in data_files(settings):
        mode = exposed(path)
        if mode is not None:
            expected = (
                f"{what} readable by the hub's account alone, but other accounts can read it (mode {mode}): "
                f"chmod 600 {path}"
            )
            problems.append(Problem(str(path), None, None, None, expected))
    return problems


def account_problems(users: UsersFile) -> list[Problem]:
    """Users of USERS.yml without a system account (when people sign in with the machine's accounts)."""
    if not users.embedded:
        return []
    problems = []
    for name in users.users:
        try:
            account(name)
        except KeyError:
            problems.append(
                Problem(
                    str(users.source),
                    None,
                    f"users.{name}",
                    None,
                    f"a system account named {name} to sign in with, but there is none: useradd --create-home {name}",
                    column_label="key",
                )
            )
    return problems


def manager_problems(users: UsersFile, people) -> list[Problem]:
    """Managers of USERS.yml whose employee id is unknown or manages nobody (people: the people input)."""
    ids = set(people["employee_id"].astype(str))
    managers = set(people["manager_id"].dropna().astype(str))
    problems = []
    for name, entry in users.users.items():
        if entry.role != "manager" or not entry.employee_id:
            continue
        if entry.employee_id not in ids:
            expected = "the employee_id of a person in the people input"
        elif entry.employee_id not in managers:
            expected = f"a manager, but nobody reports to {entry.employee_id} in the people input"
        else:
            continue
        problems.append(
            Problem(
                str(users.source), None, f"users.{name}.employee_id", entry.employee_id, expected, column_label="key"
            )
        )
    return problems


def enterable(path: Path) -> Path | None:
    """The first folder on the way to `path` (and to where its links lead) that other accounts cannot pass through."""
    path = Path(path).absolute()
    folders = [*reversed(path.parents), *reversed(path.resolve().parents)]
    if path.is_dir():
        folders.append(path)
    for folder in folders:
        if folder.exists() and not folder.stat().st_mode & stat.S_IXOTH:
            return folder
    return None


def host_problems(settings: HubSettings, users: UsersFile) -> list[Problem]:
    """Whether this process can start servers under other accounts, and whether they can reach what they run."""
    if not any(entry.role in OWN_ACCOUNT_ROLES for entry in users.users.values()) and users.embedded:
        return []
    problems = []
    if os.geteuid() != 0:
        expected = (
            "to run as root: managers' and analysts' servers start under their own accounts "
            "(or see the README's production notes: JupyterHub on Kubernetes, The Littlest JupyterHub)"
        )
        problems.append(Problem("calib hub", None, None, None, expected))
    python = Path(settings.user_python)
    if not python.exists():
        expected = "a Python every account can run, with calib installed (make hub-env, or --user-python PATH)"
        problems.append(Problem(str(python), None, None, None, expected))
    else:
        for target in (python, settings.state):
            blocked = enterable(target)
            if blocked is not None:
                expected = f"a folder other accounts can pass through, on the way to {target}: chmod o+x {blocked}"
                problems.append(Problem(str(blocked), None, None, None, expected))
    return problems
