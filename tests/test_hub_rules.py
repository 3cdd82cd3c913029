"""The hub's decisions as plain functions, without a hub: who someone is, what starts, the guards, the audit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from tornado import web

from calib.apps.voila import HUB_IDENTITY, voila_argv
from calib.hub import audit
from calib.hub.guards import enterable, exposed, file_problems, manager_problems
from calib.hub.spawner import OPERATOR_HAS_NO_SERVER, plan
from calib.hub.users import Identity, UsersFile, identify, load_users
from calib.hub.workspace import HubSettings, Workspace

ROOT = Path(__file__).parent.parent
SAMPLE = ROOT / "data_samples" / "cycle.yml"


def users(text: str, tmp_path: Path) -> UsersFile:
    path = tmp_path / "users.yml"
    path.write_text(text)
    return load_users(path, environ={"SECRET": "s3cr3t-value"})


def test_a_person_gets_one_role_from_users_yml_or_the_groups(tmp_path):
    listed = users(
        "users:\n  omar: {role: manager, employee_id: E0049}\n  ana: {role: analyst}\n"
        "sign_in: {provider: oidc, issuer: 'https://idp', client_id: c, client_secret: '${SECRET}', "
        "employee_id_claim: employee_id}\n"
        "groups: {calib-fac: facilitator, calib-mgr: manager, calib-ops: operator}\n",
        tmp_path,
    )
    assert identify(listed, "omar") == Identity("omar", "manager", "E0049")
    assert identify(listed, "ana", groups=["calib-fac"]) == Identity("ana", "analyst")  # users: wins
    assert identify(listed, "fran", groups=["calib-ops", "calib-fac"]) == Identity("fran", "facilitator")
    assert identify(listed, "mia", groups=["calib-mgr"], claims={"employee_id": "E0016"}).employee_id == "E0016"
    by_email = {"mia@example.com": "E0016"}
    claims = {"email": " Mia@Example.com"}
    mia = identify(listed, "mia", groups=["calib-mgr"], claims=claims, employee_by_email=by_email)
    assert mia == Identity("mia", "manager", "E0016")
    assert identify(listed, "mia", groups=["calib-mgr"], claims={"email": "x@y"}, employee_by_email=by_email) is None
    assert identify(listed, "zed", groups=["staff"]) is None
    assert listed.sign_in.client_secret == "s3cr3t-value" and "s3cr3t-value" not in repr(listed.sign_in)
    assert Identity("omar", "manager", "E1").scope == "manager:E1" and Identity("o", "operator").scope == "hub"


def test_each_role_starts_its_own_app_where_it_belongs(tmp_path):
    settings = HubSettings(SAMPLE, tmp_path / "u.yml", tmp_path, user_python="/opt/py", public_host="hub.example")
    space = Workspace(tmp_path / "f", tmp_path / "f" / "voila" / "nb.ipynb", tmp_path / "f" / "voila-template")
    environ = {"CALIB_SESSION_KEY": "k" * 32, "PATH": "/usr/bin"}
    manager = plan(settings, Identity("omar", "manager", "E0049"), space, environ)
    assert manager.cmd == ["/opt/py", "-m", "calib.hub.singleuser", str(space.notebook)] and manager.own_account
    assert manager.env["CALIB_HUB_HOST"] == "hub.example" and "CALIB_SESSION_KEY" not in manager.env
    facilitator = plan(settings, Identity("fran", "facilitator"), space, environ)
    assert facilitator.env["CALIB_SESSION_KEY"] == "k" * 32  # the meeting signs the session's events
    assert facilitator.cmd[0] == sys.executable and not facilitator.own_account  # the hub's: it writes the store
    analyst = plan(settings, Identity("ana", "analyst"), Workspace(tmp_path, None, None))
    assert analyst.cmd == ["/opt/py", "-m", "jupyterhub.singleuser"] and analyst.own_account
    assert analyst.default_url == "/lab"
    with pytest.raises(web.HTTPError) as refused:
        plan(settings, Identity("opal", "operator"), space)
    assert refused.value.status_code == 403 and refused.value.log_message == OPERATOR_HAS_NO_SERVER


def test_behind_the_hub_voila_asks_the_hubs_sign_in_and_no_token():
    flags = voila_argv(Path("nb.ipynb"), host="127.0.0.1", port=9, open_browser=False, hub_prefix="/user/omar/")
    values = dict(f.split("=", 1) for f in flags[1:])
    assert values["--Voila.identity_provider_class"] == HUB_IDENTITY
    assert values["--Voila.base_url"] == values["--Voila.server_url"] == "/user/omar/"
    assert "--Voila.token" not in values
    with pytest.raises(ValueError):
        voila_argv(Path("nb.ipynb"), host="127.0.0.1", port=9, open_browser=False, token="t", hub_prefix="/user/x/")


def test_the_guards_find_readable_data_and_managers_of_nobody(tmp_path):
    org = tmp_path / "org"
    org.mkdir()
    for name in ("people.csv", "reviews.csv"):
        (org / name).write_text("x")
        (org / name).chmod(0o600)
    assert exposed(org / "people.csv") is None
    (org / "people.csv").chmod(0o640)
    assert exposed(org / "people.csv") == "0640"
    settings = HubSettings(SAMPLE, tmp_path / "u.yml", tmp_path)
    shown = {p.file for p in file_problems(settings)}
    assert str(SAMPLE.parent / "people.csv") in shown  # the repository's sample is world-readable: refused
    people = pd.DataFrame({"employee_id": ["E1", "E2", "E3"], "manager_id": [None, "E1", "E2"]})
    listed = users("users:\n  a: {role: manager, employee_id: E1}\n  b: {role: manager, employee_id: E3}\n"
                   "  c: {role: manager, employee_id: E9}\n", tmp_path)
    problems = {p.column: p.expected for p in manager_problems(listed, people)}
    assert set(problems) == {"users.b.employee_id", "users.c.employee_id"}
    assert "nobody reports to E3" in problems["users.b.employee_id"]
    from calib.bench.hub import scratch

    closed = scratch() / "closed"  # under /tmp: pytest's own folder is closed to others already
    (closed / "inside").mkdir(parents=True)
    closed.chmod(0o700)
    assert enterable(closed / "inside") == closed
    closed.chmod(0o711)
    assert enterable(closed / "inside") is None


def test_the_audit_log_is_private_and_printed_safely(tmp_path):
    audit.record(tmp_path, "sign-in", "omar", role="manager", scope="manager:E0049")
    audit.record(tmp_path, "refused", "evil\x1b[2Jname", detail="signed in, no role")
    assert (tmp_path / audit.AUDIT_FILE).stat().st_mode & 0o777 == 0o600
    rows = list(audit.entries(tmp_path))
    assert [r.event for r in rows] == ["sign-in", "refused"] and list(audit.entries(tmp_path, "omar")) == rows[:1]
    shown = audit.table(rows)
    assert "\x1b" not in shown and "evil\\x1b[2Jname" in shown and "manager:E0049" in shown
    with pytest.raises(ValueError):
        audit.record(tmp_path, "deleted", "omar")


def test_calib_cut_writes_one_managers_explorer_and_nobody_else(tmp_path):
    out = tmp_path / "omar"
    done = subprocess.run(
        [sys.executable, "-m", "calib.cli", "cut", str(SAMPLE), "--manager", "E0049", "--out", str(out),
         "--cache", str(tmp_path / "cache")],
        capture_output=True, text=True, check=True, timeout=600,
    )
    assert "python -m calib.hub.singleuser" in done.stdout
    people = set(pd.read_parquet(out / "snapshot" / "people.parquet")["employee_id"].astype(str))
    everyone = pd.read_csv(SAMPLE.parent / "people.csv", dtype=str)
    mine = set(everyone.loc[everyone["manager_id"] == "E0049", "employee_id"]) | {"E0049"}
    assert people == mine
    notebook = json.loads((out / "voila" / "team_explorer.ipynb").read_text())
    injected = next(c for c in notebook["cells"] if "injected-parameters" in c["metadata"].get("tags", []))
    assert str(out / "snapshot") in "".join(injected["source"]) and str(SAMPLE) not in "".join(injected["source"])
    assert (out / "voila-template" / "voila" / "templates" / "calib" / "index.html.j2").is_file()
    assert all(oct(p.stat().st_mode & 0o077) == "0o0" for p in out.rglob("*")), "readable by others"
    assert os.stat(out).st_mode & 0o077 == 0


def test_the_hubs_session_reaches_managers_once_the_meeting_created_it(tmp_path):
    from calib.hub.workspace import started_session
    from calib.inputs.config import load_config
    from calib.sessions import open_session

    store = tmp_path / "sessions.sqlite"
    settings = HubSettings(SAMPLE, tmp_path / "u.yml", tmp_path, session="q3", store=str(store))
    open_session(load_config(SAMPLE), "q3", store=store, by="calib hub").close()  # as calib hub opens it
    assert started_session(settings) is None  # no change yet: managers see the reviews, where it starts
    with open_session(load_config(SAMPLE), "q3", store=store, by="fran") as session:
        session.set_rating("E0025", "Far exceeds", reason="the tracing rollout", by="fran")
    assert started_session(settings) == "q3"
    assert started_session(HubSettings(SAMPLE, tmp_path / "u.yml", tmp_path, store=str(store))) is None

def test_calib_cut_with_a_session_holds_the_sessions_ratings(tmp_path):
    from calib.apps.explorer import model, snapshot
    from calib.inputs.config import load_config
    from calib.sessions import open_session

    store = tmp_path / "sessions.sqlite"
    with open_session(load_config(SAMPLE), "q3", store=store, by="fran") as session:
        session.set_rating("E0025", "Far exceeds", reason="the tracing rollout", by="fran")
    command = [sys.executable, "-m", "calib.cli", "cut", str(SAMPLE), "--manager", "E0049",
               "--cache", str(tmp_path / "c")]
    done = subprocess.run(
        [*command, "--out", str(tmp_path / "omar"), "--session", "q3", "--store", str(store)],
        capture_output=True, text=True, check=True, timeout=600,
    )
    assert "with session q3's ratings" in done.stdout
    ratings = model.team_ratings(snapshot.load_scoped(tmp_path / "omar" / "snapshot")).set_index("employee_id")
    assert ratings.at["E0025", "2026-H1"].startswith("Far exceeds")
    refused = subprocess.run(
        [*command, "--out", str(tmp_path / "x"), "--store", str(store)], capture_output=True, text=True, timeout=600
    )
    assert refused.returncode == 1
    assert refused.stderr.strip() == "error: --store names where a session is kept: give --session too"
    assert not (tmp_path / "x").exists()
