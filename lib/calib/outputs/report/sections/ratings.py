"""How people were rated: headline findings, rating mixes, manager effects, quota-like curves, drift.

The report's first sections and its cycle-over-cycle comparison: what the ratings look like and
which managers' ratings stand apart, now and against the previous cycle.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from calib.outputs import charts
from calib.outputs.report.sections.base import (
    KIND_LABELS,
    SEVERITY_WORDS,
    Part,
    ReportContext,
    explanations,
    md,
    num,
    pct,
    pick,
    pval,
    shown_note,
    truthy,
)
from calib.privacy import HIDDEN, PROTECTED_FINDINGS


def headline(ctx: ReportContext) -> list[Part]:
    """Headline findings in plain words: counts by severity, then every alert and warning."""
    found = ctx.findings()
    dist = ctx.table("distributions")
    org_rows = dist[(dist["dimension"] == "all") & (dist["stage"] == "calibrated")] if len(dist) else dist
    people = int(org_rows["n"].max()) if len(org_rows) and org_rows["n"].notna().any() else None
    managers = len(ctx.table("manager_effects"))
    scope = f" in {md(ctx.org)}" if ctx.org else ""
    counts = found["severity"].value_counts() if len(found) else pd.Series(dtype=int)
    summary = ", ".join(f"**{int(counts.get(s, 0))} {word}**" for s, word in SEVERITY_WORDS.items())
    who = f"{people:,} people rated by {managers:,} managers" if people is not None else f"{managers:,} managers"
    parts = [
        Part(
            f"Cycle **{md(ctx.cycle)}**{scope}: {who}. The analyses found {summary}.\n\n"
            "An *alert* survived a correction for the number of comparisons and a practical threshold; "
            "a *warning* is worth a look; a *note* is recorded and could be chance. Every finding is a "
            "question for the room, never a verdict on a person."
        )
    ]
    for severity in ("alert", "warning"):
        rows = found[found["severity"] == severity]
        if len(rows):
            parts.append(Part(f"**{SEVERITY_WORDS[severity].capitalize()}**\n\n" + _headline_lines(ctx, rows)))
    notes = found[found["severity"] == "info"]
    if len(notes):
        kinds = notes["kind"].value_counts()
        listed = ", ".join(f"{int(n)} {md(KIND_LABELS.get(k, k).lower())}" for k, n in kinds.items())
        parts.append(Part(f"**Notes** (details in the sections below): {listed}."))
    if ctx.blind:
        hidden = int(ctx.results.findings["kind"].isin(PROTECTED_FINDINGS).sum()) if len(ctx.results.findings) else 0
        hidden = max(hidden, int(ctx.lineage.get("bias_findings_hidden", 0)))
        if hidden:
            parts.append(Part(f"{hidden} finding(s) about protected attributes are {HIDDEN}."))
    return parts


def _headline_lines(ctx: ReportContext, rows: pd.DataFrame, per_kind: int = 3) -> str:
    """Every finding of a kind read aloud when there are a few; a count and one example when there are many."""
    lines = []
    for kind, group in rows.groupby("kind", sort=False):
        label = md(KIND_LABELS.get(kind, kind))
        if len(group) <= per_kind:
            lines += [f"- **{label}**: {md(ctx.text(r.explanation))}" for r in group.itertuples()]
        else:
            example = md(ctx.text(group["explanation"].iloc[0]))
            lines.append(
                f"- **{label}** ({len(group)} findings; all in the sections below and findings.json), "
                f"for example: {example}"
            )
    return "\n".join(lines)


def rating_distributions(ctx: ReportContext) -> list[Part]:
    """Rating mixes by manager, discipline and level, submitted and after calibration."""
    dist = ctx.table("distributions")
    if dist.empty:
        return [Part("No ratings in this cycle.")]
    dist = dist.copy()
    dist["suppressed"] = truthy(dist["suppressed"])
    stages = [s for s in ("submitted", "calibrated") if (dist["stage"] == s).any()]
    parts = [Part(_calibration_moves(dist, ctx.labels))]
    titles = {
        "reviewer_id": "manager",
        "discipline": "discipline",
        "level": "level",
    }
    for dimension, what in titles.items():
        rows = dist[dist["dimension"] == dimension]
        if rows.empty:
            continue
        note = ""
        if dimension == "reviewer_id":
            rows, note = _distinct_managers(ctx, rows)
            rows = _by_mean_rating(rows, ctx.labels)
        panels = [
            charts.distribution_chart(
                rows,
                dimension=dimension,
                stage=stage,
                labels=ctx.labels,
                names=ctx.names,
                title="submitted" if stage == "submitted" else "after calibration",
            ).properties(width=300)
            for stage in stages
        ]
        chart = alt.hconcat(*panels).properties(
            title=f"Ratings by {what}, before and after calibration: look for {what}s whose mix stands apart"
        )
        text = (
            note
            + (" " if note else "")
            + f"Groups under {ctx.results.document['min_group_size']} people are suppressed."
        )
        parts.append(Part(f"**By {what}.** {text}", chart))
    return parts


def _calibration_moves(dist: pd.DataFrame, labels: list[str]) -> str:
    org = dist[dist["dimension"] == "all"]
    rows = []
    for label in labels:
        shares = {s: org[(org["stage"] == s) & (org["rating"] == label)]["share"] for s in ("submitted", "calibrated")}
        cells = [pct(v.iloc[0]) if len(v) else "" for v in shares.values()]
        rows.append(f"| {md(label)} | {cells[0]} | {cells[1]} |")
    return (
        "The whole org's mix, as submitted and after calibration:\n\n"
        "| rating | submitted | after calibration |\n|---|---:|---:|\n" + "\n".join(rows)
    )


def _by_mean_rating(rows: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """Groups ordered by their mean calibrated rating, highest first, so lenient and severe raters sit at the ends."""
    after = rows[rows["stage"] == rows["stage"].iloc[-1]]
    rank = after["rating"].map({label: i for i, label in enumerate(labels)})
    mean = (after["share"].fillna(0) * rank).groupby(after["group"]).sum()
    keyed = rows.assign(_mean=rows["group"].map(mean))
    return keyed.sort_values(["_mean", "group"], ascending=[False, True], kind="stable").drop(columns="_mean")


def _distinct_managers(ctx: ReportContext, rows: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """At most max_rows managers: flagged ones, then those whose calibrated mix is farthest from the org's."""
    groups = rows["group"].drop_duplicates()
    if len(groups) <= ctx.max_rows:
        return rows, ""
    dist = ctx.table("distributions")
    org = dist[(dist["dimension"] == "all") & (dist["stage"] == "calibrated")].set_index("rating")["share"]
    after = rows[rows["stage"] == "calibrated"]
    distance = (after["share"] - after["rating"].map(org)).abs().groupby(after["group"]).sum() / 2
    flagged = set(
        ctx.findings().query("kind in ['rater_leniency', 'rater_severity', 'forced_distribution']")["subject"]
    )
    score = pd.DataFrame({"group": groups})
    score["flagged"] = score["group"].isin(flagged)
    score["distance"] = score["group"].map(distance)
    keep = pick(score, score["flagged"], score["distance"], ctx.max_rows)["group"]
    note = shown_note(
        len(keep), len(groups), "managers", "flagged first, then the mixes farthest from the org's", "distributions"
    )
    return rows[rows["group"].isin(keep)], note


