"""The team explorer (notebooks/team_explorer.ipynb): per-person views for one manager's team.

Pure helpers build each table the notebook shows; `explorer_app` assembles them into widgets
(a team picker and a person picker), so the notebook only loads, calls and displays. Per person:
the evidence timeline of the cycle by category, coverage per criterion (light criteria marked),
expectations with key steps and status, peer feedback counts by relationship, rating and criteria
history, and per-person telemetry only as policy-allowed context. Per team: delivery and SLO
trend, labelled as the team's results. Nothing here sorts or ranks people by a number: tables
are in employee_id, criterion or date order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import altair as alt
import pandas as pd

from calib.analyses.evidence import LIGHT_MIN_EXAMPLES
from calib.errors import UsageError
from calib.frame import Normalized
from calib.inputs.leveling import Leveling, load_leveling
from calib.outputs.alignment.model import as_of_date, criteria_of, direct_reports, person_context, resolve_cycle
from calib.outputs.alignment.render import md_escape
from calib.outputs.charts import evidence_timeline_chart

LIGHT_MARK = "light: add examples"


@dataclass(frozen=True)
class Explorer:
    """What the explorer works on: the normalized cycle and the leveling framework, if any."""

    normalized: Normalized
    leveling: Leveling | None


@dataclass(frozen=True)
class PersonView:
    """Everything the explorer shows for one person in one cycle."""

    employee_id: str
    title: str
    as_of: dt.date
    mid_cycle: bool
    evidence: pd.DataFrame
    timeline: alt.LayerChart
    coverage: pd.DataFrame
    expectations: pd.DataFrame | None
    peers: pd.DataFrame
    history: pd.DataFrame
    context: pd.DataFrame | None


def load(config_path: str | Path) -> Explorer:
    """Load, check and normalize a cycle and its leveling framework (errors: calib.errors)."""
    from calib.delivery.sources import load_cycle
    from calib.frame import normalize
    from calib.inputs.config import load_config

    config = load_config(config_path)
    return Explorer(normalize(load_cycle(config)), load_leveling(config))


def manager_options(normalized: Normalized) -> list[tuple[str, str]]:
    """(label, employee_id) of everyone with direct reports, by employee_id, for a dropdown."""
    people = normalized.data["people"]
    counts = people["manager_id"].value_counts()
    managers = people[people["employee_id"].isin(counts.index)].sort_values("employee_id")
    return [
        (f"{r.name} ({r.employee_id}, {r.team}, {counts[r.employee_id]} reports)", r.employee_id)
        for r in managers.itertuples()
    ]


def team_table(normalized: Normalized, manager_id: str, cycle: str | None = None) -> pd.DataFrame:
    """The manager's direct reports: employee_id, name, level, team, final rating of the cycle; by id."""
    ids = direct_reports(normalized, manager_id)
    window = resolve_cycle(normalized.data.config, cycle)
    people = normalized.data["people"].set_index("employee_id").loc[ids]
    frame = normalized.frame
    rated = frame[frame["cycle"] == window.id].drop_duplicates("employee_id").set_index("employee_id")
    return pd.DataFrame(
        {
            "employee_id": ids,
            "name": people["name"].to_numpy(),
            "level": people["level"].to_numpy(),
            "team": people["team"].to_numpy(),
            f"rating {window.id}": rated["final_rating"].astype("object").reindex(ids).fillna("no review").to_numpy(),
        }
    )


def cycle_items(normalized: Normalized, employee_id: str, cycle: str | None = None) -> pd.DataFrame:
    """One person's evidence dated in the cycle up to its as-of date (calib.outputs.alignment.model.as_of_date), by date."""
    data = normalized.data
    window = resolve_cycle(data.config, cycle)
    columns = ["date", "category", "criterion", "kind", "title", "url"]
    if not data.has("evidence"):
        return pd.DataFrame(columns=columns)
    evidence = data["evidence"]
    as_of = as_of_date(evidence, window, dt.date.today())
    keep = (
        (evidence["employee_id"] == employee_id)
        & (evidence["date"] >= pd.Timestamp(window.start))
        & (evidence["date"] <= pd.Timestamp(as_of))
    )
    present = [c for c in columns if c in evidence.columns]
    return evidence.loc[keep, present].sort_values(["date", "title"], kind="stable").reset_index(drop=True)


