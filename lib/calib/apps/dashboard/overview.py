"""The Overview tab: how ratings are spread in view, against the guideline, and the headline findings.

Cards give the people in view and the top and bottom shares (suppressed for a small group) and count
the alerts and warnings listed below them (every one reachable); the chart shows ratings before and
after calibration against the guideline curve. Findings are those about the managers, teams and
people in view, and org-wide ones.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from calib.apps.dashboard.filters import ALL, FILTER_COLUMNS, Filters
from calib.apps.dashboard.html import esc, findings_html, pct
from calib.apps.dashboard.layout import WIDE, View, projector
from calib.apps.dashboard.sources import Sources
from calib.apps.dashboard.summaries import analysed_note, stage_distribution
from calib.outputs import charts


def findings_in_view(sources: Sources, rows: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """Findings about the managers, teams and people in view, and org-wide findings."""
    findings = sources.results.findings
    if findings.empty or all(getattr(filters, name) == ALL for name in FILTER_COLUMNS):
        return findings
    in_view: set[str] = set()
    for column in ("employee_id", "reviewer_id", "team"):
        if column in rows.columns:
            in_view |= set(rows[column].dropna().astype(str).unique())
    known = sources.known_subjects()
    keep = [s in in_view or s not in known for s in findings["subject"].astype(str)]
    return findings[keep]


def overview(sources: Sources, filters: Filters) -> View:
    """How ratings are spread in view, against the guideline, and the headline findings."""
    config = sources.config
    rows = sources.rows(filters)
    if rows.empty:
        return View('<p class="calib-note">No one matches these filters.</p>')
    top, bottom = config.rating_labels[-2:], config.rating_labels[:1]
    final = rows["final_rating"].astype(str)
    findings = findings_in_view(sources, rows, filters)
    severe = findings[findings["severity"].isin(["alert", "warning"])] if not findings.empty else findings
    small = len(rows) < config.min_group_size
    cards = [
        ("people in view", f"{len(rows):,}"),
        (f"top ({' / '.join(top)})", "suppressed" if small else pct(final.isin(top).mean())),
        (f"bottom ({' / '.join(bottom)})", "suppressed" if small else pct(final.isin(bottom).mean())),
        ("alerts (listed below)", f"{int((severe['severity'] == 'alert').sum()) if len(severe) else 0}"),
        ("warnings (listed below)", f"{int((severe['severity'] == 'warning').sum()) if len(severe) else 0}"),
    ]
    card_html = "".join(f'<div class="calib-card"><b>{esc(v)}</b>{esc(k)}</div>' for k, v in cards)
    note = analysed_note(sources, filters, "Findings")
    info = int((findings["severity"] == "info").sum()) if len(findings) else 0
    recorded = (
        f'<p class="calib-note">{info} more findings are recorded as info (could be chance): in the report and '
        "findings.json.</p>"
        if info
        else ""
    )
    body = (
        f"<h3>Headline findings: alerts and warnings</h3>{note}"
        f"{findings_html(severe, sources.redaction(filters.blind), filters.blind)}{recorded}"
    )
    mix = charts.distribution_chart(
        stage_distribution(rows, sources),
        dimension="_stage",
        stage="all",
        labels=config.rating_labels,
        guideline=config.guideline_curve,
        title="Ratings in view, before and after calibration"
        + (", against the guideline" if config.guideline_curve else ""),
    ).properties(width=WIDE, height=alt.Step(40))
    return View(body, projector(mix), intro=f'<div class="calib-cards">{card_html}</div>')
