"""Sign-in: the machine's accounts (PAM) or the company's OpenID Connect provider, each with the role check.

Both authenticators are JupyterHub's own (PAMAuthenticator; oauthenticator's GenericOAuthenticator,
which serves Entra ID, Google, Okta, Keycloak, Auth0 and any OIDC provider), with one addition
each: `check_allowed` asks calib.hub.users.identify who the person is here. Someone who signed in
but has no role gets a 403 page with one line saying so (and the refusal is audited); otherwise
the sign-in is audited. The Spawner asks the same question again when a server starts, from
USERS.yml and the provider's claims kept in JupyterHub's encrypted auth state. The workbench
stores no password, and nobody signs themselves up.
"""

from __future__ import annotations

import json
import urllib.request
from functools import cache
from typing import Any

from jupyterhub.auth import PAMAuthenticator
from oauthenticator.generic import GenericOAuthenticator
from tornado import web

from calib.hub import audit
from calib.hub.users import NO_ROLE, Identity, UsersFile, identify, load_users
from calib.hub.workspace import HubSettings


def identity_of(settings: HubSettings, username: str, auth_model: dict | None) -> Identity | None:
    """Who `username` is here, from USERS.yml and what the provider said (the auth state's `oauth_user`).

    Asked at sign-in and again each time a server starts (a provider's claims may change meanwhile:
    oauthenticator refreshes the auth state from the provider).
    """
    users = users_file(settings)
    user_info = ((auth_model or {}).get("auth_state") or {}).get("oauth_user") or {}
    groups = user_info.get(users.sign_in.groups_claim) or []
    if isinstance(groups, str):
        groups = [groups]
    return identify(users, username, groups=groups, claims=user_info, employee_by_email=emails(settings))


class RoleCheck:
    """The role check both authenticators share (a mixin: `settings` is set by calib.hub.launch)."""

    settings: HubSettings

    async def check_allowed(self, username: str, auth_model: dict | None = None) -> bool:
        if auth_model is None:  # a check of an existing user at hub start: allowed if still in USERS.yml
            return username in users_file(self.settings).users
        who = identity_of(self.settings, username, auth_model)
        if who is None:
            audit.record(self.settings.private, "refused", username, detail="signed in, no role")
            raise web.HTTPError(403, NO_ROLE)
        audit.record(self.settings.private, "sign-in", username, role=who.role, scope=who.scope)
        return True


class CalibPAMAuthenticator(RoleCheck, PAMAuthenticator):
    """The machine's own accounts (PAM), for the hub on one machine."""


class CalibOIDCAuthenticator(RoleCheck, GenericOAuthenticator):
    """The company's OpenID Connect provider; the role comes from USERS.yml or the groups claim."""


def oidc_settings(users: UsersFile, callback_url: str) -> dict[str, Any]:
    """GenericOAuthenticator's settings from USERS.yml's `sign_in:` and the provider's discovery document."""
    sign_in = users.sign_in
    discovery = discover(str(sign_in.issuer))
    return {
        "client_id": sign_in.client_id,
        "client_secret": sign_in.client_secret,
        "authorize_url": discovery["authorization_endpoint"],
        "token_url": discovery["token_endpoint"],
        "userdata_url": discovery["userinfo_endpoint"],
        "oauth_callback_url": callback_url,
        "username_claim": sign_in.username_claim,
        "scope": list(sign_in.scopes),
        "login_service": "your company's sign-in",
        "enable_pkce": True,
    }


def discover(issuer: str) -> dict[str, Any]:
    """The provider's OpenID configuration (`ISSUER/.well-known/openid-configuration`)."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    with urllib.request.urlopen(url, timeout=30) as answer:
        return json.loads(answer.read().decode("utf-8"))


@cache
def users_file(settings: HubSettings) -> UsersFile:
    """USERS.yml as the hub read it at start (its secrets from the hub's environment)."""
    return load_users(settings.users_file)


@cache
def people(settings: HubSettings):
    """The people input, read and checked once (the hub's account is its only reader)."""
    from calib.delivery.sources import load_cycle
    from calib.inputs.config import load_config

    config = load_config(settings.config)
    alone = config.model_copy(update={"inputs": {"people": config.inputs["people"]}})
    return load_cycle(alone)["people"]


@cache
def emails(settings: HubSettings) -> dict[str, str]:
    """Lower-cased e-mail -> employee_id from the people input (for managers the provider names by e-mail)."""
    found = people(settings)
    if "email" not in found.columns:
        return {}
    pairs = zip(found["employee_id"].astype(str), found["email"].astype(str).str.strip().str.lower(), strict=True)
    return {email: employee_id for employee_id, email in pairs if email and email not in ("nan", "<na>")}
