"""The explorer's tables: one manager's people, each a pure function of the manager's cut.

`Explorer` holds a cycle already cut to one manager's people (calib.scope.filter_subtree): it is
either loaded from a scoped snapshot (calib.apps.explorer.snapshot, what `calib explore` gives
the kernel) or cut here from a config (`open_team`, JupyterLab and tests). Nothing here sees
anyone else, and nothing sorts or ranks people by a number: people are in name order, criteria
in the framework's order, evidence by date.

- `pairing`: the monthly pairing view of one person: criteria light on examples this cycle (the
  leveling framework's criteria, with what meeting each looks like at the person's level), the
  examples since the last pairing, the "finding your work" links from that date, expectations
  with key steps and status.
- `team_*`: the team view: evidence coverage by category and criterion, expectations status,
  peer feedback counts by relationship, rating history, and each team's delivery and SLO trend
  (the team's results, context for everyone on it, never a personal score).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import altair as alt
import pandas as pd

from calib.frame import EVIDENCE_CATEGORIES, Normalized
from calib.inputs.config import CycleWindow
from calib.inputs.leveling import Criterion, Leveling, Link, filled, work_links
from calib.outputs.alignment.model import as_of_date, criteria_of, person_context, resolve_cycle
from calib.outputs.alignment.render import LIGHT_MIN_EXAMPLES
from calib.outputs.charts import evidence_timeline_chart

LIGHT_MARK = "light: add examples"
UNTAGGED = "(not tagged with a criterion)"
PAIRING_WEEKS = 4  # the default last pairing: this many weeks before the date the cycle stands at


@dataclass(frozen=True)
class Explorer:
    """One manager's cut of a cycle (people below them and their own name), and the leveling framework."""

    normalized: Normalized
    leveling: Leveling | None
    manager_id: str
    session: dict | None = None  # the calibration session whose ratings are after calibration (SESSION_FIELDS)

    @property
    def manager(self) -> str:
        """The manager's name."""
        people = self.normalized.data["people"]
        row = people[people["employee_id"].astype(str) == self.manager_id]
        return str(row["name"].iloc[0]) if len(row) else self.manager_id


@dataclass(frozen=True)
class Pairing:
    """The monthly pairing view of one person (see the module docstring)."""

    employee_id: str
    name: str
    level: str
    team: str
    role: str
    manager: str
    window: CycleWindow
    as_of: dt.date
    mid_cycle: bool
    since: dt.date
    evidence: pd.DataFrame  # the cycle's evidence up to as_of, by date
    recent: pd.DataFrame  # the same, on or after `since`
    timeline: alt.LayerChart
    coverage: pd.DataFrame  # criterion, examples, since_pairing, at_level, mark
    work: tuple[Link, ...]  # finding your work, {start} = since
    expectations: pd.DataFrame | None  # expectation, key_steps, status; None: no expectations input
    context: tuple[tuple[str, float], ...] | None  # telemetry the policy allows as context


def open_team(
    config_path: str | Path, manager_id: str, *, session: str | None = None, store: str | None = None
) -> Explorer:
    """Load, check and normalize a cycle, then cut it to `manager_id`'s people (errors: calib.errors).

    With `session` (a calibration session of the config's cycle, in `store` or the config's), its
    current ratings are the after-calibration ratings, as `calib report --session` has them: put
    into the reviews before anything is normalized or cut (calib.outputs.report.session).
    """
    from calib.delivery.sources import load_cycle
    from calib.frame import normalize
    from calib.inputs.config import load_config
    from calib.inputs.leveling import check_work_queries, load_leveling, reference_links
    from calib.scope import filter_subtree

    config = load_config(config_path)
    leveling = load_leveling(config)
    check_work_queries(config)
    reference_links(config)
    data = load_cycle(config)
    read = None
    if session:
        from calib.outputs.report.session import read_session, with_session_ratings

        view = read_session(config, session, store=store, data=data)
        data = with_session_ratings(data, view.table)
        read = session_fields(view)
    return Explorer(filter_subtree(normalize(data), manager_id), leveling, manager_id, read)


SESSION_FIELDS = ("name", "cycle", "scope", "status", "events", "head_hash", "read_at")


