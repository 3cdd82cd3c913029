"""Check a session's log against its hash chain and the head the store recorded (pure).

Detects an event whose content changed after it was written (its hash no longer matches), a
removed or reordered event (a gap in seq, or a broken link to the previous hash), and events cut
off the end (the store's recorded count and head hash no longer match the last event). A rewrite
of every hash after an edit is detected only against a head recorded elsewhere: keep the head
hash that `calib session verify` prints with the exported file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from calib.sessions.events import GENESIS, Event, expected_hash


@dataclass(frozen=True)
class Verification:
    """The outcome of a check: `ok`, the number of events, the head hash, the first problem found."""

    ok: bool
    events: int
    head_hash: str
    problem: str | None = None
    broken_seq: int | None = None  # the first event that does not check out, when one does not

    def __str__(self) -> str:
        if self.ok:
            return f"intact: {self.events} events, head {self.head_hash}"
        return f"altered: {self.problem}"


def verify_chain(
    events: Sequence[Event],
    *,
    recorded_count: int | None = None,
    recorded_head: str | None = None,
    recorded_status: str | None = None,
) -> Verification:
    """Recompute the chain of `events` (one session's, sorted by seq).

    Parameters
    ----------
    events
        The session's log as stored, in seq order.
    recorded_count, recorded_head, recorded_status
        What the store recorded beside the log when it last appended (None: not checked).
    """
    prev = GENESIS
    for expected_seq, event in enumerate(events, 1):
        if event.seq != expected_seq:
            missing = (
                f"event {expected_seq} is missing"
                if event.seq > expected_seq
                else f"event {event.seq} appears out of order"
            )
            return _broken(events, expected_seq, f"{missing}: the log jumps from {expected_seq - 1} to {event.seq}")
        if event.prev_hash != prev:
            return _broken(
                events,
                event.seq,
                f"{event.describe()} does not link to the event before it: an earlier event was changed or removed",
            )
        if expected_hash(event) != event.hash:
            return _broken(
                events, event.seq, f"{event.describe()} does not match its hash: it was changed after it was written"
            )
        prev = event.hash
    count = len(events)
    if recorded_count is not None and recorded_count != count:
        return _broken(
            events,
            count + 1,
            f"the store recorded {recorded_count} events but the log holds {count}: "
            + ("events were removed from its end" if recorded_count > count else "events were added outside calib"),
        )
    if recorded_head is not None and recorded_head != prev:
        return _broken(events, count, f"the last event's hash is not the head the store recorded ({recorded_head})")
    if recorded_status is not None:
        locked = any(e.kind == "lock" for e in events)
        if (recorded_status == "locked") != locked:
            return _broken(events, count, f"the store records the session as {recorded_status} but its log does not")
    return Verification(True, count, prev)


def _broken(events: Sequence[Event], seq: int, problem: str) -> Verification:
    head = events[-1].hash if events else GENESIS
    return Verification(False, len(events), head, problem, seq)
