"""The current state of a session, derived from its events alone (pure: no I/O, no store).

Per person: the rating and potential before this session (the `from` of their first change), the
current ones, the version (how many rating and potential changes, undos included, were recorded
for them; 0 = as the session found them), whether they are flagged for discussion or were
discussed (toggles: the last mark wins), their notes, and who last changed them and when. Per
session: open or locked, the scope, who opened and locked it.

`active_changes` and `last_change` say which changes an undo has not set back: undos work as a
stack per value, so each undo sets back the latest change still standing (never the undo before).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from calib.sessions.events import OFF, TOGGLES, UNDOES, VERSIONED, Event

STATE_COLUMNS = [
    "employee_id",
    "submitted_rating",
    "rating",
    "rating_changed",
    "submitted_potential",
    "potential",
    "potential_changed",
    "version",
    "flagged",
    "discussed",
    "notes",
    "last_changed_by",
    "last_changed_at",
]


@dataclass(frozen=True)
class PersonState:
    """One person's state in a session.

    `submitted_*` is the value before this session (the `from` of its first change), None until
    that value is first changed; `rating_changed` / `potential_changed` say it was ever changed
    here (an undo may have set it back since).
    """

    employee_id: str
    submitted_rating: str | None = None
    rating: str | None = None
    submitted_potential: str | None = None
    potential: str | None = None
    rating_changed: bool = False
    potential_changed: bool = False
    version: int = 0
    flagged: bool = False
    discussed: bool = False
    notes: tuple[str, ...] = ()
    last_changed_by: str | None = None
    last_changed_at: str | None = None
    last_change_seq: int | None = None


@dataclass(frozen=True)
class SessionState:
    """A session's state: status, scope, and each person who has at least one event."""

    status: str = "open"  # "open" or "locked"
    scope: str | None = None
    opened_by: str | None = None
    opened_at: str | None = None
    locked_by: str | None = None
    locked_at: str | None = None
    events: int = 0
    people: dict[str, PersonState] = field(default_factory=dict)

    @property
    def locked(self) -> bool:
        """Whether the session takes no more changes."""
        return self.status == "locked"


def person_state(employee_id: str, events: Iterable[Event]) -> PersonState:
    """Fold one person's events (in log order) into their state; events about others are ignored."""
    state: dict = {"employee_id": employee_id, "notes": []}
    for event in events:
        if event.employee_id != employee_id:
            continue
        if event.kind in VERSIONED:
            name = UNDOES.get(event.kind, event.kind)
            if not state.get(f"{name}_changed"):
                state[f"submitted_{name}"] = event.from_value
            state[name] = event.to_value
            state[f"{name}_changed"] = True
            state["version"] = event.version if event.version is not None else state.get("version", 0) + 1
            state["last_changed_by"] = event.author
            state["last_changed_at"] = event.at
            state["last_change_seq"] = event.seq
        elif event.kind in TOGGLES:
            state["flagged" if event.kind == "flag" else "discussed"] = event.to_value != OFF
        elif event.kind == "note":
            state["notes"].append(event.reason)
    state["notes"] = tuple(state["notes"])
    return PersonState(**state)


def active_changes(events: Iterable[Event]) -> list[Event]:
    """One person's rating and potential changes that no undo has set back, in log order."""
    standing: dict[str, list[Event]] = {"rating": [], "potential": []}
    for event in events:
        if event.kind in standing:
            standing[event.kind].append(event)
        elif event.kind in UNDOES and standing[UNDOES[event.kind]]:
            standing[UNDOES[event.kind]].pop()
    return sorted(standing["rating"] + standing["potential"], key=lambda e: e.seq)


def last_change(events: Iterable[Event]) -> list[Event]:
    """The person's last change still standing: its latest event and any written with it (one `set`
    of a rating and a potential is one transaction: same time, author and reason); [] when none."""
    standing = active_changes(events)
    if not standing:
        return []
    last = standing[-1]
    return [e for e in standing if (e.at, e.author, e.reason) == (last.at, last.author, last.reason)]


def derive_state(events: Sequence[Event]) -> SessionState:
    """Fold a session's whole log (in seq order) into its state."""
    by_person: dict[str, list[Event]] = {}
    session: dict = {"events": len(events)}
    for event in events:
        if event.kind == "open":
            session.update(scope=event.to_value, opened_by=event.author, opened_at=event.at)
        elif event.kind == "lock":
            session.update(status="locked", locked_by=event.author, locked_at=event.at)
        elif event.employee_id is not None:
            by_person.setdefault(event.employee_id, []).append(event)
    people = {person: person_state(person, evs) for person, evs in sorted(by_person.items())}
    return SessionState(**session, people=people)


def state_frame(state: SessionState) -> pd.DataFrame:
    """One row per person with events: STATE_COLUMNS, notes joined by newlines."""
    rows = [
        {
            **{c: getattr(p, c) for c in STATE_COLUMNS if c != "notes"},
            "notes": "\n".join(p.notes),
        }
        for p in state.people.values()
    ]
    frame = pd.DataFrame(rows, columns=STATE_COLUMNS)
    flags = {c: "bool" for c in ("rating_changed", "potential_changed", "flagged", "discussed")}
    return frame.astype({"version": "int64", **flags})
