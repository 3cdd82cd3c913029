"""`calib hub CONFIG --users USERS.yml`: check, prepare, then run JupyterHub and its proxy in front of everything.

1. USERS.yml and the cycle config are read; every guard of calib.hub.guards runs (one line per
   problem, exit 1, nothing started).
2. The privileged side warms what people will open: the dashboard's analysis (facilitators) and
   the cut of every manager USERS.yml names, so a first sign-in starts a server, not an analysis.
3. The hub's secrets are made in its state folder, readable by its account alone: the cookie
   secret (JupyterHub), the key that encrypts each person's auth state (kept across restarts),
   and a fresh token between the hub and its proxy (every start). None is printed.
4. JupyterHub runs in this process with `configure` applied (its config file, in the state folder,
   is two lines calling it); configurable-http-proxy is its proxy, on 127.0.0.1 unless `--host`.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
from dataclasses import asdict
from pathlib import Path

from calib.errors import ConfigError, UsageError
from calib.hub.workspace import PRIVATE_DIR, HubSettings

SETTINGS_FILE = "hub-settings.json"
CONFIG_FILE = "jupyterhub_config.py"
CRYPT_KEY_FILE = "jupyterhub_crypt_key"
PROXY_ENV = "CALIB_HUB_PROXY"  # where configurable-http-proxy is, when it is not found by itself
PROXY_NAME = "configurable-http-proxy"
NODE_PREFIX = ".hub-node"  # `make hub-node` installs the proxy here (package.json in calib/hub/node)
DEFAULT_USER_PYTHON = "/opt/calib/venv/bin/python"  # `make hub-env` (as root) builds it there
OPERATOR_SCOPES = ["admin:servers", "admin-ui", "list:users", "read:users", "read:servers"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_proxy(given: str | None = None) -> str:
    """configurable-http-proxy: `given`, $CALIB_HUB_PROXY, the project's `make hub-node`, or PATH."""
    from calib.files import SOURCE_TREE

    for candidate in (
        given,
        os.environ.get(PROXY_ENV),
        str(SOURCE_TREE / NODE_PREFIX / "node_modules" / ".bin" / PROXY_NAME),
    ):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(PROXY_NAME)
    if found:
        return found
    raise UsageError(f"{PROXY_NAME} is missing: run `make hub-node` (npm), or give --proxy PATH")


def private_file(path: Path, make) -> str:
    """The content of a secret file readable by this account alone, made by `make()` when missing."""
    if not path.exists():
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(handle, "w") as out:
            out.write(make())
    path.chmod(0o600)
    return path.read_text().strip()


def configure(c, settings_path: str) -> None:
    """Fill JupyterHub's config `c` from the settings `calib hub` wrote (what its config file calls)."""
    from calib.hub.auth import CalibOIDCAuthenticator, CalibPAMAuthenticator, oidc_settings, users_file
    from calib.hub.spawner import CalibSpawner

    raw = json.loads(Path(settings_path).read_text(encoding="utf-8"))
    settings = HubSettings(**{k: Path(v) if k in ("config", "users_file", "state") else v for k, v in raw.items()})
    users = users_file(settings)
    private = settings.private
    shown = f"[{settings.public_host}]" if ":" in settings.public_host else settings.public_host
    c.JupyterHub.bind_url = f"http://{shown}:{settings.port}/"
    c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{free_port()}"
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{free_port()}"
    c.ConfigurableHTTPProxy.command = [os.environ[PROXY_ENV]]
    c.ConfigurableHTTPProxy.should_start = True
    c.JupyterHub.db_url = f"sqlite:///{private / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(private / "jupyterhub_cookie_secret")
    c.JupyterHub.cleanup_servers = True
    c.JupyterHub.spawner_class = CalibSpawner
    CalibSpawner.settings = settings
    c.Spawner.http_timeout = 180
    c.Spawner.start_timeout = 600
    c.Authenticator.enable_auth_state = True
    c.Authenticator.admin_users = set()
    c.Authenticator.allow_all = False
    if users.embedded:
        CalibPAMAuthenticator.settings = settings
        c.JupyterHub.authenticator_class = CalibPAMAuthenticator
        c.Authenticator.allowed_users = set(users.users)
        c.PAMAuthenticator.open_sessions = False  # no login session (systemd-logind) is needed for a server
    else:
        CalibOIDCAuthenticator.settings = settings
        c.JupyterHub.authenticator_class = CalibOIDCAuthenticator
        for key, value in oidc_settings(users, f"http://{shown}:{settings.port}/hub/oauth_callback").items():
            setattr(c.GenericOAuthenticator, key, value)
        c.GenericOAuthenticator.allowed_users = set(users.users)
    operators = [name for name, entry in users.users.items() if entry.role == "operator"]
    operator_groups = [group for group, role in users.groups.items() if role == "operator"]
    c.JupyterHub.load_roles = [
        {"name": "calib-operator", "scopes": OPERATOR_SCOPES, "users": operators, "groups": operator_groups}
    ]
    c.JupyterHub.default_url = landing


