"""DORA delivery metrics per team and period, from raw events or from a team_metrics export.

Definitions (each carries its n; see calib.delivery.benchmarks for the grading, and the README's
definitions table for how they compare with Apache DevLake's and Four Keys'):
- deployments are successful deployments to the production environment; rows sharing a
  deployment_id are one deployment, counted when any of its rows succeeded in production and
  finished at the latest of those rows (as Apache DevLake does; failed rows of the same id do
  not undo it);
- deployment frequency: deployment days per calendar week (weeks start Monday; every week
  overlapping the period counts, empty weeks included, days outside the period do not),
  summarized by the median week; also per month and per half year, for the coarser levels;
- lead time for changes: per deployment `lead_time_hours` when given, else deployment
  finish minus change creation for every change in the `changes` input (a change may name its
  deployment by deployment_id or by the deployment_commit_id of one of its rows); values <= 0
  are dropped (as Four Keys does) and counted in `lead_time_dropped`;
- change failure rate: production deployments linked by an incident's
  caused_by_deployment_id / all production deployments (DevLake's definition);
- time to restore: resolved_at - started_at of incidents that started in the period and
  are resolved (open ones are counted in `open_incidents`); it needs incidents and services
  only, so it is computed without a deployments input (whose metrics are then unknown).
Medians are the ordinary median (the mean of the two middle values for even n, Four Keys'
PERCENTILE_CONT); DevLake uses the lower median. Team metrics describe a team, never a person.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from calib.delivery import expressions
from calib.delivery.benchmarks import grade
from calib.delivery.engine import PORTABLE, ROW, Engine, Flavor, connect
from calib.delivery.periods import (  # noqa: F401  (their old home)
    HALF_YEAR_DAYS,
    Period,
    calendar_grid,
    monthly_periods,
    periods_from_cycles,
    periods_table,
)
from calib.inputs.validate import CycleData

METRIC_COLUMNS = [
    "deploy_days_per_week",
    "deploy_days_per_month",
    "deploy_days_per_half_year",
    "deployments",
    "weeks",
    "lead_time_hours",
    "lead_time_n",
    "lead_time_dropped",
    "change_failure_rate",
    "change_failure_rate_n",
    "time_to_restore_hours",
    "time_to_restore_n",
    "open_incidents",
]


Frame = pd.DataFrame | ir.Table


def _tables(engine: Engine, **inputs: Frame | None) -> dict[str, ir.Table | None]:
    return {k: engine.frame(v) if isinstance(v, pd.DataFrame) else v for k, v in inputs.items()}


def production_deployments(
    deployments: Frame, services: Frame, environment: str, *, engine: Engine | None = None
) -> pd.DataFrame:
    """Successful production deployments, one row per deployment_id, with the owning team.

    See `calib.delivery.expressions.production_deployments`; returns deployment_id, service,
    team, finished_at (UTC), day (naive date) and, when the input has it, lead_time_hours.
    """
    engine = engine or connect()
    t = _tables(engine, deployments=deployments, services=services)
    deploys = expressions.production_deployments(t["deployments"], t["services"], environment, engine.flavor)
    out = engine.execute(
        deploys.order_by("deployment_id"),
        "production deployments",
    )
    out["day"] = pd.to_datetime(out["day"])
    return out


def by_deployment_id(references: pd.Series, deployments: Frame, *, engine: Engine | None = None) -> pd.Series:
    """Deployment references as deployment ids: a deployment_commit_id names its row's deployment.

    A reference that is a deployment_id stays; one that is the deployment_commit_id of a row
    becomes that row's deployment_id; any other stays as it is (and matches no deployment).
    """
    engine = engine or connect()
    refs = engine.frame(pd.DataFrame({"reference": references.astype("str")}, index=range(len(references))))
    resolved = expressions.deployment_ids(refs, "reference", _tables(engine, d=deployments)["d"], engine.flavor)
    out = engine.execute(resolved.order_by(ROW), "deployment references")
    return pd.Series(out["reference"].to_numpy(), index=references.index, name=references.name)


def change_lead_times(
    deployments: Frame, services: Frame, changes: Frame | None, environment: str, *, engine: Engine | None = None
) -> pd.DataFrame:
    """Lead time per change in hours, with its team and deployment day (and change_id)."""
    engine = engine or connect()
    t = _tables(engine, deployments=deployments, services=services, changes=changes)
    flavor = engine.flavor
    deploys = expressions.production_deployments(t["deployments"], t["services"], environment, flavor)
    changes_t = t["changes"]
    if changes_t is not None:
        changes_t = expressions.deployment_ids(changes_t, "deployment_id", t["deployments"], flavor)
        joined = changes_t.join(deploys.select("deployment_id", "team", "day", "finished_at"), "deployment_id")
        hours = expressions.hours_between(joined.finished_at, joined.created_at, flavor)
        leads = joined.select("change_id", "team", "day", hours=hours).order_by("change_id")
    elif "lead_time_hours" in deploys.columns:
        given = deploys.filter(deploys.lead_time_hours.notnull())
        leads = given.select("team", "day", hours=given.lead_time_hours)
    else:
        leads = deploys.select("team", "day", hours=ibis.null("float64")).filter(ibis.literal(False))
    return engine.execute(leads, "lead times")


def team_incidents(incidents: Frame, services: Frame, *, engine: Engine | None = None) -> pd.DataFrame:
    """Incidents with their owning team, start day and duration in hours."""
    engine = engine or connect()
    t = _tables(engine, incidents=incidents, services=services)
    owned = expressions.team_incidents(t["incidents"], t["services"], engine.flavor)
    return engine.execute(owned.order_by(ROW), "incidents")


def dora_from_events(
    deployments: Frame | None,
    incidents: Frame | None,
    services: Frame,
    periods: Sequence[Period],
    *,
    changes: Frame | None = None,
    environment: str = "production",
    engine: Engine | None = None,
) -> pd.DataFrame:
    """The four DORA metrics per team and period, with their n, ungraded.

    One query on the engine (DuckDB in this process by default) over pandas frames or engine
    tables; only one row per team and period comes back. Without deployments (None) the
    deployment frequency, lead time and change failure rate are unknown (missing, n = 0) and the
    time to restore is still computed from the incidents.

    Returns one row per (team, period) for every team owning a service, with METRIC_COLUMNS.
    """
    engine = engine or connect()
    t = _tables(engine, deployments=deployments, incidents=incidents, services=services, changes=changes)
    if isinstance(services, pd.DataFrame):  # as team_dora hands it on: no query needed
        teams = sorted(services["team"].dropna().unique())
    else:
        teams = sorted(engine.execute(t["services"].select("team").distinct(), "teams")["team"].dropna())
    aggregates = pd.DataFrame(columns=["team", "period"])
    if teams:
        try:
            query = dora_query(t, teams, periods, environment, flavor=engine.flavor, keep=engine.cache)
            aggregates = engine.execute(query, "team DORA")
        finally:
            engine.release()
    rows = [_period_metrics(aggregates, teams, period, t) for period in periods]
    return pd.concat(rows, ignore_index=True)


def dora_query(
    tables: dict[str, ir.Table | None],
    teams: Sequence[str],
    periods: Sequence[Period],
    environment: str = "production",
    *,
    flavor: Flavor = PORTABLE,
    keep: Callable[[ir.Table], ir.Table] = lambda table: table,
) -> ir.Table:
    """The one query behind `dora_from_events`: aggregates per team and period, not yet run.

    Parameters
    ----------
    tables
        deployments, incidents, changes (each an engine table or None) and services.
    teams, periods
        The rows wanted: every team for every period.
    flavor
        What the engine offers beyond portable SQL (`Engine.flavor`); the default compiles for any
        engine with an exact median (Trino and BigQuery need `builtin_median=False`).
    keep
        Keeps an intermediate result the query reads several times (`Engine.cache`); compiling
        SQL for another engine keeps nothing.
    """
    t = tables
    builtin = flavor.builtin_median
    cuts = periods_table(periods)
    base = ibis.memtable(
        pd.DataFrame([(team, p.id) for p in periods for team in teams], columns=["team", "period"]),
        schema={"team": "string", "period": "string"},
    )
    keys = ["team", "period"]
    parts = []
    if t["deployments"] is not None:
        deployments = t["deployments"]
        deploys = expressions.production_deployments(deployments, t["services"], environment, flavor)
        failed = ibis.literal(False)
        if t["incidents"] is not None and "caused_by_deployment_id" in t["incidents"].columns:
            causes = t["incidents"].select("caused_by_deployment_id")
            links = expressions.deployment_ids(causes, "caused_by_deployment_id", deployments, flavor)
            failed = deploys.deployment_id.isin(links.caused_by_deployment_id)
        inside = expressions.in_periods(deploys.mutate(failed=failed), cuts)
        read = ["deployment_id", "team", "period", "day", "first_monday", "finished_at", "failed"]
        read += ["lead_time_hours"] if "lead_time_hours" in inside.columns else []
        inside = keep(inside.select(*read))  # read by the three parts below
        parts.append(
            inside.group_by(keys).agg(deployments=ibis._.count(), failures=expressions.count_true(inside.failed))
        )
        parts.append(expressions.deploy_day_counts(inside, calendar_grid(teams, periods), builtin=builtin))
        changes = t["changes"]
        if changes is not None:
            changes = expressions.deployment_ids(changes, "deployment_id", deployments, flavor)
        leads = expressions.change_lead_times(inside, changes, flavor)
        parts.append(
            expressions.summary(
                leads,
                keys,
                "hours",
                "lead_time_hours",
                where=leads.hours > 0,
                builtin=builtin,
                lead_time_n=expressions.count_true(leads.hours > 0),
                lead_time_dropped=expressions.count_true(leads.hours <= 0),
            )  # fmt: skip
        )
    if t["incidents"] is not None:
        owned = expressions.team_incidents(t["incidents"], t["services"], flavor)
        started = expressions.in_periods(owned, cuts)
        resolved = started.hours.notnull() & (started.hours >= 0)
        parts.append(
            expressions.summary(
                started,
                keys,
                "hours",
                "time_to_restore_hours",
                where=resolved,
                builtin=builtin,
                time_to_restore_n=expressions.count_true(resolved),
                open_incidents=expressions.count_true(started.hours.isnull()),
            )  # fmt: skip
        )
    query = base
    for part in parts:
        query = query.left_join(part, keys).drop(*[f"{k}_right" for k in keys])
    return query


def _period_metrics(aggregates: pd.DataFrame, teams: list[str], period: Period, t: dict) -> pd.DataFrame:
    """One period's rows, in the columns and types calib has always handed on."""
    index = pd.Index(teams, name="team", dtype="str")
    got = aggregates[aggregates["period"] == period.id].set_index("team").reindex(index)

    def counts(column: str) -> pd.Series:
        values = got[column] if column in got else pd.Series(0, index=index)
        return values.fillna(0).astype("int64")

    def values(column: str) -> pd.Series:
        return got[column].astype("float64") if column in got else pd.Series(np.nan, index=index)

    out = pd.DataFrame(index=index)
    out["period"] = period.id
    out["period_start"] = period.start
    out["period_end"] = period.end
    known = t["deployments"] is not None
    out["deploy_days_per_week"] = values("deploy_days_per_week") if known else np.nan
    out["deploy_days_per_month"] = values("deploy_days_per_month") if known else np.nan
    out["deploy_days_per_half_year"] = (
        counts("deploy_days").to_numpy() / (period.days / HALF_YEAR_DAYS) if known else np.nan
    )
    out["weeks"] = period.weeks
    out["deployments"] = counts("deployments")
    out["lead_time_hours"] = values("lead_time_hours")
    out["lead_time_n"] = counts("lead_time_n")
    out["lead_time_dropped"] = counts("lead_time_dropped")
    out["change_failure_rate_n"] = out["deployments"]
    rate = counts("failures") / out["deployments"].where(out["deployments"] > 0)
    out["change_failure_rate"] = rate if t["incidents"] is not None else np.nan
    out["time_to_restore_hours"] = values("time_to_restore_hours")
    out["time_to_restore_n"] = counts("time_to_restore_n")
    out["open_incidents"] = counts("open_incidents")
    return out.reset_index()


