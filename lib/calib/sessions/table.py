"""The session as a table: one row per person in scope, the reviews' values merged with the log's (pure).

This is what the dashboard's Calibrate tab shows and what the export writes back: per person the
submitted and current rating (ordered categoricals on the scale) and potential, whether each was
changed, the version (0 = as submitted), flags, notes and the last change's author and time.
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
    rating_changed = changed["rating_changed"].fillna(False).astype(bool)
    potential_changed = changed["potential_changed"].fillna(False).astype(bool)
    submitted_rating = changed["submitted_rating"].where(rating_changed, reviews["rating"])
    submitted_potential = changed["submitted_potential"].where(potential_changed, submitted_potential)
    frame = pd.DataFrame(
        {
            "employee_id": ids,
            "name": people.get("name"),
            "manager_id": people.get("manager_id"),
            "team": people.get("team"),
            "submitted_rating": submitted_rating,
            "rating": changed["rating"].where(rating_changed, submitted_rating),
            "rating_changed": rating_changed,
            "submitted_potential": submitted_potential,
            "potential": changed["potential"].where(potential_changed, submitted_potential),
            "potential_changed": potential_changed,
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
    frame = frame.astype({"submitted_rating": dtype, "rating": dtype, "version": "int64", **flags, **text})
    return frame.reset_index(drop=True)[TABLE_COLUMNS]
