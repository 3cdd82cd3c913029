"""The Audit tab: the bias audit as analysed, and the ratings by protected attribute in view.

Selection rates by protected attribute are org-wide, as analysed (four-fifths flag, Holm-adjusted
p); groups under the config's min_group_size are suppressed. Each chart names the direction: the
orange groups get a top rating or a promotion less often, or the bottom rating more often. In blind
mode group labels are replaced by numbers in an order that says nothing (`calib.privacy.group_numbers`),
the same in the table and in every chart, and their sizes by bands (`calib.privacy.size_band`): an
exact n would tell the largest group from the others.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from calib.analyses.outcomes import ADVERSE_WHEN_SELECTED
from calib.apps.dashboard.filters import Filters
from calib.apps.dashboard.html import Safe, esc, html_table, integer, pct
from calib.apps.dashboard.layout import WIDE, View, stack
from calib.apps.dashboard.sources import Sources
from calib.apps.dashboard.summaries import calibrated_distribution
from calib.outputs import charts
from calib.privacy import HIDDEN, group_numbers, size_band


def audit(sources: Sources, filters: Filters) -> View:
    """The bias audit as analysed (org-wide, suppressed) and the ratings by attribute in view."""
    config = sources.config
    table = sources.results.table("bias_audit")
    rows = sources.rows(filters)
    attributes = [a for a in config.protected_attributes if a in sources.frame.columns]
    intro = (
        f"<p>Selection rates by protected attribute in {esc(sources.results.document.get('cycle', filters.cycle))}"
        f" (org-wide, as analysed), then ratings by attribute in view; groups under {config.min_group_size} "
        "people are suppressed.</p>"
    )
    if filters.blind:
        intro += f'<p class="calib-note">Group labels are {HIDDEN}.</p>'
    body = "<h3>Bias audit (as analysed)</h3>"
    parts: list[alt.TopLevelMixin] = []
    if not table.empty:
        shown = _blind_sizes(_blind_groups(sources, table), config.min_group_size) if filters.blind else table
        parts += sources.memo(("audit", filters.blind), lambda: _selection_charts(shown))
        body += _audit_table(shown)
    for attribute in attributes:
        if rows.empty:
            break
        dist = calibrated_distribution(rows, sources, by=attribute)
        if filters.blind:
            dist = _blind_sizes(_blind_groups(sources, dist, attribute), config.min_group_size)
        parts.append(
            charts.distribution_chart(
                dist,
                dimension=attribute,
                stage="calibrated",
                labels=config.rating_labels,
                title=f"Ratings by {attribute} in view (descriptive; small groups suppressed)",
            ).properties(width=WIDE, height=alt.Step(36))
        )
    if not parts:
        body += '<p class="calib-note">No protected attributes in this cycle\'s config.</p>'
    return View(body, stack(*parts) if parts else None, intro=intro)


def _selection_charts(audit: pd.DataFrame) -> list[alt.TopLevelMixin]:
    columns = ["attribute", "outcome", "group", "n", "rate", "four_fifths_flag", "impact_ratio", "suppressed"]
    drawn = audit[[*columns, *(["size"] if "size" in audit.columns else [])]]
    return [
        charts.selection_rate_chart(drawn, attribute=attribute, outcome=outcome).properties(
            width=WIDE - 300, height=alt.Step(40)
        )
        for (attribute, outcome), _ in drawn.groupby(["attribute", "outcome"], sort=False)
    ]


def hidden_groups(sources: Sources, attribute: str) -> dict[str, str]:
    """One numbering of an attribute's groups for blind mode, the same in the audit table and every chart."""

    def make() -> dict[str, str]:
        groups = set(sources.frame[attribute].dropna().astype(str)) if attribute in sources.frame.columns else set()
        audit = sources.results.table("bias_audit")
        if not audit.empty:
            mine = audit[audit["attribute"].astype(str) == attribute]
            groups |= set(mine["group"].dropna().astype(str)) | set(mine["reference_group"].dropna().astype(str))
        return group_numbers(attribute, groups)

    return sources.memo(("hidden groups", attribute), make)


def _blind_groups(sources: Sources, table: pd.DataFrame, attribute: str | None = None) -> pd.DataFrame:
    """`table` with its group labels (and reference groups) replaced by numbers."""
    out = table.copy()
    attributes = out["attribute"].astype(str) if attribute is None else pd.Series(attribute, index=out.index)
    for column in ("group", "reference_group"):
        if column in out.columns:
            out[column] = [
                hidden_groups(sources, a).get(str(g), HIDDEN) if pd.notna(g) else g
                for a, g in zip(attributes, out[column], strict=True)
            ]
    return out


def _blind_sizes(table: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """`table` (blind) with sizes as bands (`size`), no counts, rows in the order of the group numbers."""
    out = table.assign(size=[size_band(n, min_group_size) for n in table["n"]])
    out["n"] = pd.NA
    if "count" in out.columns:  # a count per rating adds up to the group's size
        out["count"] = pd.NA
    keys = [c for c in ("attribute", "outcome") if c in out.columns]
    number = out["group"].astype(str).str.extract(r"group (\d+)")[0].astype(float)
    return out.assign(_number=number).sort_values([*keys, "_number"], kind="stable").drop(columns="_number")


def _audit_table(table: pd.DataFrame) -> Safe:
    rows = []
    blind = "size" in table.columns
    for r in table.to_dict("records"):
        hidden = bool(r.get("suppressed"))
        rows.append(
            [
                r["attribute"],
                str(r["outcome"]).replace("_", " "),
                r["group"],
                "suppressed" if hidden else (r["size"] if blind else integer(r.get("n"))),
                "suppressed" if hidden else pct(r.get("rate")),
                "–" if hidden else r.get("impact_ratio"),
                _direction(r) if r.get("four_fifths_flag") is True and not hidden else "",
                "–" if hidden or pd.isna(r.get("holm_p")) else f"{r['holm_p']:.2g}",
            ]
        )
    headers = ["attribute", "outcome", "group", "people" if blind else "n", "rate", "impact ratio", "four-fifths"]
    return html_table([*headers, "Holm p"], rows)


def _direction(row: dict) -> str:
    """The four-fifths flag with its direction: who gets the outcome more or less often."""
    adverse = row["outcome"] in ADVERSE_WHEN_SELECTED
    return "▲ gets it more often" if adverse else "▲ gets it less often"