def dora_from_team_metrics(team_metrics: pd.DataFrame, periods: Sequence[Period]) -> pd.DataFrame:
    """Per-period aggregates re-cut to `periods`.

    A `team_metrics` row counts toward a period when its midpoint falls inside it. Several
    rows in one period are combined by an n-weighted mean of their values (medians cannot be
    combined exactly; `source_rows` says how many were combined). deployment_frequency is
    read as deployment days per week.
    """
    metrics = team_metrics.copy()
    midpoint = metrics["period_start"] + (metrics["period_end"] - metrics["period_start"]) / 2
    rows = []
    for period in periods:
        inside = metrics[(midpoint >= period.start) & (midpoint <= period.end)]
        for team, group in inside.groupby("team"):
            rows.append(
                {
                    "team": team,
                    "period": period.id,
                    "period_start": period.start,
                    "period_end": period.end,
                    "deploy_days_per_week": _weighted(group, "deployment_frequency", "deployment_frequency_n"),
                    "lead_time_hours": _weighted(group, "lead_time_hours", "lead_time_n"),
                    "change_failure_rate": _weighted(group, "change_failure_rate", "change_failure_rate_n"),
                    "time_to_restore_hours": _weighted(group, "time_to_restore_hours", "time_to_restore_n"),
                    "deployments": _total(group, "change_failure_rate_n"),
                    "lead_time_n": _total(group, "lead_time_n"),
                    "change_failure_rate_n": _total(group, "change_failure_rate_n"),
                    "time_to_restore_n": _total(group, "time_to_restore_n"),
                    "weeks": _total(group, "deployment_frequency_n"),
                    "source_rows": len(group),
                }
            )
    out = pd.DataFrame(rows, columns=["team", "period", "period_start", "period_end", *METRIC_COLUMNS, "source_rows"])
    # weekly days -> the coarser views the benchmarks need
    out["deploy_days_per_month"] = out["deploy_days_per_week"] * 52 / 12
    out["deploy_days_per_half_year"] = out["deploy_days_per_week"] * 26
    out["lead_time_dropped"] = 0
    out["open_incidents"] = 0
    return out


