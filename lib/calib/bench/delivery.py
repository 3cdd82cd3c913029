"""`make bench`, delivery at scale: `calib validate` on tens and hundreds of millions of events.

The org: the 10k-person bench org (people, reviews, services, SLOs, ... from `calib.synth`) with
deployments, changes and incidents generated here as Parquet, in chunks, so that 100M rows never sit
in memory: deployments spread over the org's services and its year, two changes per deployment,
incidents some of which name the deployment that caused them.

Three figures side by side, each in its own process (its peak RSS is its own):
- `calib validate` (every input read and checked, team DORA and SLOs computed);
- the reference: the same exact checks written by hand (ROW_CHECKS, ACROSS_CHECKS) and one
  hand-written DuckDB query computing the same team DORA (REFERENCE_SQL) over the same files, and the
  largest difference between its figures and calib's; at 10M it runs twice, with DuckDB held to
  calib's own memory limit (1 GB: both spill alike) and to REFERENCE_MEMORY;
- the 1M-deployment bench of `calib.bench.core` is run there, unchanged.
Printed, never asserted: machines are shared.
"""

from __future__ import annotations

import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from calib.bench.timing import load_and_normalize

REFERENCE_MEMORY = "4GB"  # DuckDB's limit for the reference query (it spills beyond)
CHUNK = 2_000_000  # deployments written per row group
START = np.datetime64("2025-07-01T00:00:00", "us")
SPAN_US = 365 * 86_400 * 1_000_000
SCALES = {  # name -> deployments (changes: two per deployment; incidents: one per ten deployments)
    "10M": 10_000_000,
    "100M": 100_000_000,
}

