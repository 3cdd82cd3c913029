"""`calib hub` for real: sign-in through PAM with system accounts, each role's app, the access matrix, the OS scope.

One hub (JupyterHub, configurable-http-proxy, people's servers under their own accounts) serves the
module; a second hub signs people in through an OpenID Connect provider with a groups claim.
See tests/hub_support.py for what is started and why nothing is mocked.
"""

from __future__ import annotations

import asyncio
import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from hub_support import (
    USER_PYTHON,
    accounts,
    cookie_header,
    kernel_id,
    private_org,
    require_root_and_tools,
    running_hub,
    scratch,
    server_page,
    sign_in,
    start_provider,
    xsrf,
)

from calib.hub.users import NO_ROLE

pytestmark = [pytest.mark.hub, pytest.mark.slow]

ROOT = Path(__file__).parent.parent
SESSION = "q3-eng"
USERS = {
    "users": {
        "cbfran": {"role": "facilitator"},
        "cbfred": {"role": "facilitator"},
        "cbomar": {"role": "manager", "employee_id": "E0049"},
        "cbmia": {"role": "manager", "employee_id": "E0016"},
        "cbana": {"role": "analyst"},
        "cbopal": {"role": "operator"},
    }
}
NO_ROLE_USER = "cbnora"  # a system account USERS.yml does not name
SERVERS = ("cbfran", "cbomar", "cbmia", "cbana")


@pytest.fixture(scope="module")
def hub():
    require_root_and_tools()
    folder = scratch()
    config = private_org(folder / "org")
    with accounts(*USERS["users"], NO_ROLE_USER) as made:
        with running_hub(config, USERS, folder, session=SESSION) as running:
            running.passwords = made.passwords
            yield running


@pytest.fixture(scope="module")
def sessions(hub):
    """Everyone signed in once (and each role's server started), for the whole module."""
    signed = {}
    for name in [*USERS["users"], NO_ROLE_USER]:
        session, landed = sign_in(hub, name, hub.passwords[name])
        signed[name] = (session, landed)
    for owner in SERVERS:
        page = server_page(hub, signed[owner][0], owner)
        assert page.status_code == 200, (owner, page.status_code, page.url, hub.text()[-3000:])
    return signed


# -- landing -------------------------------------------------------------------------------------
def test_each_role_lands_on_its_app_and_a_stranger_gets_one_line(hub, sessions):
    landed = {name: answer for name, (_, answer) in sessions.items()}
    assert landed["cbopal"].url.endswith("/hub/admin") and landed["cbopal"].status_code == 200
    for name in ("cbfran", "cbomar", "cbana"):
        assert f"/user/{name}/" in landed[name].url or "spawn-pending" in landed[name].url, (name, landed[name].url)
    fran = server_page(hub, sessions["cbfran"][0], "cbfran")
    assert "<title>calibration_dashboard</title>" in fran.text
    omar = server_page(hub, sessions["cbomar"][0], "cbomar")
    assert "<title>team_explorer</title>" in omar.text
    ana = sessions["cbana"][0].get(f"{hub.url}/user/cbana/lab", timeout=120)
    assert ana.status_code == 200 and "JupyterLab" in ana.text
    nora = landed[NO_ROLE_USER]
    assert nora.status_code == 403 and NO_ROLE in nora.text
    assert not [c for c in sessions[NO_ROLE_USER][0].cookies if c.name == "jupyterhub-hub-login"]  # not signed in


# -- the access matrix -----------------------------------------------------------------------------
def page_cell(hub, session: requests.Session | None, owner: str) -> str:
    """What `session` gets at `owner`'s server page: 200, 302 (to the login page) or 403."""
    client = session or requests.Session()
    answer = client.get(f"{hub.url}/user/{owner}/", timeout=300)
    if answer.status_code == 200 and "/hub/login" in answer.url:
        return "302"
    if answer.status_code == 200 and kernel_id(answer.text) is None and "JupyterLab" not in answer.text:
        return f"200 (not the app: {answer.url})"
    return str(answer.status_code)


