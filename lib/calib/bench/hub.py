"""`python -m calib.bench.hub`: sign-in to a drawn explorer through a real `calib hub` (issue 18).

The hub harness (system accounts, a private copy of the sample org, `calib hub` in a subprocess,
signing in) lives here, shared with tests/test_hub.py. The benchmark, in chromium, from the click
on "Sign in" to the explorer's chart drawn, for one manager:
- the first time: their cut not cached (removed after the hub started), their server stopped;
- with the cut cached and the server stopped (signed out, server stopped by the hub's API);
- with the server running (a second sign-in while it runs).
Targets (issue 18): 10 s, 6 s and 3 s (measured on a loaded machine before: 17-18 s, 9.9 s, 5.5 s).
Figures are printed, never asserted: machines are shared. Needs root (it makes a system account).
"""

from __future__ import annotations

import json
import os
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

import requests

from calib.bench.dashboard import free_port
from calib.files import SAMPLE_DIR, SOURCE_TREE

PROXY = SOURCE_TREE / ".hub-node" / "node_modules" / ".bin" / "configurable-http-proxy"
USER_PYTHON = Path(os.environ.get("CALIB_HUB_PYTHON", "/opt/calib/venv/bin/python"))
READY = "JupyterHub is now running"
SAMPLE = SAMPLE_DIR


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
    passwords: dict[str, str] = field(default_factory=dict)

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




# -- the benchmark ------------------------------------------------------------------------------------
MANAGER = ("cbbench", "E0049")
TARGETS = {"first time": 10.0, "cut cached, server stopped": 6.0, "server running": 3.0}
BEFORE = {"first time": "17-18 s", "cut cached, server stopped": "9.9 s", "server running": "5.5 s"}


def browser_sign_in(browser, hub: Hub, name: str) -> float:
    """Seconds from the click on "Sign in" to the explorer's chart drawn."""
    from calib.bench.dashboard import CHART

    page = browser.page
    page.goto(f"{hub.url}/hub/login", wait_until="domcontentloaded", timeout=120_000)
    page.fill("#username_input", name)
    page.fill("#password_input", hub.passwords[name])
    started = time.perf_counter()
    page.click("#login_submit")
    page.wait_for_selector(CHART, timeout=600_000)
    return time.perf_counter() - started


def stop_server(hub: Hub, name: str) -> None:
    """Stop a person's server through the hub's API (as its owner) and wait until it is gone."""
    session, _ = sign_in(hub, name, hub.passwords[name])
    session.delete(f"{hub.url}/hub/api/users/{name}/server", headers={"X-XSRFToken": xsrf(session)}, timeout=300)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        model = session.get(f"{hub.url}/hub/api/users/{name}", headers={"X-XSRFToken": xsrf(session)}, timeout=60)
        if not model.json().get("servers"):
            return
        time.sleep(0.5)


def timings(repeat: int = 3) -> dict[str, list[float]]:
    """Sign-in to a drawn explorer, each case `repeat` times (see the module docstring)."""
    from calib.bench.dashboard import chromium

    name, employee_id = MANAGER
    out: dict[str, list[float]] = {case: [] for case in TARGETS}
    folder = scratch()
    try:
        config = private_org(folder / "org")
        users = {"users": {name: {"role": "manager", "employee_id": employee_id}}}
        with accounts(name) as made, running_hub(config, users, folder) as hub:
            hub.passwords = made.passwords
            for _ in range(repeat):
                for cut in (hub.state / "hub" / "cache").glob("explorer-*"):
                    shutil.rmtree(cut)  # as for a manager the hub met for the first time
                with chromium() as browser:
                    out["first time"].append(browser_sign_in(browser, hub, name))
                with chromium() as browser:
                    out["server running"].append(browser_sign_in(browser, hub, name))
                stop_server(hub, name)
                with chromium() as browser:
                    out["cut cached, server stopped"].append(browser_sign_in(browser, hub, name))
                stop_server(hub, name)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return out


def run() -> list[str]:
    """The figures, one line each, beside their targets and the figures before."""
    lines = ["Benchmark: calib hub, sign-in to a drawn explorer (chromium, one manager, best and median of 3)"]
    if os.geteuid() != 0 or not PROXY.exists() or not USER_PYTHON.exists():
        return [*lines, "  skipped: needs root, make hub-node and make hub-env (as in CI)"]
    import statistics

    for case, seconds in timings().items():
        lines.append(
            f"  {case}: best {min(seconds):.1f} s, median {statistics.median(seconds):.1f} s "
            f"(target <= {TARGETS[case]:.0f} s; before: {BEFORE[case]})"
        )
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
