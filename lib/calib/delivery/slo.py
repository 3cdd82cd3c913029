"""SLO arithmetic (OpenSLO, Sloth, Pyrra and the Google SRE workbook agree on it).

For one SLO window with `good` of `total` events and a target ratio t:
- attainment a = good / total;
- error budget = 1 - t (the share of events allowed to fail);
- budget consumed = (1 - a) / (1 - t); remaining = 1 - consumed (negative when blown);
- burn rate = observed error ratio / error budget. Counts that cover the whole window make it
  equal to the share consumed; 1.0 means failing exactly at the allowed pace.
A target of 1 leaves no budget: any failure consumes an infinite share, none consumes 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from calib.delivery.dora import Period


def slo_status(slos: pd.DataFrame) -> pd.DataFrame:
    """Add attainment, error_budget, budget_consumed, budget_remaining, burn_rate and met.

    Parameters
    ----------
    slos
        Rows with target (a ratio in (0, 1]), good_events and total_events.

    Returns
    -------
    pandas.DataFrame
        A copy with the new columns; rows with total_events == 0 have missing attainment.
    """
    out = slos.copy()
    total = out["total_events"].astype("float64")
    out["attainment"] = out["good_events"] / total.where(total > 0)
    out["error_budget"] = 1 - out["target"]
    error_ratio = 1 - out["attainment"]
    with np.errstate(divide="ignore", invalid="ignore"):
        consumed = error_ratio / out["error_budget"]
    no_budget = out["error_budget"] <= 0
    consumed = consumed.where(~no_budget, np.where(error_ratio > 0, np.inf, 0.0))
    out["budget_consumed"] = consumed.where(out["attainment"].notna())
    out["budget_remaining"] = 1 - out["budget_consumed"]
    out["burn_rate"] = out["budget_consumed"]
    out["met"] = (out["attainment"] >= out["target"]).where(out["attainment"].notna())
    return out


def team_slos(slos: pd.DataFrame, services: pd.DataFrame, periods: Sequence[Period]) -> pd.DataFrame:
    """SLO context per team and period: share of SLO windows met and median budget consumed.

    A window counts toward a period when its `window_end` falls inside it (rows without
    window_end count toward every period). Returns team, period, slo_windows (n),
    slo_met_share, slo_budget_consumed (median) and slo_attainment (events pooled).
    """
    status = slo_status(slos).merge(services[["service", "team"]], on="service", how="inner")
    status = status[status["attainment"].notna()]
    rows = []
    for period in periods:
        if "window_end" in status.columns:
            ends = status["window_end"]
            inside = status[ends.isna() | ((ends >= period.start) & (ends <= period.end))]
        else:
            inside = status
        grouped = inside.groupby("team")
        summary = pd.DataFrame(
            {
                "slo_windows": grouped.size(),
                "slo_met_share": grouped["met"].mean(),
                "slo_budget_consumed": grouped["budget_consumed"].median(),
                "slo_attainment": grouped["good_events"].sum() / grouped["total_events"].sum(),
            }
        )
        rows.append(summary.reset_index().assign(period=period.id))
    columns = ["team", "period", "slo_windows", "slo_met_share", "slo_budget_consumed", "slo_attainment"]
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.concat(rows, ignore_index=True)[columns]