def websocket_cell(hub, session: requests.Session | None, owner: str, kernel: str) -> str:
    """The status of a kernel websocket to `owner`'s server, opened with `session`'s cookies: 101 or the refusal."""
    from tornado.httpclient import HTTPClientError, HTTPRequest
    from tornado.websocket import websocket_connect

    async def connect() -> str:
        url = f"ws://127.0.0.1:{hub.port}/user/{owner}/api/kernels/{kernel}/channels"
        headers = {"Origin": hub.url, **cookie_header(session)}
        try:
            socket = await websocket_connect(HTTPRequest(url, headers=headers, request_timeout=60))
        except HTTPClientError as exc:
            return str(exc.code)
        socket.close()
        return "101"

    return asyncio.run(connect())


def api_cells(hub, session: requests.Session | None) -> dict[str, str]:
    """The hub's API: list people, stop and start cbmia's server."""
    client = session or requests.Session()
    headers = {"X-XSRFToken": xsrf(client)} if session is not None else {}
    listed = client.get(f"{hub.url}/hub/api/users", headers=headers, timeout=60).status_code
    stopped = client.delete(f"{hub.url}/hub/api/users/cbmia/server", headers=headers, timeout=120).status_code
    started = client.post(f"{hub.url}/hub/api/users/cbmia/server", headers=headers, timeout=300).status_code
    return {"api: list users": str(listed), "api: stop cbmia": str(stopped), "api: start cbmia": str(started)}


EXPECTED_PAGES = {  # requester -> owner -> status
    "anonymous": dict.fromkeys(SERVERS, "302"),
    "cbfran": {"cbfran": "200", "cbomar": "403", "cbmia": "403", "cbana": "403"},
    "cbomar": {"cbfran": "403", "cbomar": "200", "cbmia": "403", "cbana": "403"},
    "cbmia": {"cbfran": "403", "cbomar": "403", "cbmia": "200", "cbana": "403"},
    "cbana": {"cbfran": "403", "cbomar": "403", "cbmia": "403", "cbana": "200"},
    NO_ROLE_USER: dict.fromkeys(SERVERS, "302"),  # never signed in: the login page
    "cbopal": dict.fromkeys(SERVERS, "403"),  # admin:servers without access:servers
}
EXPECTED_API = {  # list people, stop cbmia's server, start it: 404 where a person may not even see cbmia
    "anonymous": ("403", "403", "403"),
    "cbfran": ("403", "404", "404"),
    "cbomar": ("403", "404", "404"),
    "cbmia": ("403", "204", "201|202"),  # their own server
    "cbana": ("403", "404", "404"),
    NO_ROLE_USER: ("403", "403", "403"),
    "cbopal": ("200", "204", "201|202"),  # may start and stop servers, not enter them
}


def test_the_access_matrix(hub, sessions):
    clients = {"anonymous": None, **{name: sessions[name][0] for name in EXPECTED_PAGES if name != "anonymous"}}
    kernels = {}
    for owner in ("cbfran", "cbomar", "cbmia"):  # Voila servers: their page's kernel
        kernels[owner] = kernel_id(server_page(hub, sessions[owner][0], owner).text)
        assert kernels[owner], owner
    rows = {
        requester: {f"page {o}": page_cell(hub, client, o) for o in SERVERS}
        | {f"kernel ws {o}": websocket_cell(hub, client, o, k) for o, k in kernels.items()}
        for requester, client in clients.items()
    }
    for requester, client in clients.items():  # last: stopping and starting cbmia's server changes the pages
        rows[requester] |= api_cells(hub, client)
        server_page(hub, sessions["cbmia"][0], "cbmia")  # running again before the next one tries
    table, failures = [], []
    for requester, row in rows.items():
        table.append((requester, row))
        expected = {f"page {o}": v for o, v in EXPECTED_PAGES[requester].items()}
        expected |= {f"kernel ws {o}": "101" if o == requester else "403" for o in kernels}
        expected |= dict(zip(("api: list users", "api: stop cbmia", "api: start cbmia"), EXPECTED_API[requester],
                             strict=True))
        for cell, want in expected.items():
            if row[cell] not in want.split("|"):
                failures.append(f"{requester} x {cell}: {row[cell]}, expected {want}")
    columns = list(table[0][1])
    print("\n| requester | " + " | ".join(columns) + " |")
    for requester, row in table:
        print(f"| {requester} | " + " | ".join(row[c] for c in columns) + " |")
    assert not failures, "\n".join(failures)


# -- the operating system's scope -------------------------------------------------------------------
def owner_of(pid: int) -> str:
    return subprocess.run(["ps", "-o", "user=", "-p", str(pid)], capture_output=True, text=True).stdout.strip()


