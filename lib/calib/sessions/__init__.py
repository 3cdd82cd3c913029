"""Calibration sessions: the changes a calibration meeting makes, kept in an append-only, hash-chained log.

A session belongs to a cycle and a scope (the whole cycle, an org, or a manager's subtree), has a
name, is open until it is locked, and records every rating and potential change (from, to, reason,
author, time), flag for discussion, "discussed" mark, note and the lock as one event each. The
current state is derived from the log, never stored beside it.

This package owns:
- `events`: event kinds, their canonical content and the hash chain (pure);
- `state`: the current state derived from a list of events (pure);
- `changes`: which events a requested change becomes, or why it is refused (pure);
- `verify`: recomputing the chain and naming the first broken event (pure);
- `engine`: where the store is, and engines for a SQLite file (WAL, BEGIN IMMEDIATE) or a
  PostgreSQL URL;
- `store`: the SQLAlchemy Core tables and the locked read-check-append transaction;
- `triggers`: the append-only triggers, in each dialect's SQL;
- `roster`: who can be calibrated in a session (reviews of the cycle, the scope's people);
- `table`: the session as one row per person in scope (pure);
- `session`: `CalibrationSession`, the front door for the CLI, the dashboard and the report;
- `export`: the reviews input written back with the calibrated ratings, plus the log;
- `cli`: the `calib session ...` subcommands.

It imports calib.errors, calib.files and calib.inputs only, never the analyses, the report, the
dashboard or the server (an import contract checks it). The names below load lazily: the
dashboard imports `events` and `state` at start, and must not pay for the store and the delivery
engine (SQLAlchemy, Ibis: seconds) unless a session is opened.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from calib.sessions.errors import SessionError, StaleVersionError, StoreError
    from calib.sessions.events import Event
    from calib.sessions.session import CalibrationSession, list_sessions, open_session
    from calib.sessions.state import PersonState, SessionState, derive_state
    from calib.sessions.verify import Verification, verify_chain

_LAZY = {  # name -> module
    "CalibrationSession": "calib.sessions.session",
    "Event": "calib.sessions.events",
    "PersonState": "calib.sessions.state",
    "SessionError": "calib.sessions.errors",
    "SessionState": "calib.sessions.state",
    "StaleVersionError": "calib.sessions.errors",
    "StoreError": "calib.sessions.errors",
    "Verification": "calib.sessions.verify",
    "derive_state": "calib.sessions.state",
    "list_sessions": "calib.sessions.session",
    "open_session": "calib.sessions.session",
    "verify_chain": "calib.sessions.verify",
}

__all__ = [
    "CalibrationSession",
    "Event",
    "PersonState",
    "SessionError",
    "SessionState",
    "StaleVersionError",
    "StoreError",
    "Verification",
    "derive_state",
    "list_sessions",
    "open_session",
    "verify_chain",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'calib.sessions' has no attribute {name!r}")
