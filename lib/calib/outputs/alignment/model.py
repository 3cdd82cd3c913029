"""Performance alignment documents: one per person, kept through the cycle, copied into the review.

Managers pair with each report monthly on finding examples for each performance criterion; the
document built here is that shared record, so the formal review is written from it and not from
memory. `build_documents` makes a plain model (`AlignmentDoc`) from the loaded cycle, and
`render_markdown` / `render_html` turn it into text. Sections, in order: header, reference links,
previous-cycle summary, finding your work, one section per criterion (general and current-level
description, examples by project, room for improvement, growth toward the next level, overview),
expectations (when the input exists), team context, person context (when telemetry exists and
the metric policy allows it), review summary.

Rules a reader may want to check:
- **As of.** The evidence log is the clock: `as_of` is the latest evidence date of anyone in the
  org, capped at the cycle's end, when that date falls in or after the cycle's start; when the log
  has nothing from this cycle yet, `as_of` is today clipped into the cycle. A cycle whose end is
  after `as_of` is shown mid-cycle, "as of" that date, with the examples that exist so far.
- **Project of an example.** The evidence `project` column when filled; else from the link: a code
  host path `owner/repo/pull|merge_requests|issues|commit|blob|tree/...` gives `owner/repo`, a
  tracker path `.../browse/KEY-123` gives `KEY`, any other link its first path segment; else a
  title prefix in brackets, "[Checkout] Fix retries" -> "Checkout"; else "No project".
- **Finding your work.** `work_queries` templates may use {handle}, {employee_id}, {name},
  {start}, {end} and {cycle} (the cycle's dates as YYYY-MM-DD); values are URL-encoded. Any other
  field is a config error naming the template's key.
- **Safety.** Every string from the inputs is escaped: by jinja2's autoescape in HTML, by an
  escaping `finalize` in Markdown. Only http(s) addresses become links. The HTML is one file with
  inline CSS, no scripts and no external resources (a Content-Security-Policy says so too).
- **Telemetry** is shown only for metrics the policy classes as per-person context, labelled
  "context, not a score", in metric-name order; team metrics appear only as the team's context.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from calib.errors import UsageError
from calib.frame import Normalized
from calib.inputs.config import CycleConfig, CycleWindow
from calib.inputs.leveling import (
    Criterion,
    Leveling,
    Link,
    check_work_queries,
    filled,
    reference_links,
    safe_url,
    work_links,
)

HOST_PATHS = {"pull", "pulls", "merge_requests", "-", "issues", "commit", "commits", "blob", "tree"}
DORA_METRICS = (  # (label, level column, value column, format, n column)
    (
        "Deployment frequency",
        "deployment_frequency_level",
        "deploy_days_per_week",
        "{:g} deploy days/week",
        "deployments",
    ),
    ("Lead time for changes", "lead_time_level", "lead_time_hours", "median {:.1f} h", "lead_time_n"),
    ("Change failure rate", "change_failure_rate_level", "change_failure_rate", "{:.1%}", "change_failure_rate_n"),
    ("Time to restore", "time_to_restore_level", "time_to_restore_hours", "median {:.1f} h", "time_to_restore_n"),
)
NO_PROJECT = "No project"


# -- the leveling framework --------------------------------------------------------------------


def project_of(url: object, title: object) -> str:
    """The project an example belongs to, from its link or its title (see the module docstring)."""
    link = safe_url(url)
    if link:
        parts = urlsplit(link)
        segments = [s for s in parts.path.split("/") if s]
        for i, segment in enumerate(segments):
            if segment == "browse" and i + 1 < len(segments) and "-" in segments[i + 1]:
                return segments[i + 1].rsplit("-", 1)[0]
            if segment in HOST_PATHS and i >= 2:
                return "/".join(segments[i - 2 : i])
        if segments:
            return segments[0]
    match = re.match(r"\s*\[([^\]]{1,60})\]", title) if isinstance(title, str) else None
    return match.group(1).strip() if match else NO_PROJECT


# -- the document model ------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """One evidence item shown as an example."""

    date: dt.date
    title: str
    url: str | None
    category: str
    kind: str
    criterion: str


@dataclass(frozen=True)
class CriterionSection:
    """One criterion of one person's document."""

    name: str
    general: str
    level: str
    current: str
    next_level: str | None  # None at the top of the ladder
    growth: str
    projects: tuple[tuple[str, tuple[Example, ...]], ...]
    previous_score: float | None
    examples: int


@dataclass(frozen=True)
class PreviousCycle:
    """The summary of the cycle before this one (`reviewed` False: no review of this person in it)."""

    cycle: str
    reviewed: bool
    rating: str | None
    calibrated_rating: str | None
    scores: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Expectation:
    """One expectation for the cycle, with its key steps and status."""

    text: str
    steps: tuple[str, ...]
    status: str


