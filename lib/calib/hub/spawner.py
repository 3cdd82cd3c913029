"""The Spawner: each role's app, started where it belongs, its folder prepared by the privileged side first.

| role | app | runs as | reads |
|---|---|---|---|
| manager | the team explorer (Voila, calib.hub.singleuser) | their own account | their folder: their cut only |
| analyst | JupyterLab (jupyterhub-singleuser) | their own account | their folder: a copy of the cycle |
| facilitator | the meeting (Voila) on `--session` | the hub's account | the inputs and the session store |
| operator | nothing: they start and stop others' servers | | |

`plan` decides (pure: tested without a hub); `CalibSpawner` is JupyterHub's LocalProcessSpawner
doing what the plan says, and records every start and stop in the audit log.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field

from jupyterhub.spawner import LocalProcessSpawner
from tornado import web

from calib.hub import audit
from calib.hub.auth import identity_of
from calib.hub.singleuser import PUBLIC_HOST, TEMPLATES
from calib.hub.users import Identity
from calib.hub.workspace import HubSettings, Workspace, prepare_analyst, prepare_facilitator, prepare_manager

OPERATOR_HAS_NO_SERVER = "Operators start and stop other people's servers; they have none of their own."


@dataclass(frozen=True)
class Plan:
    """How to start one person's server."""

    cmd: list[str]
    own_account: bool  # run under the person's account (else the hub's)
    env: dict[str, str] = field(default_factory=dict)
    default_url: str = ""


SESSION_SECRETS = ("CALIB_SESSION_KEY",)  # the meeting needs the session's key; no other server gets it


def plan(settings: HubSettings, who: Identity, workspace: Workspace, environ: Mapping[str, str] | None = None) -> Plan:
    """The command, account and environment of `who`'s server (pure but for reading `environ`, the hub's own)."""
    environ = os.environ if environ is None else environ
    env = {PUBLIC_HOST: settings.public_host}
    if workspace.templates is not None:
        env[TEMPLATES] = str(workspace.templates)
    if who.role == "manager":
        return Plan([settings.user_python, "-m", "calib.hub.singleuser", str(workspace.notebook)], True, env)
    if who.role == "facilitator":
        env |= {name: environ[name] for name in SESSION_SECRETS if name in environ}
        return Plan([sys.executable, "-m", "calib.hub.singleuser", str(workspace.notebook)], False, env)
    if who.role == "analyst":
        return Plan([settings.user_python, "-m", "jupyterhub.singleuser"], True, env, "/lab")
    raise web.HTTPError(403, OPERATOR_HAS_NO_SERVER)


PREPARE = {"manager": prepare_manager, "facilitator": prepare_facilitator, "analyst": prepare_analyst}


class CalibSpawner(LocalProcessSpawner):
    """LocalProcessSpawner following `plan` (`settings` is set by calib.hub.launch)."""

    settings: HubSettings
    _plan: Plan | None = None

    async def identity(self) -> Identity:
        """The server owner's identity, asked again now (USERS.yml and the provider's kept claims)."""
        state = await self.user.get_auth_state()
        who = identity_of(self.settings, self.user.name, {"auth_state": state})
        if who is None:
            raise web.HTTPError(403, f"{self.user.name} has no role here any more (USERS.yml or the groups changed)")
        return who

    async def start(self):
        who = await self.identity()
        if who.role == "operator":
            raise web.HTTPError(403, OPERATOR_HAS_NO_SERVER)
        workspace = await asyncio.to_thread(PREPARE[who.role], self.settings, who)
        self._plan = plan(self.settings, who, workspace)
        self.cmd = self._plan.cmd
        self.default_url = self._plan.default_url
        self.notebook_dir = str(workspace.folder)
        audit.record(
            self.settings.private, "server-start", who.name, role=who.role, scope=who.scope, by=self.started_by()
        )
        address = await super().start()
        await self.listening(*address)
        return address

    async def listening(self, host: str, port: int, every: float = 0.05) -> None:
        """Return once the server accepts connections (or exited, or `http_timeout` passed).

        JupyterHub then finds it up at its first look: it looks again only after growing pauses
        (0.2 s, 0.4 s, 0.8 s ... with jitter), which cost up to a second and a half of every start.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.http_timeout
        while loop.time() < deadline and self.proc is not None and self.proc.poll() is None:
            try:
                _, writer = await asyncio.open_connection(host, port)
            except OSError:
                await asyncio.sleep(every)
                continue
            writer.close()
            return

    async def stop(self, now: bool = False):
        await super().stop(now=now)
        try:
            who = await self.identity()
            audit.record(
                self.settings.private, "server-stop", who.name, role=who.role, scope=who.scope, by=self.started_by()
            )
        except web.HTTPError:
            audit.record(self.settings.private, "server-stop", self.user.name)

    def started_by(self) -> str | None:
        """The signed-in user who asked, when it is not the owner (an operator)."""
        handler = getattr(self, "handler", None)
        current = getattr(handler, "current_user", None) if handler is not None else None
        name = getattr(current, "name", None)
        return name if name and name != self.user.name else None

    def get_args(self) -> list[str]:
        if self._plan is not None and self._plan.cmd[2:3] == ["calib.hub.singleuser"]:
            return []  # Voila takes its address and prefix from JupyterHub's environment
        return super().get_args()

    def get_env(self) -> dict[str, str]:
        env = super().get_env()
        if self._plan is not None:
            env.update(self._plan.env)
        return env

    def make_preexec_fn(self, name: str):
        if self._plan is not None and self._plan.own_account:
            return super().make_preexec_fn(name)
        return _in_hub_folder(str(self.notebook_dir))

    def user_env(self, env: dict[str, str]) -> dict[str, str]:
        if self._plan is not None and self._plan.own_account:
            return super().user_env(env)
        env["USER"] = self.user.name
        env["HOME"] = str(self.notebook_dir)
        return env


def _in_hub_folder(folder: str):
    """A preexec_fn that stays the hub's account and starts in `folder`."""

    def preexec() -> None:
        os.chdir(folder)

    return preexec
