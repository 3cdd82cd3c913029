"""The Disciplines tab: one standard across disciplines? Effects at equal level and side-by-side pairs.

Discipline effects at equal level are read from the analysis (the seam); ratings by discipline are
those in view; seam pairs (same level, same rating, one from each side of the seam) put two people's
evidence counts side by side for the room to compare: every pair in view, each person in one pair
(`calib.analyses.seam`), the list scrolling inside itself when it is long.
"""

from __future__ import annotations

import altair as alt

from calib.apps.dashboard.filters import Filters, isin
from calib.apps.dashboard.html import Safe, evidence_counts, html_table
from calib.apps.dashboard.layout import WIDE, View, bolder, stack
from calib.apps.dashboard.sources import Sources
from calib.apps.dashboard.summaries import analysed_note, calibrated_distribution
from calib.outputs import charts


def disciplines(sources: Sources, filters: Filters) -> View:
    """One standard across disciplines? Effects at equal level, and side-by-side pairs."""
    labels = sources.labels(filters.blind)
    rows = sources.rows(filters)
    if rows.empty:
        return View('<p class="calib-note">No one matches these filters.</p>')
    present = set(rows["discipline"].dropna().astype(str))
    parts: list[alt.TopLevelMixin] = []
    seam = sources.memo(("seam", frozenset(present)), lambda: _seam_chart(sources, present))
    if seam is not None:
        parts.append(seam)
    parts.append(
        charts.distribution_chart(
            calibrated_distribution(rows, sources, by="discipline"),
            dimension="discipline",
            stage="calibrated",
            labels=sources.config.rating_labels,
            title="Ratings by discipline in view, after calibration",
        ).properties(width=WIDE, height=alt.Step(36))
    )
    pairs = sources.results.table("seam_pairs")
    ids = set(rows["employee_id"].astype(str).unique())
    body = analysed_note(sources, filters, "Discipline effects and seam pairs") + (
        "<h3>Seam pairs</h3><p>Same level, same rating, one from each side of the seam: compare their evidence.</p>"
    )
    if pairs.empty:
        body += '<p class="calib-note">No seam pairs in this analysis.</p>'
    else:
        mine = pairs[isin(pairs["employee_id"], ids) | isin(pairs["reference_employee_id"], ids)]
        table_rows = [
            [
                p["rating"],
                p["level"],
                f"{p['discipline']}: {labels.get(str(p['employee_id']), p['employee_id'])}",
                evidence_counts(p, ""),
                f"{p['reference_discipline']}: "
                f"{labels.get(str(p['reference_employee_id']), p['reference_employee_id'])}",
                evidence_counts(p, "reference_"),
            ]
            for p in mine.to_dict("records")
        ]
        headers = ["rating", "level", "person", "evidence D / R / I", "paired with", "evidence D / R / I"]
        body += (
            Safe(f'<p>{len(table_rows)} pairs.</p><div class="calib-scroll">{html_table(headers, table_rows)}</div>')
            if table_rows
            else '<p class="calib-note">No pairs in view.</p>'
        )
    return View(body, stack(*parts))


def _seam_chart(sources: Sources, present: set[str]) -> alt.TopLevelMixin | None:
    """Discipline effects at equal level (as analysed) for the disciplines in view."""
    effects = sources.results.table("discipline_effects")
    if effects.empty:
        return None
    shown = effects[effects["discipline"].astype(str).isin(present) | effects["reference"].astype(str).isin(present)]
    if shown.empty:
        return None
    shown = shown[["difference", "lower", "upper", "flagged"]].assign(
        label=shown["discipline"].astype(str) + " vs " + shown["reference"].astype(str)
    )
    return bolder(
        charts.interval_chart(
            shown,
            label="label",
            estimate="difference",
            lower="lower",
            upper="upper",
            flagged="flagged",
            axis_title="rating points vs the reference discipline, at equal level",
            title="Do disciplines get the same standard? Intervals crossing 0: no clear gap",
        )
    ).properties(width=WIDE - 250, height=alt.Step(44))
