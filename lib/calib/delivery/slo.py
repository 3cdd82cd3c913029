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

import ibis
import ibis.expr.types as ir
import pandas as pd

from calib.delivery import expressions
from calib.delivery.engine import ROW, Engine, connect
from calib.delivery.periods import Period, periods_table

STATUS_COLUMNS = ["attainment", "error_budget", "budget_consumed", "budget_remaining", "burn_rate", "met"]
TEAM_COLUMNS = ["team", "period", "slo_windows", "slo_met_share", "slo_budget_consumed", "slo_attainment"]


def status(slos: ir.Table) -> ir.Table:
    """The SLO rows with attainment, error_budget, budget_consumed, budget_remaining, burn_rate and met."""
    total = slos.total_events.cast("float64")
    attainment = ibis.ifelse(total > 0, slos.good_events.cast("float64") / total, ibis.null("float64"))
    error_budget = 1 - slos.target
    error_ratio = 1 - attainment
    consumed = ibis.ifelse(
        error_budget <= 0,
        ibis.ifelse(error_ratio > 0, ibis.literal(float("inf")), ibis.literal(0.0)),
        error_ratio / error_budget,
    )
    consumed = ibis.ifelse(attainment.notnull(), consumed, ibis.null("float64"))
    return slos.mutate(
        attainment=attainment,
        error_budget=error_budget,
        budget_consumed=consumed,
        budget_remaining=1 - consumed,
        burn_rate=consumed,
        met=ibis.ifelse(attainment.notnull(), attainment >= slos.target, ibis.null("boolean")),
    )


def slo_status(slos: pd.DataFrame, *, engine: Engine | None = None) -> pd.DataFrame:
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
    engine = engine or connect()
    got = engine.execute(status(engine.frame(slos)).select(ROW, *STATUS_COLUMNS).order_by(ROW), "SLO status")
    out = slos.copy()
    for column in STATUS_COLUMNS:
        out[column] = got[column].to_numpy()
    out["met"] = out["met"].astype(object).where(out["attainment"].notna())
    return out


def slo_query(
    slos: ir.Table, services: ir.Table, periods: Sequence[Period], *, builtin_median: bool = True
) -> ir.Table:
    """The query behind `team_slos`: per team and period, windows, met share, median consumed, events."""
    rows = status(slos).join(services.select("service", "team"), "service")
    rows = rows.filter(rows.attainment.notnull())
    cuts = periods_table(periods)
    if "window_end" in rows.columns:
        end = rows.window_end.cast("date")
        inside = rows.join(cuts, end.isnull() | ((end >= cuts.start) & (end <= cuts.end)))
    else:
        inside = rows.cross_join(cuts)
    keys = ["team", "period"]
    counts = inside.group_by(keys).agg(
        slo_windows=ibis._.count(),
        slo_met_share=expressions.share_true(inside.met, where=inside.met.notnull()),
        slo_good=inside.good_events.sum(),
        slo_total=inside.total_events.sum(),
    )
    medians = expressions.median(inside, "budget_consumed", keys, "slo_budget_consumed", builtin=builtin_median)
    query = counts.left_join(medians, keys).drop("team_right", "period_right")
    return query


def team_slos(
    slos: pd.DataFrame | ir.Table,
    services: pd.DataFrame | ir.Table,
    periods: Sequence[Period],
    *,
    engine: Engine | None = None,
) -> pd.DataFrame:
    """SLO context per team and period: share of SLO windows met and median budget consumed.

    A window counts toward a period when its `window_end` falls inside it (rows without
    window_end count toward every period). Returns team, period, slo_windows (n),
    slo_met_share, slo_budget_consumed (median) and slo_attainment (events pooled).
    """
    engine = engine or connect()
    slos_t = engine.frame(slos) if isinstance(slos, pd.DataFrame) else slos
    services_t = engine.frame(services) if isinstance(services, pd.DataFrame) else services
    if not periods:
        return pd.DataFrame(columns=TEAM_COLUMNS)
    query = slo_query(slos_t, services_t, periods, builtin_median=engine.builtin_median)
    got = engine.execute(query, "team SLOs")
    got["slo_attainment"] = got["slo_good"] / got["slo_total"]
    order = {p.id: i for i, p in enumerate(periods)}
    got = got.assign(_order=got["period"].map(order)).sort_values(["_order", "team"], kind="stable")
    return got[TEAM_COLUMNS].astype({"slo_windows": "int64"}).reset_index(drop=True)
