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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from calib.delivery.benchmarks import grade
from calib.inputs.contract import is_in
from calib.inputs.validate import CycleData

HOURS = pd.Timedelta(hours=1)
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


@dataclass(frozen=True)
class Period:
    """A named stretch of days, both ends inclusive."""

    id: str
    start: pd.Timestamp
    end: pd.Timestamp


def periods_from_cycles(cycles: Sequence) -> list[Period]:
    """Periods for the configured review cycles."""
    return [Period(c.id, pd.Timestamp(c.start), pd.Timestamp(c.end)) for c in cycles]


def monthly_periods(start: pd.Timestamp, end: pd.Timestamp) -> list[Period]:
    """Calendar months from start's month to end's month, for trends."""
    months = pd.period_range(start, end, freq="M")
    return [Period(str(m), m.start_time, m.end_time.normalize()) for m in months]


def production_deployments(deployments: pd.DataFrame, services: pd.DataFrame, environment: str) -> pd.DataFrame:
    """Successful production deployments, one row per deployment_id, with the owning team.

    A deployment's rows that succeeded in production make it: it finished at the latest of them;
    its other rows (failed, or in another environment) are not looked at.

    Returns columns deployment_id, service, team, finished_at (UTC), day (naive date) and,
    when the input has it, lead_time_hours (the largest of a collapsed id's rows).
    """
    prod = deployments.loc[(deployments["environment"] == environment.lower()) & (deployments["result"] == "SUCCESS")]
    aggregations = {"service": ("service", "first"), "finished_at": ("finished_at", "max")}
    if "lead_time_hours" in prod.columns:
        aggregations["lead_time_hours"] = ("lead_time_hours", "max")
    collapsed = prod.groupby("deployment_id", sort=False, observed=True).agg(**aggregations).reset_index()
    collapsed = collapsed.merge(services[["service", "team"]], on="service", how="inner")
    collapsed["day"] = collapsed["finished_at"].dt.tz_localize(None).dt.normalize()
    return collapsed


def by_deployment_id(references: pd.Series, deployments: pd.DataFrame) -> pd.Series:
    """Deployment references as deployment ids: a deployment_commit_id names its row's deployment.

    A reference that is a deployment_id stays; one that is the deployment_commit_id of a row
    becomes that row's deployment_id; any other stays as it is (and matches no deployment).
    """
    if "deployment_commit_id" not in deployments.columns:
        return references
    rows = deployments.dropna(subset=["deployment_commit_id", "deployment_id"])
    deployment_of = rows.drop_duplicates("deployment_commit_id").set_index("deployment_commit_id")["deployment_id"]
    is_deployment = is_in(references, deployments["deployment_id"])
    return references.where(is_deployment, references.map(deployment_of).fillna(references))


def change_lead_times(deploys: pd.DataFrame, changes: pd.DataFrame | None) -> pd.DataFrame:
    """Lead time per change (or per deployment), in hours: team, day, hours (and change_id).

    `changes` name their deployment by deployment_id (see `by_deployment_id`). Non-positive
    values (clock skew, changes created after the deploy) are kept with hours <= 0 so the
    caller can count and drop them.
    """
    if changes is None:
        if "lead_time_hours" not in deploys.columns:
            return pd.DataFrame(
                {
                    "team": pd.Series([], dtype="str"),
                    "day": pd.Series([], dtype="datetime64[us]"),
                    "hours": pd.Series([], dtype="float64"),
                }
            )
        return deploys.loc[deploys["lead_time_hours"].notna(), ["team", "day"]].assign(hours=deploys["lead_time_hours"])
    ids = ["change_id"] if "change_id" in changes.columns else []
    joined = changes[[*ids, "deployment_id", "created_at"]].merge(
        deploys[["deployment_id", "team", "day", "finished_at"]], on="deployment_id", how="inner"
    )
    joined["hours"] = (joined["finished_at"] - joined["created_at"]) / HOURS
    return joined[["team", "day", "hours", *ids]]


def team_incidents(incidents: pd.DataFrame, services: pd.DataFrame) -> pd.DataFrame:
    """Incidents with their owning team, start day and duration in hours."""
    owned = incidents.merge(services[["service", "team"]], on="service", how="inner")
    owned["day"] = owned["started_at"].dt.tz_localize(None).dt.normalize()
    owned["hours"] = (owned["resolved_at"] - owned["started_at"]) / HOURS
    return owned


def dora_from_events(
    deployments: pd.DataFrame | None,
    incidents: pd.DataFrame | None,
    services: pd.DataFrame,
    periods: Sequence[Period],
    *,
    changes: pd.DataFrame | None = None,
    environment: str = "production",
) -> pd.DataFrame:
    """The four DORA metrics per team and period, with their n, ungraded.

    Without deployments (None) the deployment frequency, lead time and change failure rate are
    unknown (missing, n = 0) and the time to restore is still computed from the incidents.

    Returns one row per (team, period) for every team owning a service, with METRIC_COLUMNS.
    """
    known = deployments is not None
    if deployments is None:
        deployments = pd.DataFrame(
            {
                "deployment_id": pd.Series([], dtype="str"),
                "service": pd.Series([], dtype="str"),
                "finished_at": pd.Series([], dtype="datetime64[us, UTC]"),
                "result": pd.Series([], dtype="str"),
                "environment": pd.Series([], dtype="str"),
            }
        )
    deploys = production_deployments(deployments, services, environment)
    if changes is not None:
        changes = changes.assign(deployment_id=by_deployment_id(changes["deployment_id"], deployments))
    leads = change_lead_times(deploys, changes)
    owned = team_incidents(incidents, services) if incidents is not None else None
    links = (
        by_deployment_id(incidents["caused_by_deployment_id"], deployments)
        if incidents is not None and "caused_by_deployment_id" in incidents.columns
        else pd.Series([], dtype="str")
    )
    deploys["failed"] = is_in(deploys["deployment_id"], links)
    teams = sorted(services["team"].dropna().unique())
    rows = []
    for period in periods:
        rows.append(_period_metrics(deploys, leads, owned, teams, period, link_known=incidents is not None))
    out = pd.concat(rows, ignore_index=True)
    if not known:
        out[["deploy_days_per_week", "deploy_days_per_month", "deploy_days_per_half_year"]] = np.nan
    return out


