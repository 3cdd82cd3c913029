"""Ratings on the configured scale: an ordered categorical plus a number.

The number is the rating's position on the scale (1 = lowest) for a labelled scale, or the
scale's own value for a numeric scale, so "Meets" on a 5-point scale is 3.
"""

from __future__ import annotations

import pandas as pd

from calib.inputs.config import CycleConfig


def rating_type(config: CycleConfig) -> pd.CategoricalDtype:
    """The ordered categorical type of the configured scale."""
    return pd.CategoricalDtype(config.rating_labels, ordered=True)


def rating_values(config: CycleConfig) -> dict[str, float]:
    """Label -> number on the scale."""
    numeric = all(isinstance(v, int | float) for v in config.rating_scale)
    return {
        label: float(value) if numeric else float(position)
        for position, (label, value) in enumerate(zip(config.rating_labels, config.rating_scale, strict=True), 1)
    }


def canonical_labels(ratings: pd.Series, config: CycleConfig) -> pd.Series:
    """Map case and spacing variants ("meets ", "MEETS") and numbers ("3.0") to the scale's labels.

    Values that match nothing are returned unchanged, for the schema to report.
    """
    lookup = {_key(label): label for label in config.rating_labels}
    if all(isinstance(v, int | float) for v in config.rating_scale):
        numbers = pd.to_numeric(ratings, errors="coerce")
        as_label = numbers.map(lambda v: lookup.get(_key(f"{v:g}")) if pd.notna(v) else None)
        ratings = as_label.where(as_label.notna(), ratings)
    keyed = ratings.map(lambda v: lookup.get(_key(v)) if isinstance(v, str) else None)
    return keyed.where(keyed.notna(), ratings)


def _key(value: str) -> str:
    return " ".join(str(value).split()).casefold()


def with_rating_numbers(reviews: pd.DataFrame, config: CycleConfig) -> pd.DataFrame:
    """Add rating_value, calibrated_value and final_rating/final_value to reviews.

    `final_rating` is the calibrated rating where there is one, else the manager's rating.
    Rating columns become ordered categoricals on the scale.
    """
    dtype = rating_type(config)
    values = rating_values(config)
    out = reviews.copy()
    out["rating"] = out["rating"].astype(dtype)
    out["rating_value"] = out["rating"].map(values).astype("float64")
    if "calibrated_rating" in out.columns:
        out["calibrated_rating"] = out["calibrated_rating"].astype(dtype)
        out["calibrated_value"] = out["calibrated_rating"].map(values).astype("float64")
        out["final_rating"] = out["calibrated_rating"].where(out["calibrated_rating"].notna(), out["rating"])
    else:
        out["calibrated_value"] = float("nan")
        out["final_rating"] = out["rating"]
    out["final_rating"] = out["final_rating"].astype(dtype)
    out["final_value"] = out["final_rating"].map(values).astype("float64")
    return out
