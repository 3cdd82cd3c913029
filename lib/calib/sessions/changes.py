"""What a requested change becomes in the log, or why it is refused (pure).

The store calls these inside its locked transaction with what it just read, so the checks (is the
session open, which version is current, was the writer's version stale) and the events they
produce see the same data: no change is based on a version that another writer has replaced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from calib.sessions.errors import SessionError, SessionLockedError, StaleVersionError
from calib.sessions.events import Draft, Event, when
from calib.sessions.state import PersonState, person_state
from calib.sessions.text import check_author, check_text, printable

__all__ = [  # check_author and check_text live in calib.sessions.text; imported from here too
    "Snapshot", "Submitted", "check_author", "check_text", "ensure_open", "plan_change", "plan_lock", "plan_mark",
]


@dataclass(frozen=True)
class Snapshot:
    """What the store read under its lock: the session's scope and status, and the person's latest
    rating and potential events (in seq order; earlier ones do not change what a change is based on)."""

    scope: str
    status: str
    locked_by: str | None
    locked_at: str | None
    person_events: Sequence[Event]


@dataclass(frozen=True)
class Submitted:
    """A person's values as submitted in the reviews input (the `from` of their first change)."""

    rating: str | None
    potential: str | None


def ensure_open(snapshot: Snapshot, session: str) -> None:
    """Refuse any change to a locked session."""
    if snapshot.status == "locked":
        raise SessionLockedError(
            f"session {session} was locked by {printable(snapshot.locked_by)} ({when(snapshot.locked_at or '')}): "
            "it takes no more changes"
        )


def plan_change(
    snapshot: Snapshot,
    *,
    session: str,
    employee_id: str,
    submitted: Submitted,
    rating: str | None,
    potential: str | None,
    reason: str,
    author: str,
    expect_version: int | None,
) -> list[Draft]:
    """Drafts for a rating and/or potential change of one person (rating first), or a refusal.

    `expect_version` is the person's version the writer saw; None means the version just read.
    """
    ensure_open(snapshot, session)
    current = person_state(employee_id, snapshot.person_events)
    if expect_version is not None:
        _check_version(current, employee_id, expect_version)
    drafts: list[Draft] = []
    version = current.version
    for kind, target, now in (
        ("rating", rating, current.rating if current.rating_changed else submitted.rating),
        ("potential", potential, current.potential if current.potential_changed else submitted.potential),
    ):
        if target is None:
            continue
        if target == now:
            raise SessionError(f"{employee_id}'s {kind} is already {target} (version {version}): nothing to change")
        drafts.append(
            Draft(
                kind=kind,
                author=author,
                employee_id=employee_id,
                from_value=now,
                to_value=target,
                base_version=version,
                version=version + 1,
                reason=reason,
            )
        )
        version += 1
    if not drafts:
        raise SessionError("nothing to change: give a rating, a potential or both")
    return drafts


def plan_mark(snapshot: Snapshot, *, session: str, kind: str, employee_id: str, text: str, author: str) -> list[Draft]:
    """A flag, discussed mark or note about one person (they never change the person's version)."""
    ensure_open(snapshot, session)
    return [Draft(kind=kind, author=author, employee_id=employee_id, reason=text)]  # type: ignore[arg-type]


def plan_lock(snapshot: Snapshot, *, session: str, author: str, reason: str) -> list[Draft]:
    """The lock event; a locked session cannot be locked again."""
    ensure_open(snapshot, session)
    return [Draft(kind="lock", author=author, reason=reason)]


def _check_version(current: PersonState, employee_id: str, expected: int) -> None:
    if expected == current.version:
        return
    if expected > current.version or expected < 0:
        raise StaleVersionError(
            f"{employee_id} is at version {current.version}, not {expected}: reload and try again."
        )
    raise StaleVersionError(
        f"{employee_id} was changed by {printable(current.last_changed_by)} (version {current.version}, "
        f"{when(current.last_changed_at or '')}) after the version {expected} you saw: reload and try again."
    )
