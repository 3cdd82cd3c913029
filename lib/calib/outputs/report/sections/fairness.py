"""One standard for everyone? The discipline seam and the bias audit (hidden in blind mode)."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from calib.outputs import charts
from calib.outputs.report.sections.base import Part, ReportContext, explanations, md, missing, num, pct, pval, truthy
from calib.privacy import HIDDEN, PROTECTED_FINDINGS


def discipline_seam(ctx: ReportContext) -> list[Part]:
    """One standard across disciplines? Effects at equal level, and side-by-side pairs."""
    effects = ctx.table("discipline_effects")
    found = ctx.findings("discipline_gap")
    if effects.empty:
        return [Part("Only one discipline in this cycle: nothing to compare.")]
    reference = md(effects["reference"].iloc[0]) if "reference" in effects.columns else "the reference"
    effects = effects.copy()
    effects["flagged"] = truthy(effects["flagged"])
    chart = charts.interval_chart(
        effects,
        label="discipline",
        estimate="difference",
        lower="lower",
        upper="upper",
        flagged="flagged",
        axis_title=f"rating points vs {effects['reference'].iloc[0] if 'reference' in effects else 'reference'}",
        title="One standard across disciplines? Intervals crossing 0 show no clear gap at the same level",
    )
    text = f"Each discipline's ratings against {reference} at the same level. " + (
        explanations(ctx, found) if len(found) else "No discipline gap survives the correction."
    )
    parts = [Part(text, chart)]
    pairs = ctx.table("seam_pairs")
    if len(pairs):
        shown = pairs.head(12)
        table = pd.DataFrame(
            {
                "rating": shown["rating"],
                "person": shown["employee_id"].map(ctx.label),
                "discipline": shown["discipline"],
                "level": shown["level"],
                "evidence (delivery/reliability/influence)": _evidence_triplet(shown, ""),
                "compared with": shown["reference_employee_id"].map(ctx.label),
                "their discipline": shown["reference_discipline"],
                "their evidence": _evidence_triplet(shown, "reference_"),
            }
        )
        note = f" (first {len(shown)} of {len(pairs)}; all in tables/seam_pairs.csv)" if len(pairs) > len(shown) else ""
        parts.append(
            Part(
                "Side-by-side pairs with the same rating at the same level across the seam, so the room can ask "
                f"whether the evidence behind them is comparable{note}:",
                table=table,
            )
        )
    return parts


def _evidence_triplet(rows: pd.DataFrame, prefix: str) -> pd.Series:
    columns = [f"{prefix}evidence_{c}_n" for c in ("delivery", "reliability", "influence")]
    if not set(columns) <= set(rows.columns):
        return pd.Series("", index=rows.index)
    return rows[columns].astype("Int64").astype(str).agg(" / ".join, axis=1)


def bias_audit(ctx: ReportContext) -> list[Part]:
    """Selection rates by protected attribute; suppressed groups shown as suppressed. Hidden in blind mode."""
    if ctx.blind:
        return [
            Part(
                f"The bias audit is {HIDDEN}: protected attributes and their groups are not shown. "
                "Run the report without --blind to see it."
            )
        ]
    audit = ctx.table("bias_audit")
    if audit.empty:
        return [Part("No protected attributes are configured, so no audit ran.")]
    audit = audit.copy()
    audit["suppressed"] = truthy(audit["suppressed"])
    if "four_fifths_flag" in audit.columns:
        audit["four_fifths_flag"] = audit["four_fifths_flag"].map(
            lambda v: None if missing(v) else str(v).lower() == "true"
        )
    found = ctx.findings(*PROTECTED_FINDINGS)
    parts = [
        Part(
            "Rates of each outcome by group, against the most favoured group (the four-fifths rule), with Fisher's "
            "test and an odds ratio adjusted for level and discipline. Observational: a gap is a question, not "
            f"proof of discrimination. Groups under {ctx.results.document['min_group_size']} people are suppressed "
            "and shown as suppressed.\n\n" + (explanations(ctx, found) if len(found) else "No gap is flagged.")
        )
    ]
    unrecorded = audit[audit["group"].astype(str) == "(not recorded)"].drop_duplicates("attribute")
    for row in unrecorded.itertuples():
        count = "a few" if row.suppressed or missing(row.n) else str(int(row.n))
        parts.append(Part(f"{count} people have no {md(row.attribute)} recorded: counted, not assigned to a group."))
    for attribute in audit["attribute"].drop_duplicates():
        for outcome in audit[audit["attribute"] == attribute]["outcome"].drop_duplicates():
            rows = audit[(audit["attribute"] == attribute) & (audit["outcome"] == outcome)]
            rows = rows[rows["group"].astype(str) != "(not recorded)"] if "group" in rows else rows
            chart = charts.selection_rate_chart(rows, attribute=str(attribute), outcome=str(outcome))
            parts.append(Part(f"**{md(attribute)}: {md(str(outcome).replace('_', ' '))}**", chart, _audit_table(rows)))
    return parts


def _audit_table(rows: pd.DataFrame) -> pd.DataFrame:
    hidden = rows["suppressed"]

    def cell(values: pd.Series, fmt: Callable[[object], str]) -> pd.Series:
        return values.map(fmt).where(~hidden, "suppressed")

    return pd.DataFrame(
        {
            "group": rows["group"],
            "people": cell(rows["n"], lambda v: num(v, ".0f")),
            "rate": cell(rows["rate"], pct),
            "impact ratio": cell(rows["impact_ratio"], num),
            "Holm p": cell(rows["holm_p"], pval),
            "adjusted odds ratio": cell(rows["adjusted_or"], num),
            "note": rows["note"].fillna("").where(~hidden, "fewer than the minimum group size"),
        }
    )
