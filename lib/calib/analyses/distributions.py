"""Rating distributions by manager, discipline, level, team, team delivery level and location.

Counts and shares of each rating per group, before (submitted) and after calibration, with
small groups suppressed (calib.privacy) so no breakdown reveals a few people's ratings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from calib.privacy import suppressed_groups

DIMENSIONS = ("reviewer_id", "discipline", "level", "team", "team_delivery_level", "location")
STAGES = {"submitted": "rating", "calibrated": "final_rating"}


def rating_distribution(
    frame: pd.DataFrame, *, by: str, labels: list[str], min_group_size: int, column: str = "final_rating"
) -> pd.DataFrame:
    """Counts and shares of each rating label per group of `by`.

    Returns
    -------
    pandas.DataFrame
        Long format: group, rating (ordered), count, share, n, suppressed. Suppressed groups have
        missing counts and shares (their n is withheld too). Groups in sorted order.
    """
    rows = frame[frame[by].notna()] if by in frame.columns else frame.iloc[0:0]
    groups = rows[by].astype(str)
    table = pd.crosstab(groups, rows[column].astype(str)).reindex(columns=labels, fill_value=0)
    sizes = table.sum(axis=1)
    hidden = suppressed_groups(sizes, min_group_size)
    long = table.stack().rename("count").reset_index()
    long.columns = ["group", "rating", "count"]
    long["n"] = long["group"].map(sizes)
    long["share"] = long["count"] / long["n"]
    long["suppressed"] = long["group"].map(hidden).astype(bool)
    for column_name in ("count", "n", "share"):
        long[column_name] = long[column_name].astype("float64").where(~long["suppressed"], np.nan)
    long["rating"] = long["rating"].astype(pd.CategoricalDtype(labels, ordered=True))
    long.insert(0, "dimension", by)
    return long.sort_values(["group", "rating"], ignore_index=True)


def distributions(frame: pd.DataFrame, *, cycle: str, labels: list[str], min_group_size: int) -> pd.DataFrame:
    """Every dimension, before and after calibration, for one cycle (one long table)."""
    rows = frame[frame["cycle"] == cycle]
    parts = []
    for stage, column in STAGES.items():
        if column not in rows.columns or rows[column].isna().all():
            continue
        parts.append(
            rating_distribution(
                rows.assign(all="org"), by="all", labels=labels, min_group_size=min_group_size, column=column
            ).assign(stage=stage)
        )
        for dimension in DIMENSIONS:
            if dimension in rows.columns:
                parts.append(
                    rating_distribution(
                        rows, by=dimension, labels=labels, min_group_size=min_group_size, column=column
                    ).assign(stage=stage)
                )
    out = pd.concat(parts, ignore_index=True)
    return out[["stage", "dimension", "group", "rating", "count", "share", "n", "suppressed"]]
