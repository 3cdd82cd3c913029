"""What the ratings rest on: evidence health and recency, coverage, thin evidence, invisible work."""

from __future__ import annotations

import altair as alt
import pandas as pd

from calib.outputs import charts
from calib.outputs.report.sections.base import (
    Part,
    ReportContext,
    bullets,
    explanations,
    md,
    pct,
    pick,
    shown_note,
    truthy,
)


def evidence_health(ctx: ReportContext) -> list[Part]:
    """Is the evidence there and kept year-round? Recency per manager, coverage, thin evidence, criteria."""
    recency = ctx.table("evidence_recency_managers")
    health = ctx.table("evidence_health")
    if recency.empty and health.empty:
        return [Part("No evidence input in this cycle.")]
    parts = []
    found = ctx.findings("recency_bias", "thin_evidence", "light_criterion")
    alerts = found[found["kind"] == "recency_bias"]
    if len(recency):
        recency = recency.copy()
        recency["flagged"] = truthy(recency["flagged"])
        small = truthy(recency["small"]) if "small" in recency.columns else pd.Series(False, index=recency.index)
        tested = recency[~small]
        shown = pick(tested, tested["flagged"], tested["late_share"], ctx.max_rows).sort_values("late_share")
        note = shown_note(
            len(shown),
            len(tested),
            "managers",
            "flagged first, then the most bunched logs",
            "evidence_recency_managers",
        )
        chart = charts.interval_chart(
            shown,
            label="reviewer_id",
            estimate="late_share",
            lower="lower",
            upper="upper",
            reference=0.2,
            flagged="flagged",
            names=ctx.names,
            axis_title="share of evidence dated in the cycle's last fifth (an even log: 20%)",
            title="Is evidence kept year-round? Orange: logs bunched at the end of the cycle",
        )
        text = (
            "The share of each team's evidence dated in the last fifth of the cycle; a log kept year-round sits "
            "near 20%. "
            + (note + " " if note else "")
            + ("\n\n" + explanations(ctx, alerts) if len(alerts) else "No team's log is flagged as bunched.")
        )
        parts.append(Part(text, chart))
    if len(health) and {"final_rating", "categories_covered"} <= set(health.columns):
        parts.append(
            Part(
                "**Coverage.** People by rating and by how many of the three evidence categories "
                "(delivery, reliability, influence) their log covers:",
                _coverage_heatmap(health, ctx.labels),
            )
        )
        thin = health[truthy(health["thin"])] if "thin" in health.columns else health.iloc[0:0]
        lines = [
            f"- {md(ctx.label(r.employee_id))} ({md(r.final_rating)}): {md(r.thin_reason)}" for r in thin.itertuples()
        ]
        parts.append(
            Part(
                f"**Thin evidence.** {len(thin)} top or bottom rating(s) rest on thin evidence"
                + (":\n\n" + bullets(lines, 20, "(tables/evidence_health.csv)") if lines else ".")
            )
        )
    criteria = ctx.table("evidence_criteria")
    if len(criteria):
        table = pd.DataFrame(
            {
                "criterion": criteria["criterion"],
                "people": criteria["people"],
                "with light evidence": criteria["people_light"],
                "share light": criteria["share_light"].map(pct),
            }
        )
        parts.append(
            Part("**Criteria coverage.** How many people have little evidence for each criterion:", table=table)
        )
    return parts


def _coverage_heatmap(health: pd.DataFrame, labels: list[str]) -> alt.Chart:
    counts = health.groupby(["final_rating", "categories_covered"]).size().rename("people").reset_index()
    counts["categories_covered"] = counts["categories_covered"].astype(int).astype(str)
    base = alt.Chart(counts).encode(
        x=alt.X("categories_covered:N", title="evidence categories covered (of 3)", sort=["0", "1", "2", "3"]),
        y=alt.Y("final_rating:N", sort=list(reversed(labels)), title=None),
    )
    heat = base.mark_rect().encode(color=alt.Color("people:Q", scale=alt.Scale(scheme="blues"), title="people"))
    text = base.mark_text().encode(
        text="people:Q",
        color=alt.condition(
            f"datum.people > {max(int(counts['people'].max()) // 2, 1)}", alt.value("white"), alt.value("black")
        ),
    )
    return alt.layer(heat, text).properties(
        title="Evidence coverage by rating: top ratings resting on one category deserve a question",
        width=300,
        height=alt.Step(28),
    )


def invisible_work(ctx: ReportContext) -> list[Part]:
    """Corroborated high-value work that the ratings do not see."""
    table = ctx.table("invisible_work")
    if table.empty:
        return [Part("No invisible work was flagged (or no evidence input).")]
    shown = table.head(ctx.max_rows)
    note = (
        f" Showing {len(shown)} of {len(table)}; all in tables/invisible_work.csv." if len(table) > len(shown) else ""
    )
    text = (
        "People rated Meets or below whose log is mostly reliability and influence work (incidents, postmortems, "
        "on-call, mentoring) with few visible items, corroborated by a second signal such as peers or an improving "
        "team SLO. Counts are context, not performance: they prompt a look at the work, never a score." + note
    )
    long = shown.melt(
        id_vars=["employee_id"], value_vars=["visible", "reliability", "influence"], var_name="kind", value_name="count"
    )
    long["person"] = long["employee_id"].map(ctx.label)
    chart = (
        alt.Chart(long)
        .mark_bar()
        .encode(
            x=alt.X("count:Q", title="evidence items this cycle"),
            y=alt.Y("person:N", title=None),
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(domain=["visible", "reliability", "influence"], range=charts.OKABE_ITO[:3]),
                title="kind of work",
            ),
            order=alt.Order("kind_rank:Q"),
            tooltip=["person:N", "kind:N", "count:Q"],
        )
        .transform_calculate(kind_rank="indexof(['visible', 'reliability', 'influence'], datum.kind)")
        .properties(
            title="Where the work went: mostly reliability and influence, little that is easy to count",
            width=480,
            height=alt.Step(22),
        )
    )
    rows = pd.DataFrame(
        {
            "person": shown["employee_id"].map(ctx.label),
            "team": shown.get("team", ""),
            "level": shown.get("level", ""),
            "rating": shown.get("final_rating", ""),
            "compared with": shown.get("compared_with", ""),
            "signals": shown.get("signal", ""),
        }
    )
    return [Part(text, chart, rows)]
