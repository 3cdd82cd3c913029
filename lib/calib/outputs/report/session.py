"""A calibration session as the report reads it: one snapshot of its log, and its ratings as after-calibration.

`read_session` opens an existing session (never creates one, nor a store) and reads its log and
the store's recorded head in one consistent snapshot; the people table, the state and the hash
chain's verification all derive from that one read. `with_session_ratings` is the pure step that
makes the session's ratings the after-calibration ratings: for the cycle's reviews of the people
in the session's scope, `calibrated_rating` becomes the session's current rating (the submitted
rating where the session changed nothing), exactly as `calib session export` writes it back. It
runs before normalize, so every analysis, table, chart and packet that reads `final_rating` reads
the session's ratings; reviews outside the scope, or of other cycles, are kept as read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from calib.inputs.config import CycleConfig
from calib.inputs.validate import CycleData
from calib.sessions import Event, SessionState, StoreError, Verification, derive_state, open_session
from calib.sessions.engine import resolve_store
from calib.sessions.table import people_table

CALIBRATED = "calibrated_rating"


@dataclass(frozen=True)
class SessionView:
    """One session read for a report: identity, where it is stored, and one snapshot of its log.

    Attributes
    ----------
    name, cycle, scope
        The session's name, its cycle and its scope (`cycle`, `org:NAME`, `manager:ID`).
    store
        Where it is stored, as shown to people (a file path, or a URL without its password).
    events
        The whole log, in order.
    state
        The state derived from `events` (status, who opened and locked it, per-person values).
    table
        One row per person in scope (calib.sessions.table.TABLE_COLUMNS), from `events`.
    verification
        The hash chain recomputed over `events` against the head the store recorded, the anchor
        file and the store's triggers (calib.sessions.CalibrationSession.check).
    """

    name: str
    cycle: str
    scope: str
    store: str
    events: tuple[Event, ...]
    state: SessionState
    table: pd.DataFrame
    verification: Verification

    @property
    def status(self) -> str:
        """`open` or `locked`."""
        return self.state.status


def read_session(
    config: CycleConfig, name: str, *, store: str | Path | None = None, data: CycleData | None = None
) -> SessionView:
    """Read the session `name` of the config's cycle, in one snapshot.

    Parameters
    ----------
    config
        The cycle config; the session belongs to `config.cycle`.
    name
        The session's name.
    store
        A SQLite file or a `postgresql://` URL; None: the config's `sessions.store`, else
        `reports/sessions.sqlite`. A SQLite file that does not exist is an error (a report never
        creates a store).
    data
        The cycle's loaded inputs (the session's roster is taken from them).

    Raises
    ------
    SessionError
        No session of that name in the cycle (or a bad name).
    StoreError
        The store is missing or cannot be opened or read.
    """
    target = existing_store(config, store)
    with open_session(config, name, store=target, data=data) as session:
        assert session.record is not None  # opened without `by`: a missing session has raised
        record, events = session.store.log_with_head(session.record)
        verification = session.check(record, events)  # the chain (with the session's key), anchors, triggers
        return SessionView(
            name=record.name,
            cycle=record.cycle,
            scope=record.scope,
            store=session.store.shown,
            events=tuple(events),
            state=derive_state(events),
            table=people_table(session.roster, session.scope, events),
            verification=verification,
        )


def existing_store(config: CycleConfig, store: str | Path | None) -> str:
    """The session store to read (`store`, else the config's, else the default), refused when a SQLite file is
    missing: a reader never creates a store."""
    target = resolve_store(config, store)
    if "://" not in target and not Path(target).expanduser().is_file():
        raise StoreError(f"session store {target}: no such file (give --store, or sessions.store in the config)")
    return target


def with_session_ratings(data: CycleData, table: pd.DataFrame) -> CycleData:
    """The cycle's data with the session's current ratings as the reviews' calibrated ratings (pure).

    Parameters
    ----------
    data
        The loaded cycle; not modified.
    table
        The session's people table: `employee_id` and `rating` (the current rating) per person.

    Returns
    -------
    CycleData
        A copy whose reviews of `data.config.cycle` for the people in `table` carry the session's
        rating in `calibrated_rating`; every other row, column and input is as read.
    """
    ratings = table.set_index("employee_id")["rating"].astype("object").dropna()
    reviews = data["reviews"]
    rows = (reviews["cycle"] == data.config.cycle) & reviews["employee_id"].isin(ratings.index)
    out = reviews.copy()
    if CALIBRATED not in out.columns:
        out[CALIBRATED] = pd.Series(None, index=out.index, dtype=reviews["rating"].dtype)
    out.loc[rows, CALIBRATED] = reviews.loc[rows, "employee_id"].map(ratings).to_numpy()
    return replace(data, tables={**data.tables, "reviews": out})
