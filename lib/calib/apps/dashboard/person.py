"""The Person tab: one person's evidence packet for the cycle in view.

Ratings submitted and after calibration, findings about them, evidence with dates and links (and
its timeline across the cycle), criteria scores, peer feedback (writers not shown), their team's
delivery and SLO context (never their own score) and per-person telemetry as context only: metrics
the policy allows, never ranked. In blind mode free text is scrubbed and no link names anyone.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from calib.apps.dashboard.filters import Filters
from calib.apps.dashboard.html import deploys, duration, esc, findings_html, html_table, link, pct
from calib.apps.dashboard.layout import WIDE, View, bolder, projector
from calib.apps.dashboard.sources import Sources
from calib.apps.dashboard.summaries import allowed_team_metrics
from calib.outputs import charts


def person(sources: Sources, filters: Filters, employee_id: str | None) -> View:
    """One person's evidence packet: evidence with dates and links, criteria, peers, team and telemetry context."""
    config = sources.config
    labels = sources.labels(filters.blind)
    rows = sources.rows(filters)
    if not employee_id or employee_id not in set(rows["employee_id"].astype(str)):
        return View('<p class="calib-note">Choose a person above (the list follows the filters).</p>')
    me = rows[rows["employee_id"].astype(str) == employee_id].iloc[0]
    who = labels.get(employee_id, employee_id)
    text = sources.scrub if filters.blind else str
    window = next(c for c in config.cycles if c.id == filters.cycle)
    manager = labels.get(str(me.get("reviewer_id")), str(me.get("reviewer_id")))
    team = str(me.get("team"))
    org = me.get("org")
    intro = (
        f"<h2>{esc(who)}</h2>"
        f"<p>{esc(me.get('level'))} · {esc(me.get('discipline'))} · team {esc(team)}"
        f"{' (' + esc(org) + ')' if isinstance(org, str) else ''} · rated by {esc(manager)}</p>"
        f"<p><b>{esc(filters.cycle)}</b>: submitted <b>{esc(me.get('rating'))}</b>, "
        f"after calibration <b>{esc(me.get('final_rating'))}</b></p>"
    )
    mine = sources.results.findings
    if not mine.empty:
        mine = mine[mine["subject"].astype(str) == employee_id]
        if len(mine):
            intro += "<h3>Findings</h3>" + findings_html(mine, sources.redaction(filters.blind), filters.blind)
    chart = None
    evidence = sources.table("evidence")
    body = "<h3>Evidence</h3>"
    if evidence is None:
        body += '<p class="calib-note">No evidence input in this cycle.</p>'
    else:
        items = evidence[
            (evidence["employee_id"].astype(str) == employee_id)
            & (evidence["date"] >= pd.Timestamp(window.start))
            & (evidence["date"] <= pd.Timestamp(window.end))
        ].sort_values("date")
        counts = items["category"].value_counts()
        intro += (
            "<p>Evidence this cycle: "
            + " · ".join(f"{c} {int(counts.get(c, 0))}" for c in ("delivery", "reliability", "influence"))
            + "</p>"
        )
        if len(items):
            table_rows = [
                [
                    pd.Timestamp(i["date"]).date().isoformat(),
                    i.get("category"),
                    i.get("kind"),
                    link(text(str(i.get("title"))), i.get("url"), blind=filters.blind, redact=text),
                    i.get("criterion") if pd.notna(i.get("criterion")) else "",
                ]
                for i in items.to_dict("records")
            ]
            body += html_table(["date", "category", "kind", "item", "criterion"], table_rows)
            timeline = items[["date", "category", "kind"]].assign(title=items["title"].astype(str).map(text))
            chart = projector(
                bolder(
                    charts.evidence_timeline_chart(
                        timeline,
                        start=window.start,
                        end=window.end,
                        title="Evidence across the cycle (grey: the last fifth)",
                    )
                ).properties(width=WIDE, height=170)
            )
    body += _criteria_html(sources, filters, employee_id)
    body += _peer_html(sources, filters, employee_id, text)
    body += _team_context_html(sources, filters, team)
    body += telemetry_html(sources, filters, employee_id)
    return View(body, chart, intro=intro)