# One query, written by hand, computing calib's team DORA per cycle (the definitions of
# calib.delivery.dora) over the same Parquet files: the figure calib validate is held to.
REFERENCE_SQL = """
WITH cycles AS (
  SELECT * FROM (VALUES ('2025-H2', DATE '2025-07-01', DATE '2025-12-31'),
                        ('2026-H1', DATE '2026-01-01', DATE '2026-06-30')) c(period, start_day, end_day)
), services AS (SELECT service, team FROM read_csv('{services}', all_varchar = true)),
deploys AS (
  SELECT d.deployment_id, arg_min(d.service, d.file_row_number) AS service, max(d.finished_at) AS finished_at
  FROM read_parquet('{deployments}', file_row_number = true) d
  WHERE lower(d.environment) = 'production' AND upper(d.result) = 'SUCCESS'
  GROUP BY d.deployment_id
), owned AS (
  SELECT deploys.*, services.team, CAST(finished_at AS DATE) AS day FROM deploys JOIN services USING (service)
), linked AS (
  SELECT DISTINCT caused_by_deployment_id AS deployment_id FROM read_parquet('{incidents}')
  WHERE caused_by_deployment_id IS NOT NULL
), in_cycle AS (
  SELECT owned.*, cycles.period, cycles.start_day,
         owned.deployment_id IN (SELECT deployment_id FROM linked) AS failed
  FROM owned JOIN cycles ON owned.day BETWEEN cycles.start_day AND cycles.end_day
), counts AS (
  SELECT team, period, count(*) AS deployments, avg(failed::INT) AS change_failure_rate
  FROM in_cycle GROUP BY ALL
), days AS (SELECT DISTINCT team, period, start_day, day FROM in_cycle),
week_grid AS (
  SELECT t.team, c.period, w.week FROM (SELECT DISTINCT team FROM services) t CROSS JOIN cycles c,
  range(0, (date_diff('day', c.start_day - INTERVAL (isodow(c.start_day) - 1) DAY, c.end_day) // 7) + 1) w(week)
), week_days AS (
  SELECT team, period,
         date_diff('day', start_day - INTERVAL (isodow(start_day) - 1) DAY, day) // 7 AS week, count(*) AS n
  FROM days GROUP BY ALL
), per_week AS (
  SELECT g.team, g.period, median(coalesce(w.n, 0)::DOUBLE) AS deploy_days_per_week
  FROM week_grid g LEFT JOIN week_days w USING (team, period, week) GROUP BY ALL
), leads AS (
  SELECT i.team, i.period, (epoch_us(i.finished_at) - epoch_us(c.created_at)) / 3600000000.0 AS hours
  FROM read_parquet('{changes}') c JOIN in_cycle i USING (deployment_id)
), lead AS (
  SELECT team, period, median(hours) FILTER (WHERE hours > 0) AS lead_time_hours,
         count(*) FILTER (WHERE hours > 0) AS lead_time_n
  FROM leads GROUP BY ALL
), restore AS (
  SELECT s.team, c.period,
         median((epoch_us(resolved_at) - epoch_us(started_at)) / 3600000000.0)
           FILTER (WHERE resolved_at >= started_at) AS time_to_restore_hours
  FROM read_parquet('{incidents}') i JOIN services s USING (service)
  JOIN cycles c ON CAST(i.started_at AS DATE) BETWEEN c.start_day AND c.end_day
  GROUP BY ALL
)
SELECT per_week.team, per_week.period, deploy_days_per_week, coalesce(deployments, 0) AS deployments,
       lead_time_hours, coalesce(lead_time_n, 0) AS lead_time_n, change_failure_rate, time_to_restore_hours
FROM per_week LEFT JOIN counts USING (team, period) LEFT JOIN lead USING (team, period)
LEFT JOIN restore USING (team, period)
ORDER BY period, team
"""
# The checks `calib validate` runs on these events, written by hand as DuckDB queries over the same
# files, each exact: one pass per table counting every row breaking each row check, the repeated ids
# counted by a group-by, references to unknown deployments by an anti-join over every deployment id,
# services no team owns; then, as calib does, the first EXAMPLES rows of each problem found. With
# REFERENCE_SQL it is what calib validate is held to. {tomorrow} and {after}: the first instant after
# today and after the last cycle.
ROW_CHECKS = {
    "deployments": [
        "deployment_id IS NULL", "service IS NULL", "finished_at IS NULL", "result IS NULL", "environment IS NULL",
        "result IS NOT NULL AND upper(result) NOT IN ({results})",
        "finished_at >= TIMESTAMPTZ '{tomorrow}'",
        "finished_at >= TIMESTAMPTZ '{after}' AND finished_at < TIMESTAMPTZ '{tomorrow}'",
    ],
    "changes": [
        "change_id IS NULL", "deployment_id IS NULL", "created_at IS NULL",
        "created_at >= TIMESTAMPTZ '{tomorrow}'",
        "created_at >= TIMESTAMPTZ '{after}' AND created_at < TIMESTAMPTZ '{tomorrow}'",
    ],
    "incidents": [
        "incident_id IS NULL", "service IS NULL", "started_at IS NULL", "resolved_at < started_at",
        "started_at >= TIMESTAMPTZ '{tomorrow}'",
        "started_at >= TIMESTAMPTZ '{after}' AND started_at < TIMESTAMPTZ '{tomorrow}'",
        "resolved_at >= TIMESTAMPTZ '{tomorrow}'",
    ],
}  # fmt: skip
ACROSS_CHECKS = {  # name -> a query counting the rows with the problem, and one listing them
    "repeated change_id": (
        "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM changes WHERE change_id IS NOT NULL "
        "GROUP BY change_id HAVING count(*) > 1)",
        "SELECT _row, change_id FROM (SELECT _row, change_id, row_number() OVER (PARTITION BY change_id ORDER BY "
        "_row) AS nth FROM changes WHERE change_id IN (SELECT change_id FROM changes GROUP BY change_id "
        "HAVING count(*) > 1)) WHERE nth > 1",
    ),
    "repeated incident_id": (
        "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM incidents WHERE incident_id IS NOT NULL "
        "GROUP BY incident_id HAVING count(*) > 1)",
        "SELECT _row, incident_id FROM (SELECT _row, incident_id, row_number() OVER (PARTITION BY incident_id ORDER "
        "BY _row) AS nth FROM incidents WHERE incident_id IN (SELECT incident_id FROM incidents GROUP BY incident_id "
        "HAVING count(*) > 1)) WHERE nth > 1",
    ),
    "changes naming no deployment": (
        "SELECT count(*) FROM changes c ANTI JOIN deployments d ON c.deployment_id = d.deployment_id "
        "WHERE c.deployment_id IS NOT NULL",
        "SELECT c._row, c.deployment_id FROM changes c ANTI JOIN deployments d ON c.deployment_id = d.deployment_id "
        "WHERE c.deployment_id IS NOT NULL",
    ),
    "incidents naming no deployment": (
        "SELECT count(*) FROM incidents i ANTI JOIN deployments d ON i.caused_by_deployment_id = d.deployment_id "
        "WHERE i.caused_by_deployment_id IS NOT NULL",
        "SELECT i._row, i.caused_by_deployment_id FROM incidents i ANTI JOIN deployments d "
        "ON i.caused_by_deployment_id = d.deployment_id WHERE i.caused_by_deployment_id IS NOT NULL",
    ),
    "services no team owns": (
        "SELECT count(*) FROM (SELECT service FROM deployments UNION SELECT service FROM incidents) "
        "WHERE service NOT IN (SELECT service FROM services)",
        "SELECT 0 AS _row, service FROM (SELECT service FROM deployments UNION SELECT service FROM incidents) "
        "WHERE service NOT IN (SELECT service FROM services)",
    ),
}
EXAMPLES = 20  # rows listed per problem, as calib.delivery.checks.EXAMPLES
EVENT_FILES = ("deployments.parquet", "changes.parquet", "incidents.parquet")  # what the reference checks
COMPARED = ["deploy_days_per_week", "deployments", "lead_time_hours", "lead_time_n", "change_failure_rate",
            "time_to_restore_hours"]  # fmt: skip


