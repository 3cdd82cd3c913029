"""Session events: their kinds, their canonical content and the hash chain that links them.

Each event's hash is SHA-256 over the previous event's hash and the canonical JSON of the event's
content (sorted keys, no whitespace, UTF-8, text verbatim); for a session created with a key
(calib.sessions.keys) it is HMAC-SHA256 of the same bytes under that key. Changing any stored field
of any event, removing one or reordering them breaks the chain from that event on
(calib.sessions.verify); with a key, so does recomputing the chain without it. The hashing does not
depend on the event's kind: a new kind needs only its name in KINDS (and its meaning in state).
Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import asdict, dataclass
from typing import Any, Literal

import pandas as pd

from calib.sessions.text import printable

EventKind = Literal[
    "open", "rating", "potential", "undo_rating", "undo_potential", "flag", "discussed", "note", "lock"
]
KINDS: tuple[EventKind, ...] = (
    "open", "rating", "potential", "undo_rating", "undo_potential", "flag", "discussed", "note", "lock"
)
VERSIONED: tuple[EventKind, ...] = ("rating", "potential", "undo_rating", "undo_potential")  # each bumps the version
UNDOES: dict[str, str] = {"undo_rating": "rating", "undo_potential": "potential"}  # undo kind -> what it sets back
TOGGLES: tuple[EventKind, ...] = ("flag", "discussed")  # to_value "on" or "off" (no value: "on", as first written)
ON, OFF = "on", "off"
ABOUT_A_PERSON: tuple[EventKind, ...] = (
    "rating", "potential", "undo_rating", "undo_potential", "flag", "discussed", "note"
)
GENESIS = "0" * 64  # the "previous hash" of a session's first event
HASH_FORMAT = 1  # bump when the canonical content changes; stored in every hash's input


@dataclass(frozen=True)
class Draft:
    """An event before the store gives it a place in the log (seq), a time and its hashes."""

    kind: EventKind
    author: str
    employee_id: str | None = None
    from_value: str | None = None
    to_value: str | None = None
    base_version: int | None = None  # the person's version the change was based on
    version: int | None = None  # the person's version after this change
    reason: str = ""


@dataclass(frozen=True)
class Event:
    """One row of a session's log.

    `at` is UTC ISO 8601 (microseconds, `Z`). For a rating or potential change, `from_value` and
    `to_value` are the labels before and after and `version` is the person's version after it; an
    undo (`undo_rating`, `undo_potential`) is a change like them that sets back the person's last
    change, never deleting it (calib.sessions.state.active_changes says which). A flag or discussed
    mark is a toggle: `from_value` -> `to_value` is `off` -> `on` or `on` -> `off` (events written
    before toggles carry neither and mean `on`). For the `open` event, `to_value` is the scope; for
    a note, `reason` holds the note's text.
    """

    cycle: str
    session: str
    seq: int
    kind: EventKind
    author: str
    at: str
    employee_id: str | None
    from_value: str | None
    to_value: str | None
    base_version: int | None
    version: int | None
    reason: str
    prev_hash: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        """Every field, for JSON output."""
        return asdict(self)

    def describe(self) -> str:
        """A short human description: `event 7 (rating of E0042 by Ana, 2026-11-29 10:14 UTC)`."""
        about = f" of {printable(self.employee_id)}" if self.employee_id else ""
        return f"event {self.seq} ({printable(self.kind)}{about} by {printable(self.author)}, {when(self.at)})"


def content(
    *, cycle: str, session: str, seq: int, draft: Draft | Event, at: str
) -> dict[str, Any]:
    """The fields an event's hash covers: everything stored except the hashes themselves."""
    return {
        "format": HASH_FORMAT,
        "cycle": cycle,
        "session": session,
        "seq": seq,
        "kind": draft.kind,
        "author": draft.author,
        "at": at,
        "employee_id": draft.employee_id,
        "from": draft.from_value,
        "to": draft.to_value,
        "base_version": draft.base_version,
        "version": draft.version,
        "reason": draft.reason,
    }


def canonical_json(fields: dict[str, Any]) -> bytes:
    """Sorted keys, no whitespace, non-ASCII text as itself, UTF-8."""
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def chain_hash(prev_hash: str, fields: dict[str, Any], secret: bytes | None = None) -> str:
    """SHA-256 (hex) of the previous hash, a newline and the canonical content; HMAC-SHA256 under
    `secret` when the session is keyed."""
    message = prev_hash.encode("ascii") + b"\n" + canonical_json(fields)
    if secret is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def seal(
    draft: Draft, *, cycle: str, session: str, seq: int, at: str, prev_hash: str, secret: bytes | None = None
) -> Event:
    """Give a draft its place in the log and its hashes (keyed with `secret` when the session is)."""
    fields = content(cycle=cycle, session=session, seq=seq, draft=draft, at=at)
    return Event(
        cycle=cycle,
        session=session,
        seq=seq,
        kind=draft.kind,
        author=draft.author,
        at=at,
        employee_id=draft.employee_id,
        from_value=draft.from_value,
        to_value=draft.to_value,
        base_version=draft.base_version,
        version=draft.version,
        reason=draft.reason,
        prev_hash=prev_hash,
        hash=chain_hash(prev_hash, fields, secret),
    )


def expected_hash(event: Event, secret: bytes | None = None) -> str:
    """The hash an event should carry, given its stored content, stored previous hash and the session's key."""
    fields = content(cycle=event.cycle, session=event.session, seq=event.seq, draft=event, at=event.at)
    return chain_hash(event.prev_hash, fields, secret)


def utc_now() -> str:
    """Now, UTC, ISO 8601 with microseconds and `Z`."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def when(at: str) -> str:
    """A stored time as people read it: `2026-11-29 10:14 UTC`."""
    try:
        moment = dt.datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(dt.UTC)
    except ValueError:
        return printable(at)
    return moment.strftime("%Y-%m-%d %H:%M UTC")


LOG_COLUMNS = [
    "cycle",
    "session",
    "seq",
    "at",
    "author",
    "kind",
    "employee_id",
    "from",
    "to",
    "base_version",
    "version",
    "reason",
    "prev_hash",
    "hash",
]


def log_frame(events: list[Event]) -> pd.DataFrame:
    """The log as a table, one row per event (LOG_COLUMNS); versions as nullable integers."""
    rows = [
        {**event.as_dict(), "from": event.from_value, "to": event.to_value} for event in events
    ]
    frame = pd.DataFrame(rows, columns=[*LOG_COLUMNS]) if rows else pd.DataFrame(columns=LOG_COLUMNS)
    return frame[LOG_COLUMNS].astype({"seq": "int64", "base_version": "Int64", "version": "Int64"})
