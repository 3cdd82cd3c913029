"""The canonical inputs: their columns, what kind of value each holds, and how text becomes typed.

`parse` turns text into typed columns with vectorized pandas calls and reports every value it
could not read; `calib.inputs.schemas` then checks the typed frames with pandera.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from calib.errors import Problem
from calib.inputs.config import InputName

Kind = Literal["id", "text", "number", "integer", "date", "datetime", "bool", "upper", "lower"]

EXPECTED_TEXT: dict[Kind, str] = {
    "number": "a number",
    "integer": "a whole number",
    "date": "a date like 2026-03-31",
    "datetime": "a date-time like 2026-03-31T14:05:00Z",
    "bool": "true/false, yes/no or 1/0",
}
# A time written with its zone: Z, +02:00, -0500, +01 or UTC after the clock time. Plain regular
# expression syntax, so that DuckDB, PostgreSQL and Spark read it as pandas does (calib.delivery.checks).
ZONED = r"[0-9]:[0-9][0-9](?::[0-9][0-9](?:\.[0-9]+)?)?\s?(?:Z|z|[+-][0-9][0-9](?::?[0-9][0-9])?|UTC|GMT)$"
TRUE_WORDS = {"true", "t", "yes", "y", "1", "1.0"}
FALSE_WORDS = {"false", "f", "no", "n", "0", "0.0"}


@dataclass(frozen=True)
class Col:
    """One canonical column: `required` = must be present; `nullable` = cells may be empty."""

    name: str
    kind: Kind = "text"
    required: bool = True
    nullable: bool = False


def _opt(name: str, kind: Kind = "text") -> Col:
    return Col(name, kind, required=False, nullable=True)


CONTRACT: dict[InputName, tuple[Col, ...]] = {
    "people": (
        Col("employee_id", "id"),
        Col("name"),
        Col("manager_id", "id", nullable=True),
        Col("team"),
        Col("discipline", "lower"),
        Col("level"),
        _opt("track"),
        _opt("location"),
        _opt("hire_date", "date"),
    ),
    "reviews": (
        Col("cycle", "id"),
        Col("employee_id", "id"),
        Col("reviewer_id", "id"),
        Col("rating"),
        _opt("calibrated_rating"),
        _opt("potential"),
        _opt("promotion_recommended", "bool"),
    ),
    "criteria_scores": (
        Col("cycle", "id"),
        Col("employee_id", "id"),
        Col("criterion"),
        Col("score", "number"),
    ),
    "evidence": (
        Col("employee_id", "id"),
        Col("date", "date"),
        Col("category", "lower"),
        _opt("criterion"),
        Col("kind", "lower"),
        Col("title"),
        Col("url", nullable=True),
    ),
    "peer_feedback": (
        Col("cycle", "id"),
        Col("reviewer_id", "id"),
        Col("reviewee_id", "id"),
        Col("relationship", "lower"),
        _opt("criterion"),
        Col("score", "number", nullable=True),
        _opt("comment"),
    ),
    "deployments": (
        Col("deployment_id", "id"),
        Col("service", "id"),
        Col("finished_at", "datetime"),
        Col("result", "upper"),
        Col("environment", "lower"),
        _opt("lead_time_hours", "number"),
        _opt("deployment_commit_id", "id"),  # a row's own id (DevLake's deployment commit); changes may name it
    ),
    "changes": (
        Col("change_id", "id"),
        Col("deployment_id", "id"),
        Col("created_at", "datetime"),
    ),
    "incidents": (
        Col("incident_id", "id"),
        Col("service", "id"),
        Col("started_at", "datetime"),
        Col("resolved_at", "datetime", nullable=True),
        _opt("caused_by_deployment_id", "id"),
        _opt("severity"),
    ),
    "team_metrics": (
        Col("team"),
        Col("period_start", "date"),
        Col("period_end", "date"),
        Col("deployment_frequency", "number", nullable=True),
        Col("lead_time_hours", "number", nullable=True),
        Col("change_failure_rate", "number", nullable=True),
        Col("time_to_restore_hours", "number", nullable=True),
        _opt("deployment_frequency_n", "integer"),
        _opt("lead_time_n", "integer"),
        _opt("change_failure_rate_n", "integer"),
        _opt("time_to_restore_n", "integer"),
    ),
    "slos": (
        Col("service", "id"),
        Col("slo_name"),
        Col("target", "number"),
        Col("window_days", "integer"),
        Col("good_events", "number"),
        Col("total_events", "number"),
        _opt("window_end", "date"),  # several rows per SLO, one per window, make a trend
    ),
    "services": (Col("service", "id"), Col("team")),
    "teams": (Col("team"), _opt("org"), _opt("team_type", "lower")),
    "expectations": (
        Col("cycle", "id"),
        Col("employee_id", "id"),
        Col("expectation"),
        _opt("key_steps"),
        _opt("status", "lower"),
    ),
    "telemetry": (  # per-person context metrics, long format; see calib.inputs.policy
        Col("cycle", "id"),
        Col("employee_id", "id"),
        Col("metric", "lower"),
        Col("value", "number", nullable=True),
    ),
}


def parse(frame: pd.DataFrame, name: InputName, file: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Give each canonical column its type; report every non-empty value that does not parse.

    Unparsable values become missing in the returned frame, and each yields one Problem.
    Columns outside the contract are kept as they are.
    """
    frame = frame.copy()
    problems: list[Problem] = []
    for col in CONTRACT[name]:
        if col.name not in frame.columns:
            continue
        raw = frame[col.name]
        typed = _convert(raw, col.kind)
        frame[col.name] = typed
        if col.kind in EXPECTED_TEXT:
            bad = raw.notna() & typed.isna()
            for row, value in raw[bad].items():
                problems.append(Problem(file, int(row), col.name, str(value), EXPECTED_TEXT[col.kind]))
    return frame, problems


