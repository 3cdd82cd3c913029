"""The session as a table: one row per person in scope, the reviews' values merged with the log's (pure).

This is what the dashboard's Calibrate tab shows and what the export writes back: per person the
rating as submitted, the rating before this session (the reviews' calibrated rating where the
input has one, else the submitted one: where the session starts), the current rating (ordered
categoricals on the scale) and potential, whether each differs from where the session started,
the version (0 = as the session found them), flags, notes and the last change's author and time.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from calib.inputs.ratings import rating_type
from calib.sessions.events import Event
from calib.sessions.roster import Roster, Scope
from calib.sessions.state import derive_state, state_frame

TABLE_COLUMNS = [
    "employee_id",
    "name",
    "manager_id",
    "team",
    "submitted_rating",
    "start_rating",
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


def people_table(roster: Roster, scope: Scope, events: Sequence[Event]) -> pd.DataFrame:
    """TABLE_COLUMNS for everyone in `scope` and anyone else the log names, by employee_id.

    Everyone as the session found them is worked out once per roster and scope (`_found`); each
    call overlays only the people the log names, so a meeting at 10k people rereads its table in
    a few milliseconds.
    """
    state = derive_state(events)
    members = roster.members(scope)
    extra = tuple(sorted(set(state.people) - set(members)))
    key = ("table", f"{scope}", extra)
    if key not in roster._memo:
        roster._memo[key] = _found(roster, sorted([*members, *extra]))
    base, positions = roster._memo[key]  # type: ignore[misc]
    frame = base.copy()
    if not state.people:
        return frame
    changed = state_frame(state).set_index("employee_id")
    rows = [positions[i] for i in changed.index]
    logged = changed["rating_changed"].to_numpy(dtype=bool)
    rating = np.where(logged, changed["rating"].to_numpy(dtype=object), base["rating"].to_numpy(dtype=object)[rows])
    logged = changed["potential_changed"].to_numpy(dtype=bool)
    potential = np.where(
        logged, changed["potential"].to_numpy(dtype=object), base["potential"].to_numpy(dtype=object)[rows]
    )
    start = base["start_rating"].to_numpy(dtype=object)[rows]
    submitted_potential = base["submitted_potential"].to_numpy(dtype=object)[rows]
    values = {
        "rating": rating,
        "rating_changed": _differs(pd.Series(rating), pd.Series(start)).to_numpy(),
        "potential": potential,
        "potential_changed": _differs(pd.Series(potential), pd.Series(submitted_potential)).to_numpy(),
        **{c: changed[c].to_numpy() for c in ("version", "flagged", "discussed", "last_changed_by", "last_changed_at")},
        "notes": changed["notes"].to_numpy(dtype=object),
    }
    for column, value in values.items():
        frame.iloc[rows, frame.columns.get_loc(column)] = value
    return frame


def _found(roster: Roster, ids: list[str]) -> tuple[pd.DataFrame, dict[str, int]]:
    """Everyone in `ids` as the session found them (version 0, nothing changed), and each one's row."""
    index = pd.Index(ids, name="employee_id")
    people = roster.people.reindex(index)
    reviews = roster.reviews.reindex(index)
    if "potential" in reviews.columns:
        given = reviews["potential"].astype("object")
        canonical = {v: roster.potential_or_as_is(v) for v in given.dropna().unique()}  # a few distinct values
        submitted_potential = given.map(canonical)
    else:
        submitted_potential = pd.Series(None, index=index, dtype="object")
    submitted_rating = reviews["rating"].astype("object")
    if "calibrated_rating" in reviews.columns:
        calibrated = reviews["calibrated_rating"].astype("object")
        start_rating = calibrated.where(calibrated.notna(), submitted_rating)
    else:
        start_rating = submitted_rating
    frame = pd.DataFrame(
        {
            "employee_id": index,
            "name": people.get("name"),
            "manager_id": people.get("manager_id"),
            "team": people.get("team"),
            "submitted_rating": submitted_rating,
            "start_rating": start_rating,
            "rating": start_rating,
            "rating_changed": False,
            "submitted_potential": submitted_potential,
            "potential": submitted_potential,
            "potential_changed": False,
            "version": 0,
            "flagged": False,
            "discussed": False,
            "notes": "",
            "last_changed_by": None,
            "last_changed_at": None,
        },
        index=index,
    )
    dtype = rating_type(roster.config)
    flags = dict.fromkeys(("rating_changed", "potential_changed", "flagged", "discussed"), "bool")
    texts = ("submitted_potential", "potential", "notes", "last_changed_by", "last_changed_at")
    text = dict.fromkeys(texts, "object")
    ratings = dict.fromkeys(("submitted_rating", "start_rating", "rating"), dtype)
    frame = frame.astype({**ratings, "version": "int64", **flags, **text})
    return frame.reset_index(drop=True)[TABLE_COLUMNS], {i: n for n, i in enumerate(ids)}


def _differs(now: pd.Series, before: pd.Series) -> pd.Series:
    """Where a value differs from where the session started (missing on both sides: the same)."""
    now, before = now.astype("object"), before.astype("object")
    return (now.ne(before) & ~(now.isna() & before.isna())).astype(bool)
