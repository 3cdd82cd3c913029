"""Scope: the part of a cycle one surface may see, cut before anything reads it.

`filter_org` keeps one org (the report's `--org`); every input that names a person, a team, a
service or a deployment keeps only that org's rows, so nothing downstream can show the rest.
`filter_subtree` keeps one manager's people (the explorer served by `calib explore`): the same
cut, plus ids and free text that mention anyone else scrubbed from the rows kept.
"""

from __future__ import annotations

import functools
import re

import pandas as pd

from calib.errors import UsageError
from calib.frame import Normalized
from calib.inputs.validate import CycleData


def filter_org(normalized: Normalized, org: str) -> Normalized:
    """Only the people whose team's `org` (in the teams input) equals or starts with `org`.

    Every input that names a person, a team, a service or a deployment keeps only the rows of
    the org; lineage (sources, warnings) stays that of the whole input files.
    """
    data = normalized.data
    if not data.has("teams") or "org" not in data["teams"].columns:
        raise UsageError("--org needs a teams input with an org column")
    teams = data["teams"]
    orgs = teams["org"].astype(str)
    inside = teams["org"].notna() & (orgs.eq(org) | orgs.str.startswith(org))
    if not inside.any():
        known = sorted(set(teams["org"].dropna().astype(str)))
        raise UsageError(f"unknown org {org!r}; known orgs: {', '.join(known)}")
    keep_teams = set(teams.loc[inside, "team"].astype(str))
    people = data["people"]
    people = people[people["team"].astype(str).isin(keep_teams)]
    ids = set(people["employee_id"].astype(str))
    tables: dict = {"people": people, "teams": teams[inside]}
    if data.has("services"):
        tables["services"] = data["services"][data["services"]["team"].astype(str).isin(keep_teams)]
    services = set(tables["services"]["service"].astype(str)) if "services" in tables else set()
    events = {}  # engine tables (calib.delivery): cut by a query, never fetched whole
    for name, table in data.events.items():
        if name == "changes" and "deployments" in data.events:
            kept = events["deployments"].deployment_id
            events[name] = table.filter(table.deployment_id.isin(kept))
        elif "service" in table.columns:
            events[name] = table.filter(table.service.isin(sorted(services)))
        else:
            events[name] = table
    deployment_ids: set[str] = set()
    for name, frame in data.tables.items():
        if name in tables:
            continue
        if "employee_id" in frame.columns:
            tables[name] = frame[frame["employee_id"].astype(str).isin(ids)]
        elif "reviewee_id" in frame.columns:
            tables[name] = frame[frame["reviewee_id"].astype(str).isin(ids)]
        elif "team" in frame.columns:
            tables[name] = frame[frame["team"].astype(str).isin(keep_teams)]
        elif "service" in frame.columns:
            tables[name] = frame[frame["service"].astype(str).isin(services)]
        elif "deployment_id" in frame.columns:
            tables[name] = frame[frame["deployment_id"].astype(str).isin(deployment_ids)]
        else:
            tables[name] = frame
    filtered = CycleData(data.config, tables, data.sources, data.warnings, events=events, engine=data.engine)
    frame = normalized.frame[normalized.frame["team"].astype(str).isin(keep_teams)].reset_index(drop=True)

    def teams_only(table: pd.DataFrame) -> pd.DataFrame:
        return table[table["team"].astype(str).isin(keep_teams)].reset_index(drop=True)

    return Normalized(filtered, frame, teams_only(normalized.team_dora), teams_only(normalized.team_slos))


# -- one manager's people ------------------------------------------------------------------------

OUTSIDE = "someone outside this team"  # what free text says instead of anyone outside the cut
PERSON_KEYS = ("employee_id", "reviewee_id")  # the column that says whose row it is, in this order
PERSON_REFERENCES = ("manager_id", "reviewer_id")  # columns that only mention someone
FREE_TEXT = ("title", "comment", "expectation", "key_steps", "project")  # may name anyone


def subtree(people: pd.DataFrame, manager_id: str) -> list[str]:
    """Everyone below `manager_id` in the org chart (people.manager_id), transitively, by employee_id."""
    reports: dict[str, list[str]] = {}
    for who, boss in zip(people["employee_id"].astype(str), people["manager_id"], strict=True):
        if isinstance(boss, str) and boss:
            reports.setdefault(boss, []).append(who)
    found: set[str] = set()
    todo = list(reports.get(manager_id, []))
    while todo:
        who = todo.pop()
        if who not in found and who != manager_id:  # a loop in the chart stops here
            found.add(who)
            todo += reports.get(who, [])
    return sorted(found)


