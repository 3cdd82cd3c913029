"""Heads kept outside the store: the anchor file, and a head given by hand (`--head COUNT:HEX`).

Someone who can write to the store can cut events off a log's end and set the session's recorded
count and head back with them: the chain still checks out. What they cannot change is a head
written elsewhere. After every committed append the writer appends one JSON line to the anchor
file (`O_APPEND`, created 0600): the store, the session, its event count, the hash of its last
event and whether it is locked. The line is written after the commit, so an anchor may lag the
store (a writer killed between the two), never lead it; it is not fsynced (a line lost to a power
cut only lags too). `verify` checks the log against every line of its session: event COUNT must
exist and carry HASH. `lock` and `export` print the head and the export holds it, so it can be
kept further away still and given back as `verify --head COUNT:HEX`.

Where: the config's `sessions.anchors` (relative to the config's folder), else `STORE.anchors`
beside a SQLite file; a PostgreSQL store has none unless the config names one. Each line names its
store (a SQLite file relative to the anchor file, a server URL without user or password), so one
anchor file can serve several stores.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from calib.sessions.errors import SessionError, StoreError
from calib.sessions.events import Event, utc_now

SUFFIX = ".anchors"
HEAD = re.compile(r"(\d+):([0-9a-fA-F]{64})")


@dataclass(frozen=True)
class Anchor:
    """A head recorded outside the store: event `events` of the session had the hash `head`."""

    source: str  # how messages name it: `FILE line N`, or `--head`
    events: int
    head: str
    locked: bool = False

    @property
    def shown(self) -> str:
        """`COUNT:HEX`, as `verify --head` takes it."""
        return f"{self.events}:{self.head}"


@dataclass(frozen=True)
class AnchorRead:
    """What the anchor file says about one session: its anchors, and lines that are not anchors."""

    anchors: list[Anchor]
    problems: list[str]  # lines that are not anchors: the file was edited
    notes: list[str]  # a last line cut short (a writer stopped mid-write), lines of another store


class AnchorFile:
    """One anchor file, as seen from one store."""

    def __init__(self, path: Path, url: URL):
        self.path = Path(path)
        self.store = store_identity(url, self.path)

    def open(self) -> int:
        """A descriptor to append one line with (opened before the transaction, so a file that
        cannot be written refuses the change instead of leaving it unanchored)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StoreError(
                f"anchor file {self.path} cannot be written: {exc.strerror}; nothing was written"
            ) from None

    def line(self, *, cycle: str, session: str, events: int, head: str, locked: bool) -> bytes:
        """One anchor as a JSON line (ASCII: the file is safe to print)."""
        fields = {
            "at": utc_now(),
            "store": self.store,
            "cycle": cycle,
            "session": session,
            "events": events,
            "head": head,
            "locked": locked,
        }
        return (json.dumps(fields, ensure_ascii=True) + "\n").encode("ascii")

    def read(self, cycle: str, session: str) -> AnchorRead:
        """Every anchor of one session of this store, in file order."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return AnchorRead([], [], [f"no anchor file at {self.path} (none written yet, or removed)"])
        except OSError as exc:
            return AnchorRead([], [f"anchor file {self.path} cannot be read: {exc.strerror}"], [])
        anchors, problems, notes, elsewhere = [], [], [], 0
        lines = data.split(b"\n")
        complete = len(lines) - 1  # the text after the last newline is a line cut short (or nothing)
        for number, raw in enumerate(lines, 1):
            if not raw.strip():
                continue
            where = f"{self.path} line {number}"
            fields = _fields(raw)
            if fields is None:
                if number > complete:
                    notes.append(f"{where} was cut short (a writer stopped mid-line): not checked")
                else:
                    problems.append(f"{where} is not an anchor line: the anchor file was edited (or damaged)")
                continue
            if fields["cycle"] != cycle or fields["session"] != session:
                continue
            if fields["store"] != self.store:
                elsewhere += 1
                continue
            anchors.append(Anchor(where, fields["events"], fields["head"], fields["locked"]))
        if elsewhere:
            notes.append(
                f"{elsewhere} line(s) of {self.path} anchor a session of this name in another store: not checked"
            )
        return AnchorRead(anchors, problems, notes)


def store_identity(url: URL, anchor_path: Path) -> str:
    """How anchor lines name a store: a SQLite file relative to the anchor file's folder (so both
    can move together), a server URL without user or password."""
    if url.get_backend_name() == "sqlite":
        return os.path.relpath(str(url.database), str(Path(anchor_path).resolve().parent))
    return url.set(drivername="postgresql", username=None, password=None).render_as_string(hide_password=False)


def parse_head(text: str) -> Anchor:
    """`COUNT:HEX` as `lock` and `export` print it; a one-line refusal otherwise."""
    match = HEAD.fullmatch(text.strip())
    if match is None or int(match.group(1)) < 1:
        raise SessionError(f"--head {text[:80]!r}: expected COUNT:HASH as `lock` and `export` print it")
    return Anchor("--head", int(match.group(1)), match.group(2).lower())


def check_anchors(events: Sequence[Event], anchors: Sequence[Anchor]) -> tuple[list[str], int]:
    """Problems where the log contradicts anchors (pure), and how many anchors it agrees with.

    Anchors from the file are summed up in one problem naming the earliest one contradicted (where
    the log diverged); a head given by hand gets a problem of its own.
    """
    locked_in_log = any(e.kind == "lock" for e in events)
    contradicted: list[tuple[Anchor, str]] = []
    agreed = 0
    for anchor in anchors:
        problem = _contradiction(events, anchor, locked_in_log)
        if problem is None:
            agreed += 1
        else:
            contradicted.append((anchor, problem))
    problems = [p for a, p in contradicted if a.source == "--head"]
    filed = sorted((c for c in contradicted if c[0].source != "--head"), key=lambda c: c[0].events)
    if filed:
        more = f" ({len(filed) - 1} more anchor line(s) contradict the log too)" if len(filed) > 1 else ""
        problems.insert(0, filed[0][1] + more)
    return problems, agreed


def _contradiction(events: Sequence[Event], anchor: Anchor, locked_in_log: bool) -> str | None:
    recorded = (
        f"{anchor.source} records the head {anchor.events}:{anchor.head[:16]}...{' (locked)' if anchor.locked else ''}"
    )
    lock_gone = anchor.locked and not locked_in_log
    if anchor.events > len(events):
        return f"{recorded} but the log holds {len(events)} events: events were removed from its end" + (
            " (the lock among them)" if lock_gone else ""
        )
    if events[anchor.events - 1].hash != anchor.head:
        return f"{recorded} but event {anchor.events} has another hash: the log was rewritten after that head" + (
            " and its lock removed" if lock_gone else ""
        )
    return None


def _fields(raw: bytes) -> dict | None:
    try:
        fields = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(fields, dict):
        return None
    events, head = fields.get("events"), fields.get("head")
    if not (isinstance(events, int) and events >= 1 and isinstance(head, str) and re.fullmatch(r"[0-9a-f]{64}", head)):
        return None
    if not all(isinstance(fields.get(k), str) for k in ("store", "cycle", "session")):
        return None
    return {**fields, "locked": fields.get("locked") is True}
