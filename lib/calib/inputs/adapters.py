"""Adapters that turn Apache DevLake and Google Four Keys exports into canonical inputs.

In the config: ``deployments: {path: export.csv, format: devlake}`` (or ``fourkeys``).
`calib.inputs.load.read_table` reads the export as text and applies the config's ``columns:`` renames
first, so a header that differs from the vendor's can be renamed there. An adapter renames and
reshapes; typing and checking happen afterwards in `calib.inputs.contract.parse` and the schemas, which
name rows by the index kept here: the export's own row numbers. Only canonical columns are
returned; the vendor's other columns are dropped, because some of them collide with canonical
names but mean something else (DevLake's ``created_at`` is when DevLake wrote the record).

Supported pairs and the vendor tables they read (columns as in the sources named below):

DevLake (github.com/apache/incubator-devlake: models in ``backend/core/models/domainlayer``,
the DORA plugin in ``backend/plugins/dora/tasks``, webhook ids in
``backend/plugins/webhook/api/deployments.go``; devlake.apache.org/docs/DataModels/
DevLakeDomainLayerSchema):

- deployments <- ``cicd_deployment_commits``: one row per deployment and repo, kept as it is
  (``deployment_commit_id`` is the row's ``id``). Rows sharing a ``cicd_deployment_id`` are one
  deployment, as everywhere in calib (`calib.delivery.dora`): it counts when any of its rows succeeded
  in production, finished at the latest of those rows, as DevLake's dashboard and its
  ``incident_deploy_connector`` count it (a webhook deployment carries a result per commit).
  Rows DevLake skips are dropped: those without a finish time (in progress, or failed before
  finishing) and those whose result is empty, ``ABORT`` or ``MANUAL`` (DevLake's deployment
  generators keep only SUCCESS and FAILURE); other unknown results go on to be reported.
  Non-production rows stay, with their environment; an empty environment (DevLake leaves it
  empty when no environment rule matched, and then never counts the deployment) becomes
  ``unspecified``. ``service`` is ``cicd_scope_id`` (e.g. ``github:GithubRepos:1:384111310``,
  or ``webhook:<connection>`` for webhook pushes), or the repo name from ``repo_url`` when the
  export has no ``cicd_scope_id``; a ``service`` column in the export wins. The table has no
  lead time, so ``lead_time_hours`` is not given.
- changes <- ``project_pr_metrics``. One row per deployed PR: ``change_id`` = PR ``id``;
  ``created_at`` = where DevLake's PR cycle time starts: the earlier of
  ``first_commit_authored_date`` and ``pr_created_date`` (DevLake drops a negative coding
  span, so a first commit after the PR's creation starts nothing), the columns the table has
  carried since mid-2024. Older exports join ``pull_requests.created_date`` instead (the join
  DevLake's own lead-time panels made): then ``created_at`` = ``created_date`` minus
  ``pr_coding_time`` minutes (or ``created_date`` when the coding time is empty).
  ``deployment_id`` = ``cicd_deployment_id`` when the export has it, else
  ``deployment_commit_id`` (``deployment_id`` in older versions) with its ``:<repo_url>``
  suffix removed: DevLake builds pipeline deployment-commit ids as ``<pipeline id>:<repo url>``
  and the pipeline id is the deployment id. Other deployment-commit ids (webhook ids
  ``webhook:<connection>:<url hash>:<sha>``, or any other) stay as they are and are found
  through the deployments' ``deployment_commit_id``; validation warns about any that match
  neither. PRs not deployed are dropped.
- incidents <- ``incidents`` (or, before DevLake had that table, ``issues``, of which only
  ``type = INCIDENT`` rows are kept): ``id``, ``created_date``, ``resolution_date`` (an export
  without it holds open incidents only), ``severity``; ``caused_by_deployment_id`` from
  ``deployment_id`` (or ``cicd_deployment_id``) when ``project_incident_deployment_relationships``
  is joined in. Note that DevLake links an incident to the last production deployment finished
  before it, however old. ``service`` is the incident's DevLake scope ``scope_id`` (so
  ``project_mapping`` can serve as the services input), else ``original_project`` (the source
  tool's project); a ``service`` column in the export wins, and an export naming none (a
  PagerDuty or Opsgenie ``issues`` export) takes the config's ``service:`` for the input.

Four Keys (github.com/dora-team/fourkeys: BigQuery views ``queries/deployments.sql``,
``changes.sql``, ``incidents.sql``; dashboard ``dashboard/fourkeys_dashboard.json``):

- deployments <- ``four_keys.deployments`` (``source, deploy_id, time_created, main_commit,
  changes``). Four Keys keeps successful deployments only and records no environment, so every
  row is a SUCCESS in ``production`` unless the export has an ``environment`` column (add one
  if the config's ``dora.production_environment`` is not ``production``). Four Keys has no
  service either: ``service`` is ``source`` (github, gitlab, cloud_build, ...) unless the
  export has a ``service`` column.
- changes <- ``four_keys.changes`` (``source, event_type, change_id, time_created``) joined to
  the deployments that shipped each change, as ``deploy_id``. Four Keys' deployments hold an
  array of change ids but no change times, so they cannot serve alone. A ``deploy_id`` cell may
  be an array (e.g. ``ARRAY_AGG(deploy_id ORDER BY time_created)``): the first element is used,
  since a change is counted once, at its first deployment. Changes with no deployment are
  dropped.
- incidents <- ``four_keys.incidents`` (``source, incident_id, time_created, time_resolved,
  changes``). Its ``changes`` are root-cause change ids; the deployment holding them is in
  another table, which an adapter does not see, so ``caused_by_deployment_id`` is left empty
  unless the export carries a ``deploy_id`` column (first element when it is an array).
  ``service`` is ``source`` unless there is a ``service`` column; there is no severity.

Array cells may come as a JSON/BigQuery array ``["a","b"]``, as ``[a, b]``, as a comma- or
space-separated list, or as real lists (Parquet).

team_metrics is not adapted. DevLake's DORA dashboard exports one table of benchmark labels
(``metric, low, medium, high, elite``) over the dashboard's time range, and Four Keys'
dashboard four separate per-day panels (``day`` with ``deployments``, ``median_time_to_change``
in minutes, ``daily_med_time_to_restore`` in hours with one row per incident, and
``change_fail_rate``) or bucket labels. Neither has a team or a stable one-table column set;
give deployments, changes and incidents instead, or a canonical team_metrics file.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from calib.errors import InputError, Problem

VENDORS = {"devlake": "DevLake", "fourkeys": "Four Keys"}
SKIPPED_RESULTS = {"ABORT", "MANUAL"}  # with an empty result: DevLake's generators skip these
NO_ENVIRONMENT = "unspecified"
FOURKEYS_ENVIRONMENT = "production"
REPO_URL_SUFFIX = r":(?:[A-Za-z][A-Za-z0-9+.-]*://|[^:@/]+@).*$"  # ":https://..", ":git@host:.."


@dataclass(frozen=True)
class _Adapter:
    """How one vendor table becomes one canonical input.

    `required` lists the columns the export must have; a tuple names alternatives, the first
    being the one an error message names. `optional` lists further columns read when present.
    """

    table: str
    required: tuple[tuple[str, ...], ...]
    optional: tuple[str, ...]
    build: Callable[[pd.DataFrame], pd.DataFrame]


def expected_columns(fmt: str, name: str) -> list[str]:
    """Columns a vendor's export of this input has (used to find an Excel header).

    Parameters
    ----------
    fmt
        The input's `format` in the config: "devlake" or "fourkeys".
    name
        The canonical input, e.g. "deployments".

    Returns
    -------
    list of str
        Every vendor column the adapter reads; empty for an unsupported pair (`adapt` reports it).
    """
    adapter = ADAPTERS.get((fmt, name))
    if adapter is None:
        return []
    columns = [c for alternatives in adapter.required for c in alternatives]
    return list(dict.fromkeys([*columns, *adapter.optional]))


def adapt(frame: pd.DataFrame, fmt: str, name: str, shown: str) -> pd.DataFrame:
    """Rename and reshape a vendor export into the canonical columns of `name`.

    Parameters
    ----------
    frame
        The export as read by `calib.inputs.load.read_table`, indexed by source row number.
    fmt
        "devlake" or "fourkeys".
    name
        The canonical input.
    shown
        How messages name the file.

    Returns
    -------
    pandas.DataFrame
        The canonical columns, values still as exported (text) except where the export had to be
        reshaped; indexed by the source row each output row comes from.

    Raises
    ------
    InputError
        For an unsupported (format, input) pair, or naming every required vendor column missing.
    """
    adapter = ADAPTERS.get((fmt, name))
    if adapter is None:
        expected = f"one of the supported pairs: {_supported()}"
        if name == "team_metrics":
            expected += "; team_metrics has no vendor format, give it as canonical"
        raise InputError([Problem(shown, None, "format", f"{fmt} for {name}", expected)])
    missing = [alts for alts in adapter.required if not any(c in frame.columns for c in alts)]
    if missing:
        vendor = f"a {VENDORS[fmt]} {adapter.table} export"
        hint = f" (or `service:` for {name} in the config, naming the service of every row)"
        problems = [
            Problem(shown, 1, alts[0], None, f"a column named {_either(alts)} in {vendor}{hint * ('service' in alts)}")
            for alts in missing
        ]
        raise InputError(problems)
    return adapter.build(frame)


def _supported() -> str:
    pairs = {}
    for fmt, name in ADAPTERS:
        pairs.setdefault(fmt, []).append(name)
    return "; ".join(f"{fmt} for {', '.join(sorted(names))}" for fmt, names in pairs.items())


def _either(alternatives: tuple[str, ...]) -> str:
    if len(alternatives) == 1:
        return alternatives[0]
    return f"{alternatives[0]} (or {', or '.join(alternatives[1:])})"


# -- DevLake -----------------------------------------------------------------------------------


def _devlake_deployments(frame: pd.DataFrame) -> pd.DataFrame:
    result = _upper(frame["result"])
    finished = frame["finished_date"]
    kept = result.notna() & (result != "") & ~result.isin(SKIPPED_RESULTS) & finished.notna()
    rows = frame.loc[kept]
    out = pd.DataFrame(index=rows.index)
    out["deployment_id"] = rows["cicd_deployment_id"]
    out["service"] = _devlake_service(rows)
    out["finished_at"] = rows["finished_date"]
    out["result"] = rows["result"]
    out["environment"] = rows["environment"].fillna(NO_ENVIRONMENT)
    if "id" in rows:
        out["deployment_commit_id"] = rows["id"]
    return out


def _devlake_service(rows: pd.DataFrame) -> pd.Series:
    if "service" in rows:
        return rows["service"]
    if "cicd_scope_id" in rows:
        return rows["cicd_scope_id"]
    return _repo_name(rows["repo_url"])


def _repo_name(url: pd.Series) -> pd.Series:
    """'https://github.com/acme/api.git' or 'git@github.com:acme/api' -> 'acme/api'."""
    host = r"^(?:[A-Za-z][A-Za-z0-9+.-]*://[^/]+/|[^@/:]+@[^:/]+:)"
    text = url.astype("str").str.replace(host, "", regex=True)
    return text.str.replace(r"(?:\.git)?/*$", "", regex=True)


def _devlake_changes(frame: pd.DataFrame) -> pd.DataFrame:
    if "cicd_deployment_id" in frame:
        deployment = frame["cicd_deployment_id"]
    else:
        column = "deployment_commit_id" if "deployment_commit_id" in frame else "deployment_id"
        deployment = frame[column].astype("str").str.replace(REPO_URL_SUFFIX, "", regex=True)
    rows = frame.index[deployment.notna()]
    frame = frame.loc[rows]
    if "pr_created_date" in frame:
        first = frame.get("first_commit_authored_date", pd.Series(np.nan, frame.index, dtype="object"))
        created = _earlier(frame["pr_created_date"], first)
    else:
        coding = frame.get("pr_coding_time", pd.Series(np.nan, frame.index))
        created = _minus_minutes(frame["created_date"], coding)
    out = pd.DataFrame(index=rows)
    out["change_id"] = frame["id"]
    out["deployment_id"] = deployment.loc[rows]
    out["created_at"] = created
    return out


def _devlake_incidents(frame: pd.DataFrame) -> pd.DataFrame:
    rows = frame.index
    if "type" in frame:  # an `issues` export: only incidents count
        rows = frame.index[_upper(frame["type"]).eq("INCIDENT")]
    frame = frame.loc[rows]
    out = pd.DataFrame(index=rows)
    out["incident_id"] = frame["id"]
    out["service"] = frame[next(c for c in ("service", "scope_id", "original_project") if c in frame)]
    out["started_at"] = frame["created_date"]
    out["resolved_at"] = frame["resolution_date"] if "resolution_date" in frame else None
    for column in ("cicd_deployment_id", "deployment_id"):
        if column in frame:
            out["caused_by_deployment_id"] = frame[column]
            break
    if "severity" in frame:
        out["severity"] = frame["severity"]
    return out


# -- Four Keys ---------------------------------------------------------------------------------


def _fourkeys_deployments(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    out["deployment_id"] = frame["deploy_id"]
    out["service"] = frame["service" if "service" in frame else "source"]
    out["finished_at"] = frame["time_created"]
    out["result"] = "SUCCESS"  # the view keeps successful deployments only
    out["environment"] = frame["environment"] if "environment" in frame else FOURKEYS_ENVIRONMENT
    return out


def _fourkeys_changes(frame: pd.DataFrame) -> pd.DataFrame:
    deployment = _first(frame["deploy_id"])
    rows = frame.index[deployment.notna()]
    out = pd.DataFrame(index=rows)
    out["change_id"] = frame.loc[rows, "change_id"]
    out["deployment_id"] = deployment.loc[rows]
    out["created_at"] = frame.loc[rows, "time_created"]
    return out


def _fourkeys_incidents(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    out["incident_id"] = frame["incident_id"]
    out["service"] = frame["service" if "service" in frame else "source"]
    out["started_at"] = frame["time_created"]
    out["resolved_at"] = frame["time_resolved"]
    if "deploy_id" in frame:
        out["caused_by_deployment_id"] = _first(frame["deploy_id"])
    if "severity" in frame:
        out["severity"] = frame["severity"]
    return out


# -- values ------------------------------------------------------------------------------------


def _upper(values: pd.Series) -> pd.Series:
    return values.astype("str").str.strip().str.upper()


def _timestamps(values: pd.Series) -> pd.Series:
    """UTC times where readable, NaT elsewhere (as `calib.inputs.contract` reads them)."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.to_datetime(values, utc=True)
    # microseconds throughout: a unit inferred from the first pass may not hold the retried values
    times = pd.to_datetime(values, errors="coerce", utc=True, format="ISO8601")
    times = times.astype("datetime64[us, UTC]")
    retry = values.notna() & times.isna()
    if retry.any():
        times[retry] = pd.to_datetime(values[retry], errors="coerce", utc=True, format="mixed")
    return times


