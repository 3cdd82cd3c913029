"""Team delivery (DORA) and SLO context beside team ratings: team context, never a personal score."""

from __future__ import annotations

import pandas as pd

from calib.outputs import charts
from calib.outputs.report.sections.base import Part, ReportContext, explanations, pct, pick, shown_note, truthy


def team_context(ctx: ReportContext) -> list[Part]:
    """Team delivery (DORA) and SLO context beside team ratings; team context, never a personal score."""
    dora = ctx.table("team_dora")
    context = ctx.table("team_context")
    slos = ctx.table("team_slos")
    parts = [
        Part(
            "Delivery (DORA) and reliability (SLO) figures describe teams. They give the room context for the "
            "ratings of a team as a whole and must never become an individual score."
        )
    ]
    if len(dora) and (dora["period"] == ctx.cycle).any():
        parts.append(Part("", charts.delivery_levels_chart(dora, period=ctx.cycle)))
    if len(slos) and (slos["period"] == ctx.cycle).any():
        now = slos[slos["period"] == ctx.cycle]
        met = now["slo_met_share"]
        parts.append(
            Part(
                f"SLOs: {len(now)} teams report SLO windows this cycle; the median team met "
                f"{pct(met.median())} of its windows, and {int((met < 0.5).sum())} team(s) met fewer than half."
            )
        )
    if len(context):
        context = context.copy()
        context["mismatch"] = truthy(context["mismatch"])
        small = truthy(context["small"]) if "small" in context.columns else pd.Series(False, index=context.index)
        context["small"] = small
        tested = context[~small]
        shown = pick(tested, tested["mismatch"], tested["difference"].abs(), ctx.max_rows)
        note = shown_note(
            len(shown), len(tested), "teams", "mismatches first, then the largest differences", "team_context"
        )
        found = ctx.findings("team_context_mismatch")
        if "lower" not in shown.columns and "difference_lower" in shown.columns:
            shown = shown.rename(columns={"difference_lower": "lower", "difference_upper": "upper"})
        delivery = shown.get("delivery_level", pd.Series(None, index=shown.index, dtype=object)).astype(object)
        delivery = delivery.where(delivery.notna(), "no data").astype(str)
        teams = dict(zip(shown["team"].astype(str), shown["team"].astype(str) + " · " + delivery, strict=True))
        parts.append(
            Part(
                "Each team's mean rating against the rest of the org, grouped by its delivery level. "
                + (note + " " if note else "")
                + (
                    "\n\n" + explanations(ctx, found) if len(found) else "\n\nNo team's ratings contradict its results."
                ),
                charts.team_context_chart(shown, names=teams),
            )
        )
    return parts