def criteria_coverage(items: pd.DataFrame, criteria: list[str]) -> pd.DataFrame:
    """Examples per criterion (tags matched ignoring case and outer spaces); light ones marked.

    Returns criterion, examples and mark ("light: add examples" under LIGHT_MIN_EXAMPLES), in the
    order of `criteria`, plus a last row for untagged items when there are any.
    """
    tags = items["criterion"] if "criterion" in items.columns else pd.Series(None, index=items.index, dtype="object")
    key = tags.map(lambda v: " ".join(str(v).split()).casefold(), na_action="ignore")
    rows = []
    for criterion in criteria:
        count = int((key == " ".join(criterion.split()).casefold()).sum())
        rows.append((criterion, count, "" if count >= LIGHT_MIN_EXAMPLES else LIGHT_MARK))
    untagged = int((~key.isin([" ".join(c.split()).casefold() for c in criteria])).sum())
    if untagged:
        rows.append(("(not tagged with a criterion)", untagged, ""))
    return pd.DataFrame(rows, columns=["criterion", "examples", "mark"]).astype({"examples": "int64"})


def expectations_table(normalized: Normalized, employee_id: str, cycle: str | None = None) -> pd.DataFrame | None:
    """expectation, key_steps, status for the person and cycle; None when there is no expectations input."""
    data = normalized.data
    if not data.has("expectations"):
        return None
    window = resolve_cycle(data.config, cycle)
    table = data["expectations"]
    rows = table[(table["cycle"] == window.id) & (table["employee_id"] == employee_id)]
    columns = [c for c in ("expectation", "key_steps", "status") if c in rows.columns]
    return rows[columns].reset_index(drop=True)


def peer_counts(normalized: Normalized, employee_id: str, cycle: str | None = None) -> pd.DataFrame:
    """How many pieces of peer feedback the person received in the cycle, per relationship (counts only)."""
    data = normalized.data
    if not data.has("peer_feedback"):
        return pd.DataFrame({"relationship": [], "feedback": []})
    window = resolve_cycle(data.config, cycle)
    table = data["peer_feedback"]
    known = sorted(table["relationship"].dropna().unique())
    rows = table[(table["cycle"] == window.id) & (table["reviewee_id"] == employee_id)]
    counts = rows["relationship"].value_counts().reindex(known, fill_value=0)
    return pd.DataFrame({"relationship": known, "feedback": counts.to_numpy(dtype="int64")})


def rating_history(normalized: Normalized, employee_id: str) -> pd.DataFrame:
    """Per configured cycle with a review: rating, calibrated rating and each criterion's score."""
    data = normalized.data
    reviews = data["reviews"]
    mine = reviews[reviews["employee_id"] == employee_id].drop_duplicates("cycle").set_index("cycle")
    cycles = [c.id for c in data.config.cycles if c.id in mine.index]
    table = pd.DataFrame({"cycle": cycles})
    table["rating"] = mine["rating"].reindex(cycles).astype("object").to_numpy()
    if "calibrated_rating" in mine.columns:
        table["calibrated_rating"] = mine["calibrated_rating"].reindex(cycles).astype("object").to_numpy()
    if data.has("criteria_scores"):
        scores = data["criteria_scores"]
        scores = scores[scores["employee_id"] == employee_id]
        order = list(dict.fromkeys(data["criteria_scores"]["criterion"].dropna()))
        wide = scores.pivot_table(index="cycle", columns="criterion", values="score", aggfunc="mean")
        for criterion in [c for c in order if c in wide.columns]:
            table[criterion] = wide[criterion].reindex(cycles).to_numpy()
    return table


def team_trend(normalized: Normalized, team: str) -> pd.DataFrame:
    """The team's delivery (DORA levels) and SLO attainment per cycle: the team's results, not a score."""
    cycles = [c.id for c in normalized.data.config.cycles]
    dora = normalized.team_dora
    dora = dora[dora["team"] == team].set_index("period") if len(dora) else pd.DataFrame()
    slos = normalized.team_slos
    slos = slos[slos["team"] == team].set_index("period") if len(slos) else pd.DataFrame()
    table = pd.DataFrame({"cycle": cycles})
    columns = {
        "delivery_level": "delivery",
        "deployment_frequency_level": "deployment frequency",
        "lead_time_level": "lead time",
        "change_failure_rate_level": "change failure rate",
        "time_to_restore_level": "time to restore",
    }
    for source, name in columns.items():
        values = dora[source].reindex(cycles) if source in dora.columns else pd.Series(None, index=cycles)
        table[name] = values.astype("object").fillna("no data").to_numpy()
    for source, name in (("slo_met_share", "SLO windows met"), ("slo_attainment", "SLO attainment")):
        values = slos[source].reindex(cycles) if source in slos.columns else pd.Series(float("nan"), index=cycles)
        table[name] = values.astype("float64").to_numpy()
    return table