def manager_effects(ctx: ReportContext) -> list[Part]:
    """The caterpillar plot of manager effects with intervals, flagged managers named."""
    effects = ctx.table("manager_effects")
    if effects.empty:
        return [Part("The rater-effect model did not run (too few managers or reviews).")]
    effects = effects.copy()
    for column in ("flagged", "small"):
        effects[column] = truthy(effects[column])
    shown = pick(effects, effects["flagged"], effects["raw_effect"].abs().where(~effects["small"]), ctx.max_rows)
    note = shown_note(
        len(shown), len(effects), "managers", "flagged first, then the largest effects", "manager_effects"
    )
    found = ctx.findings("rater_leniency", "rater_severity")
    text = (
        "Each manager's ratings against the average manager's for people of the same level, discipline and peer "
        "standing: a dot is the estimate, the line its 95% interval, the hollow circle the shrunken (MixedLM) "
        "estimate. Read the intervals, not the order. "
        + (note + " " if note else "")
        + ("\n\n" + explanations(ctx, found) if len(found) else "\n\nNo manager is flagged as lenient or severe.")
    )
    return [Part(text, charts.caterpillar_chart(shown, names=ctx.names))]


def forced_curve(ctx: ReportContext) -> list[Part]:
    """Does anyone rate to a quota? Fit to the guideline, org-wide dispersion, central tendency."""
    fits = ctx.table("forced_distribution")
    parts: list[Part] = []
    found = ctx.findings("forced_distribution", "org_forced_distribution", "central_tendency")
    dispersion = ctx.table("org_dispersion")
    text = (
        "A team's ratings can match the guideline curve more closely than chance allows, which suggests ratings "
        "were assigned to fill a quota. The guideline is context; the workbench never recommends forcing a curve."
    )
    if not ctx.guideline:
        text += " The config has no guideline curve, so the per-manager fit was not checked."
    if len(dispersion) and "ratio" in dispersion.columns:
        row = dispersion.iloc[0]
        text += (
            f"\n\nAcross the org, ratings vary between managers {num(row['ratio'])} times as much as chance would "
            f"predict (1 = as chance; well below 1 = too uniform; p for too uniform = {pval(row.get('p_lower'))})."
        )
    text += "\n\n" + (explanations(ctx, found) if len(found) else "No manager's ratings look forced.")
    chart = None
    if len(fits) and ctx.guideline and "p_lower" in fits.columns:
        small = truthy(fits["small"]) if "small" in fits.columns else pd.Series(False, index=fits.index)
        candidates = fits[~small].sort_values("p_lower").head(6)
        long = _pooled_counts(candidates, ctx.labels)
        if len(long):
            chart = charts.distribution_chart(
                long,
                dimension="reviewer_id",
                stage="pooled",
                labels=ctx.labels,
                names=ctx.names,
                guideline=ctx.guideline,
                title="The six closest fits to the guideline (all cycles pooled): near-identical bars suggest a quota",
            )
    parts.append(Part(text, chart))
    return parts