@dataclass(frozen=True)
class AlignmentDoc:
    """Everything one person's alignment document shows, in the order it shows it."""

    employee_id: str
    name: str
    role: str
    level: str
    manager: str
    team: str
    cycle: str
    start: dt.date
    end: dt.date
    generated: dt.date
    as_of: dt.date
    mid_cycle: bool
    framework: str | None
    references: tuple[Link, ...]
    previous: PreviousCycle | None  # None: no cycle before this one in the config
    work: tuple[Link, ...]
    criteria: tuple[CriterionSection, ...]
    untagged: tuple[Example, ...]
    expectations: tuple[Expectation, ...] | None  # None: no expectations input
    team_context: tuple[str, ...]
    person_context: tuple[tuple[str, float], ...] | None  # None: no telemetry input


def resolve_cycle(config: CycleConfig, cycle: str | None) -> CycleWindow:
    """The window of `cycle` (None: the config's cycle); a UsageError names the known ones."""
    wanted = cycle or config.cycle
    for window in config.cycles:
        if window.id == wanted:
            return window
    raise UsageError(f"no cycle {wanted!r} in the config; known cycles: {', '.join(c.id for c in config.cycles)}")


def as_of_date(evidence: pd.DataFrame | None, window: CycleWindow, today: dt.date) -> dt.date:
    """The date the document stands at (see the module docstring): the log's latest date, or today."""
    if evidence is not None and len(evidence) and evidence["date"].notna().any():
        latest = pd.Timestamp(evidence["date"].max()).date()
        if latest >= window.start:
            return min(latest, window.end)
    return min(max(today, window.start), window.end)


def direct_reports(normalized: Normalized, manager_id: str) -> list[str]:
    """The employee ids reporting to `manager_id`, sorted; UsageError naming the id when none."""
    people = normalized.data["people"]
    if not (people["employee_id"] == manager_id).any():
        raise _unknown_person(normalized, manager_id)
    ids = sorted(people.loc[people["manager_id"] == manager_id, "employee_id"])
    if not ids:
        raise UsageError(f"{manager_id} has no direct reports in {_people_file(normalized)}: give a manager's id")
    return ids


def build_documents(
    normalized: Normalized,
    employee_ids: list[str],
    *,
    cycle: str | None = None,
    leveling: Leveling | None = None,
    today: dt.date | None = None,
    as_of: dt.date | None = None,
) -> list[AlignmentDoc]:
    """One document per person, for `cycle` (default: the config's), as it stands at `as_of`.

    Parameters
    ----------
    normalized
        The normalized cycle (its inputs and the team context).
    employee_ids
        Whose documents; each must be in people (UsageError naming the first that is not).
    cycle
        The cycle id; its previous cycle is the one listed before it in the config.
    leveling
        The leveling framework (`load_leveling`); None shows the criteria without descriptions.
    today
        The generated date (default: today).
    as_of
        Overrides the date the document stands at (default: `as_of_date`).
    """
    data, config = normalized.data, normalized.data.config
    window = resolve_cycle(config, cycle)
    today = today or dt.date.today()
    evidence = data["evidence"] if data.has("evidence") else None
    as_of = as_of or as_of_date(evidence, window, today)
    people = data["people"].set_index("employee_id", drop=False)
    for employee_id in employee_ids:
        if employee_id not in people.index:
            raise _unknown_person(normalized, employee_id)
    items = _items(evidence, employee_ids, window.start, as_of)
    previous = _previous_window(config, window)
    criteria = criteria_of(leveling, data)
    shared = {"references": tuple(reference_links(config)), "team_lines": {}}
    check_work_queries(config)
    context = (window, previous, criteria, items, shared, today, as_of, leveling)
    return [_document(normalized, people.loc[i].to_dict(), *context) for i in employee_ids]


def _items(evidence: pd.DataFrame | None, ids: list[str], start: dt.date, as_of: dt.date) -> pd.DataFrame:
    columns = ["employee_id", "date", "category", "criterion", "kind", "title", "url", "project"]
    if evidence is None:
        return pd.DataFrame(columns=columns)
    dates = evidence["date"]
    keep = evidence["employee_id"].isin(ids) & (dates >= pd.Timestamp(start)) & (dates <= pd.Timestamp(as_of))
    items = evidence.loc[keep].copy()
    for column in ("criterion", "project"):
        if column not in items.columns:
            items[column] = None
    given = items["project"].where(items["project"].map(filled), None)
    derived = [project_of(u, t) for u, t in zip(items["url"], items["title"], strict=True)]
    items["project"] = given.where(given.notna(), pd.Series(derived, index=items.index, dtype="object"))
    return items.sort_values(["employee_id", "date", "title"], kind="stable")[columns]