def person_view(explorer: Explorer, employee_id: str, cycle: str | None = None) -> PersonView:
    """Every table and chart of one person's explorer page for `cycle` (default: the config's)."""
    normalized = explorer.normalized
    data = normalized.data
    window = resolve_cycle(data.config, cycle)
    people = data["people"].set_index("employee_id")
    if employee_id not in people.index:
        raise UsageError(f"no person with employee_id {employee_id!r} in {data.config.inputs['people'].path}")
    person = people.loc[employee_id]
    items = cycle_items(normalized, employee_id, window.id)
    as_of = as_of_date(data["evidence"] if data.has("evidence") else None, window, dt.date.today())
    criteria = [c.name for c in criteria_of(explorer.leveling, data)]
    context = person_context(data, employee_id, window.id)
    return PersonView(
        employee_id=employee_id,
        title=f"{person['name']} ({employee_id}), {person['level']}, {person['team']}",
        as_of=as_of,
        mid_cycle=as_of < window.end,
        evidence=items,
        timeline=evidence_timeline_chart(items, start=window.start, end=window.end),
        coverage=criteria_coverage(items, criteria),
        expectations=expectations_table(normalized, employee_id, window.id),
        peers=peer_counts(normalized, employee_id, window.id),
        history=rating_history(normalized, employee_id),
        context=None if context is None else pd.DataFrame(context, columns=["metric", "value (context, not a score)"]),
    )


# -- widgets -----------------------------------------------------------------------------------


def show_person(view: PersonView, *, widget_charts: bool = False) -> None:
    """Display one person's page (headings, tables, the timeline) in the current output."""
    from IPython.display import Markdown, display

    state = f"mid-cycle, as of {view.as_of}" if view.mid_cycle else f"to {view.as_of}"
    display(Markdown(f"### {md_escape(view.title)}\nEvidence {state}: {len(view.evidence)} items."))
    display(alt.JupyterChart(view.timeline) if widget_charts else view.timeline)
    display(Markdown("#### Coverage per criterion"), view.coverage)
    if view.expectations is not None:
        display(Markdown("#### Expectations for the cycle"), view.expectations)
    display(Markdown("#### Peer feedback received, by relationship (counts)"), view.peers)
    display(Markdown("#### Rating and criteria history"), view.history)
    if view.context is not None:
        display(Markdown("#### Person context: context, not a score"), view.context)


def explorer_app(
    explorer: Explorer,
    manager_id: str,
    *,
    cycle: str | None = None,
    employee_id: str | None = None,
    widget_charts: bool = False,
):
    """A team picker, a person picker and the person's page; callbacks call `person_view`.

    Parameters
    ----------
    explorer
        From `load`.
    manager_id
        The team shown first (a UsageError names an id with no direct reports).
    cycle
        The cycle (default: the config's).
    employee_id
        The person shown first (default: the first of the team by employee_id).
    widget_charts
        Show charts as `alt.JupyterChart` widgets (Voila, after `alt.JupyterChart.enable_offline()`).
    """
    import ipywidgets as widgets

    normalized = explorer.normalized
    names = normalized.data["people"].set_index("employee_id")["name"]

    def people_of(manager: str) -> list[tuple[str, str]]:
        return [(f"{names[i]} ({i})", i) for i in direct_reports(normalized, manager)]

    members = people_of(manager_id)  # a UsageError names an unknown manager before any widget exists
    team = widgets.Dropdown(options=manager_options(normalized), value=manager_id, description="Team of")
    person = widgets.Dropdown(options=members, value=None, description="Person")
    page = widgets.Output()

    def render(*_: object) -> None:
        page.clear_output(wait=True)
        with page:
            if person.value:
                show_person(person_view(explorer, person.value, cycle), widget_charts=widget_charts)

    def switch_team(change: dict) -> None:
        person.options = people_of(change["new"])
        person.value = person.options[0][1]

    if employee_id and employee_id not in {value for _, value in members}:
        raise UsageError(f"{employee_id} is not a direct report of {manager_id}")
    person.value = employee_id or members[0][1]
    person.observe(render, names="value")
    team.observe(switch_team, names="value")
    render()
    return widgets.VBox([widgets.HBox([team, person]), page])
