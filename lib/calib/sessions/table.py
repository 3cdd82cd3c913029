"""The session as a table: one row per person in scope, the reviews' values merged with the log's (pure).

This is what the dashboard's Calibrate tab shows and what the export writes back: per person the
rating as submitted, the rating before this session (the reviews' calibrated rating where the
input has one, else the submitted one: where the session starts), the current rating (ordered
categoricals on the scale) and potential, whether each differs from where the session started,
the version (0 = as the session found them), flags, notes and the last change's author and time.
"""

from __future__ import annotations

from collections.abc import Sequence

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
    """TABLE_COLUMNS for everyone in `scope` and anyone else the log names, by employee_id."""
    changed = state_frame(derive_state(events)).set_index("employee_id")
    ids = pd.Index(sorted(set(roster.members(scope)) | set(changed.index)), name="employee_id")
    people = roster.people.reindex(ids)
    reviews = roster.reviews.reindex(ids)
    submitted_potential = (
        reviews["potential"].map(roster.potential_or_as_is, na_action="ignore")
        if "potential" in reviews.columns
        else pd.Series(None, index=ids, dtype="object")
    )
    changed = changed.reindex(ids)
    logged_rating = changed["rating_changed"].fillna(False).astype(bool)
    logged_potential = changed["potential_changed"].fillna(False).astype(bool)
    submitted_rating = reviews["rating"].astype("object")
    if "calibrated_rating" in reviews.columns:
        calibrated = reviews["calibrated_rating"].astype("object")
        start_rating = calibrated.where(calibrated.notna(), submitted_rating)
    else:
        start_rating = submitted_rating
    rating = changed["rating"].where(logged_rating, start_rating)
    potential = changed["potential"].where(logged_potential, submitted_potential)
    frame = pd.DataFrame(
        {
            "employee_id": ids,
            "name": people.get("name"),
            "manager_id": people.get("manager_id"),
            "team": people.get("team"),
            "submitted_rating": submitted_rating,
            "start_rating": start_rating,
            "rating": rating,
            "rating_changed": _differs(rating, start_rating),
            "submitted_potential": submitted_potential,
            "potential": potential,
            "potential_changed": _differs(potential, submitted_potential),
            "version": changed["version"].fillna(0),
            "flagged": changed["flagged"].fillna(False),
            "discussed": changed["discussed"].fillna(False),
            "notes": changed["notes"].fillna(""),
            "last_changed_by": changed["last_changed_by"],
            "last_changed_at": changed["last_changed_at"],
        },
        index=ids,
    )
    dtype = rating_type(roster.config)
    flags = dict.fromkeys(("rating_changed", "potential_changed", "flagged", "discussed"), "bool")
    texts = ("submitted_potential", "potential", "notes", "last_changed_by", "last_changed_at")
    text = dict.fromkeys(texts, "object")
    ratings = dict.fromkeys(("submitted_rating", "start_rating", "rating"), dtype)
    frame = frame.astype({**ratings, "version": "int64", **flags, **text})
    return frame.reset_index(drop=True)[TABLE_COLUMNS]


def _differs(now: pd.Series, before: pd.Series) -> pd.Series:
    """Where a value differs from where the session started (missing on both sides: the same)."""
    now, before = now.astype("object"), before.astype("object")
    return (now.ne(before) & ~(now.isna() & before.isna())).astype(bool)