def _pooled_counts(fits: pd.DataFrame, labels: list[str]) -> pd.DataFrame:
    """The per-manager counts behind the fit (all cycles pooled), in the long shape of `distributions`."""
    rows = []
    for _, fit in fits.iterrows():
        counts = {label: float(fit[f"count_{label}"]) for label in labels if f"count_{label}" in fit.index}
        total = sum(counts.values())
        for label, count in counts.items():
            rows.append(
                {
                    "dimension": "reviewer_id",
                    "stage": "pooled",
                    "group": str(fit["reviewer_id"]),
                    "rating": label,
                    "count": count,
                    "share": count / total if total else 0.0,
                    "n": total,
                    "suppressed": False,
                }
            )
    return pd.DataFrame(rows)


def cycle_over_cycle(ctx: ReportContext) -> list[Part]:
    """How ratings moved since the previous cycle, and which managers' ratings drifted."""
    transitions = ctx.table("rating_transitions")
    if transitions.empty:
        return [Part("No previous cycle to compare with.")]
    now = transitions[transitions["current_cycle"].astype(str) == ctx.cycle]
    if now.empty:
        return [Part("No one was reviewed in both this cycle and the one before.")]
    previous = md(now["previous_cycle"].iloc[0])
    moved = now[now["previous"] != now["current"]]["count"].sum()
    total = now["count"].sum()
    parts = [
        Part(
            f"Of {int(total)} people reviewed in both {previous} and {md(ctx.cycle)}, {int(moved)} "
            f"({pct(moved / total if total else 0)}) changed rating.",
            charts.transition_chart(now, labels=ctx.labels),
        )
    ]
    drift = ctx.table("manager_drift")
    if len(drift) and "drift" in drift.columns:
        drift = drift.copy()
        drift["flagged"] = truthy(drift["flagged"])
        tested = drift[truthy(drift["tested"])] if "tested" in drift.columns else drift
        shown = pick(tested, tested["flagged"], tested["drift"].abs(), ctx.max_rows).sort_values("drift")
        note = shown_note(
            len(shown), len(tested), "managers", "flagged first, then the largest drifts", "manager_drift"
        )
        found = ctx.findings("rating_drift")
        if len(shown):
            chart = charts.interval_chart(
                shown,
                label="reviewer_id",
                estimate="drift",
                lower="drift_lower",
                upper="drift_upper",
                flagged="flagged",
                names=ctx.names,
                axis_title="change in mean rating vs other managers' change (points)",
                title="Whose ratings moved unlike everyone else's? Intervals crossing 0 show no clear drift",
            )
            parts.append(
                Part(
                    "Each manager's change in mean rating since the last cycle, against the change for everyone "
                    "else. "
                    + (note + " " if note else "")
                    + ("\n\n" + explanations(ctx, found) if len(found) else "\n\nNo manager's ratings drifted."),
                    chart,
                )
            )
    return parts
