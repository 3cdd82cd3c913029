"""The delivery metrics as Ibis expressions: one definition for DuckDB, PostgreSQL and warehouses.

Each function takes Ibis tables with canonical, typed columns (`calib.inputs.contract`) and the
`_row` of `calib.delivery.engine`, and returns an Ibis table; nothing here runs a query. The
definitions are those of `calib.delivery.dora` (production deployments collapsed per id, deployment
days per calendar week from Monday with empty weeks, lead times, change failure rate, time to
restore) and `calib.delivery.slo`.

Durations are whole microseconds (an integer on every engine) turned into hours by one division,
as pandas divides two timedeltas. Medians are the ordinary median: the engine's own exact median
where its Ibis compiler has one, else an exact form from `row_number` and `count` windows.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from calib.delivery.engine import PORTABLE, ROW, Flavor

MICROSECONDS_PER_HOUR = 3_600_000_000.0


@ibis.udf.scalar.builtin(name="epoch_us")
def _epoch_us(time: dt.Timestamp(timezone="UTC", scale=6)) -> dt.int64:
    """DuckDB: microseconds since 1970-01-01 UTC."""


@ibis.udf.agg.builtin(name="arg_min")
def _arg_min(value: dt.string, key: dt.int64) -> dt.string:
    """DuckDB: `value` at the row with the smallest `key`."""


def median(table: ir.Table, value: str, by: Sequence[str], name: str, *, builtin: bool = True) -> ir.Table:
    """The ordinary median of `value` per group (the mean of the two middle values for even n).

    Parameters
    ----------
    table
        The rows; missing values are ignored.
    value, by, name
        The column, the grouping columns and the result's column name.
    builtin
        Use the engine's exact median (DuckDB, PostgreSQL, Snowflake, ...); False gives the form
        built from windows, for engines without one (Trino, BigQuery, Athena).
    """
    by = list(by)
    rows = table.filter(table[value].notnull())
    if builtin:
        return rows.group_by(by).agg(**{name: rows[value].median()})
    order = ibis.window(group_by=by, order_by=rows[value])
    ranked = rows.mutate(_rank=ibis.row_number().over(order), _n=rows[value].count().over(group_by=by))
    middle = ranked.filter((ranked._rank == (ranked._n - 1) // 2) | (ranked._rank == ranked._n // 2))
    return middle.group_by(by).agg(**{name: middle[value].mean()})


def summary(
    table: ir.Table,
    by: Sequence[str],
    value: str,
    name: str,
    *,
    where: ir.BooleanValue,
    builtin: bool = True,
    **counts: ir.Scalar,
) -> ir.Table:
    """Per group: the median of `value` over the rows meeting `where`, and other aggregates (`counts`).

    One pass over the rows where the engine has its own median; with the window form, the median
    is a second query joined on.
    """
    by = list(by)
    if builtin:
        # Not `median(where=...)`: Ibis compiles it for Spark and Databricks as PERCENTILE(IF(c, x, NULL),
        # IF(c, 0.5, NULL)), whose percentage Spark refuses (it must be a constant). A median skips NULLs.
        return table.group_by(by).agg(**{name: ibis.ifelse(where, table[value], ibis.null()).median()}, **counts)
    aggregates = table.group_by(by).agg(**counts)
    medians = median(table.filter(where), value, by, name, builtin=False)
    return aggregates.left_join(medians, by).drop(*[f"{k}_right" for k in by])


def count_true(condition: ir.BooleanValue) -> ir.IntegerValue:
    """How many rows meet `condition`: 0 over no rows (a SUM over no rows is NULL: None, or NaN from Spark).

    PostgreSQL casts no boolean to bigint, so no cast is used.
    """
    return ibis.ifelse(condition, 1, 0).sum().coalesce(0)


def share_true(condition: ir.BooleanValue, where: ir.BooleanValue) -> ir.FloatingValue:
    """The share of the rows meeting `where` that meet `condition`, as an exact float64.

    The flag is an integer cast to float64 before the mean: with literals 1.0 and 0.0 Spark reads
    decimals of one digit and keeps the mean to 5 decimals (0.91667 for 11 of 12).
    """
    return ibis.ifelse(condition, 1, 0).cast("float64").mean(where=where)


def hours_between(later: ir.TimestampValue, earlier: ir.TimestampValue, flavor: Flavor = PORTABLE) -> ir.FloatingValue:
    """later - earlier in hours, exactly as pandas divides the two times' difference by an hour."""
    if flavor.duckdb:
        micros = _epoch_us(later) - _epoch_us(earlier)
    else:
        micros = later.delta(earlier, unit="microsecond")
    return micros.cast("float64") / MICROSECONDS_PER_HOUR