def ensure_events(folder: Path, deployments: int, base: Path, seed: int = 11) -> Path:
    """The org of `base` (a cycle.yml of Parquet inputs) with new events: 2 changes per deployment, 0.1 incidents."""
    marker = folder / "events.json"
    wanted = json.dumps({"deployments": deployments, "seed": seed, "base": (base.parent / "params.json").read_text()})
    config = folder / "cycle.yml"
    if marker.is_file() and marker.read_text() == wanted and config.is_file():
        return config
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("people", "reviews", "criteria_scores", "evidence", "peer_feedback", "slos", "teams", "expectations"):
        source = base.parent / f"{name}.parquet"
        if source.is_file():
            (folder / source.name).write_bytes(source.read_bytes())
    services = pd.read_parquet(base.parent / "services.parquet")
    services.to_csv(folder / "services.csv", index=False)
    started = time.perf_counter()
    _write_events(folder, services["service"].to_numpy(dtype=object), deployments, seed)
    text = base.read_text(encoding="utf-8")
    replaced = ("deployments:", "changes:", "incidents:", "services:")
    keep = [line for line in text.splitlines() if not line.strip().startswith(replaced)]
    inputs = keep.index("inputs:") + 1
    keep[inputs:inputs] = [
        "  services: services.csv",
        "  deployments: deployments.parquet",
        "  changes: changes.parquet",
        "  incidents: incidents.parquet",
    ]
    config.write_text("\n".join(keep) + "\n", encoding="utf-8")
    marker.write_text(wanted)
    print(f"  generated {deployments:,} deployments in {time.perf_counter() - started:.0f} s -> {folder}", flush=True)
    return config


