"""The calibration frame: one row per person per cycle, with the team's context joined on.

Team delivery (DORA) and SLO figures are columns prefixed `team_`: they describe the team a
person belongs to, and DORA's own guidance is that they must never become an individual score.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from calib.inputs.cycle import CycleData
from calib.inputs.ratings import with_rating_numbers

TEAM_DORA_COLUMNS = {
    "delivery_level": "team_delivery_level",
    "deploy_days_per_week": "team_deploy_days_per_week",
    "deployment_frequency_level": "team_deployment_frequency_level",
    "deployments": "team_deployments_n",
    "lead_time_hours": "team_lead_time_hours",
    "lead_time_level": "team_lead_time_level",
    "lead_time_n": "team_lead_time_n",
    "change_failure_rate": "team_change_failure_rate",
    "change_failure_rate_level": "team_change_failure_rate_level",
    "time_to_restore_hours": "team_time_to_restore_hours",
    "time_to_restore_level": "team_time_to_restore_level",
    "time_to_restore_n": "team_time_to_restore_n",
}
TEAM_SLO_COLUMNS = {
    "slo_windows": "team_slo_windows_n",
    "slo_met_share": "team_slo_met_share",
    "slo_budget_consumed": "team_slo_budget_consumed",
    "slo_attainment": "team_slo_attainment",
}
EVIDENCE_CATEGORIES = ("delivery", "reliability", "influence")
PEOPLE_COLUMNS = ["employee_id", "name", "manager_id", "team", "discipline", "level", "track", "location", "hire_date"]


@dataclass(frozen=True)
class Normalized:
    """A cycle's inputs normalized: the calibration frame and the team context behind it."""

    data: CycleData
    frame: pd.DataFrame  # one row per person per cycle
    team_dora: pd.DataFrame  # one row per team per cycle, graded
    team_slos: pd.DataFrame  # one row per team per cycle


def normalize(data: CycleData) -> Normalized:
    """Normalize a loaded cycle: ratings, team DORA and SLO context, the calibration frame."""
    # the query engine is imported here, not with the module: a served page reading a snapshot never loads it
    from calib.delivery.dora import periods_from_cycles, team_dora
    from calib.delivery.slo import team_slos

    periods = periods_from_cycles(data.config.cycles)
    dora = team_dora(data, periods)
    slos = (
        team_slos(data.table("slos"), data["services"], periods, engine=data.engine)
        if data.has("slos") and data.has("services")
        else pd.DataFrame(columns=["team", "period", *TEAM_SLO_COLUMNS])
    )
    return Normalized(data, calibration_frame(data, dora, slos), dora, slos)


def calibration_frame(data: CycleData, dora: pd.DataFrame, slos: pd.DataFrame) -> pd.DataFrame:
    """One row per review: the person, their rating in numbers, evidence counts, team context.

    Parameters
    ----------
    data
        The loaded cycle.
    dora, slos
        Team context per team and period (period = cycle id), from `team_dora` and `team_slos`.
    """
    config = data.config
    people = data["people"]
    present = [c for c in PEOPLE_COLUMNS if c in people.columns]
    protected = [c for c in config.protected_attributes if c in people.columns and c not in present]
    person = people[present + protected].copy()
    person["level"] = person["level"].astype(pd.CategoricalDtype(config.levels, ordered=True))
    person["level_rank"] = person["level"].cat.codes + 1
    if data.has("teams"):
        person = person.merge(
            data["teams"][["team", *_present(data["teams"], ["org", "team_type"])]], on="team", how="left"
        )
    person["team_size"] = person.groupby("team")["employee_id"].transform("size")

    reviews = with_rating_numbers(data["reviews"], config)
    frame = reviews.merge(person, on="employee_id", how="inner", validate="many_to_one")
    frame = frame.merge(_evidence_counts(data), on=["cycle", "employee_id"], how="left")
    for category in EVIDENCE_CATEGORIES:
        frame[f"evidence_{category}_n"] = frame[f"evidence_{category}_n"].fillna(0).astype("int64")
    context = dora.rename(columns=TEAM_DORA_COLUMNS)[["team", "period", *TEAM_DORA_COLUMNS.values()]]
    frame = frame.merge(context.rename(columns={"period": "cycle"}), on=["team", "cycle"], how="left")
    slo_context = slos.rename(columns=TEAM_SLO_COLUMNS)[["team", "period", *TEAM_SLO_COLUMNS.values()]]
    frame = frame.merge(slo_context.rename(columns={"period": "cycle"}), on=["team", "cycle"], how="left")
    order = {c.id: i for i, c in enumerate(config.cycles)}
    frame["cycle"] = frame["cycle"].astype(pd.CategoricalDtype(list(order), ordered=True))
    return frame.sort_values(["cycle", "employee_id"], kind="stable").reset_index(drop=True)


def _present(frame: pd.DataFrame, columns: list[str]) -> list[str]:
    return [c for c in columns if c in frame.columns]


def _evidence_counts(data: CycleData) -> pd.DataFrame:
    """Evidence items per person, cycle and category (by the item's date)."""
    columns = ["cycle", "employee_id", *(f"evidence_{c}_n" for c in EVIDENCE_CATEGORIES)]
    if not data.has("evidence"):
        return pd.DataFrame(columns=columns)
    evidence = data["evidence"]
    parts = []
    for window in data.config.cycles:
        inside = evidence[
            (evidence["date"] >= pd.Timestamp(window.start)) & (evidence["date"] <= pd.Timestamp(window.end))
        ]
        counts = inside.groupby(["employee_id", "category"]).size().unstack(fill_value=0)
        counts = counts.reindex(columns=list(EVIDENCE_CATEGORIES), fill_value=0)
        counts.columns = [f"evidence_{c}_n" for c in counts.columns]
        parts.append(counts.reset_index().assign(cycle=window.id))
    return pd.concat(parts, ignore_index=True)[columns]