def _weighted(group: pd.DataFrame, value: str, weight: str) -> float:
    values = group[value].astype("float64")
    weights = group[weight].astype("float64") if weight in group.columns else pd.Series(1.0, index=group.index)
    ok = values.notna() & weights.notna() & (weights > 0)
    if not ok.any():
        ok = values.notna()
        weights = pd.Series(1.0, index=group.index)
    if not ok.any():
        return float("nan")
    return float(np.average(values[ok], weights=weights[ok]))


def _total(group: pd.DataFrame, column: str) -> float:
    return float(group[column].sum()) if column in group.columns else float("nan")


def label_small_samples(metrics: pd.DataFrame, min_sample: int) -> pd.DataFrame:
    """Flag each metric whose n is under `min_sample` (its level stays, labelled as fragile)."""
    out = metrics.copy()
    out["deployment_frequency_small_sample"] = out["deployments"].fillna(0) < min_sample
    out["lead_time_small_sample"] = out["lead_time_n"].fillna(0) < min_sample
    out["change_failure_rate_small_sample"] = out["change_failure_rate_n"].fillna(0) < min_sample
    out["time_to_restore_small_sample"] = out["time_to_restore_n"].fillna(0) < min_sample
    return out


def team_dora(data: CycleData, periods: Sequence[Period], *, engine: Engine | None = None) -> pd.DataFrame:
    """Graded DORA metrics per team and period for a loaded cycle (empty when no delivery data)."""
    config = data.config
    if data.has("team_metrics"):
        raw = dora_from_team_metrics(data["team_metrics"], periods)
    elif (data.has("deployments") or data.has("incidents")) and data.has("services"):
        raw = dora_from_events(
            *(data.table(name) if data.has(name) else None for name in ("deployments", "incidents")),
            data["services"],
            periods,
            changes=data.table("changes") if data.has("changes") else None,
            environment=config.dora.production_environment,
            engine=engine or data.engine,
        )
    else:
        return pd.DataFrame(columns=["team", "period", *METRIC_COLUMNS])
    return label_small_samples(grade(raw, config.dora.benchmark), config.dora.min_sample)
