"""Check a session's log against its hash chain, the head the store recorded, and heads kept elsewhere (pure).

Detects an event whose content changed after it was written (its hash no longer matches), a
removed or reordered event (a gap in seq, or a broken link to the previous hash), events cut off
the end (the store's recorded count and head hash no longer match the last event), and, against
anchors (calib.sessions.anchors: the anchor file, `--head COUNT:HEX`), events cut off the end
together with the store's recorded head, or a removed lock. A keyed session (calib.sessions.keys)
also detects a full rewrite with every hash recomputed; an unkeyed one cannot, and says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from calib.sessions.anchors import Anchor, check_anchors
from calib.sessions.events import GENESIS, Event, expected_hash
from calib.sessions.keys import ENV, SessionKey, session_mode

REWRITE = (
    "a full rewrite of the log by someone with write access to the store (every hash recomputed) cannot be excluded"
)
UNKEYED = f"hashed without a key: {REWRITE}; configure a key ({ENV} or sessions.key_file) for new sessions"
UNKEYED_WITH_KEY = (  # a key is configured, this session has none: older than the key, or rewritten without it
    f"hashed without a key although one is configured (the session is older than the key, or was rewritten "
    f"by someone without it): {REWRITE} but against the anchors"
)


@dataclass(frozen=True)
class Verification:
    """The outcome of a check: `ok`, the number of events, the head hash, every problem found (the
    first also as `problem`), notes on what the check could not exclude, how the chain is hashed
    and how many anchors agreed."""

    ok: bool
    events: int
    head_hash: str
    problem: str | None = None
    broken_seq: int | None = None  # the first event that does not check out, when one does not
    problems: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    hashing: str = "SHA-256 without a key"
    anchors: int = 0  # anchors the log agrees with

    @property
    def head(self) -> str:
        """`COUNT:HASH`, as `verify --head` takes it."""
        return f"{self.events}:{self.head_hash}"

    def __str__(self) -> str:
        if self.ok:
            return f"intact: {self.events} events, head {self.head}"
        return f"altered: {self.problem}"

    def with_problems(self, problems: Sequence[str], notes: Sequence[str] = ()) -> Verification:
        """The same check with problems and notes found beside the log (the store's triggers, the anchor file)."""
        found = (*self.problems, *problems)
        return replace(
            self, ok=not found, problem=found[0] if found else None, problems=found, notes=(*self.notes, *notes)
        )


def verify_chain(
    events: Sequence[Event],
    *,
    recorded_count: int | None = None,
    recorded_head: str | None = None,
    recorded_status: str | None = None,
    key: SessionKey | None = None,
    anchors: Sequence[Anchor] = (),
) -> Verification:
    """Recompute the chain of `events` (one session's, sorted by seq).

    Parameters
    ----------
    events
        The session's log as stored, in seq order.
    recorded_count, recorded_head, recorded_status
        What the store recorded beside the log when it last appended (None: not checked).
    key
        The configured session key; needed to check a keyed session's hashes.
    anchors
        Heads recorded outside the store (the anchor file's lines, `--head`).
    """
    problems: list[str] = []
    broken: int | None = None
    key_id = session_mode(events[0].from_value) if events and events[0].kind == "open" else None
    secret, hashing, unchecked = _secret(key_id, key)
    if unchecked:
        problems.append(unchecked)
    chain = _chain(events, secret, check_hashes=not unchecked)
    if chain is not None:
        broken, problem = chain
        problems.append(problem)
    count = len(events)
    head = events[-1].hash if events else GENESIS
    if chain is None:
        problem = _recorded(events, recorded_count, recorded_head, recorded_status)
        if problem is not None:
            broken = count + 1 if recorded_count is not None and recorded_count != count else count
            problems.append(problem)
    contradicted, agreed = check_anchors(events, anchors)
    problems += contradicted
    notes = [UNKEYED if key is None else UNKEYED_WITH_KEY] if key_id is None else []
    return Verification(
        ok=not problems,
        events=count,
        head_hash=head,
        problem=problems[0] if problems else None,
        broken_seq=broken,
        problems=tuple(problems),
        notes=tuple(notes),
        hashing=hashing,
        anchors=agreed,
    )


def _secret(key_id: str | None, key: SessionKey | None) -> tuple[bytes | None, str, str | None]:
    """The secret to check with, how the chain is hashed, and why its hashes cannot be checked (or None)."""
    if key_id is None:
        return None, "SHA-256 without a key", None
    hashing = f"HMAC-SHA256 with the key id {key_id}"
    if key is None:
        return (
            None,
            hashing,
            (
                f"the session is hashed with a key (id {key_id}) and none is configured: its events' hashes were not "
                f"checked (set {ENV} or sessions.key_file)"
            ),
        )
    if key.id != key_id:
        return (
            None,
            hashing,
            (
                f"the session is hashed with the key id {key_id}, the configured key ({key.source}) has the id "
                f"{key.id}: its events' hashes were not checked (configure the key it was created with)"
            ),
        )
    return key.secret, hashing, None


def _chain(events: Sequence[Event], secret: bytes | None, *, check_hashes: bool) -> tuple[int, str] | None:
    """The first event that breaks the chain, and why; None when every event links and matches."""
    prev = GENESIS
    for expected_seq, event in enumerate(events, 1):
        if event.seq != expected_seq:
            missing = (
                f"event {expected_seq} is missing"
                if event.seq > expected_seq
                else f"event {event.seq} appears out of order"
            )
            return expected_seq, f"{missing}: the log jumps from {expected_seq - 1} to {event.seq}"
        if event.prev_hash != prev:
            return event.seq, (
                f"{event.describe()} does not link to the event before it: an earlier event was changed or removed"
            )
        if check_hashes and expected_hash(event, secret) != event.hash:
            rewritten = " (or recomputed without the session's key)" if secret is not None else ""
            return event.seq, (
                f"{event.describe()} does not match its hash: it was changed after it was written{rewritten}"
            )
        prev = event.hash
    return None


def _recorded(
    events: Sequence[Event], recorded_count: int | None, recorded_head: str | None, recorded_status: str | None
) -> str | None:
    count = len(events)
    head = events[-1].hash if events else GENESIS
    if recorded_count is not None and recorded_count != count:
        return f"the store recorded {recorded_count} events but the log holds {count}: " + (
            "events were removed from its end" if recorded_count > count else "events were added outside calib"
        )
    if recorded_head is not None and recorded_head != head:
        return f"the last event's hash is not the head the store recorded ({recorded_head})"
    if recorded_status is not None:
        locked = any(e.kind == "lock" for e in events)
        if (recorded_status == "locked") != locked:
            return f"the store records the session as {recorded_status} but its log does not"
    return None
