"""The cycle report's sections: pure functions from the analysis results to what the report shows.

Each builder takes a `ReportContext` (what `calib analyze` wrote, plus display labels) and returns
`Part`s: Markdown text with every data value escaped, an altair chart, or a small table. The
notebook (notebooks/cycle_report.ipynb) only calls them and displays the parts with `show`;
nothing here computes a statistic that the analyses did not already write.

Large orgs are aggregated before charting: a chart shows at most `ReportContext.max_rows`
managers or teams (every flagged one first, then the most extreme), and says so; the full tables
are in tables/.

Modules: `base` (Part, ReportContext, labels, formatting and row-picking helpers), `ratings`
(headline, rating distributions, manager effects, forced curve, cycle over cycle), `fairness`
(discipline seam, bias audit), `evidence` (evidence health, invisible work), `team_context`
(team delivery and SLO context), `changes` (the calibration session's header line and its
"Calibration changes" section, both empty without `--session`), `appendix` (the engine's header line, methods, lineage)
and `display` (show, table_html). Section modules import only `base`; this package lists the
sections in report order (SECTIONS: those every report has).
"""

from __future__ import annotations

from collections.abc import Callable

from calib.outputs.report.sections.appendix import engine_header, lineage, methods
from calib.outputs.report.sections.base import KIND_LABELS, SEVERITY_WORDS, Part, ReportContext
from calib.outputs.report.sections.changes import calibration_changes, session_header
from calib.outputs.report.sections.display import show, table_html
from calib.outputs.report.sections.evidence import evidence_health, invisible_work
from calib.outputs.report.sections.fairness import bias_audit, discipline_seam
from calib.outputs.report.sections.ratings import (
    cycle_over_cycle,
    forced_curve,
    headline,
    manager_effects,
    rating_distributions,
)
from calib.outputs.report.sections.team_context import team_context

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

__all__ = [
    "BUILDERS",
    "KIND_LABELS",
    "SECTIONS",
    "SEVERITY_WORDS",
    "Part",
    "ReportContext",
    "bias_audit",
    "calibration_changes",
    "cycle_over_cycle",
    "discipline_seam",
    "engine_header",
    "evidence_health",
    "forced_curve",
    "headline",
    "invisible_work",
    "lineage",
    "manager_effects",
    "methods",
    "rating_distributions",
    "session_header",
    "show",
    "table_html",
    "team_context",
]