def filter_subtree(normalized: Normalized, manager_id: str) -> Normalized:
    """Only `manager_id`'s people: everyone below them, transitively, and the manager's name.

    The cut a manager's own surfaces read (the explorer served by `calib explore`); it is made
    before anything else sees the data, so nothing downstream can show anyone else.

    - people keeps the people below the manager and the manager's own row (so pages and
      documents can name them); every table about a person (reviews, criteria scores, evidence,
      peer feedback received, expectations, telemetry) and the calibration frame keep only the
      people below: the manager's own review belongs to their manager's cut.
    - Ids of anyone else in the rows kept (a reviewer outside the team, the manager's own
      manager) become missing; free text (titles, comments, expectations) that names anyone else
      reads OUTSIDE instead, and a link that names anyone else is dropped.
    - Teams, services, deployments, changes, incidents, SLOs and team delivery tables keep the
      teams those people are on: the team's results, never anyone's score.
    - Warnings are dropped (they quote other people's rows); sources (file lineage) are kept.

    Raises
    ------
    UsageError
        When `manager_id` is not in people, or nobody reports to them.
    """
    data = normalized.data
    people = data["people"]
    file = data.config.inputs["people"].path
    if not people["employee_id"].astype(str).eq(manager_id).any():
        raise UsageError(f"no person with employee_id {manager_id!r} in {file}")
    ids = set(subtree(people, manager_id))
    if not ids:
        raise UsageError(f"nobody reports to {manager_id} in {file}: give a manager's employee_id")
    visible = ids | {manager_id}
    keep_teams = set(people.loc[people["employee_id"].astype(str).isin(ids), "team"].astype(str))
    text = _outside_text(people, visible)
    tables: dict = {"people": people[people["employee_id"].astype(str).isin(visible)]}
    if data.has("teams"):
        tables["teams"] = data["teams"][data["teams"]["team"].astype(str).isin(keep_teams)]
    if data.has("services"):
        tables["services"] = data["services"][data["services"]["team"].astype(str).isin(keep_teams)]
    services = set(tables["services"]["service"].astype(str)) if "services" in tables else set()
    if data.has("deployments"):
        tables["deployments"] = data["deployments"][data["deployments"]["service"].astype(str).isin(services)]
    deployment_ids = set(tables["deployments"]["deployment_id"].astype(str)) if "deployments" in tables else set()
    for name, frame in data.tables.items():
        if name in tables:
            continue
        key = next((c for c in PERSON_KEYS if c in frame.columns), None)
        if key is not None:
            tables[name] = frame[frame[key].astype(str).isin(ids)]
        elif "team" in frame.columns:
            tables[name] = frame[frame["team"].astype(str).isin(keep_teams)]
        elif "service" in frame.columns:
            tables[name] = frame[frame["service"].astype(str).isin(services)]
        elif "deployment_id" in frame.columns:
            tables[name] = frame[frame["deployment_id"].astype(str).isin(deployment_ids)]
        else:
            tables[name] = frame
    tables = {name: _mention_only(frame, visible, text) for name, frame in tables.items()}
    filtered = CycleData(data.config, tables, data.sources, [])
    frame = normalized.frame[normalized.frame["employee_id"].astype(str).isin(ids)].reset_index(drop=True)

    def teams_only(table: pd.DataFrame) -> pd.DataFrame:
        return table[table["team"].astype(str).isin(keep_teams)].reset_index(drop=True)

    return Normalized(
        filtered,
        _mention_only(frame, visible, text),
        teams_only(normalized.team_dora),
        teams_only(normalized.team_slos),
    )


def _mention_only(frame: pd.DataFrame, visible: set[str], text) -> pd.DataFrame:
    """`frame` with ids of anyone outside `visible` missing, free text and links scrubbed."""
    out = frame.copy()
    for column in PERSON_REFERENCES:
        if column in out.columns:
            inside = out[column].astype(str).isin(visible)
            out[column] = out[column].astype(object).where(inside, None)
    for column in FREE_TEXT:
        if column in out.columns:
            out[column] = out[column].map(lambda v: text(v)[0] if isinstance(v, str) else v)
    if "url" in out.columns:
        out["url"] = out["url"].map(lambda v: None if isinstance(v, str) and text(v)[1] else v)
    return out


def _outside_text(people: pd.DataFrame, visible: set[str]):
    """A function of free text: (the text with anyone outside `visible` as OUTSIDE, whether it named anyone).

    Everyone is matched the way blind mode matches (calib.privacy: ids, names, handles, e-mails,
    lone given or family names); a text that names only people inside is returned unchanged.
    """
    from calib.privacy import SOMEONE, redaction

    ids = people["employee_id"].astype(str)
    marker = {i: f"\x00{i}\x00" for i in ids}
    mark = redaction(people, blind=True, replace_with=marker)
    token = re.compile("\x00([^\x00]*)\x00")
    labels = dict(zip(ids, people["name"].astype(str), strict=True)) if "name" in people.columns else {}

    def scrub(value: str) -> tuple[str, bool]:
        marked = str(mark(value))
        outside = any(m not in visible for m in token.findall(marked))
        if not outside and marked.lower().count(SOMEONE) == value.lower().count(SOMEONE):
            return value, False
        return token.sub(
            lambda m: labels.get(m.group(1), m.group(1)) if m.group(1) in visible else OUTSIDE, marked
        ), True

    return functools.lru_cache(maxsize=None)(scrub)
