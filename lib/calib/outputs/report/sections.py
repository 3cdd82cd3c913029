"""The cycle report's sections: pure functions from the analysis results to what the report shows.

Each builder takes a `ReportContext` (what `calib analyze` wrote, plus display labels) and returns
`Part`s: Markdown text with every data value escaped, an altair chart, or a small table. The
notebook (notebooks/cycle_report.ipynb) only calls them and displays the parts; nothing here
computes a statistic that the analyses did not already write.

Large orgs are aggregated before charting: a chart shows at most `ReportContext.max_rows`
managers or teams (every flagged one first, then the most extreme), and says so; the full tables
are in tables/.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import altair as alt
import pandas as pd

from calib.analyses.results import Results
from calib.outputs import charts
from calib.privacy import HIDDEN, PROTECTED_FINDINGS

SECTIONS = (
    "Headline findings",
    "Rating distributions",
    "Manager effects",
    "Forced-curve check",
    "Discipline seam",
    "Bias audit",
    "Evidence health and recency",
    "Invisible work",
    "Team delivery and SLO context",
    "Cycle over cycle",
    "Methods appendix",
    "Data lineage",
)
KIND_LABELS = {
    "rater_leniency": "Lenient rater",
    "rater_severity": "Severe rater",
    "forced_distribution": "Ratings fit a quota curve",
    "org_forced_distribution": "Org-wide ratings fit a quota curve",
    "central_tendency": "Ratings bunched at the middle",
    "discipline_gap": "Discipline gap",
    "adverse_impact": "Possible adverse impact",
    "team_context_mismatch": "Team ratings vs team results",
    "recency_bias": "Evidence bunched at the end of the cycle",
    "thin_evidence": "Thin evidence",
    "light_criterion": "Lightly evidenced criterion",
    "invisible_work": "Invisible work",
    "rating_drift": "Rating drift since the last cycle",
    "low_reliability": "Low peer-feedback reliability",
}
SEVERITY_WORDS = {"alert": "alerts", "warning": "warnings", "info": "notes"}
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~<>:$&\"'=])")


@dataclass(frozen=True)
class Part:
    """One thing to show: Markdown text (values escaped), a chart, or a table (shown escaped)."""

    text: str = ""
    chart: alt.TopLevelMixin | None = None
    table: pd.DataFrame | None = None


@dataclass(frozen=True)
class ReportContext:
    """What every section reads: the results of `calib analyze` and how to label people.

    Attributes
    ----------
    results
        findings.json and tables/ as loaded by `calib.analyses.results.load_results`.
    names
        Chart labels by employee id (names, or pseudonyms in blind mode).
    text
        Rewrites free text (finding explanations) for display: ids to "name (id)", or in blind
        mode ids and names to pseudonyms.
    blind
        Blind mode: no names, no ids, nothing about protected attributes.
    guideline
        The config's guideline curve (drawn beside quota-like distributions), if any.
    lineage
        lineage.json written by `calib report` (inputs, warnings, versions, run time); may be empty.
    org
        The org filter the results were computed for ("" = the whole org).
    """

    results: Results
    names: Mapping[str, str] = field(default_factory=dict)
    text: Callable[[str], str] = str
    blind: bool = False
    guideline: Mapping[str, float] | None = None
    lineage: Mapping = field(default_factory=dict)
    org: str = ""
    max_rows: int = 50

    @property
    def labels(self) -> list[str]:
        """The rating scale, lowest first."""
        return list(self.results.document["rating_scale"])

    @property
    def cycle(self) -> str:
        """The cycle under review."""
        return str(self.results.document["cycle"])

    def table(self, name: str) -> pd.DataFrame:
        """An analysis table (empty when the analysis did not run)."""
        return self.results.table(name)

    def findings(self, *kinds: str) -> pd.DataFrame:
        """Findings of these kinds (all when none given); bias findings never in blind mode."""
        found = self.results.findings
        if found.empty:
            return pd.DataFrame(columns=["kind", "subject", "severity", "explanation", "n"])
        if self.blind:
            found = found[~found["kind"].isin(PROTECTED_FINDINGS)]
        return found[found["kind"].isin(kinds)] if kinds else found

    def label(self, value: object) -> str:
        """The chart label of an id."""
        return self.names.get(str(value), str(value))


# -- text helpers ---------------------------------------------------------------------------------


def md(value: object) -> str:
    """A value as literal Markdown text: HTML and Markdown syntax escaped, so data never becomes markup."""
    text = "" if value is None or (isinstance(value, float) and math.isnan(value)) else str(value)
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\n", " ")


def pct(value: object, digits: int = 0) -> str:
    """A share as a percentage ("" when missing)."""
    return "" if _missing(value) else f"{float(value):.{digits}%}"


def num(value: object, fmt: str = ".2f") -> str:
    """A number formatted ("" when missing)."""
    return "" if _missing(value) else format(float(value), fmt)


def pval(value: object) -> str:
    """A p-value in plain notation."""
    if _missing(value):
        return ""
    value = float(value)
    return f"{value:.2g}" if value >= 0.001 else f"{value:.1e}"


def _code(value: object) -> str:
    """A hash or id in a code span (only word characters: nothing to escape)."""
    text = str(value or "")
    return f"`{text}`" if re.fullmatch(r"\w+", text) else md(text)


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value == ""


def _truthy(series: pd.Series) -> pd.Series:
    """A boolean column read back from CSV (True/False/empty)."""
    if series.dtype == bool:
        return series
    return series.astype(str).str.lower().isin(["true", "1"])


def _bullets(lines: list[str], limit: int, more: str) -> str:
    shown = lines[:limit]
    if len(lines) > limit:
        shown.append(f"- ... and {len(lines) - limit} more {more}")
    return "\n".join(shown)


def _explanations(ctx: ReportContext, rows: pd.DataFrame, limit: int = 25) -> str:
    lines = [f"- **{md(KIND_LABELS.get(r.kind, r.kind))}**: {md(ctx.text(r.explanation))}" for r in rows.itertuples()]
    return _bullets(lines, limit, "(all in findings.json)")


def _pick(table: pd.DataFrame, flagged: pd.Series, score: pd.Series, limit: int) -> pd.DataFrame:
    """Every flagged row first, then the highest scores, up to `limit` rows (aggregate before charting)."""
    if len(table) <= limit:
        return table
    order = pd.DataFrame({"flagged": flagged.to_numpy(), "score": score.fillna(-1).to_numpy()}, index=table.index)
    keep = order.sort_values(["flagged", "score"], ascending=False).index[:limit]
    return table.loc[table.index.isin(keep)]


def _shown_note(shown: int, total: int, what: str, why: str, table: str) -> str:
    if shown >= total:
        return ""
    return f"Showing {shown} of {total} {what} ({why}); every one is in tables/{table}.csv."


# -- sections -------------------------------------------------------------------------------------


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
    dist["suppressed"] = _truthy(dist["suppressed"])
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
    keep = _pick(score, score["flagged"], score["distance"], ctx.max_rows)["group"]
    note = _shown_note(
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
        effects[column] = _truthy(effects[column])
    shown = _pick(effects, effects["flagged"], effects["raw_effect"].abs().where(~effects["small"]), ctx.max_rows)
    note = _shown_note(
        len(shown), len(effects), "managers", "flagged first, then the largest effects", "manager_effects"
    )
    found = ctx.findings("rater_leniency", "rater_severity")
    text = (
        "Each manager's ratings against the average manager's for people of the same level, discipline and peer "
        "standing: a dot is the estimate, the line its 95% interval, the hollow circle the shrunken (MixedLM) "
        "estimate. Read the intervals, not the order. "
        + (note + " " if note else "")
        + ("\n\n" + _explanations(ctx, found) if len(found) else "\n\nNo manager is flagged as lenient or severe.")
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
    text += "\n\n" + (_explanations(ctx, found) if len(found) else "No manager's ratings look forced.")
    chart = None
    if len(fits) and ctx.guideline and "p_lower" in fits.columns:
        small = _truthy(fits["small"]) if "small" in fits.columns else pd.Series(False, index=fits.index)
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


def discipline_seam(ctx: ReportContext) -> list[Part]:
    """One standard across disciplines? Effects at equal level, and side-by-side pairs."""
    effects = ctx.table("discipline_effects")
    found = ctx.findings("discipline_gap")
    if effects.empty:
        return [Part("Only one discipline in this cycle: nothing to compare.")]
    reference = md(effects["reference"].iloc[0]) if "reference" in effects.columns else "the reference"
    effects = effects.copy()
    effects["flagged"] = _truthy(effects["flagged"])
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
        _explanations(ctx, found) if len(found) else "No discipline gap survives the correction."
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
    audit["suppressed"] = _truthy(audit["suppressed"])
    if "four_fifths_flag" in audit.columns:
        audit["four_fifths_flag"] = audit["four_fifths_flag"].map(
            lambda v: None if _missing(v) else str(v).lower() == "true"
        )
    found = ctx.findings(*PROTECTED_FINDINGS)
    parts = [
        Part(
            "Rates of each outcome by group, against the most favoured group (the four-fifths rule), with Fisher's "
            "test and an odds ratio adjusted for level and discipline. Observational: a gap is a question, not "
            f"proof of discrimination. Groups under {ctx.results.document['min_group_size']} people are suppressed "
            "and shown as suppressed.\n\n" + (_explanations(ctx, found) if len(found) else "No gap is flagged.")
        )
    ]
    unrecorded = audit[audit["group"].astype(str) == "(not recorded)"].drop_duplicates("attribute")
    for row in unrecorded.itertuples():
        count = "a few" if row.suppressed or _missing(row.n) else str(int(row.n))
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
        recency["flagged"] = _truthy(recency["flagged"])
        small = _truthy(recency["small"]) if "small" in recency.columns else pd.Series(False, index=recency.index)
        tested = recency[~small]
        shown = _pick(tested, tested["flagged"], tested["late_share"], ctx.max_rows).sort_values("late_share")
        note = _shown_note(
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
            + ("\n\n" + _explanations(ctx, alerts) if len(alerts) else "No team's log is flagged as bunched.")
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
        thin = health[_truthy(health["thin"])] if "thin" in health.columns else health.iloc[0:0]
        lines = [
            f"- {md(ctx.label(r.employee_id))} ({md(r.final_rating)}): {md(r.thin_reason)}" for r in thin.itertuples()
        ]
        parts.append(
            Part(
                f"**Thin evidence.** {len(thin)} top or bottom rating(s) rest on thin evidence"
                + (":\n\n" + _bullets(lines, 20, "(tables/evidence_health.csv)") if lines else ".")
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
        context["mismatch"] = _truthy(context["mismatch"])
        small = _truthy(context["small"]) if "small" in context.columns else pd.Series(False, index=context.index)
        context["small"] = small
        tested = context[~small]
        shown = _pick(tested, tested["mismatch"], tested["difference"].abs(), ctx.max_rows)
        note = _shown_note(
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
                    "\n\n" + _explanations(ctx, found)
                    if len(found)
                    else "\n\nNo team's ratings contradict its results."
                ),
                charts.team_context_chart(shown, names=teams),
            )
        )
    return parts


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
        drift["flagged"] = _truthy(drift["flagged"])
        tested = drift[_truthy(drift["tested"])] if "tested" in drift.columns else drift
        shown = _pick(tested, tested["flagged"], tested["drift"].abs(), ctx.max_rows).sort_values("drift")
        note = _shown_note(
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
                    + ("\n\n" + _explanations(ctx, found) if len(found) else "\n\nNo manager's ratings drifted."),
                    chart,
                )
            )
    return parts


def methods(ctx: ReportContext) -> list[Part]:
    """Each method and the assumption it rests on, as the analyses wrote them."""
    written = ctx.results.document.get("methods", {})
    by_text: dict[str, list[str]] = {}
    for name, text in written.items():
        if text:
            by_text.setdefault(text, []).append(name.replace("_", " "))
    lines = [f"- **{md(', '.join(names))}**: {md(text)}" for text, names in by_text.items()]
    parts = [Part("Each analysis states its method and the assumption it rests on:\n\n" + "\n".join(lines))]
    reliability = ctx.table("peer_reliability")
    if len(reliability):
        parts.append(
            Part(
                "**Peer-feedback reliability** (how far peer scores agree, which bounds what any analysis built "
                "on them can show):",
                table=pd.DataFrame(
                    {
                        "measure": reliability["label"],
                        "estimate": reliability["estimate"].map(num),
                        "95% interval": [
                            f"{num(lo)} to {num(hi)}" if not _missing(lo) else ""
                            for lo, hi in zip(reliability["lower"], reliability["upper"], strict=True)
                        ],
                        "band": reliability.get("band", ""),
                    }
                ),
            )
        )
    return parts


def lineage(ctx: ReportContext) -> list[Part]:
    """Inputs (names, sizes, sha256, rows), validation warnings, package versions, run time."""
    document = ctx.results.document
    inputs = document.get("inputs", {})
    table = pd.DataFrame(
        [
            {
                "input": name,
                "file": spec.get("file"),
                "format": spec.get("format"),
                "rows": spec.get("rows"),
                "bytes": spec.get("bytes"),
                "sha256": spec.get("sha256"),
            }
            for name, spec in inputs.items()
        ]
    )
    config = document.get("config", {})
    info = ctx.lineage
    lines = [
        f"- config: {md(config.get('file'))}, sha256 {_code(config.get('sha256'))}",
        f"- cycle {md(document.get('cycle'))} ({md(document['cycle_window']['start'])} to "
        f"{md(document['cycle_window']['end'])}); {md(document.get('generated_by'))}",
    ]
    if info:
        lines.append(
            f"- org: {md(info.get('org') or 'the whole org')}; blind mode: {'on' if info.get('blind') else 'off'}"
        )
        seconds = info.get("seconds", {})
        if seconds:
            lines.append(
                "- run time: " + ", ".join(f"{md(k.replace('_', ' '))} {float(v):.1f} s" for k, v in seconds.items())
            )
        lines.append(f"- generated at {md(info.get('generated_at'))}")
        for item in info.get("hidden_in_blind_mode", []):
            lines.append(f"- {md(item)}: {HIDDEN}")
    parts = [Part("Every input, as read for this report:", table=table), Part("\n".join(lines))]
    if info:
        warnings = info.get("warnings", [])
        shown = [f"- {md(ctx.text(line))}" for line in warnings]
        parts.append(
            Part(
                f"**Validation warnings** ({info.get('warning_count', len(warnings))}; suspicious but usable data):\n\n"
                + (_bullets(shown, 30, "lines") if shown else "none")
            )
        )
        versions = info.get("versions", {})
        if versions:
            parts.append(
                Part(
                    "**Package versions**",
                    table=pd.DataFrame({"package": list(versions), "version": list(versions.values())}),
                )
            )
    else:
        parts.append(Part("Validation warnings, versions and run time are recorded when `calib report` runs."))
    return parts


BUILDERS: dict[str, Callable[[ReportContext], list[Part]]] = dict(
    zip(
        SECTIONS,
        (
            headline,
            rating_distributions,
            manager_effects,
            forced_curve,
            discipline_seam,
            bias_audit,
            evidence_health,
            invisible_work,
            team_context,
            cycle_over_cycle,
            methods,
            lineage,
        ),
        strict=True,
    )
)


def show(parts: list[Part]) -> None:
    """Display parts in a notebook, at top level (charts never inside widgets)."""
    from IPython.display import HTML, Markdown, display

    for part in parts:
        if part.text:
            display(Markdown(part.text))
        if part.chart is not None:
            display(part.chart)
        if part.table is not None:
            display(HTML(table_html(part.table)))


def table_html(table: pd.DataFrame) -> str:
    """A small table as escaped HTML."""
    return table.to_html(index=False, escape=True, border=0, classes="calib-table", na_rep="")