def _write_events(folder: Path, services: np.ndarray, deployments: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    weights = rng.gamma(0.6, 1.0, len(services))
    weights /= weights.sum()
    timestamp = pa.timestamp("us", tz="UTC")
    writers = {}
    try:
        for first in range(0, deployments, CHUNK):
            n = min(CHUNK, deployments - first)
            ids = np.char.add("D", np.arange(first, first + n).astype(str))
            finished = START + rng.integers(0, SPAN_US, n).astype("timedelta64[us]")
            service = services[rng.choice(len(services), n, p=weights)]
            frames = {
                "deployments": pa.table(
                    {
                        "deployment_id": ids,
                        "service": service.astype(str),
                        "finished_at": pa.array(finished, timestamp),
                        "result": np.where(rng.random(n) < 0.95, "SUCCESS", "FAILURE"),
                        "environment": np.where(rng.random(n) < 0.9, "production", "staging"),
                    }
                ),
            }
            of = np.repeat(np.arange(n), 2)
            lead = (rng.lognormal(3.0, 1.2, len(of)) * 3_600_000_000).astype("timedelta64[us]")
            frames["changes"] = pa.table(
                {
                    "change_id": np.char.add("C", np.arange(2 * first, 2 * first + len(of)).astype(str)),
                    "deployment_id": ids[of],
                    "created_at": pa.array(finished[of] - lead, timestamp),
                }
            )
            m = n // 10
            caused = rng.random(m) < 0.4
            cause = np.where(caused, ids[rng.integers(0, n, m)], None)
            started = START + rng.integers(0, SPAN_US, m).astype("timedelta64[us]")
            restore = (rng.lognormal(1.0, 1.0, m) * 3_600_000_000).astype("timedelta64[us]")
            resolved = np.where(rng.random(m) < 0.99, started + restore, np.datetime64("NaT"))
            frames["incidents"] = pa.table(
                {
                    "incident_id": np.char.add("I", np.arange(first // 10, first // 10 + m).astype(str)),
                    "service": services[rng.choice(len(services), m, p=weights)].astype(str),
                    "started_at": pa.array(started, timestamp),
                    "resolved_at": pa.array(resolved, timestamp),
                    "caused_by_deployment_id": pa.array(cause, pa.string()),
                }
            )
            for name, table in frames.items():
                if name not in writers:
                    writers[name] = pq.ParquetWriter(folder / f"{name}.parquet", table.schema)
                writers[name].write_table(table)
    finally:
        for writer in writers.values():
            writer.close()


def validate_run(config_path: str, memory_limit: str | None = None) -> dict:
    """`calib validate` without the printing: every input read and checked, team DORA and SLOs."""
    from calib.delivery.engine import connect

    run = load_and_normalize(config_path, connect(memory_limit=memory_limit) if memory_limit else None)
    dora = run.normalized.team_dora
    found = sum(1 + p.more for p in run.data.warnings if p.file.endswith(EVENT_FILES))  # rows with a problem
    return {**run.figures, "problems": found, "dora": dora[["team", "period", *COMPARED]].to_json(orient="split")}


def reference_run(config_path: str, memory_limit: str = REFERENCE_MEMORY) -> dict:
    """The hand-written checks and REFERENCE_SQL on the org's files, in DuckDB limited to `memory_limit`.

    Returns the team DORA, the time of the checks and of the DORA query, their total, the rows
    found with each problem, and this process's peak RSS.
    """
    import datetime as dt

    import duckdb

    from calib.inputs.config import load_config
    from calib.inputs.schemas import DEPLOY_RESULTS

    folder = Path(config_path).parent
    files = {n: folder / f"{n}.parquet" for n in ("deployments", "changes", "incidents")}
    last_end = max(c.end for c in load_config(config_path).cycles)
    today = dt.date.today()
    marks = {
        "tomorrow": f"{today + dt.timedelta(days=1)} 00:00:00+00",
        "after": f"{last_end + dt.timedelta(days=1)} 00:00:00+00",
        "results": ", ".join(f"'{r}'" for r in DEPLOY_RESULTS),
    }
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = '{memory_limit}'")  # a shared machine: spill rather than take it all
    con.execute(f"SET temp_directory = '{tempfile.mkdtemp(prefix='calib-reference-')}'")  # not ./.tmp
    for name, path in files.items():
        con.execute(
            f"CREATE VIEW {name} AS SELECT * EXCLUDE (file_row_number), file_row_number + 2 AS _row "
            f"FROM read_parquet('{path}', file_row_number = true)"
        )
    con.execute(f"CREATE VIEW services AS SELECT * FROM read_csv('{folder / 'services.csv'}', all_varchar = true)")
    found: dict[str, int] = {}
    for name, conditions in ROW_CHECKS.items():
        written = [c.format(**marks) for c in conditions]
        counts = con.execute(f"SELECT {', '.join(f'count_if({c})' for c in written)} FROM {name}").fetchone()
        for condition, count in zip(written, counts, strict=True):
            found[f"{name}: {condition}"] = int(count)
            if count:
                con.execute(f"SELECT _row FROM {name} WHERE {condition} ORDER BY _row LIMIT {EXAMPLES}").fetchall()
    for name, (count_sql, list_sql) in ACROSS_CHECKS.items():
        found[name] = int(con.execute(count_sql).fetchone()[0])
        if found[name]:
            con.execute(f"SELECT * FROM ({list_sql}) ORDER BY 1 LIMIT {EXAMPLES}").fetchall()
    checked = time.perf_counter()
    sql = REFERENCE_SQL.format(**files, services=folder / "services.csv")
    result = con.execute(sql).df()
    done = time.perf_counter()
    return {
        "total_s": done - started,
        "checks_s": checked - started,
        "dora_s": done - checked,
        "problems": {k: v for k, v in found.items() if v},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "dora": result.to_json(orient="split"),
    }


def largest_difference(calib: str, reference: str) -> float:
    """The largest absolute difference between the two team DORA tables, over COMPARED."""
    from io import StringIO

    ours = pd.read_json(StringIO(calib), orient="split").set_index(["team", "period"])
    theirs = pd.read_json(StringIO(reference), orient="split").set_index(["team", "period"])
    theirs = theirs.reindex(ours.index)
    gaps = [
        np.nanmax(np.abs(ours[c].astype(float).to_numpy() - theirs[c].astype(float).to_numpy()), initial=0.0)
        for c in COMPARED
    ]
    missing = (ours[COMPARED].isna() != theirs[COMPARED].isna()).to_numpy().sum()
    return float(max(gaps)) if not missing else float("inf")