def servers_of(command_part: str) -> list[tuple[str, str]]:
    listing = subprocess.run(["ps", "-ww", "-eo", "user:20,args"], capture_output=True, text=True).stdout.splitlines()
    return [(line.split(None, 1)[0], line.split(None, 1)[1]) for line in listing if command_part in line]


def test_a_managers_server_runs_as_them_and_cannot_read_the_org(hub, sessions):
    mine = [user for user, args in servers_of("calib.hub.singleuser") if "/users/cbomar/" in args]
    assert mine == ["cbomar"]
    assert [user for user, args in servers_of("ipykernel") if "cbomar" == user]  # its kernels too
    meeting = [user for user, args in servers_of("calib.hub.singleuser") if "/meetings/cbfran/" in args]
    assert meeting == ["root"]  # the meeting reads the org and writes the store: the hub's account
    private = [
        hub.config,
        hub.config.parent / "people.csv",
        hub.config.parent / "reviews.csv",
        Path(hub.store),
        hub.state / "hub" / "jupyterhub_cookie_secret",
        hub.state / "hub" / "jupyterhub_crypt_key",
        hub.state / "hub" / "jupyterhub.sqlite",
        hub.state / "hub" / "audit.jsonl",
        hub.state / "hub" / "cache",
        hub.state / "hub" / "meetings",
        hub.state / "users",  # may pass through to their own folder, never list who else has one
        hub.state / "users" / "cbmia" / "snapshot" / "manifest.json",
    ]
    probe = (
        "import json, sys\n"
        "out = {}\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        __import__('os').listdir(path) if __import__('os').path.isdir(path) else open(path, 'rb').read(1)\n"
        "        out[path] = 'read'\n"
        "    except PermissionError:\n"
        "        out[path] = 'denied'\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run(
        ["runuser", "-u", "cbomar", "--", str(USER_PYTHON), "-c", probe, *map(str, private)],
        capture_output=True, text=True, check=True,
    )
    assert set(json.loads(done.stdout).values()) == {"denied"}, done.stdout
    own = subprocess.run(
        ["runuser", "-u", "cbomar", "--", str(USER_PYTHON), "-c", probe,
         str(hub.state / "users" / "cbomar" / "snapshot" / "manifest.json")],
        capture_output=True, text=True, check=True,
    )
    assert set(json.loads(own.stdout).values()) == {"read"}  # the control: their own cut
    snapshot = hub.state / "users" / "cbomar" / "snapshot"
    people = {row["employee_id"] for row in csv.DictReader(open(ROOT / "data_samples" / "people.csv"))}
    import pandas as pd

    cut = set(pd.read_parquet(snapshot / "people.parquet")["employee_id"].astype(str))
    assert len(cut) < 20 and cut < people  # a handful of people, not the org


def test_the_audit_log_says_who_opened_what_and_when(hub, sessions):
    done = subprocess.run(
        [sys.executable, "-m", "calib.cli", "audit", "--state", str(hub.state), "--format", "json"],
        capture_output=True, text=True, check=True,
    )
    events = [json.loads(line) for line in done.stdout.splitlines()]
    kinds = {(e["event"], e["user"]) for e in events}
    for name in USERS["users"]:
        assert ("sign-in", name) in kinds, name
    for name in SERVERS:
        assert ("server-start", name) in kinds, name
    assert ("refused", NO_ROLE_USER) in kinds
    omar = next(e for e in events if e["user"] == "cbomar" and e["event"] == "sign-in")
    assert omar["role"] == "manager" and omar["scope"] == "manager:E0049"
    table = subprocess.run(
        [sys.executable, "-m", "calib.cli", "audit", "--state", str(hub.state), "--user", "cbomar"],
        capture_output=True, text=True, check=True,
    ).stdout
    assert table.splitlines()[0].split() [:3] == ["when", "(UTC)", "event"] and "cbfran" not in table


# -- in chromium ----------------------------------------------------------------------------------------
def browser_sign_in(browser, hub, name: str) -> None:
    page = browser.page
    page.goto(f"{hub.url}/hub/login", wait_until="domcontentloaded", timeout=120_000)
    page.fill("#username_input", name)
    page.fill("#password_input", hub.passwords[name])
    page.click("#login_submit")