def session_fields(view) -> dict:
    """What the explorer says about the session it shows (no store, no author, no reason: nothing of anyone else)."""
    return {
        "name": view.name,
        "cycle": view.cycle,
        "scope": view.scope,
        "status": view.status,
        "events": len(view.events),
        "head_hash": view.verification.head_hash,
        "read_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def team_people(explorer: Explorer) -> pd.DataFrame:
    """employee_id, name, level, team, discipline, reports_to (a name) and direct, in name order."""
    people = explorer.normalized.data["people"]
    names = dict(zip(people["employee_id"].astype(str), people["name"].astype(str), strict=True))
    mine = people[people["employee_id"].astype(str) != explorer.manager_id]
    table = pd.DataFrame(
        {
            "employee_id": mine["employee_id"].astype(str).to_numpy(),
            "name": mine["name"].astype(str).to_numpy(),
            "level": mine["level"].astype(str).to_numpy(),
            "team": mine["team"].astype(str).to_numpy(),
            "discipline": mine["discipline"].astype(str).to_numpy() if "discipline" in mine.columns else "",
            "reports_to": [names.get(str(m), "") for m in mine["manager_id"]],
            "direct": (mine["manager_id"].astype(str) == explorer.manager_id).to_numpy(),
        }
    )
    key = table["name"].str.casefold()
    return (
        table.assign(_k=key).sort_values(["_k", "employee_id"], kind="stable").drop(columns="_k").reset_index(drop=True)
    )


def person_options(explorer: Explorer) -> list[tuple[str, str]]:
    """(label, employee_id) for a person picker: direct reports first, then the rest, each in name order."""
    people = team_people(explorer)
    people = pd.concat([people[people["direct"]], people[~people["direct"]]])
    return [
        (f"{r.name} ({r.employee_id})" + ("" if r.direct else f", via {r.reports_to}"), r.employee_id)
        for r in people.itertuples()
    ]


def cycle_items(normalized: Normalized, employee_ids: list[str], window: CycleWindow, as_of: dt.date) -> pd.DataFrame:
    """Evidence of these people dated from the cycle's start to `as_of`, by date then title."""
    data = normalized.data
    columns = ["employee_id", "date", "category", "criterion", "kind", "title", "url"]
    if not data.has("evidence"):
        return pd.DataFrame(columns=columns)
    evidence = data["evidence"]
    dates = evidence["date"]
    keep = evidence["employee_id"].isin(employee_ids) & (dates >= pd.Timestamp(window.start))
    keep &= dates <= pd.Timestamp(as_of)
    present = [c for c in columns if c in evidence.columns]
    return evidence.loc[keep, present].sort_values(["date", "title"], kind="stable").reset_index(drop=True)


def _key(value: object) -> str:
    return " ".join(str(value).split()).casefold()


def criteria_coverage(
    items: pd.DataFrame, criteria: list[str], *, since: dt.date | None = None, level_text: dict[str, str] | None = None
) -> pd.DataFrame:
    """Examples per criterion (tags matched ignoring case and spacing); light ones marked.

    Returns criterion, examples, since_pairing (examples dated on or after `since`; 0 without
    one), at_level (what meeting it looks like at the person's level, from `level_text`) and mark
    (LIGHT_MARK under LIGHT_MIN_EXAMPLES examples), in the order of `criteria`, plus a last row for
    untagged items when there are any.
    """
    tags = items["criterion"] if "criterion" in items.columns else pd.Series(None, index=items.index, dtype="object")
    key = tags.map(_key, na_action="ignore")
    recent = pd.to_datetime(items["date"]) >= pd.Timestamp(since) if since is not None else key.isna() & False
    rows = []
    for criterion in criteria:
        hit = key == _key(criterion)
        count = int(hit.sum())
        rows.append(
            (
                criterion,
                count,
                int((hit & recent).sum()),
                (level_text or {}).get(criterion, ""),
                "" if count >= LIGHT_MIN_EXAMPLES else LIGHT_MARK,
            )
        )
    untagged = ~key.isin([_key(c) for c in criteria])
    if untagged.any():
        rows.append((UNTAGGED, int(untagged.sum()), int((untagged & recent).sum()), "", ""))
    columns = ["criterion", "examples", "since_pairing", "at_level", "mark"]
    return pd.DataFrame(rows, columns=columns).astype({"examples": "int64", "since_pairing": "int64"})


def expectations_table(normalized: Normalized, employee_id: str, cycle: str) -> pd.DataFrame | None:
    """expectation, key_steps, status for the person and cycle; None when there is no expectations input."""
    data = normalized.data
    if not data.has("expectations"):
        return None
    table = data["expectations"]
    rows = table[(table["cycle"] == cycle) & (table["employee_id"] == employee_id)]
    out = pd.DataFrame({"expectation": rows["expectation"].astype(str).to_numpy()})
    out["key_steps"] = [
        [s.strip() for s in re.split(r"[;\n]", v) if s.strip()] if filled(v) else []
        for v in (rows["key_steps"] if "key_steps" in rows.columns else [None] * len(rows))
    ]
    out["status"] = [
        str(v) if filled(v) else "no status"
        for v in (rows["status"] if "status" in rows.columns else [None] * len(rows))
    ]
    return out


def default_since(as_of: dt.date, window: CycleWindow) -> dt.date:
    """The last pairing when none is given: PAIRING_WEEKS before `as_of`, not before the cycle's start."""
    return max(as_of - dt.timedelta(weeks=PAIRING_WEEKS), window.start)


def stands_at(explorer: Explorer, cycle: str | None = None) -> tuple[CycleWindow, dt.date]:
    """The cycle's window and the date it stands at (calib.outputs.alignment.model.as_of_date)."""
    data = explorer.normalized.data
    window = resolve_cycle(data.config, cycle)
    return window, as_of_date(data["evidence"] if data.has("evidence") else None, window, dt.date.today())


def pairing(explorer: Explorer, employee_id: str, *, since: dt.date | None = None, cycle: str | None = None) -> Pairing:
    """The monthly pairing view of one of the manager's people (UsageError for anyone else)."""
    from calib.errors import UsageError

    normalized = explorer.normalized
    data = normalized.data
    people = data["people"].set_index("employee_id", drop=False)
    if employee_id not in people.index or employee_id == explorer.manager_id:
        raise UsageError(f"{employee_id} is not one of {explorer.manager_id}'s people")
    person = people.loc[employee_id].to_dict()
    window, as_of = stands_at(explorer, cycle)
    since = since or default_since(as_of, window)
    items = cycle_items(normalized, [employee_id], window, as_of)
    level = str(person["level"])
    criteria: list[Criterion] = criteria_of(explorer.leveling, data)
    coverage = criteria_coverage(
        items, [c.name for c in criteria], since=since, level_text={c.name: c.levels.get(level, "") for c in criteria}
    )
    end = min(max(dt.date.today(), since), window.end) if since <= window.end else since
    search = CycleWindow(id=window.id, start=since, end=end)
    manager = people["name"].get(person.get("manager_id")) if filled(person.get("manager_id")) else None
    return Pairing(
        employee_id=employee_id,
        name=str(person["name"]),
        level=level,
        team=str(person["team"]),
        role=", ".join(str(person[c]) for c in ("discipline", "track") if filled(person.get(c))),
        manager=str(manager) if manager is not None else "",
        window=window,
        as_of=as_of,
        mid_cycle=as_of < window.end,
        since=since,
        evidence=items,
        recent=items[pd.to_datetime(items["date"]) >= pd.Timestamp(since)].reset_index(drop=True),
        timeline=evidence_timeline_chart(items, start=window.start, end=window.end),
        coverage=coverage,
        work=tuple(work_links(data.config, person, search)),
        expectations=expectations_table(normalized, employee_id, window.id),
        context=person_context(data, employee_id, window.id),
    )


# -- the team view ---------------------------------------------------------------------------------


def team_coverage(explorer: Explorer, cycle: str | None = None) -> pd.DataFrame:
    """Per person: evidence items this cycle by category, and examples per criterion (plus untagged)."""
    people = team_people(explorer)
    window, as_of = stands_at(explorer, cycle)
    items = cycle_items(explorer.normalized, list(people["employee_id"]), window, as_of)
    criteria = [c.name for c in criteria_of(explorer.leveling, explorer.normalized.data)]
    table = people[["employee_id", "name"]].copy()
    by_person = items.groupby("employee_id")
    for category in EVIDENCE_CATEGORIES:
        counts = items[items["category"] == category].groupby("employee_id").size()
        table[category] = counts.reindex(table["employee_id"], fill_value=0).to_numpy()
    tags = items["criterion"].map(_key, na_action="ignore") if "criterion" in items.columns else None
    for criterion in criteria:
        mine = items[tags == _key(criterion)] if tags is not None else items.iloc[:0]
        table[criterion] = mine.groupby("employee_id").size().reindex(table["employee_id"], fill_value=0).to_numpy()
    known = tags.isin([_key(c) for c in criteria]) if tags is not None else pd.Series(False, index=items.index)
    untagged = items[~known].groupby("employee_id").size()
    table[UNTAGGED] = untagged.reindex(table["employee_id"], fill_value=0).to_numpy()
    table["total"] = by_person.size().reindex(table["employee_id"], fill_value=0).to_numpy()
    return table


def team_expectations(explorer: Explorer, cycle: str | None = None) -> pd.DataFrame | None:
    """Per person: expectations of the cycle by status; None without an expectations input."""
    data = explorer.normalized.data
    if not data.has("expectations"):
        return None
    window = resolve_cycle(data.config, cycle)
    people = team_people(explorer)
    table = data["expectations"]
    rows = table[table["cycle"] == window.id]
    status = rows["status"].where(rows["status"].map(filled), "no status") if "status" in rows.columns else None
    rows = rows.assign(status=status if status is not None else "no status")
    order = ["done", "on track", "at risk", "not started"]
    statuses = [s for s in order if s in set(rows["status"])] + sorted(set(rows["status"]) - set(order))
    counts = rows.groupby(["employee_id", "status"]).size().unstack(fill_value=0)
    out = people[["employee_id", "name"]].copy()
    for name in statuses:
        values = counts[name] if name in counts.columns else pd.Series(dtype="int64")
        out[name] = values.reindex(out["employee_id"], fill_value=0).to_numpy()
    return out


def team_peers(explorer: Explorer, cycle: str | None = None) -> pd.DataFrame | None:
    """Per person: peer feedback received in the cycle, counted by relationship; None without the input."""
    data = explorer.normalized.data
    if not data.has("peer_feedback"):
        return None
    window = resolve_cycle(data.config, cycle)
    people = team_people(explorer)
    table = data["peer_feedback"]
    rows = table[table["cycle"] == window.id]
    counts = rows.groupby(["reviewee_id", "relationship"]).size().unstack(fill_value=0)
    out = people[["employee_id", "name"]].copy()
    for relationship in sorted(set(table["relationship"].dropna())):
        values = counts[relationship] if relationship in counts.columns else pd.Series(dtype="int64")
        out[relationship] = values.reindex(out["employee_id"], fill_value=0).to_numpy()
    return out


def team_ratings(explorer: Explorer) -> pd.DataFrame:
    """Per person and configured cycle: the rating after calibration (with a session: the session's, for the
    session's cycle), and the submitted one when it differs."""
    data = explorer.normalized.data
    people = team_people(explorer)
    reviews = data["reviews"]
    out = people[["employee_id", "name", "level"]].copy()
    for window in data.config.cycles:
        mine = reviews[reviews["cycle"] == window.id].drop_duplicates("employee_id").set_index("employee_id")
        cells = []
        for employee_id in out["employee_id"]:
            if employee_id not in mine.index:
                cells.append("no review")
                continue
            row = mine.loc[employee_id]
            calibrated = row.get("calibrated_rating")
            if filled(calibrated) and str(calibrated) != str(row["rating"]):
                cells.append(f"{calibrated} (submitted {row['rating']})")
            else:
                cells.append(str(row["rating"]))
        out[window.id] = cells
    return out


TREND_DORA = (  # column of team_dora -> shown as
    ("delivery_level", "delivery"),
    ("deploy_days_per_week", "deploy days a week"),
    ("lead_time_hours", "median lead time"),
    ("change_failure_rate", "change failure rate"),
    ("time_to_restore_hours", "median time to restore"),
)
TREND_SLO = (
    ("slo_windows", "SLO windows"),
    ("slo_met_share", "SLO windows met"),
    ("slo_attainment", "SLO attainment"),
    ("slo_budget_consumed", "error budget consumed"),
)


def team_trend(normalized: Normalized, team: str) -> pd.DataFrame:
    """The team's delivery (DORA) and SLOs per configured cycle, values as computed: the team's results.

    Columns: cycle, then the team_dora and team_slos columns of TREND_DORA and TREND_SLO, with
    each DORA metric's level beside it (`<metric>_level`); missing where there is no data.
    """
    cycles = [c.id for c in normalized.data.config.cycles]
    table = pd.DataFrame({"cycle": cycles})
    for source in (normalized.team_dora, normalized.team_slos):
        mine = source[source["team"] == team].drop_duplicates("period").set_index("period") if len(source) else None
        for column in (*[c for c, _ in TREND_DORA + TREND_SLO], *LEVELS.values()):
            if mine is not None and column in mine.columns:
                table[column] = mine[column].reindex(cycles).astype("object").to_numpy()
    return table


LEVELS = {  # value column -> its level column in team_dora
    "deploy_days_per_week": "deployment_frequency_level",
    "lead_time_hours": "lead_time_level",
    "change_failure_rate": "change_failure_rate_level",
    "time_to_restore_hours": "time_to_restore_level",
}


def teams_of(explorer: Explorer) -> list[str]:
    """The teams the manager's people are on, by name."""
    return sorted(set(team_people(explorer)["team"]))