def _previous_window(config: CycleConfig, window: CycleWindow) -> CycleWindow | None:
    ids = [c.id for c in config.cycles]
    position = ids.index(window.id)
    return config.cycles[position - 1] if position > 0 else None


def criteria_of(leveling: Leveling | None, data: Any) -> list[Criterion]:
    """The framework's criteria; without one, those scored (in order), then other evidence tags by name.

    Tags are matched ignoring case and spacing, as in calib.analyses.evidence.criteria_counts.
    """
    if leveling is not None:
        return list(leveling.criteria)
    names: dict[str, str] = {}
    if data.has("criteria_scores"):
        names.update((_key(c), str(c)) for c in data["criteria_scores"]["criterion"].dropna())
    if data.has("evidence") and "criterion" in data["evidence"].columns:
        tags = {_key(c): " ".join(str(c).split()) for c in data["evidence"]["criterion"].dropna() if filled(c)}
        names.update((k, tags[k]) for k in sorted(tags) if k not in names)
    return [Criterion(n, "", {}) for n in names.values()]


def _key(value: object) -> str:
    return " ".join(str(value).split()).casefold()


def _document(
    normalized: Normalized,
    person: dict[str, Any],
    window: CycleWindow,
    previous: CycleWindow | None,
    criteria: list[Criterion],
    items: pd.DataFrame,
    shared: dict[str, Any],
    today: dt.date,
    as_of: dt.date,
    leveling: Leveling | None,
) -> AlignmentDoc:
    data, config = normalized.data, normalized.data.config
    employee_id, level = person["employee_id"], str(person["level"])
    mine = items[items["employee_id"] == employee_id]
    summary = _previous_summary(data, employee_id, previous) if previous else None
    prior_scores = {_key(c): v for c, v in summary.scores} if summary else {}
    tags = mine["criterion"].map(lambda c: _key(c) if filled(c) else None)
    sections = []
    for criterion in criteria:
        examples = mine[tags == _key(criterion.name)]
        sections.append(_section(criterion, level, config.levels, examples, prior_scores.get(_key(criterion.name))))
    known = {_key(c.name) for c in criteria}
    untagged = mine[~tags.isin(known)]
    team = str(person["team"])
    if team not in shared["team_lines"]:
        shared["team_lines"][team] = tuple(_team_context(normalized, team, window.id))
    return AlignmentDoc(
        employee_id=employee_id,
        name=str(person["name"]),
        role=", ".join(str(person[c]) for c in ("discipline", "track") if filled(person.get(c))),
        level=level,
        manager=_manager(data["people"], person.get("manager_id")),
        team=team,
        cycle=window.id,
        start=window.start,
        end=window.end,
        generated=today,
        as_of=as_of,
        mid_cycle=as_of < window.end,
        framework=leveling.name if leveling else None,
        references=shared["references"],
        previous=summary,
        work=tuple(work_links(config, person, window)),
        criteria=tuple(sections),
        untagged=tuple(_examples(untagged)),
        expectations=_expectations(data, employee_id, window.id),
        team_context=shared["team_lines"][team],
        person_context=person_context(data, employee_id, window.id),
    )


def _section(
    criterion: Criterion, level: str, levels: list[str], examples: pd.DataFrame, previous_score: float | None
) -> CriterionSection:
    position = levels.index(level) if level in levels else None
    next_level = levels[position + 1] if position is not None and position + 1 < len(levels) else None
    current = criterion.levels.get(level, "")
    if next_level is None:
        growth = (
            f"{level} is the top of the ladder: growth here is wider scope and deeper impact at this level, "
            "not a next level."
            if position is not None
            else f"{level} is not on the config's ladder ({', '.join(levels)})."
        )
    else:
        growth = criterion.levels.get(next_level) or f"No {next_level} description in the leveling framework."
    projects: dict[str, list[Example]] = {}
    for example, project in zip(_examples(examples), examples["project"], strict=True):
        projects.setdefault(str(project), []).append(example)
    ordered = sorted(projects.items(), key=lambda kv: (kv[0] == NO_PROJECT, -len(kv[1]), kv[0].casefold()))
    return CriterionSection(
        name=criterion.name,
        general=criterion.description,
        level=level,
        current=current,
        next_level=next_level,
        growth=growth,
        projects=tuple((p, tuple(e)) for p, e in ordered),
        previous_score=previous_score,
        examples=len(examples),
    )


def _examples(rows: pd.DataFrame) -> list[Example]:
    return [
        Example(
            date=pd.Timestamp(r.date).date(),
            title=str(r.title),
            url=safe_url(r.url),
            category=str(r.category),
            kind=str(r.kind).replace("_", " "),
            criterion=str(r.criterion) if filled(r.criterion) else "",
        )
        for r in rows.itertuples()
    ]


