"""A real hub for the tests: system accounts, a private copy of the sample org, `calib hub` in a subprocess.

Everything is real: accounts made with `useradd` (the tests run as root, as CI does), PAM checking
their passwords, JupyterHub with configurable-http-proxy from npm (`make hub-node`), people's
servers started under their own accounts with the Python `make hub-env` built, and, for the
company sign-in, an OpenID Connect provider (tests/oidc_provider.mjs, npm's oauth2-mock-server).
Nothing is skipped: without root, the proxy or that Python the tests fail saying what is missing.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from calib.bench.dashboard import free_port, wait_until

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "data_samples"
NODE_MODULES = ROOT / ".hub-node" / "node_modules"
PROXY = NODE_MODULES / ".bin" / "configurable-http-proxy"
USER_PYTHON = Path(os.environ.get("CALIB_HUB_PYTHON", "/opt/calib/venv/bin/python"))
READY = "JupyterHub is now running"


def require_root_and_tools() -> None:
    """Fail (never skip) with what is missing."""
    if os.geteuid() != 0:
        pytest.fail("the hub's tests create system accounts and start servers under them: run them as root (CI does)")
    if not PROXY.exists():
        pytest.fail(f"{PROXY} is missing: run `make hub-node` (npm)")
    if not USER_PYTHON.exists():
        pytest.fail(f"{USER_PYTHON} is missing: run `make hub-env` (a Python every account can run)")


@dataclass
class Accounts:
    """System accounts made for the tests, and their passwords."""

    passwords: dict[str, str] = field(default_factory=dict)

    def add(self, name: str) -> str:
        if subprocess.run(["id", name], capture_output=True, check=False).returncode != 0:
            subprocess.run(
                ["useradd", "--create-home", "--shell", "/usr/sbin/nologin", name], check=True, capture_output=True
            )
        password = secrets.token_urlsafe(12)
        subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True, capture_output=True)
        self.passwords[name] = password
        return password

    def remove_all(self) -> None:
        for name in self.passwords:
            subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True, check=False)
            subprocess.run(["userdel", "--remove", name], capture_output=True, check=False)


@contextmanager
def accounts(*names: str) -> Iterator[Accounts]:
    made = Accounts()
    try:
        for name in names:
            made.add(name)
        yield made
    finally:
        made.remove_all()


def private_org(target: Path, *, emails: bool = False) -> Path:
    """A copy of the sample org readable by root alone (the hub refuses anything else); its config."""
    shutil.copytree(SAMPLE, target)
    if emails:  # the company sign-in can name a manager by e-mail: give the people file one
        people = (target / "people.csv").read_text(encoding="utf-8").splitlines()
        header = people[0].split(",")
        handle = header.index("handle")
        rows = [people[0] + ",email"] + [f"{line},{line.split(',')[handle]}@example.com" for line in people[1:]]
        (target / "people.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    target.chmod(0o700)
    for path in target.rglob("*"):
        path.chmod(0o700 if path.is_dir() else 0o600)
    return target / "cycle.yml"


def scratch() -> Path:
    """A folder under /tmp that other accounts can pass through (pytest's tmp_path is root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="calib-hub-", dir="/tmp"))
    folder.chmod(0o711)
    return folder


@dataclass
class Hub:
    process: subprocess.Popen
    port: int
    log: Path
    state: Path
    config: Path
    store: str

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def text(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def running_hub(config: Path, users: dict, folder: Path, *, session: str | None = None,
                extra_env: dict[str, str] | None = None) -> Iterator[Hub]:
    """`calib hub CONFIG --users USERS.yml` in a subprocess, stopped (with every server) on exit."""
    users_file = folder / "users.yml"
    users_file.write_text(json.dumps(users), encoding="utf-8")  # JSON is YAML
    users_file.chmod(0o600)
    state = folder / "state"
    port = free_port()
    log = folder / f"hub-{port}.log"
    argv = [sys.executable, "-m", "calib.cli", "hub", str(config), "--users", str(users_file), "--port", str(port),
            "--state", str(state), "--proxy", str(PROXY), "--user-python", str(USER_PYTHON)]
    if session:
        argv += ["--session", session]
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OPENBLAS_NUM_THREADS": "1", **(extra_env or {})}
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, cwd=folder, stdout=out, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True)
    hub = Hub(process, port, log, state, config, str(state / "hub" / "sessions.sqlite"))
    try:
        deadline = time.monotonic() + 600
        while READY not in hub.text():
            if process.poll() is not None:
                raise RuntimeError(f"calib hub exited ({process.returncode}):\n{hub.text()[-4000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"calib hub did not start:\n{hub.text()[-4000:]}")
            time.sleep(0.5)
        yield hub
    finally:
        for sig, grace in ((signal.SIGTERM, 30), (signal.SIGKILL, 5)):
            try:
                os.killpg(process.pid, sig)
                process.wait(timeout=grace)
                break
            except (ProcessLookupError, subprocess.TimeoutExpired):
                continue


def sign_in(hub: Hub, name: str, password: str) -> tuple[requests.Session, requests.Response]:
    """Sign in on the hub's login page with the machine's account; the session and the page it lands on."""
    session = requests.Session()
    session.get(f"{hub.url}/hub/login", timeout=60)
    answer = session.post(
        f"{hub.url}/hub/login?next=",
        data={"username": name, "password": password, "_xsrf": xsrf(session)},
        timeout=600,
    )
    return session, answer


def xsrf(session: requests.Session) -> str:
    """The hub's _xsrf cookie (a person's server sets one of its own, under its own path)."""
    return next(c.value for c in session.cookies if c.name == "_xsrf" and c.path.startswith("/hub"))


def server_page(hub: Hub, session: requests.Session, owner: str, *, timeout: float = 300) -> requests.Response:
    """Open `owner`'s server as `session`, waiting while it starts; the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        answer = session.get(f"{hub.url}/user/{owner}/", timeout=300)
        pending = "spawn-pending" in answer.url or "Your server is starting up" in answer.text
        if not pending or time.monotonic() > deadline:
            return answer
        time.sleep(1)


def kernel_id(page: str) -> str | None:
    found = re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', page)
    return found.group(1) if found else None


def cookie_header(session: requests.Session | None) -> dict[str, str]:
    if session is None:
        return {}
    return {"Cookie": "; ".join(f"{c.name}={c.value}" for c in session.cookies)}


def start_provider(people: dict[str, dict], folder: Path) -> tuple[subprocess.Popen, str, Path]:
    """tests/oidc_provider.mjs on a free port: the process, its issuer URL and its log."""
    port = free_port()
    log = folder / f"oidc-{port}.log"
    env = {
        **os.environ,
        "OIDC_PORT": str(port),
        "OIDC_PEOPLE": json.dumps(people),
        "OIDC_MODULE": (NODE_MODULES / "oauth2-mock-server" / "dist" / "index.mjs").as_uri(),
    }
    with open(log, "wb") as out:
        process = subprocess.Popen(["node", str(ROOT / "tests" / "oidc_provider.mjs")], stdout=out,
                                   stderr=subprocess.STDOUT, env=env, start_new_session=True)
    wait_until(lambda: "OpenID Connect provider at" in log.read_text(errors="replace"), 60, "the OIDC provider")
    return process, f"http://127.0.0.1:{port}", log