def test_a_manager_signs_in_and_sees_only_their_people(hub, sessions):
    from calib.bench.dashboard import CHART, chromium

    people = list(csv.DictReader(open(ROOT / "data_samples" / "people.csv", encoding="utf-8")))
    outsiders = {r["name"] for r in people if "E0049" not in (r["employee_id"], r["manager_id"])}
    with chromium() as browser:
        browser_sign_in(browser, hub, "cbomar")
        browser.page.wait_for_selector(CHART, timeout=300_000)
        header = browser.page.inner_text(".calib-header")
        assert "Omar Fernandes's people (9)" in header
        html = browser.page.content()
        assert not [n for n in outsiders if n in html]
        assert not browser.external and not browser.errors, (browser.external, browser.errors)


def record_a_change(browser, hub, name: str, reason: str) -> None:
    """Sign in as a facilitator and record a rating change for the person the queue offers first."""
    from calib.bench.dashboard import CHART, wait_until

    page = browser.page
    browser_sign_in(browser, hub, name)
    page.wait_for_selector(CHART, timeout=300_000)
    assert f"facilitator {name}" in page.inner_text(".calib-header")
    current = page.locator(".calib-rating select").input_value()
    options = [o for o in page.locator(".calib-rating option").all_inner_texts() if o.replace("\xa0", " ") != current]
    page.locator(".calib-rating select").select_option(label=options[0])
    page.locator(".calib-reason textarea").fill(reason)
    page.locator("button.calib-record").click()
    status = page.locator(".calib-status").first
    wait_until(lambda: ": recorded rating " in status.inner_text(), 120, "the change to be recorded")


def test_two_facilitators_record_changes_under_their_signed_in_names(hub, sessions):
    from calib.bench.dashboard import chromium

    changes = (("cbfran", "two design docs and the on-call rewrite"), ("cbfred", "the migration's postmortem"))
    for name, reason in changes:
        with chromium() as browser:  # each in their own browser; both servers keep running on the one session
            record_a_change(browser, hub, name, reason)
    log = subprocess.run(
        [sys.executable, "-m", "calib.cli", "session", "log", str(hub.config), "--session", SESSION,
         "--store", hub.store, "--format", "json"],
        capture_output=True, text=True, check=True,
    )
    events = json.loads(log.stdout)["events"]
    ratings = [(e["author"], e["reason"]) for e in events if e["kind"] == "rating"]
    assert ("cbfran", "two design docs and the on-call rewrite") in ratings
    assert ("cbfred", "the migration's postmortem") in ratings
    assert {e["author"] for e in events if e["kind"] != "open"} <= {"cbfran", "cbfred"}


# -- the company's sign-in (OpenID Connect) ----------------------------------------------------------------
OIDC_PEOPLE = {
    "omar.f": {"preferred_username": "cbomar", "email": "omar@example.org", "groups": ["calib-managers"],
               "employee_id": "E0049"},
    "mia.k": {"preferred_username": "cbmia", "email": "", "groups": ["calib-managers", "staff"]},
    "ana.l": {"preferred_username": "cbana", "groups": ["calib-analysts"]},
    "zed.x": {"preferred_username": "cbzed", "groups": ["staff"]},
}


def oidc_sign_in(hub, issuer: str, who: str) -> tuple[requests.Session, requests.Response]:
    session = requests.Session()
    session.get(f"{issuer}/login-as", params={"user": who}, timeout=30)  # the provider's own login
    answer = session.get(f"{hub.url}/hub/oauth_login", timeout=600)
    return session, answer


