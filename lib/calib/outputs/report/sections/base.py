"""What every section shares: `Part`, `ReportContext`, finding labels and the text helpers.

Formatting (`md`, `pct`, `num`, `pval`) escapes or renders one value; the helpers below them pick
which rows a chart shows (`pick`, `shown_note`) and list findings (`explanations`, `bullets`).
Section modules import this one and nothing else from the package.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import altair as alt
import pandas as pd

from calib.analyses.results import Results
from calib.privacy import PROTECTED_FINDINGS

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
    max_rows
        The most managers or teams one chart shows (flagged first); the tables keep every row.
    session
        session.json written by `calib report --session` (calib.outputs.report.changes); empty
        without a session.
    """

    results: Results
    names: Mapping[str, str] = field(default_factory=dict)
    text: Callable[[str], str] = str
    blind: bool = False
    guideline: Mapping[str, float] | None = None
    lineage: Mapping = field(default_factory=dict)
    org: str = ""
    max_rows: int = 50
    session: Mapping = field(default_factory=dict)

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
    return "" if missing(value) else f"{float(value):.{digits}%}"


def num(value: object, fmt: str = ".2f") -> str:
    """A number formatted ("" when missing)."""
    return "" if missing(value) else format(float(value), fmt)


def pval(value: object) -> str:
    """A p-value in plain notation."""
    if missing(value):
        return ""
    value = float(value)
    return f"{value:.2g}" if value >= 0.001 else f"{value:.1e}"


def missing(value: object) -> bool:
    """Whether a value is missing (None, NaN, NA or empty)."""
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value == ""


# -- table and list helpers -----------------------------------------------------------------------


def truthy(series: pd.Series) -> pd.Series:
    """A boolean column read back from CSV (True/False/empty)."""
    if series.dtype == bool:
        return series
    return series.astype(str).str.lower().isin(["true", "1"])


def bullets(lines: list[str], limit: int, more: str) -> str:
    """Markdown bullet lines, at most `limit`, then how many more (`more` says where they are)."""
    shown = lines[:limit]
    if len(lines) > limit:
        shown.append(f"- ... and {len(lines) - limit} more {more}")
    return "\n".join(shown)


def explanations(ctx: ReportContext, rows: pd.DataFrame, limit: int = 25) -> str:
    """Findings as Markdown bullets: the kind's label, then the explanation rewritten for display."""
    lines = [f"- **{md(KIND_LABELS.get(r.kind, r.kind))}**: {md(ctx.text(r.explanation))}" for r in rows.itertuples()]
    return bullets(lines, limit, "(all in findings.json)")


def pick(table: pd.DataFrame, flagged: pd.Series, score: pd.Series, limit: int) -> pd.DataFrame:
    """Every flagged row first, then the highest scores, up to `limit` rows (aggregate before charting)."""
    if len(table) <= limit:
        return table
    order = pd.DataFrame({"flagged": flagged.to_numpy(), "score": score.fillna(-1).to_numpy()}, index=table.index)
    keep = order.sort_values(["flagged", "score"], ascending=False).index[:limit]
    return table.loc[table.index.isin(keep)]


def shown_note(shown: int, total: int, what: str, why: str, table: str) -> str:
    """Says a chart shows `shown` of `total` rows and where the rest are ("" when it shows all)."""
    if shown >= total:
        return ""
    return f"Showing {shown} of {total} {what} ({why}); every one is in tables/{table}.csv."