def _minus_minutes(times: pd.Series, minutes: pd.Series) -> pd.Series:
    """`times` moved back by `minutes` where both can be read; the value as exported elsewhere."""
    start = _timestamps(times)
    moved = start - pd.to_timedelta(pd.to_numeric(minutes, errors="coerce"), unit="min")
    if pd.api.types.is_datetime64_any_dtype(times):
        return moved.where(moved.notna(), start)
    out = times.astype("str")
    ok = moved.notna()
    out[ok] = moved[ok].map(pd.Timestamp.isoformat)
    return out


def _earlier(times: pd.Series, other: pd.Series) -> pd.Series:
    """The earlier of two times where both can be read; `times` as exported elsewhere."""
    start, alternative = _timestamps(times), _timestamps(other)
    earlier = alternative.notna() & start.notna() & (alternative < start)
    if pd.api.types.is_datetime64_any_dtype(times):
        return start.where(~earlier, alternative)
    out = times.astype("str").where(times.notna())
    out[earlier] = alternative[earlier].map(pd.Timestamp.isoformat)
    return out


def _first(values: pd.Series) -> pd.Series:
    """The first element of each array cell (missing when the array is empty)."""
    firsts = [next(iter(_as_list(v)), None) for v in values]
    return pd.Series(firsts, index=values.index, dtype="str")