def _criteria_html(sources: Sources, filters: Filters, employee_id: str) -> str:
    scores = sources.table("criteria_scores")
    if scores is None:
        return ""
    mine = scores[(scores["employee_id"].astype(str) == employee_id) & (scores["cycle"].astype(str) == filters.cycle)]
    if mine.empty:
        return '<h3>Criteria scores</h3><p class="calib-note">None recorded.</p>'
    rows = [[r["criterion"], f"{r['score']:g}"] for r in mine.sort_values("criterion").to_dict("records")]
    return "<h3>Criteria scores</h3>" + html_table(["criterion", "score"], rows)


def _peer_html(sources: Sources, filters: Filters, employee_id: str, text: Callable[[str], str]) -> str:
    peers = sources.table("peer_feedback")
    if peers is None:
        return ""
    mine = peers[(peers["reviewee_id"].astype(str) == employee_id) & (peers["cycle"].astype(str) == filters.cycle)]
    if mine.empty:
        return '<h3>Peer feedback</h3><p class="calib-note">None recorded.</p>'
    summary = mine.groupby("relationship", sort=True)["score"].agg(["size", "mean"]).reset_index()
    rows = [[r["relationship"], int(r["size"]), f"{r['mean']:.1f}"] for r in summary.to_dict("records")]
    comments = mine["comment"].dropna().astype(str)
    quoted = "".join(f"<li>{esc(text(c))}</li>" for c in comments.drop_duplicates().head(8))
    return (
        f"<h3>Peer feedback ({len(mine)}; scores {sources.config.score_range[0]:g}–"
        f"{sources.config.score_range[1]:g}; writers not shown)</h3>"
        + html_table(["relationship", "responses", "mean score"], rows)
        + (f"<ul>{quoted}</ul>" if quoted else "")
    )


def _team_context_html(sources: Sources, filters: Filters, team: str) -> str:
    context = sources.results.table("team_context")
    head = f"<h3>Team context: {esc(team)} (the team's results, never this person's score)</h3>"
    if context.empty:
        return head + '<p class="calib-note">No team context.</p>'
    mine = context[(context["team"].astype(str) == team) & (context["cycle"].astype(str) == filters.cycle)]
    if mine.empty:
        dora = sources.results.table("team_dora")
        mine = (
            dora[(dora["team"].astype(str) == team) & (dora["period"].astype(str) == filters.cycle)]
            if len(dora)
            else dora
        )
        if mine.empty:
            return head + '<p class="calib-note">No delivery or SLO data for this team and cycle.</p>'
    r = mine.iloc[0]
    policy = sources.config.metric_policy
    items = [("delivery level", r.get("delivery_level"))]
    shown = {
        "deploy_days_per_week": ("deploys", deploys),
        "lead_time_hours": ("median lead time", duration),
        "change_failure_rate": ("change failure rate", pct),
        "time_to_restore_hours": ("median time to restore", duration),
        "slo_met_share": ("SLO windows met", pct),
    }
    for column in allowed_team_metrics(policy):
        if column in r.index and pd.notna(r[column]):
            label, fmt = shown[column]
            items.append((label, fmt(float(r[column]))))
    if len(items) == 1 and not isinstance(items[0][1], str):
        return head + '<p class="calib-note">No delivery or SLO data for this team and cycle.</p>'
    return head + html_table([k for k, _ in items], [[v for _, v in items]])


def telemetry_html(sources: Sources, filters: Filters, employee_id: str) -> str:
    """Per-person telemetry as context: only metrics the policy allows, alphabetical, never ranked."""
    telemetry = sources.table("telemetry")
    if telemetry is None or telemetry.empty:
        return ""
    mine = telemetry[
        (telemetry["employee_id"].astype(str) == employee_id) & (telemetry["cycle"].astype(str) == filters.cycle)
    ]
    policy = sources.config.metric_policy
    metrics = sorted(set(mine["metric"].dropna().astype(str)))
    allowed = [m for m in policy.allowed(metrics, "person_context") if policy.kind(m) == "contextual"]
    mine = mine[mine["metric"].astype(str).isin(allowed)].sort_values("metric")
    head = (
        '<h3>Telemetry (context only)</h3><p class="calib-note">Context beside the evidence, never a score or a '
        "ranking: low counts are normal for deep, reliability and platform work.</p>"
    )
    if mine.empty:
        return head + '<p class="calib-note">No telemetry the metric policy allows.</p>'
    rows = [
        [r["metric"].replace("_", " "), f"{r['value']:g}" if pd.notna(r["value"]) else "–"]
        for r in mine.to_dict("records")
    ]
    return head + html_table(["metric", "value"], rows)
