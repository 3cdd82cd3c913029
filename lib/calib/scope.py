"""Scope: the part of a cycle one surface may see, cut before anything reads it.

`filter_org` keeps one org (the report's `--org`); every input that names a person, a team, a
service or a deployment keeps only that org's rows, so nothing downstream can show the rest.
"""

from __future__ import annotations

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