def _as_list(value: object) -> list[str]:
    """An exported array cell as a list of ids: real lists, ["a","b"], [a, b], "a,b" or "a b"."""
    if isinstance(value, list | tuple | np.ndarray):
        items = list(value)
    elif value is None or value is pd.NA or value is pd.NaT:
        return []
    elif isinstance(value, float) and math.isnan(value):
        return []
    else:
        text = str(value).strip()
        items = None
        if text.startswith("[") and text.endswith("]"):
            try:
                parsed = json.loads(text)
            except ValueError:
                text = text[1:-1]
            else:
                items = parsed if isinstance(parsed, list) else [parsed]
        if items is None:
            items = re.split(r"[,\s]+", text)
    cleaned = (str(item).strip().strip("'\"").strip() for item in items if item is not None)
    return [item for item in cleaned if item]


ADAPTERS: dict[tuple[str, str], _Adapter] = {
    ("devlake", "deployments"): _Adapter(
        "cicd_deployment_commits",
        (
            ("cicd_deployment_id",),
            ("cicd_scope_id", "repo_url", "service"),
            ("result",),
            ("environment",),
            ("finished_date",),
        ),
        ("id",),
        _devlake_deployments,
    ),
    ("devlake", "changes"): _Adapter(
        "project_pr_metrics",
        (
            ("id",),
            ("deployment_commit_id", "cicd_deployment_id", "deployment_id"),
            ("pr_created_date", "created_date"),
        ),
        ("first_commit_authored_date", "pr_coding_time"),
        _devlake_changes,
    ),
    ("devlake", "incidents"): _Adapter(
        "incidents",
        (("id",), ("service", "scope_id", "original_project"), ("created_date",)),
        ("resolution_date", "severity", "cicd_deployment_id", "deployment_id", "type"),
        _devlake_incidents,
    ),
    ("fourkeys", "deployments"): _Adapter(
        "four_keys.deployments",
        (("deploy_id",), ("source", "service"), ("time_created",)),
        ("environment",),
        _fourkeys_deployments,
    ),
    ("fourkeys", "changes"): _Adapter(
        "four_keys.changes",
        (("change_id",), ("deploy_id",), ("time_created",)),
        (),
        _fourkeys_changes,
    ),
    ("fourkeys", "incidents"): _Adapter(
        "four_keys.incidents",
        (("incident_id",), ("source", "service"), ("time_created",), ("time_resolved",)),
        ("deploy_id", "severity"),
        _fourkeys_incidents,
    ),
}
