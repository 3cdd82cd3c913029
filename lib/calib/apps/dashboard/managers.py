"""The Managers tab: who rates leniently or severely, with intervals, and one manager's people.

Manager effects are read from the analysis (against the average manager for people of the same
level, discipline and peer standing); the filters choose who is shown, every flagged one first when
there are too many. With a manager chosen: their findings, their people (alphabetical, never
ranked) and their ratings against everyone else in view.
"""

from __future__ import annotations

from collections.abc import Mapping

import altair as alt
import pandas as pd

from calib.apps.dashboard.filters import ALL, Filters, isin
from calib.apps.dashboard.html import Safe, esc, evidence_counts, findings_html, html_table
from calib.apps.dashboard.layout import WIDE, View, bolder, limit_rows, paginate, stack
from calib.apps.dashboard.sources import Sources
from calib.apps.dashboard.summaries import analysed_note, stage_distribution
from calib.outputs import charts


def managers(sources: Sources, filters: Filters) -> View:
    """Manager effects with intervals; the selected manager's findings, people and distribution first."""
    labels = sources.labels(filters.blind)
    pool = sources.rows(filters, ignore=("manager",))
    effects = sources.results.table("manager_effects")
    if pool.empty or effects.empty:
        return View('<p class="calib-note">No managers match these filters.</p>')
    rows = effects[isin(effects["manager_id"], set(pool["reviewer_id"].dropna().astype(str).unique()))]
    rows, note = limit_rows(rows, key="manager_id", flag="flagged", size="raw_effect", keep=filters.manager)
    shown = dict(labels)
    intro, parts = "", []
    if filters.manager != ALL:
        shown[filters.manager] = "▶ " + labels.get(filters.manager, filters.manager)
        intro, parts = _manager_detail(sources, filters, pool, labels)
    else:
        intro = '<p class="calib-note">Choose a manager in the Manager filter to see their people and distribution.</p>'
    if not rows.empty:
        # Only what the chart draws, ids already swapped for labels: the spec reaches the browser whole.
        drawn = rows[["manager_id", "n", "raw_effect", "lower", "upper", "shrunken_effect", "flagged", "small"]]
        drawn = drawn.assign(manager_id=drawn["manager_id"].astype(str).map(lambda i: shown.get(i, i)))
        parts.append(
            paginate(
                bolder(
                    charts.caterpillar_chart(
                        drawn, title="Who rates leniently or severely? Intervals crossing 0: no clear effect"
                    )
                ).properties(width=WIDE - 250, height=alt.Step(28)),
                name="managers",
                start="▶ ",
            )
        )
    body = (
        "<p>Each manager's ratings against the average manager's for people of the same level, discipline and "
        "peer standing, estimated on all their ratings (the filters choose who is shown). Filled: estimate; "
        "hollow: shrunken estimate; orange: flagged after the multiplicity correction.</p>"
    ) + (f'<p class="calib-note">{esc(note)}</p>' if note else "")
    return View(
        body, stack(*parts) if parts else None, intro=analysed_note(sources, filters, "Manager effects") + intro
    )


def _manager_detail(
    sources: Sources, filters: Filters, pool: pd.DataFrame, labels: Mapping[str, str]
) -> tuple[str, list[alt.TopLevelMixin]]:
    """The selected manager's findings and people (HTML) and their ratings against everyone else (chart)."""
    mine = pool[pool["reviewer_id"].astype(str) == filters.manager]
    rest = pool[pool["reviewer_id"].astype(str) != filters.manager]
    who = labels.get(filters.manager, filters.manager)
    findings = sources.results.findings
    if not findings.empty:
        findings = findings[findings["subject"].astype(str) == filters.manager]
    html = (
        f"<h2>{esc(who)}</h2><h3>Findings</h3>"
        f"{findings_html(findings, sources.redaction(filters.blind), filters.blind)}"
        f"<h3>{esc(who)}'s people in view ({len(mine)})</h3>{people_table(mine, labels)}"
    )
    dist = pd.concat(
        [stage_distribution(mine, sources, group=who), stage_distribution(rest, sources, group="everyone else")],
        ignore_index=True,
    )
    if dist.empty:
        return html, []
    chart = charts.distribution_chart(
        dist,
        dimension="_stage",
        stage="all",
        labels=sources.config.rating_labels,
        guideline=sources.config.guideline_curve,
        title=f"{who}'s ratings against everyone else in view",
    ).properties(width=WIDE, height=alt.Step(40))
    return html, [chart]


def people_table(rows: pd.DataFrame, labels: Mapping[str, str]) -> Safe:
    """People alphabetically by label (never ranked): level, discipline, team, ratings, evidence counts."""
    ordered = rows.assign(_label=rows["employee_id"].astype(str).map(lambda i: labels.get(i, i))).sort_values("_label")
    body = [
        [
            r["_label"],
            r.get("level"),
            r.get("discipline"),
            r.get("team"),
            r.get("rating"),
            r.get("final_rating"),
            evidence_counts(r, ""),
        ]
        for r in ordered.to_dict("records")
    ]
    headers = ["person", "level", "discipline", "team", "submitted", "calibrated", "evidence D / R / I"]
    return html_table(headers, body)