def _period_metrics(
    deploys: pd.DataFrame,
    leads: pd.DataFrame,
    incidents: pd.DataFrame | None,
    teams: list[str],
    period: Period,
    *,
    link_known: bool,
) -> pd.DataFrame:
    index = pd.Index(teams, name="team")
    inside = deploys[(deploys["day"] >= period.start) & (deploys["day"] <= period.end)]
    out = pd.DataFrame(index=index)
    out["period"] = period.id
    out["period_start"] = period.start
    out["period_end"] = period.end
    out = out.join(_deploy_days(inside, index, period))
    out["deployments"] = inside.groupby("team").size().reindex(index, fill_value=0)
    lead = leads[(leads["day"] >= period.start) & (leads["day"] <= period.end)]
    positive = lead[lead["hours"] > 0]
    out["lead_time_hours"] = positive.groupby("team")["hours"].median().reindex(index)
    out["lead_time_n"] = positive.groupby("team").size().reindex(index, fill_value=0)
    out["lead_time_dropped"] = (lead["hours"] <= 0).groupby(lead["team"]).sum().reindex(index, fill_value=0)
    failures = inside.groupby("team")["failed"].sum().reindex(index, fill_value=0)
    out["change_failure_rate_n"] = out["deployments"]
    rate = failures / out["deployments"].where(out["deployments"] > 0)
    out["change_failure_rate"] = rate if link_known else np.nan
    if incidents is not None:
        started = incidents[(incidents["day"] >= period.start) & (incidents["day"] <= period.end)]
        resolved = started[started["hours"].notna() & (started["hours"] >= 0)]
        out["time_to_restore_hours"] = resolved.groupby("team")["hours"].median().reindex(index)
        out["time_to_restore_n"] = resolved.groupby("team").size().reindex(index, fill_value=0)
        out["open_incidents"] = started["hours"].isna().groupby(started["team"]).sum().reindex(index, fill_value=0)
    else:
        out["time_to_restore_hours"] = np.nan
        out["time_to_restore_n"] = 0
        out["open_incidents"] = 0
    return out.reset_index()


def _deploy_days(inside: pd.DataFrame, teams: pd.Index, period: Period) -> pd.DataFrame:
    """Median deployment days per week and per month, and days per six months, per team."""
    days = inside[["team", "day"]].drop_duplicates()
    first_monday = period.start - pd.Timedelta(days=period.start.day_of_week)
    weeks = pd.date_range(first_monday, period.end, freq="7D")
    months = pd.period_range(period.start, period.end, freq="M")
    week_of = first_monday + pd.to_timedelta((days["day"] - first_monday).dt.days // 7 * 7, unit="D")
    per_week = (
        days.assign(week=week_of)
        .groupby(["team", "week"])
        .size()
        .unstack(fill_value=0)
        .reindex(index=teams, columns=weeks, fill_value=0)
    )
    per_month = (
        days.assign(month=days["day"].dt.to_period("M"))
        .groupby(["team", "month"])
        .size()
        .unstack(fill_value=0)
        .reindex(index=teams, columns=months, fill_value=0)
    )
    span_days = (period.end - period.start).days + 1
    total = days.groupby("team").size().reindex(teams, fill_value=0)
    return pd.DataFrame(
        {
            "deploy_days_per_week": np.median(per_week.to_numpy(), axis=1) if len(weeks) else np.nan,
            "deploy_days_per_month": np.median(per_month.to_numpy(), axis=1) if len(months) else np.nan,
            "deploy_days_per_half_year": total.to_numpy() / (span_days / 182.5),
            "weeks": len(weeks),
        },
        index=teams,
    )


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


def team_dora(data: CycleData, periods: Sequence[Period]) -> pd.DataFrame:
    """Graded DORA metrics per team and period for a loaded cycle (empty when no delivery data)."""
    config = data.config
    if data.has("team_metrics"):
        raw = dora_from_team_metrics(data["team_metrics"], periods)
    elif (data.has("deployments") or data.has("incidents")) and data.has("services"):
        raw = dora_from_events(
            data.tables.get("deployments"),
            data.tables.get("incidents"),
            data["services"],
            periods,
            changes=data.tables.get("changes"),
            environment=config.dora.production_environment,
        )
    else:
        return pd.DataFrame(columns=["team", "period", *METRIC_COLUMNS])
    return label_small_samples(grade(raw, config.dora.benchmark), config.dora.min_sample)