def times_without_zones(raw: pd.DataFrame, typed: pd.DataFrame, name: InputName, file: str) -> list[Problem]:
    """One warning per time column that mixes times with a zone and times without (read as UTC).

    Parameters
    ----------
    raw, typed
        The input as written (text) and as `parse` typed it. A vendor export's adapter writes its
        own times, so this is for inputs in the canonical format.
    """
    problems = []
    for col in CONTRACT[name]:
        if col.kind not in ("date", "datetime") or col.name not in raw.columns:
            continue
        text, read = raw[col.name], typed[col.name].notna()
        if not pd.api.types.is_string_dtype(text):
            continue
        clock = text.str.contains(":", regex=False, na=False)  # a zone follows a clock time: dates alone have none
        if not clock.any():
            continue
        zoned = clock & text.str.contains(ZONED, regex=True, na=False)
        naive = read & ~zoned
        if naive.any() and (read & zoned).any():
            row = naive.idxmax()
            count, others = int(naive.sum()), int((read & zoned).sum())
            problems.append(mixed_zones(file, col.name, int(row), str(text[row]), count, others))
    return problems


def mixed_zones(
    file: str, column: str, row: int, value: str, naive: int, zoned: int, key: str | None = None
) -> Problem:
    """The warning for a column whose times mix zones and no zones (the first time without one as the example).

    Parameters
    ----------
    row, value, key
        The first time without a zone: its row, its text and, in a database table, its row's id.
    naive, zoned
        How many times of the column have no zone (read as UTC) and how many have one.
    """
    were = "value without one was" if naive == 1 else "values without one were"
    have = "value in this column has" if zoned == 1 else "values in this column have"
    expected = f"a time zone, as the {zoned:,} other {have} (Z, +02:00, ...): {naive:,} {were} read as UTC"
    return Problem(file, row, column, value, expected, "warning", key=key)


def _convert(raw: pd.Series, kind: Kind) -> pd.Series:
    if kind in ("id", "text", "upper", "lower"):
        text = _as_text(raw)
        if kind == "upper":
            return text.str.upper()
        if kind == "lower":
            return text.str.lower()
        return text
    if kind in ("number", "integer"):
        values = pd.to_numeric(raw, errors="coerce").astype("float64")
        if kind == "integer":
            values = values.where(np.isclose(values, values.round()))
        return values
    if kind == "date":
        return _as_datetime(raw).dt.tz_localize(None).dt.normalize()
    if kind == "datetime":
        return _as_datetime(raw)
    if kind == "bool":
        if pd.api.types.is_bool_dtype(raw):
            return raw.astype("boolean")
        text = _as_text(raw).str.lower()
        values = text.map(lambda v: True if v in TRUE_WORDS else False if v in FALSE_WORDS else None)
        return values.astype("boolean")
    raise ValueError(f"unknown column kind {kind}")


def _as_text(raw: pd.Series) -> pd.Series:
    if pd.api.types.is_string_dtype(raw):
        return raw.astype("str")
    if pd.api.types.is_float_dtype(raw):  # ids from Parquet or Excel numbers: 1001.0 -> "1001"
        ints = raw.dropna()
        if (ints == ints.round()).all():
            return raw.astype("Int64").astype("str")
    return raw.astype("str").where(raw.notna())


def _as_datetime(raw: pd.Series) -> pd.Series:
    """UTC timestamps; naive input is taken as UTC; ISO 8601 first, then day-first-free guessing."""
    if pd.api.types.is_datetime64_any_dtype(raw):
        values = raw
    else:
        values = pd.to_datetime(raw, errors="coerce", utc=True, format="ISO8601")
        retry = raw.notna() & values.isna()
        if retry.any():  # e.g. "03/31/2026" from a spreadsheet export
            values = values.astype("datetime64[us, UTC]")  # the first pass may infer second precision
            values[retry] = pd.to_datetime(raw[retry], errors="coerce", utc=True, format="mixed")
    if getattr(values.dt, "tz", None) is None:
        values = values.dt.tz_localize("UTC")
    return values.dt.tz_convert("UTC").astype("datetime64[us, UTC]")


def is_in(values: pd.Series, known: pd.Series | pd.Index) -> np.ndarray:
    """Which of `values` occur in `known`, as a boolean array (missing values: False).

    Arrow's hash lookup: pandas' Series.isin on Arrow strings turns `known` into Python objects
    one by one, which took 8 s for 1M deployment ids.
    """
    lookup = pa.array(pd.Series(known, dtype="str").dropna().unique())
    found = pc.is_in(pa.array(pd.Series(values, dtype="str")), value_set=lookup)
    return found.fill_null(False).to_numpy(zero_copy_only=False)
