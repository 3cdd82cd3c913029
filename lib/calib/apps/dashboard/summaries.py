"""What several tabs compute alike from the rows in view, and the team metrics the policy allows.

Rating shares before and after calibration (`stage_distribution`) or after calibration by a column
(`calibrated_distribution`) are descriptive, suppressed below the config's min_group_size as in
`calib.analyses.distributions`. `analysed_note` says when the cycle in view is not the one analysed.
`allowed_team_metrics` keeps the team context columns whose metric the metric policy does not
forbid (the Team context tab and each person's packet).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from calib.analyses.distributions import rating_distribution
from calib.apps.dashboard.filters import Filters
from calib.apps.dashboard.html import esc
from calib.apps.dashboard.sources import Sources

TEAM_METRICS = {  # team context columns (calib.frame / team_dora) -> the metric policy's names
    "deploy_days_per_week": "deployment_frequency",
    "lead_time_hours": "lead_time",
    "change_failure_rate": "change_failure_rate",
    "time_to_restore_hours": "time_to_restore",
    "slo_met_share": "slo_attainment",
}


def stage_distribution(rows: pd.DataFrame, sources: Sources, *, group: str | None = None) -> pd.DataFrame:
    """Submitted and calibrated shares of `rows` as one long table (suppressed below min_group_size)."""
    config = sources.config
    stages = [
        (f"{group}: {stage}" if group else stage, column)
        for stage, column in (("submitted", "rating"), ("after calibration", "final_rating"))
        if column in rows.columns and rows[column].notna().any()
    ]
    if not stages:
        return pd.DataFrame()
    stacked = pd.DataFrame(
        {
            "_stage": np.repeat([label for label, _ in stages], len(rows)),
            "_rating": np.concatenate([rows[column].astype(str).to_numpy() for _, column in stages]),
        }
    )
    stacked = stacked[stacked["_rating"] != "nan"]
    dist = rating_distribution(
        stacked, by="_stage", labels=config.rating_labels, min_group_size=config.min_group_size, column="_rating"
    )
    order = {label: i for i, (label, _) in enumerate(stages)}
    dist = dist.sort_values("group", key=lambda g: g.map(order), kind="stable", ignore_index=True)
    return dist.assign(stage="all")


def calibrated_distribution(rows: pd.DataFrame, sources: Sources, *, by: str) -> pd.DataFrame:
    """Shares of each rating after calibration within each value of `by` (suppressed below min_group_size)."""
    config = sources.config
    return rating_distribution(
        rows, by=by, labels=config.rating_labels, min_group_size=config.min_group_size, column="final_rating"
    ).assign(stage="calibrated")


def analysed_note(sources: Sources, filters: Filters, what: str) -> str:
    """A note when the cycle in view is not the one the analysis covers (analyses are of one cycle)."""
    analysed = sources.results.document.get("cycle")
    if not analysed or analysed == filters.cycle:
        return ""
    return f'<p class="calib-note">{esc(what)} come from the analysis of {esc(analysed)}.</p>'


def allowed_team_metrics(policy) -> list[str]:
    """Team context columns whose metric the policy does not forbid."""
    return [column for column, metric in TEAM_METRICS.items() if policy.kind(metric) != "forbidden"]
