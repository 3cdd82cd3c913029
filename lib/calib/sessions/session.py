"""`CalibrationSession`: the front door to one session, for the CLI, the dashboard and the report.

Open a session with `open_session(config, name, ...)` (created on first use when `by` is given),
read it (`table`, `state`, `events`, `log`, `verify`) and change it (`change`, `undo`, `flag`,
`mark_discussed`, `note`, `lock`). A person starts from the rating before this session: the
reviews' calibrated rating where the input has one, else the submitted rating. Every change is
checked against the reviews (the person exists, was reviewed in the cycle, is in the session's
scope; the rating is on the scale) before the store is touched, and against the log (open, not
stale) inside the store's locked transaction.
A method returns only after the change is committed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pandas as pd

from calib.inputs.config import CycleConfig
from calib.inputs.validate import CycleData
from calib.sessions.anchors import Anchor
from calib.sessions.changes import (
    Snapshot,
    check_author,
    check_text,
    plan_change,
    plan_lock,
    plan_mark,
    plan_undo,
)
from calib.sessions.engine import resolve_store
from calib.sessions.errors import SessionError
from calib.sessions.events import Draft, Event, log_frame
from calib.sessions.keys import environment, resolve_key
from calib.sessions.roster import Roster, Scope, load_roster, parse_scope
from calib.sessions.state import SessionState, derive_state
from calib.sessions.store import BESIDE, NewSession, SessionRecord, SessionStore
from calib.sessions.table import people_table
from calib.sessions.text import check_name
from calib.sessions.verify import Verification, verify_chain

MAX_NAME = 200
NO_ANCHORS = (
    "no anchor file for this store (sessions.anchors in the config names one): events cut off the end together "
    "with the store's recorded head are caught only against a head kept elsewhere (--head COUNT:HASH)"
)


def open_session(
    config: CycleConfig,
    name: str,
    *,
    scope: str | None = None,
    store: str | Path | SessionStore | None = None,
    data: CycleData | None = None,
    by: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> CalibrationSession:
    """Open the session `name` of the config's cycle; create it when missing and `by` is given.

    Parameters
    ----------
    config
        The cycle config; the session belongs to `config.cycle`.
    name
        The session's name, unique within the cycle.
    scope
        `cycle`, `org:NAME` or `manager:EMPLOYEE_ID`, fixed when the session is created; None
        means the stored scope (or the whole cycle for a new session). A different scope than
        the stored one is refused.
    store
        A SQLite file path, a database URL or an open SessionStore; None: the config's
        `sessions.store`, else `reports/sessions.sqlite`.
    data
        The cycle's loaded inputs, when the caller has them (the dashboard); else people, reviews
        and teams are loaded and validated here.
    by
        Who creates the session if it does not exist (with its first change, or `create()`);
        None: a missing session is an error.
    environ
        Where CALIB_SESSION_KEY is looked up (None: the process environment); with the config's
        `sessions.key_file` and `sessions.anchors`, used only when the store is opened here.

    Raises
    ------
    SessionError
        Unknown session (and no `by`), a bad name or scope, or a scope other than the stored one.
    StoreError
        The store cannot be opened, or the configured key cannot be read.
    """
    name = check_name(name, "the session name (--session)", MAX_NAME)
    wanted = parse_scope(scope) if scope is not None else None
    roster = load_roster(config, data)
    if wanted is not None:
        roster.members(wanted)  # an unknown org or manager is refused before anything is written
    owned = not isinstance(store, SessionStore)
    opened = open_store(config, store, environ) if owned else store
    try:
        record = opened.find(config.cycle, name)
        new = None
        if record is None:
            if by is None:
                raise SessionError(f"no session named {name!r} in {config.cycle} in the store {opened.shown}")
            scope_text = str(wanted or Scope("cycle"))
            new = NewSession(config.cycle, name, scope_text, check_author(by), scope_given=wanted is not None)
        elif wanted is not None and str(wanted) != record.scope:
            raise SessionError(f"session {record.key} has the scope {record.scope}, not {wanted}")
    except BaseException:
        if owned:
            opened.close()
        raise
    return CalibrationSession(opened, record or new, roster, owns_store=owned)


def open_store(
    config: CycleConfig, store: str | Path | None = None, environ: Mapping[str, str] | None = None
) -> SessionStore:
    """The config's session store (or `store`), with the configured key and anchor file."""
    key = resolve_key(config, environment() if environ is None else environ)
    anchors = config.sessions.anchors
    anchor_path = (config.base_dir / Path(anchors).expanduser()).resolve() if anchors else BESIDE
    return SessionStore(resolve_store(config, store), key=key, anchors=anchor_path)