def production_deployments(
    deployments: ir.Table, services: ir.Table, environment: str, flavor: Flavor = PORTABLE
) -> ir.Table:
    """Successful production deployments, one row per deployment_id, with the owning team.

    A deployment's rows that succeeded in production make it: it finished at the latest of them,
    its service is that of the first of them (by row); its other rows are not looked at. Returns
    deployment_id, service, team, finished_at, day (UTC date) and, when the input has it,
    lead_time_hours (the largest of the id's rows).
    """
    prod = deployments.filter((deployments.environment == environment.lower()) & (deployments.result == "SUCCESS"))
    first = _arg_min(prod.service, prod[ROW]) if flavor.duckdb else prod.service.argmin(prod[ROW])
    metrics = {"service": first, "finished_at": prod.finished_at.max()}
    if "lead_time_hours" in prod.columns:
        metrics["lead_time_hours"] = prod.lead_time_hours.max()
    collapsed = prod.group_by("deployment_id").agg(**metrics)
    owners = services.select("service", "team")
    owned = collapsed.join(owners, "service")
    return owned.mutate(day=owned.finished_at.date())


def deployment_ids(references: ir.Table, column: str, deployments: ir.Table, flavor: Flavor = PORTABLE) -> ir.Table:
    """`references` with `column` read as a deployment id: a deployment_commit_id names its row's deployment.

    A reference that is a deployment_id stays; one that is the deployment_commit_id of a row
    becomes that row's deployment_id (the first such row); any other stays as it is.
    """
    if "deployment_commit_id" not in deployments.columns:
        return references
    rows = deployments.filter(deployments.deployment_commit_id.notnull() & deployments.deployment_id.notnull())
    first = _arg_min(rows.deployment_id, rows[ROW]) if flavor.duckdb else rows.deployment_id.argmin(rows[ROW])
    named = rows.group_by(_commit=rows.deployment_commit_id).agg(_named=first)
    known = deployments.select(_known=deployments.deployment_id).filter(ibis._._known.notnull()).distinct()
    joined = references.left_join(named, references[column] == named._commit)
    joined = joined.left_join(known, joined[column] == known._known)
    resolved = ibis.ifelse(joined._known.notnull(), joined[column], joined._named.coalesce(joined[column]))
    return joined.mutate(**{column: resolved}).drop("_commit", "_named", "_known")


def change_lead_times(deploys: ir.Table, changes: ir.Table | None, flavor: Flavor = PORTABLE) -> ir.Table:
    """Lead time per change (or per deployment when there are no changes): team, period, day, hours.

    `deploys` are production deployments in their periods (`in_periods`); changes name their
    deployment by deployment_id (after `deployment_ids`); values <= 0 stay, for the caller to
    count and drop.
    """
    if changes is None:
        if "lead_time_hours" not in deploys.columns:
            empty = deploys.filter(ibis.literal(False))
            return empty.select("team", "period", "day", hours=ibis.null("float64"))
        given = deploys.filter(deploys.lead_time_hours.notnull())
        return given.select("team", "period", "day", hours=given.lead_time_hours)
    joined = changes.select("deployment_id", "created_at").join(
        deploys.select("deployment_id", "team", "period", "day", "finished_at"), "deployment_id"
    )
    return joined.select("team", "period", "day", hours=hours_between(joined.finished_at, joined.created_at, flavor))


def team_incidents(incidents: ir.Table, services: ir.Table, flavor: Flavor = PORTABLE) -> ir.Table:
    """Incidents with their owning team, start day (UTC) and duration in hours (missing while open)."""
    owned = incidents.join(services.select("service", "team"), "service")
    hours = hours_between(owned.resolved_at, owned.started_at, flavor)
    return owned.mutate(day=owned.started_at.date(), hours=hours)


def in_periods(events: ir.Table, periods: ir.Table) -> ir.Table:
    """Each event (with a `day`) once per period whose days hold it."""
    return events.join(periods, (events.day >= periods.start) & (events.day <= periods.end))


def deploy_day_counts(inside: ir.Table, grid: ir.Table, *, builtin: bool = True) -> ir.Table:
    """Deployment days per team and period: the median week and month (empty ones count 0) and the total.

    `inside` are deployments in their periods (`in_periods`: team, period, day, first_monday);
    `grid` has every (team, period, unit, bucket) that must count, units being "week" (weeks
    since first_monday) and "month" (year * 12 + month). Returns team, period,
    deploy_days_per_week, deploy_days_per_month, deploy_days.
    """
    days = inside.select("team", "period", "day", "first_monday").distinct()
    weekly = days.select(
        "team", "period", unit=ibis.literal("week"), bucket=days.day.delta(days.first_monday, unit="day") // 7
    )
    monthly = days.select("team", "period", unit=ibis.literal("month"), bucket=days.day.year() * 12 + days.day.month())
    counts = weekly.union(monthly, distinct=False).group_by("team", "period", "unit", "bucket").agg(days=ibis._.count())
    keys = ["team", "period", "unit", "bucket"]
    filled = grid.left_join(counts, keys).select(*keys, days=ibis._.days.coalesce(0).cast("float64"))
    medians = median(filled, "days", ["team", "period", "unit"], "median", builtin=builtin)
    wide = medians.group_by("team", "period").agg(
        deploy_days_per_week=medians.median.max(where=medians.unit == "week"),
        deploy_days_per_month=medians.median.max(where=medians.unit == "month"),
    )
    totals = days.group_by("team", "period").agg(deploy_days=ibis._.count())
    return wide.left_join(totals, ["team", "period"]).select(
        "team", "period", "deploy_days_per_week", "deploy_days_per_month", deploy_days=ibis._.deploy_days.coalesce(0)
    )
