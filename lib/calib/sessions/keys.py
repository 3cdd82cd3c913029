"""The session key: when one is configured, new sessions chain their events with HMAC-SHA256.

Without a key the chain is plain SHA-256: anyone with write access to the store can rewrite an
event and recompute every hash after it. With a key, recomputing needs the key, which the store
never holds. The key comes from the environment variable CALIB_SESSION_KEY or from the file the
config names (`sessions: {key_file: PATH}`, relative to the config's folder, readable only by its
owner); the variable wins when both are set. It is never printed: messages name its source and its
id, a one-way digest of it (HMAC of a fixed label), which is also what a session records.

A session's hashing is fixed when it is created and written into its `open` event (`from`):
empty for plain SHA-256 (every session written before keys existed), `hmac-sha256:ID` for a key.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from calib.inputs.config import CycleConfig
from calib.sessions.errors import StoreError

ENV = "CALIB_SESSION_KEY"
MIN_LENGTH = 16  # bytes: `python -c "import secrets; print(secrets.token_hex(32))"` gives 64
KEYED = "hmac-sha256:"  # the open event's `from` for a keyed session, followed by the key's id
ID_LABEL = b"calib session key id"


@dataclass(frozen=True)
class SessionKey:
    """A key and where it came from (the environment variable or a file); `secret` is never shown."""

    secret: bytes = field(repr=False)
    source: str

    @property
    def id(self) -> str:
        """A one-way digest of the key (16 hex digits): names it without revealing it."""
        return hmac.new(self.secret, ID_LABEL, hashlib.sha256).hexdigest()[:16]

    @property
    def mode(self) -> str:
        """What a session hashed with this key records: `hmac-sha256:ID`."""
        return KEYED + self.id


def resolve_key(config: CycleConfig | None, environ: Mapping[str, str]) -> SessionKey | None:
    """The configured key: CALIB_SESSION_KEY in `environ`, else the config's `sessions.key_file`, else None.

    Raises
    ------
    StoreError
        The key is too short, or the key file is missing, unreadable or readable by others.
    """
    value = environ.get(ENV)
    if value:
        return _checked(value.encode("utf-8").strip(), ENV)
    configured = config.sessions.key_file if config is not None else None
    if not configured:
        return None
    return read_key_file((config.base_dir / Path(configured).expanduser()).resolve())


def read_key_file(path: Path) -> SessionKey:
    """A key file's key (surrounding whitespace stripped), refused unless only its owner can read it."""
    shown = f"session key file {path}"
    try:
        info = path.stat()
    except FileNotFoundError:
        raise StoreError(f"{shown}: no such file (sessions.key_file in the config)") from None
    except OSError as exc:
        raise StoreError(f"{shown}: cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise StoreError(f"{shown}: not a file")
    if info.st_mode & 0o077:
        raise StoreError(
            f"{shown} can be read by others (mode {stat.S_IMODE(info.st_mode):04o}): run `chmod 600 {path}`"
        )
    try:
        secret = path.read_bytes().strip()
    except OSError as exc:
        raise StoreError(f"{shown}: cannot be read ({exc.strerror})") from None
    return _checked(secret, str(path))


def session_mode(open_from: str | None) -> str | None:
    """The key id a session was created with (from its open event's `from`), or None: plain SHA-256."""
    if open_from and open_from.startswith(KEYED):
        return open_from[len(KEYED) :]
    return None


def secret_for(key_id: str | None, key: SessionKey | None, session: str) -> bytes | None:
    """The secret to chain a session with: None for plain SHA-256, else the configured key if it is
    the session's; a one-line refusal when the session is keyed and no key, or another, is configured."""
    if key_id is None:
        return None
    if key is None:
        raise StoreError(
            f"session {session} is hashed with a key (id {key_id}) and none is configured: set {ENV} "
            "or sessions.key_file in the config"
        )
    if key.id != key_id:
        raise StoreError(
            f"session {session} is hashed with the key id {key_id}, but the configured key ({key.source}) "
            f"has the id {key.id}: configure the key it was created with"
        )
    return key.secret


def _checked(secret: bytes, source: str) -> SessionKey:
    if len(secret) < MIN_LENGTH:
        raise StoreError(
            f"session key from {source}: {len(secret)} bytes, at least {MIN_LENGTH} expected "
            '(e.g. `python -c "import secrets; print(secrets.token_hex(32))"`)'
        )
    return SessionKey(secret, source)


def environment() -> Mapping[str, str]:
    """The process environment, where CALIB_SESSION_KEY is looked up (read at the edge, once per open)."""
    return os.environ