def list_sessions(
    config: CycleConfig, store: str | Path | SessionStore | None = None, *, all_cycles: bool = False
) -> list[SessionRecord]:
    """The sessions of the config's cycle (or of every cycle) in the store, by cycle and name."""
    if isinstance(store, SessionStore):
        return store.sessions(None if all_cycles else config.cycle)
    with open_store(config, store) as opened:
        return opened.sessions(None if all_cycles else config.cycle)


class CalibrationSession:
    """One session of a cycle: its state, its log, and the changes it accepts.

    A session that does not exist yet (opened with `by`) is written, with its `open` event, in the
    same transaction as its first change: a refused first change leaves no session behind.
    """

    def __init__(
        self, store: SessionStore, target: SessionRecord | NewSession, roster: Roster, *, owns_store: bool = False
    ):
        self.store = store
        self.roster = roster
        self.config = roster.config
        self.record: SessionRecord | None = target if isinstance(target, SessionRecord) else None
        self._target = target
        self._owns_store = owns_store

    @property
    def name(self) -> str:
        """The session's name."""
        return self._target.name

    @property
    def key(self) -> str:
        """`cycle/name`."""
        return self._target.key

    @property
    def scope(self) -> Scope:
        """Who the session calibrates (for a session not yet written: the scope it will get)."""
        return parse_scope(self._target.scope)

    @property
    def exists(self) -> bool:
        """Whether the session is in the store (someone else may have created it meanwhile)."""
        return self._record() is not None

    def create(self) -> SessionRecord:
        """Write the session (its `open` event) now, without a change; no-op when it exists."""
        record, _ = self.store.append(self._target, None, lambda snapshot: [])
        self._adopt(record)
        return record

    def close(self) -> None:
        """Release the store's connections (when this session opened the store)."""
        if self._owns_store:
            self.store.close()

    def __enter__(self) -> CalibrationSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------------
    def refresh(self) -> SessionRecord | None:
        """Read the session's row again: another process may have changed it (status, head) or created it."""
        found = self.store.find(self._target.cycle, self._target.name)
        if found is not None:
            self._adopt(found)
        return self.record

    def events(self, employee_id: str | None = None) -> list[Event]:
        """The log (or one person's part of it), in order."""
        record = self._record()
        return [] if record is None else self.store.events(record, employee_id=employee_id)

    def state(self) -> SessionState:
        """The session's state derived from its whole log."""
        return derive_state(self.events())

    def members(self) -> list[str]:
        """The employee_ids this session can calibrate."""
        return self.roster.members(self.scope)

    def table(self) -> pd.DataFrame:
        """One row per person in scope (and anyone else with events): calib.sessions.table.TABLE_COLUMNS.

        `rating` is the current rating (the submitted one unless changed), as an ordered
        categorical on the scale; `version` 0 means as submitted.
        """
        return people_table(self.roster, self.scope, self.events())

    def log(self) -> pd.DataFrame:
        """The log as a table, one row per event (calib.sessions.events.LOG_COLUMNS)."""
        return log_frame(self.events())

    def verify(self, heads: Sequence[Anchor] = ()) -> Verification:
        """Recompute the hash chain and check it against the head the store recorded, the anchor file,
        `heads` given by hand and the store's append-only triggers."""
        record = self._record()
        if record is None:
            return verify_chain([])
        record, events = self.store.log_with_head(record)
        return self.check(record, events, heads)

    def check(self, record: SessionRecord, events: Sequence[Event], heads: Sequence[Anchor] = ()) -> Verification:
        """`verify` for a log already read (with its row, in one snapshot), as the report reads it."""
        anchors, problems, notes = list(heads), [], []
        if self.store.anchors is None:
            notes.append(NO_ANCHORS)
        else:
            read = self.store.anchors.read(record.cycle, record.name)
            anchors, problems, notes = [*read.anchors, *heads], read.problems, read.notes
        result = verify_chain(
            events, recorded_count=record.event_count, recorded_head=record.head_hash, recorded_status=record.status,
            key=self.store.key, anchors=anchors,
        )
        return result.with_problems([*problems, *self.store.integrity_problems()], [*notes, *self.store.file_notes()])

    # -- changing ------------------------------------------------------------------------------
    def change(
        self,
        employee_id: str,
        *,
        rating: str | None = None,
        potential: str | None = None,
        reason: str,
        by: str,
        expect_version: int | None = None,
    ) -> list[Event]:
        """Record a rating and/or potential change (one event each, rating first), committed.

        `expect_version` is the person's version the change is based on (from `table()` or the
        log); None means the version current when the change is written. A stale one is refused
        with who changed the person and when.
        """
        by, reason = check_author(by), check_text(reason, "the reason", required=True)
        employee_id = self._person(employee_id)
        rating = None if rating is None else self.roster.rating_label(rating)
        potential = None if potential is None else self.roster.potential_label(potential)
        if rating is None and potential is None:
            raise SessionError("nothing to change: give a rating, a potential or both")
        submitted = self.roster.submitted(employee_id)

        def plan(snapshot: Snapshot) -> list[Draft]:
            self.roster.check_person(employee_id, parse_scope(snapshot.scope))
            return plan_change(
                snapshot,
                session=self.key,
                employee_id=employee_id,
                submitted=submitted,
                rating=rating,
                potential=potential,
                reason=reason,
                author=by,
                expect_version=expect_version,
            )

        return self._append(employee_id, plan)

    def set_rating(
        self, employee_id: str, rating: str, *, reason: str, by: str, expect_version: int | None = None
    ) -> Event:
        """Change one person's rating; the committed event."""
        return self.change(employee_id, rating=rating, reason=reason, by=by, expect_version=expect_version)[0]

    def set_potential(
        self, employee_id: str, potential: str, *, reason: str, by: str, expect_version: int | None = None
    ) -> Event:
        """Change one person's potential; the committed event."""
        return self.change(employee_id, potential=potential, reason=reason, by=by, expect_version=expect_version)[0]

    def undo(self, employee_id: str, *, reason: str, by: str, expect_version: int | None = None) -> list[Event]:
        """Set back the person's last change still standing (with a reason), committed.

        The undo is a change of its own in the log (`undo_rating`, `undo_potential`: from the
        current value back to the one before that change); nothing is deleted. Undoing again sets
        back the change before it. `expect_version` works as for `change`.
        """
        by, reason = check_author(by), check_text(reason, "the reason", required=True)
        employee_id = self._person(employee_id)

        def plan(snapshot: Snapshot) -> list[Draft]:
            self.roster.check_person(employee_id, parse_scope(snapshot.scope))
            return plan_undo(
                snapshot, session=self.key, employee_id=employee_id, reason=reason, author=by,
                expect_version=expect_version,
            )  # fmt: skip

        return self._append(employee_id, plan)

    def flag(self, employee_id: str, *, by: str, reason: str = "", on: bool = True) -> Event:
        """Flag a person for discussion (why, optionally); `on=False` takes the flag off."""
        text = check_text(reason, "the reason", required=False)
        return self._mark("flag", employee_id, by=by, text=text, on=on)

    def mark_discussed(self, employee_id: str, *, by: str, reason: str = "", on: bool = True) -> Event:
        """Record that a person was discussed (with an outcome, optionally); `on=False` takes the mark off."""
        text = check_text(reason, "the reason", required=False)
        return self._mark("discussed", employee_id, by=by, text=text, on=on)

    def note(self, employee_id: str, text: str, *, by: str) -> Event:
        """Add a note about a person (kept in the log's reason column)."""
        return self._mark("note", employee_id, by=by, text=check_text(text, "the note", required=True))

    def lock(self, *, by: str, reason: str = "") -> Event:
        """Lock the session: no change is accepted afterwards."""
        by, reason = check_author(by), check_text(reason, "the reason", required=False)
        return self._append(None, lambda snapshot: plan_lock(snapshot, session=self.key, author=by, reason=reason))[0]

    def _mark(self, kind: str, employee_id: str, *, by: str, text: str, on: bool = True) -> Event:
        by = check_author(by)
        employee_id = self._person(employee_id)

        def plan(snapshot: Snapshot) -> list[Draft]:
            self.roster.check_person(employee_id, parse_scope(snapshot.scope))
            return plan_mark(
                snapshot, session=self.key, kind=kind, employee_id=employee_id, text=text, author=by, on=on
            )

        return self._append(employee_id, plan)[0]

    def _person(self, employee_id: str) -> str:
        """Checked early (before the store is touched) and again under the lock, against the stored scope."""
        employee_id = str(employee_id).strip()
        self.roster.check_person(employee_id, self.scope)
        return employee_id

    def _append(self, employee_id: str | None, plan: Callable[[Snapshot], list[Draft]]) -> list[Event]:
        record, events = self.store.append(self._target, employee_id, plan)
        self._adopt(record)
        return events

    def _record(self) -> SessionRecord | None:
        if self.record is None:
            found = self.store.find(self._target.cycle, self._target.name)
            if found is not None:
                self._adopt(found)
        return self.record

    def _adopt(self, record: SessionRecord) -> None:
        self.record = record
        self._target = record

