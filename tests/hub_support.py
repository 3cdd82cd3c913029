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
import subprocess
from pathlib import Path

import pytest
import requests

from calib.bench.dashboard import free_port, wait_until
from calib.bench.hub import (  # noqa: F401 (the harness the tests use, shared with the benchmark)
    PROXY,
    USER_PYTHON,
    Accounts,
    Hub,
    accounts,
    private_org,
    running_hub,
    scratch,
    server_page,
    sign_in,
    xsrf,
)

ROOT = Path(__file__).parent.parent
NODE_MODULES = ROOT / ".hub-node" / "node_modules"


def require_root_and_tools() -> None:
    """Fail (never skip) with what is missing."""
    if os.geteuid() != 0:
        pytest.fail("the hub's tests create system accounts and start servers under them: run them as root (CI does)")
    if not PROXY.exists():
        pytest.fail(f"{PROXY} is missing: run `make hub-node` (npm)")
    if not USER_PYTHON.exists():
        pytest.fail(f"{USER_PYTHON} is missing: run `make hub-env` (a Python every account can run)")


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