def test_the_company_sign_in_takes_roles_from_the_groups_claim(tmp_path):
    require_root_and_tools()
    folder = scratch()
    config = private_org(folder / "org", emails=True)
    handles = {r["employee_id"]: r["handle"] for r in csv.DictReader(open(config.parent / "people.csv"))}
    people = json.loads(json.dumps(OIDC_PEOPLE))
    people["mia.k"]["email"] = f"{handles['E0016']}@example.com"  # named by e-mail in the people file
    provider, issuer, _ = start_provider(people, folder)
    users = {
        "users": {},
        "sign_in": {"provider": "oidc", "issuer": issuer, "client_id": "calib", "client_secret": "${CALIB_OIDC_SECRET}",
                    "employee_id_claim": "employee_id"},
        "groups": {"calib-managers": "manager", "calib-analysts": "analyst"},
    }
    secret = "s3cret-" + "x" * 20
    try:
        with accounts("cbomar", "cbmia", "cbana", "cbzed"), running_hub(
            config, users, folder, extra_env={"CALIB_OIDC_SECRET": secret}
        ) as oidc_hub:
            assert secret not in oidc_hub.text()
            omar, _ = oidc_sign_in(oidc_hub, issuer, "omar.f")
            page = server_page(oidc_hub, omar, "cbomar")
            assert page.status_code == 200 and "<title>team_explorer</title>" in page.text
            manifest = json.loads((oidc_hub.state / "users" / "cbomar" / "snapshot" / "manifest.json").read_text())
            assert manifest["manager_id"] == "E0049"  # from the employee_id claim
            mia, _ = oidc_sign_in(oidc_hub, issuer, "mia.k")
            assert server_page(oidc_hub, mia, "cbmia").status_code == 200
            manifest = json.loads((oidc_hub.state / "users" / "cbmia" / "snapshot" / "manifest.json").read_text())
            assert manifest["manager_id"] == "E0016"  # from the people file's e-mail
            assert omar.get(f"{oidc_hub.url}/user/cbmia/", timeout=120).status_code == 403
            _, zed = oidc_sign_in(oidc_hub, issuer, "zed.x")
            assert zed.status_code == 403 and NO_ROLE in zed.text
            audit = (oidc_hub.state / "hub" / "audit.jsonl").read_text()
            assert '"event": "refused", "user": "cbzed"' in audit and secret not in audit
    finally:
        provider.kill()


# -- refusing to start ----------------------------------------------------------------------------------
def test_the_hub_refuses_to_start_with_one_line_per_problem():
    require_root_and_tools()
    folder = scratch()
    config = private_org(folder / "org")
    (config.parent / "people.csv").chmod(0o644)
    (config.parent / "reviews.csv").chmod(0o640)
    users = {"users": {"cbomar": {"role": "manager", "employee_id": "E0049"},
                       "cbghost": {"role": "analyst"},
                       "cbmia": {"role": "manager", "employee_id": "E0025"}}}
    (folder / "users.yml").write_text(json.dumps(users))
    with accounts("cbomar", "cbmia"):
        done = subprocess.run(
            [sys.executable, "-m", "calib.cli", "hub", str(config), "--users", str(folder / "users.yml"),
             "--state", str(folder / "state"), "--user-python", str(USER_PYTHON), "--port", "1"],
            capture_output=True, text=True, timeout=600, check=False, cwd=folder,
        )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    people, reviews = config.parent / "people.csv", config.parent / "reviews.csv"
    assert done.stderr.splitlines() == [
        f"error: {people}: expected input people readable by the hub's account alone, but other accounts can "
        f"read it (mode 0644): chmod 600 {people}",
        f"error: {reviews}: expected input reviews readable by the hub's account alone, but other accounts can "
        f"read it (mode 0640): chmod 600 {reviews}",
        f"error: {folder / 'users.yml'}, key users.cbghost: expected a system account named cbghost to sign in "
        "with, but there is none: useradd --create-home cbghost",
        f"error: {folder / 'users.yml'}, key users.cbmia.employee_id: value 'E0025': expected a manager, but nobody "
        "reports to E0025 in the people input",
        "4 error(s); nothing was written.",
    ]
    assert not (folder / "state" / "jupyterhub.sqlite").exists()


def test_users_yml_mistakes_are_one_line_each(tmp_path):
    from calib.errors import ConfigError
    from calib.hub.users import load_users

    path = tmp_path / "users.yml"
    for text, line in (
        ("users:\n  Omar: {role: manager, employee_id: E1}\n", "users.Omar"),
        ("users:\n  omar: {role: boss}\n", "users.omar.role"),
        ("users:\n  omar: {role: manager}\n", "users.omar.employee_id"),
        ("users: {}\n", "key users"),
        ("sign_in: {provider: oidc}\ngroups: {g: analyst}\n", "sign_in.issuer"),
    ):
        path.write_text(text)
        with pytest.raises(ConfigError) as refused:
            load_users(path)
        assert line in str(refused.value) and str(path) in str(refused.value)
    path.write_text("sign_in: {provider: oidc, issuer: x, client_id: c, client_secret: '${NOT_SET_HERE}'}\n")
    from calib.errors import UsageError

    with pytest.raises(UsageError, match="NOT_SET_HERE is not set"):
        load_users(path, environ={})
    assert re.search(r"ask its facilitator", NO_ROLE)
