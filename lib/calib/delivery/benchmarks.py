"""DORA performance levels as grading rules, one table per published report.

The reports publish *clusters* of survey answers, with gaps and overlaps between them, not
cut-offs. The rules here close the gaps in one stated way; every threshold is the report's
own number. Levels are ordered low < medium < high < elite.

dora-2021 (State of DevOps 2021, p. 9), our boundary rules:
- deployment frequency: elite when the median week has >= 5 deployment days ("on demand");
  high when the median month has >= 1 deployment day (between daily and monthly); medium
  when there is at least one deployment day per 6 months on average; else low.
- lead time for changes: elite < 1 h; high < 1 week; medium < 6 months (of 730 h); else low
  (the report's gaps, 1 h-1 day and 1 week-1 month, go to the cluster below the gap; exactly
  1 h is high and exactly 1 week medium, as DevLake grades them; DevLake's "6 months" is 180 d).
- time to restore: elite < 1 h; high < 1 day; medium < 1 week; else low.
- change failure rate: elite <= 15%; high <= 30%; else low. The report puts high, medium
  and low all at 16-30%, so it cannot separate them; we call that band high and anything
  above it low (the report has no cluster above 30%). No team is graded medium on it.

dora-2023 (Accelerate State of DevOps 2023), as Apache DevLake's DORA dashboard grades it:
- deployment frequency: median deployment days per week >= 5 elite (DevLake's code; its docs
  say 7); >= 1 high; median deployment days per month >= 1 medium; else low.
- lead time: < 24 h elite; < 7 days high; < 30 days medium; else low.
- change failure rate: <= 5% elite; <= 10% high; <= 15% medium; else low.
- recovery time: < 1 h elite; < 24 h high; < 7 days medium; else low.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import pandas as pd

Level = Literal["low", "medium", "high", "elite"]
LEVELS: list[Level] = ["low", "medium", "high", "elite"]
LEVEL_TYPE = pd.CategoricalDtype(LEVELS, ordered=True)
HOUR = 1.0
DAY = 24.0
WEEK = 7 * DAY
MONTH = 730.0  # hours in an average month
BENCHMARK_SOURCES = {
    "dora-2021": "DORA, Accelerate State of DevOps 2021, p. 9 (clusters; boundary rules in calib.delivery.benchmarks)",
    "dora-2023": "DORA, Accelerate State of DevOps 2023, as graded by Apache DevLake's DORA dashboard",
}


def _upper(limits: list[tuple[float, Level]], *, inclusive: bool, fallback: Level) -> Callable[[float], Level | None]:
    """Smaller is better: the first level whose limit the value is under."""

    def grade(value: float) -> Level | None:
        if value is None or np.isnan(value):
            return None
        for limit, level in limits:
            if value < limit or (inclusive and value == limit):
                return level
        return fallback

    return grade


def _deploy_grade_2023(per_week: float, per_month: float, per_half_year: float) -> Level | None:
    if np.isnan(per_week):
        return None
    if per_week >= 5:
        return "elite"
    if per_week >= 1:
        return "high"
    if per_month >= 1:
        return "medium"
    return "low"


def _deploy_grade_2021(per_week: float, per_month: float, per_half_year: float) -> Level | None:
    if np.isnan(per_week):
        return None
    if per_week >= 5:
        return "elite"
    if per_month >= 1:
        return "high"
    if per_half_year >= 1:
        return "medium"
    return "low"


GRADERS: dict[str, dict[str, Callable]] = {
    "dora-2021": {
        "deployment_frequency": _deploy_grade_2021,
        "lead_time": _upper(
            [(1 * HOUR, "elite"), (WEEK, "high"), (6 * MONTH, "medium")], inclusive=False, fallback="low"
        ),
        "time_to_restore": _upper(
            [(1 * HOUR, "elite"), (DAY, "high"), (WEEK, "medium")], inclusive=False, fallback="low"
        ),
        "change_failure_rate": _upper([(0.15, "elite"), (0.30, "high")], inclusive=True, fallback="low"),
    },
    "dora-2023": {
        "deployment_frequency": _deploy_grade_2023,
        "lead_time": _upper([(DAY, "elite"), (WEEK, "high"), (30 * DAY, "medium")], inclusive=False, fallback="low"),
        "time_to_restore": _upper(
            [(1 * HOUR, "elite"), (DAY, "high"), (WEEK, "medium")], inclusive=False, fallback="low"
        ),
        "change_failure_rate": _upper(
            [(0.05, "elite"), (0.10, "high"), (0.15, "medium")], inclusive=True, fallback="low"
        ),
    },
}


def grade(metrics: pd.DataFrame, benchmark: str) -> pd.DataFrame:
    """Add a level column per DORA metric and an overall `delivery_level`.

    Parameters
    ----------
    metrics
        One row per team and period with deploy_days_per_week, deploy_days_per_month,
        deploy_days_per_half_year, lead_time_hours, change_failure_rate, time_to_restore_hours.
    benchmark
        "dora-2021" or "dora-2023".

    Returns
    -------
    pandas.DataFrame
        The input plus *_level columns (ordered categoricals, missing when the metric is).
        `delivery_level` is the lower median of the metric levels present (the middle one of
        three; of four, the second lowest), so one outstanding metric cannot lift a team.
    """
    graders = GRADERS[benchmark]
    out = metrics.copy()
    out["deployment_frequency_level"] = [
        graders["deployment_frequency"](w, m, h)
        for w, m, h in zip(
            out["deploy_days_per_week"], out["deploy_days_per_month"], out["deploy_days_per_half_year"], strict=True
        )
    ]
    for metric, column in (
        ("lead_time", "lead_time_hours"),
        ("time_to_restore", "time_to_restore_hours"),
        ("change_failure_rate", "change_failure_rate"),
    ):
        out[f"{metric}_level"] = out[column].astype("float64").map(graders[metric])
    level_columns = [
        f"{m}_level" for m in ("deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore")
    ]
    for column in level_columns:
        out[column] = out[column].astype(LEVEL_TYPE)
    codes = np.column_stack([out[c].cat.codes.to_numpy() for c in level_columns]).astype(float)
    codes[codes < 0] = np.nan
    out["delivery_level"] = pd.Categorical.from_codes(_lower_median_codes(codes), dtype=LEVEL_TYPE)
    return out


def _lower_median_codes(codes: np.ndarray) -> np.ndarray:
    result = np.full(len(codes), -1, dtype=int)
    for i, row in enumerate(codes):
        present = np.sort(row[~np.isnan(row)])
        if len(present):
            result[i] = int(present[(len(present) - 1) // 2])
    return result