def _previous_summary(data: Any, employee_id: str, window: CycleWindow) -> PreviousCycle:
    reviews = data["reviews"]
    row = reviews[(reviews["cycle"] == window.id) & (reviews["employee_id"] == employee_id)]
    scores: tuple[tuple[str, float], ...] = ()
    if data.has("criteria_scores"):
        table = data["criteria_scores"]
        mine = table[(table["cycle"] == window.id) & (table["employee_id"] == employee_id)]
        means = mine.groupby("criterion", sort=False)["score"].mean()
        scores = tuple((str(c), float(s)) for c, s in means.items())
    if row.empty:
        return PreviousCycle(window.id, False, None, None, scores)
    first = row.iloc[0]
    calibrated = first.get("calibrated_rating")
    return PreviousCycle(window.id, True, str(first["rating"]), str(calibrated) if filled(calibrated) else None, scores)


def _expectations(data: Any, employee_id: str, cycle: str) -> tuple[Expectation, ...] | None:
    if not data.has("expectations"):
        return None
    table = data["expectations"]
    rows = table[(table["cycle"] == cycle) & (table["employee_id"] == employee_id)]
    out = []
    for r in rows.itertuples():
        steps = getattr(r, "key_steps", None)
        parts = [s.strip() for s in re.split(r"[;\n]", steps) if s.strip()] if filled(steps) else []
        status = getattr(r, "status", None)
        out.append(Expectation(str(r.expectation), tuple(parts), str(status) if filled(status) else "no status"))
    return tuple(out)


def person_context(data: Any, employee_id: str, cycle: str) -> tuple[tuple[str, float], ...] | None:
    """Per-person telemetry the metric policy allows as context, by metric name; None without telemetry.

    Only metrics of the policy's contextual class are kept: forbidden ones never appear, and team
    metrics (DORA, SLOs) describe a team, so they appear only in the team context. Metric-name
    order, never value order: this is context beside the evidence, not a ranking.
    """
    if not data.has("telemetry"):
        return None
    policy = data.config.metric_policy
    table = data["telemetry"]
    rows = table[(table["cycle"] == cycle) & (table["employee_id"] == employee_id) & table["value"].notna()]
    allowed = set(policy.allowed(sorted(set(rows["metric"])), "person_context"))
    shown = {m for m in allowed if policy.kind(m) == "contextual"}
    values = rows[rows["metric"].isin(shown)].groupby("metric")["value"].last()
    return tuple((str(m), float(v)) for m, v in sorted(values.items()))


def _team_context(normalized: Normalized, team: str, cycle: str) -> list[str]:
    lines = []
    dora = normalized.team_dora
    row = dora[(dora["team"] == team) & (dora["period"] == cycle)] if len(dora) else dora
    benchmark = normalized.data.config.dora.benchmark
    if len(row):
        r = row.iloc[0]
        lines.append(f"Delivery ({benchmark}): overall {_text(r.get('delivery_level'))}")
        for label, level, value, fmt, n in DORA_METRICS:
            shown = fmt.format(r[value]) if pd.notna(r.get(value)) else "no data"
            flag = r.get(level.replace("_level", "_small_sample"))
            small = " (small sample)" if pd.notna(flag) and bool(flag) else ""
            count = f", n={int(r[n])}" if pd.notna(r.get(n)) else ""
            lines.append(f"{label}: {_text(r.get(level))} ({shown}{count}){small}")
    else:
        lines.append("Delivery: no deployments or team metrics for this team in this cycle.")
    slos = normalized.team_slos
    row = slos[(slos["team"] == team) & (slos["period"] == cycle)] if len(slos) else slos
    if len(row) and pd.notna(row.iloc[0]["slo_met_share"]):
        r = row.iloc[0]
        met = round(r["slo_met_share"] * r["slo_windows"])
        lines.append(
            f"SLOs: {met} of {int(r['slo_windows'])} SLO windows met ({r['slo_met_share']:.0%}); "
            f"attainment {r['slo_attainment']:.3%}; median error budget consumed {r['slo_budget_consumed']:.0%}"
        )
    else:
        lines.append("SLOs: no SLO data for this team in this cycle.")
    return lines


def _text(value: object) -> str:
    return str(value) if isinstance(value, str) and value else "not graded"


def _manager(people: pd.DataFrame, manager_id: object) -> str:
    if not filled(manager_id):
        return "none"
    row = people[people["employee_id"] == manager_id]
    return f"{row['name'].iloc[0]} ({manager_id})" if len(row) else str(manager_id)


def _people_file(normalized: Normalized) -> str:
    return str(normalized.data.config.inputs["people"].path)


def _unknown_person(normalized: Normalized, employee_id: str) -> UsageError:
    return UsageError(f"no person with employee_id {employee_id!r} in {_people_file(normalized)}")
