"""Pandera schemas for the typed inputs, built from the contract and the cycle config.

Every check is named by what it expects, so a failure reads as a sentence. Checks that
span columns are named "col1,col2 :: expected" and are reported once per row.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import pandera.pandas as pa

from calib.inputs.config import CycleConfig, InputName
from calib.inputs.contract import CONTRACT, Col

EVIDENCE_CATEGORIES = ("delivery", "reliability", "influence")
RELATIONSHIPS = ("peer", "cross_functional", "report", "skip_level", "calibrator", "self", "manager")
DEPLOY_RESULTS = ("SUCCESS", "FAILURE")  # checked in the engine (calib.delivery.checks)
SPAN = " :: "

DTYPES = {
    "id": str,
    "text": str,
    "upper": str,
    "lower": str,
    "number": "float64",
    "integer": "float64",
    "date": "datetime64[us]",
    "datetime": "datetime64[us, UTC]",
    "bool": "boolean",
}


def one_of(values: Iterable[object], what: str = "one of") -> pa.Check:
    """Values must be in a list; the message lists it."""
    allowed = list(values)
    shown = ", ".join(str(v) for v in allowed[:12]) + (", ..." if len(allowed) > 12 else "")
    return pa.Check(lambda s: s.isin(allowed), name=f"{what} {shown}", ignore_na=True)


def at_least(low: float, *, strict: bool = False) -> pa.Check:
    """A lower bound."""
    if strict:
        return pa.Check(lambda s: s > low, name=f"a number above {low:g}", ignore_na=True)
    return pa.Check(lambda s: s >= low, name=f"a number of at least {low:g}", ignore_na=True)


def between(low: float, high: float) -> pa.Check:
    """A closed range."""
    return pa.Check(lambda s: s.between(low, high), name=f"a number from {low:g} to {high:g}", ignore_na=True)


def once(columns: list[str]) -> pa.Check:
    """Each combination of `columns` in one row only (the later repeats are reported)."""
    key = ",".join(columns)
    return pa.Check(
        lambda df: ~df.duplicated(subset=columns, keep="first"),
        name=f"{key}{SPAN}each ({', '.join(columns)}) once; this repeats an earlier row",
    )


def not_before(later: str, earlier: str) -> pa.Check:
    """`later` is empty or on/after `earlier`."""
    return pa.Check(
        lambda df: df[later].isna() | df[earlier].isna() | (df[later] >= df[earlier]),
        name=f"{later}{SPAN}a time on or after {earlier}",
    )


def schema_for(name: InputName, config: CycleConfig, columns: Iterable[str]) -> pa.DataFrameSchema:
    """The schema of one input, for a frame that has `columns` (optional ones may be absent)."""
    present = set(columns)
    specs = [c for c in CONTRACT[name] if c.required or c.name in present]
    checks = _column_checks(name, config)
    return pa.DataFrameSchema(
        {c.name: _column(c, checks.get(c.name, [])) for c in specs},
        checks=_frame_checks(name, present),
        strict=False,
        coerce=False,
        name=name,
    )


def _column(col: Col, checks: list[pa.Check]) -> pa.Column:
    return pa.Column(DTYPES[col.kind], checks=checks, nullable=col.nullable, required=col.required)


def _column_checks(name: InputName, config: CycleConfig) -> dict[str, list[pa.Check]]:
    cycles = [c.id for c in config.cycles]
    scale = config.rating_labels
    low, high = config.score_range
    return {
        "people": {
            "employee_id": [pa.Check(lambda s: ~s.duplicated(), name="an employee_id used only once")],
            "level": [one_of(config.levels, "a level of the ladder:")],
            **({"discipline": [one_of(config.disciplines)]} if config.disciplines else {}),
        },
        "reviews": {
            "cycle": [one_of(cycles, "a cycle of the config:")],
            "rating": [one_of(scale, "a rating on the scale:")],
            "calibrated_rating": [one_of(scale, "a rating on the scale:")],
        },
        "criteria_scores": {
            "cycle": [one_of(cycles, "a cycle of the config:")],
            "score": [between(low, high), _half_points()],
        },
        "evidence": {"category": [one_of(EVIDENCE_CATEGORIES)]},
        "peer_feedback": {
            "cycle": [one_of(cycles, "a cycle of the config:")],
            "relationship": [one_of(RELATIONSHIPS)],
            "score": [between(low, high), _half_points()],
        },
        # deployments, changes and incidents are checked in the engine: calib.delivery.checks
        "team_metrics": {
            "deployment_frequency": [at_least(0)],
            "lead_time_hours": [at_least(0)],
            "change_failure_rate": [between(0, 1)],
            "time_to_restore_hours": [at_least(0)],
        },
        "services": {"service": [pa.Check(lambda s: ~s.duplicated(), name="a service listed once")]},
        "teams": {"team": [pa.Check(lambda s: ~s.duplicated(), name="a team listed once")]},
        "expectations": {"cycle": [one_of(cycles, "a cycle of the config:")]},
    }.get(name, {})


def _frame_checks(name: InputName, present: set[str]) -> list[pa.Check]:
    checks: dict[str, list[pa.Check]] = {
        "reviews": [once(["cycle", "employee_id"])],
        "criteria_scores": [once(["cycle", "employee_id", "criterion"])],
        "team_metrics": [not_before("period_end", "period_start"), once(["team", "period_start"])],
    }
    return checks.get(name, [])


def _half_points() -> pa.Check:
    return pa.Check(lambda s: (s * 2).round() == s * 2, name="a whole or half point", ignore_na=True)


def failure_rows(failures: pd.DataFrame) -> list[tuple[str | None, int | None, object, str]]:
    """Pandera's failure cases as (column, row, value, expected), one per problem.

    A check spanning columns fails with one case per column of the frame; keep the case of
    its first named column and name all of its columns.
    """
    rows = []
    for column, index, value, check in failures[["column", "index", "failure_case", "check"]].itertuples(index=False):
        expected = str(check)
        if SPAN in expected:
            key, expected = expected.split(SPAN, 1)
            if column != key.split(",")[0]:
                continue
            column = key
        row = None if index is None or pd.isna(index) else int(index)
        rows.append((None if column is None or pd.isna(column) else str(column), row, value, expected))
    return rows