def landing(handler) -> str:
    """Where a signed-in person lands: an operator on the admin page, everyone else on their own server."""
    from calib.hub.auth import users_file
    from calib.hub.spawner import CalibSpawner

    user = handler.current_user
    if user is None:
        return "/hub/login"
    entry = users_file(CalibSpawner.settings).users.get(user.name)
    if (entry is not None and entry.role == "operator") or any(r.name == "calib-operator" for r in user.roles):
        return "/hub/admin"
    return f"/hub/spawn/{user.name}"


def check(settings: HubSettings) -> None:
    """Every guard at once; raises ConfigError with one line per problem."""
    from calib.hub.auth import people, users_file
    from calib.hub.guards import account_problems, file_problems, host_problems, manager_problems

    users = users_file(settings)
    problems = [
        *file_problems(settings),
        *account_problems(users),
        *manager_problems(users, people(settings)),
        *host_problems(settings, users),
    ]
    if problems:
        raise ConfigError(problems)


def warm(settings: HubSettings, log=print) -> None:
    """The facilitators' analysis and every listed manager's cut, made now rather than at a first sign-in."""
    from calib.apps.explorer.serve import prepare
    from calib.apps.offline import enable_offline_charts
    from calib.apps.serve import ensure_analysis
    from calib.hub.auth import users_file
    from calib.hub.workspace import started_session

    users = users_file(settings)
    if settings.session or any(e.role == "facilitator" for e in users.users.values()):
        ensure_analysis(settings.config, settings.cache, log=log)
    session = started_session(settings)
    for entry in users.users.values():
        if entry.role == "manager" and entry.employee_id:
            prepare(
                settings.config,
                entry.employee_id,
                settings.cache,
                log=lambda *_: None,
                session=session,
                store=settings.store,
            )
    enable_offline_charts(settings.cache / "assets")  # the chart bundle, built once


def cli_hub(args: argparse.Namespace) -> int:
    """`calib hub CONFIG --users USERS.yml [--port] [--host] [--session] [--store] [--state] ...`."""
    from calib.apps.access import allowed_hosts
    from calib.hub.auth import users_file
    from calib.inputs.config import load_config
    from calib.sessions.engine import resolve_store

    try:
        allowed_hosts(args.host)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    config_path = Path(args.config).resolve()
    config = load_config(config_path)
    os.umask(0o077)  # whatever the hub and JupyterHub write (database, caches, logs) is the hub's alone
    state = Path(args.state).resolve()
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o711)  # people's servers pass through to their own folder; nobody lists it
    private = state / PRIVATE_DIR
    private.mkdir(mode=0o700, exist_ok=True)
    private.chmod(0o700)
    # the session store: --store, else the config's, else one in the hub's own folder
    store = args.store or (resolve_store(config) if config.sessions.store else str(private / "sessions.sqlite"))
    settings = HubSettings(
        config=config_path,
        users_file=Path(args.users).resolve(),
        state=state,
        session=args.session,
        store=store,
        user_python=args.user_python or os.environ.get("CALIB_HUB_PYTHON", DEFAULT_USER_PYTHON),
        public_host=args.host,
        port=args.port,
    )
    users = users_file(settings)
    if "://" not in store and not Path(store).exists():  # a new SQLite store: the hub's alone from the start
        Path(store).parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(store, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    if args.session:
        from calib.sessions import open_session

        open_session(config, args.session, store=store, by="calib hub").close()  # a bad store: one line, now
    check(settings)
    proxy = find_proxy(args.proxy)
    warm(settings, log=lambda message: print(message, flush=True))
    os.environ["JUPYTERHUB_CRYPT_KEY"] = private_file(private / CRYPT_KEY_FILE, lambda: secrets.token_hex(32))
    os.environ["CONFIGPROXY_AUTH_TOKEN"] = secrets.token_hex(32)
    os.environ[PROXY_ENV] = proxy
    write_private(
        private / SETTINGS_FILE,
        json.dumps({k: str(v) if isinstance(v, Path) else v for k, v in asdict(settings).items()}, indent=2),
    )
    calls = f"from calib.hub.launch import configure\nconfigure(c, {str(private / SETTINGS_FILE)!r})\n"
    write_private(private / CONFIG_FILE, calls)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    how = "the machine's accounts" if users.embedded else "your company's sign-in"
    print(f"Calibration hub for {args.config}: http://{shown}:{args.port}/ (sign in with {how})", flush=True)
    from jupyterhub.app import JupyterHub

    JupyterHub.launch_instance(argv=["-f", str(private / CONFIG_FILE)])
    return 0


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path`, readable by this account alone."""
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(text)
    path.chmod(0o600)


def cli_cut(args: argparse.Namespace) -> int:
    """`calib cut CONFIG --manager ID --out DIR`: one manager's explorer, ready to serve, for an init container."""
    from calib.hub.workspace import write_cut

    os.umask(0o077)
    out = Path(args.out).resolve()
    if args.store and not args.session:
        raise UsageError("--store names where a session is kept: give --session too")
    workspace = write_cut(
        Path(args.config).resolve(), args.manager, out, Path(args.cache).resolve(), args.session, args.store
    )
    shown = f" with session {args.session}'s ratings" if args.session else ""
    serve = f"python -m calib.hub.singleuser {workspace.notebook}"
    print(f"Wrote {args.manager}'s cut{shown} to {out}: serve it with {serve}")
    return 0
