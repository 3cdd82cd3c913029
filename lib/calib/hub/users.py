"""USERS.yml: who may sign in to the hub, as what, and through which sign-in (pure, but for reading the file).

```yaml
users:                         # by sign-in name (the machine's account, or the provider's username)
  fran: {role: facilitator}
  omar: {role: manager, employee_id: E0049}
  ana:  {role: analyst}
  opal: {role: operator}
sign_in:                       # optional: the company's OpenID Connect provider (default: the machine's accounts)
  provider: oidc
  issuer: https://login.example.com/realms/acme        # its discovery document names the endpoints
  client_id: calib
  client_secret: ${CALIB_OIDC_SECRET}                   # ${VAR}: from the hub's environment, never written down
  username_claim: preferred_username
  groups_claim: groups
  employee_id_claim: employee_id                        # optional; else the people file's email column
groups:                        # with OIDC: a provider group -> a role
  calib-facilitators: facilitator
  calib-managers: manager
```

A person has one role. An entry under `users:` wins; otherwise the first of their groups in the
order facilitator, analyst, manager, operator. A manager's employee id comes from `users:`, else
from the provider's claim, else from the people file's `email`. Nobody else is let in.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from calib.errors import ConfigError, Problem, UsageError

Role = Literal["facilitator", "manager", "analyst", "operator"]
PRECEDENCE: tuple[Role, ...] = ("facilitator", "analyst", "manager", "operator")
APPS: dict[str, str] = {  # what each role lands on
    "facilitator": "the calibration meeting",
    "manager": "their team's explorer",
    "analyst": "JupyterLab with the notebooks",
    "operator": "the hub's admin page (start and stop servers; no one's server)",
}
NAME = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")  # a sign-in name that is also a valid Unix account name
VARIABLE = re.compile(r"\$\{(\w+)\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UserEntry(_Strict):
    role: Role
    employee_id: str | None = None


class SignIn(_Strict):
    provider: Literal["pam", "oidc"] = "pam"
    issuer: str | None = None
    client_id: str | None = None
    client_secret: str | None = Field(default=None, repr=False)
    username_claim: str = "preferred_username"
    groups_claim: str = "groups"
    employee_id_claim: str | None = None
    email_claim: str = "email"
    scopes: list[str] = ["openid", "profile", "email"]


class UsersFile(_Strict):
    users: dict[str, UserEntry] = {}
    sign_in: SignIn = SignIn()
    groups: dict[str, Role] = {}
    source: Path | None = None

    @property
    def embedded(self) -> bool:
        """Whether people sign in with the machine's own accounts (PAM)."""
        return self.sign_in.provider == "pam"


@dataclass(frozen=True)
class Identity:
    """Who a signed-in person is to the workbench: their role and, for a manager, whose people they see."""

    name: str
    role: Role
    employee_id: str | None = None

    @property
    def scope(self) -> str:
        """What the role may read, as the audit log records it."""
        if self.role == "manager":
            return f"manager:{self.employee_id}"
        return {"facilitator": "session", "analyst": "cycle", "operator": "hub"}[self.role]


def load_users(path: str | Path, environ: Mapping[str, str] | None = None) -> UsersFile:
    """Read and check USERS.yml; `${VAR}` is taken from `environ` (default: the process's).

    Raises
    ------
    ConfigError
        One problem per mistake, naming the file and the key (a secret's value is never shown).
    """
    path = Path(path)
    shown = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError([Problem(shown, None, None, None, "a users file (YAML): no such file")]) from None
    except IsADirectoryError:
        raise ConfigError([Problem(shown, None, None, None, "a users file (YAML), not a folder")]) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        raise ConfigError([Problem(shown, None if line is None else line + 1, None, None, "valid YAML")]) from None
    if not isinstance(raw, dict):
        raise ConfigError([Problem(shown, None, None, None, "a mapping with users: (and sign_in:, groups:)")])
    raw = expand(raw, os.environ if environ is None else environ, shown)
    try:
        users = UsersFile.model_validate({**raw, "source": path.resolve()})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            value = None if "secret" in key or isinstance(err.get("input"), dict | list) else err.get("input")
            expected = err["msg"].removeprefix("Value error, ").removeprefix("Input should be ")
            problems.append(
                Problem(shown, None, key, None if value is None else str(value), expected, column_label="key")
            )
        raise ConfigError(problems) from None
    wrong = [name for name in users.users if not NAME.match(name)]
    if wrong:
        raise ConfigError(
            [
                Problem(shown, None, f"users.{name}", None, "a sign-in name in lower case (letters, digits, _ . -)",
                        column_label="key")
                for name in wrong
            ]
        )
    if not users.users and not users.groups:
        raise ConfigError(
            [Problem(shown, None, "users", None, "at least one user (or groups: with OIDC)", column_label="key")]
        )
    if users.sign_in.provider == "oidc":
        missing = [k for k in ("issuer", "client_id", "client_secret") if not getattr(users.sign_in, k)]
        if missing:
            raise ConfigError(
                [
                    Problem(shown, None, f"sign_in.{k}", None, "this key (OIDC needs it)", column_label="key")
                    for k in missing
                ]
            )
    for name, entry in users.users.items():
        if entry.role == "manager" and not entry.employee_id and users.embedded:
            raise ConfigError(
                [
                    Problem(
                        shown, None, f"users.{name}.employee_id", None, "the manager's employee_id", column_label="key"
                    )
                ]
            )
    return users


def expand(value: Any, environ: Mapping[str, str], shown: str) -> Any:
    """`${VAR}` replaced from `environ` in every string of a YAML tree; an unset variable is one line."""
    if isinstance(value, dict):
        return {k: expand(v, environ, shown) for k, v in value.items()}
    if isinstance(value, list):
        return [expand(v, environ, shown) for v in value]
    if isinstance(value, str):

        def lookup(match: re.Match) -> str:
            if match.group(1) not in environ:
                raise UsageError(f"{shown}: the environment variable {match.group(1)} is not set")
            return environ[match.group(1)]

        return VARIABLE.sub(lookup, value)
    return value


def identify(
    users: UsersFile,
    name: str,
    *,
    groups: Iterable[str] = (),
    claims: Mapping[str, Any] | None = None,
    employee_by_email: Mapping[str, str] | None = None,
) -> Identity | None:
    """The identity of a signed-in `name` (None: no role here).

    Parameters
    ----------
    groups, claims
        What the identity provider said (OIDC); empty for the machine's accounts.
    employee_by_email
        Lower-cased e-mail -> employee_id, from the people file, for managers whose provider sends
        no employee id claim.
    """
    claims = claims or {}
    entry = users.users.get(name)
    if entry is not None:
        role, employee_id = entry.role, entry.employee_id
    else:
        roles = {users.groups[g] for g in groups if g in users.groups}
        role = next((r for r in PRECEDENCE if r in roles), None)
        if role is None:
            return None
        employee_id = None
    if role == "manager" and not employee_id:
        claim = users.sign_in.employee_id_claim
        employee_id = str(claims[claim]) if claim and claims.get(claim) else None
        email = str(claims.get(users.sign_in.email_claim) or "").strip().lower()
        if employee_id is None and email and employee_by_email:
            employee_id = employee_by_email.get(email)
        if employee_id is None:
            return None
    return Identity(name, role, employee_id if role == "manager" else None)


NO_ROLE = "Your sign-in worked, but you have no role in this calibration workbench: ask its facilitator to add you."
