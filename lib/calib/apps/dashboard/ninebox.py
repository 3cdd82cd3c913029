"""The 9-box tab: performance (the session's current rating) by potential, as the room has it now (pure).

**Performance groups** map the rating scale to low / mid / high by position: the middle label
(the middle two on an even scale) is "mid", the labels below it "low", above it "high". On the
five-point scale Does not meet, Partially meets | Meets | Exceeds, Far exceeds. **Potential** is
the session's potential on `sessions.potential_scale` (low, medium, high by default; a longer scale
is cut in thirds by position the same way). People without a potential are counted beside the grid.
A box with fewer people than `min_group_size` is marked "small": read it as a handful of
individuals, not a pattern. The grid is a conversation aid: it never recommends a box.
"""

from __future__ import annotations

import pandas as pd

from calib.apps.dashboard.filters import Filters
from calib.apps.dashboard.html import esc
from calib.apps.dashboard.layout import View
from calib.apps.dashboard.sources import Sources

GROUPS = ("low", "mid", "high")
POTENTIAL_ROWS = ("high", "medium", "low")  # top row first, as 9-boxes are drawn
SHOWN_PER_BOX = 12
NINEBOX_CSS = """<style>
.calib-ninebox { display: grid; grid-template-columns: 150px repeat(3, 1fr); gap: 6px; max-width: 1600px; }
.calib-ninebox .calib-box { border: 2px solid #000; padding: 8px 12px; min-height: 120px; background: #fff; }
.calib-ninebox .calib-box.calib-small { border-style: dashed; }
.calib-ninebox .calib-axis { font-weight: 700; align-self: center; }
.calib-ninebox .calib-box b { font-size: 28px; margin-right: 8px; }
</style>"""


def performance_groups(labels: list[str]) -> dict[str, str]:
    """Rating label -> low / mid / high, by position on the scale (see module docstring)."""
    n = len(labels)
    middle = {n // 2} if n % 2 else {n // 2 - 1, n // 2}
    return {label: "mid" if i in middle else ("low" if i < min(middle) else "high") for i, label in enumerate(labels)}


def potential_groups(scale: list[str]) -> dict[str, str]:
    """Potential label -> low / medium / high: thirds of the scale by position."""
    n = len(scale)
    return {label: POTENTIAL_ROWS[::-1][min(2, i * 3 // n)] for i, label in enumerate(scale)}


def ninebox_table(sources: Sources, filters: Filters, table: pd.DataFrame) -> pd.DataFrame:
    """One row per person in view and in the session: employee_id, label, performance, potential."""
    rows = sources.rows(filters)
    people = table[table["employee_id"].astype(str).isin(set(rows["employee_id"].astype(str)))]
    labels = sources.labels(filters.blind)
    perf = performance_groups(list(sources.config.rating_labels))
    scale = list(getattr(getattr(sources.config, "sessions", None), "potential_scale", ["low", "medium", "high"]))
    pot = potential_groups(scale)
    return pd.DataFrame(
        {
            "employee_id": people["employee_id"].astype(str),
            "label": people["employee_id"].astype(str).map(lambda i: labels.get(i, i)),
            "performance": people["rating"].astype(str).map(perf),
            "potential": people["potential"].map(lambda v: pot.get(str(v)) if isinstance(v, str) else None),
        }
    ).sort_values("label", ignore_index=True)


def ninebox(sources: Sources, filters: Filters, table: pd.DataFrame) -> View:
    """The grid: counts per box, the people in it (names or pseudonyms), small boxes marked."""
    boxes = ninebox_table(sources, filters, table)
    if boxes.empty:
        return View('<p class="calib-note">No one in view is in this session.</p>')
    if boxes["potential"].isna().all():
        return View('<p class="calib-note">The reviews carry no potential: there is no 9-box to draw.</p>')
    small = sources.config.min_group_size
    cells = ["<div></div>"] + [f'<div class="calib-axis">performance: {g}</div>' for g in GROUPS]
    for potential in POTENTIAL_ROWS:
        cells.append(f'<div class="calib-axis">potential: {potential}</div>')
        for group in GROUPS:
            inside = boxes[(boxes["performance"] == group) & (boxes["potential"] == potential)]
            names = ", ".join(esc(label) for label in inside["label"].head(SHOWN_PER_BOX))
            more = f" and {len(inside) - SHOWN_PER_BOX} more" if len(inside) > SHOWN_PER_BOX else ""
            is_small = 0 < len(inside) < small
            cls = "calib-box calib-small" if is_small else "calib-box"
            mark = ' <span class="calib-note">(small: fewer than the minimum group size)</span>' if is_small else ""
            cells.append(f'<div class="{cls}"><b>{len(inside)}</b>{mark}<br>{names}{esc(more)}</div>')
    missing = int(boxes["potential"].isna().sum())
    note = f'<p class="calib-note">{missing} people in view have no potential recorded.</p>' if missing else ""
    intro = (
        "<p>Performance is the session's current rating, grouped low / mid / high by position on the scale; "
        "potential as recorded. Move someone with the controls above: it is a change like any other, with a "
        "reason.</p>"
    )
    return View(NINEBOX_CSS + f'<div class="calib-ninebox">{"".join(cells)}</div>{note}', None, intro=intro)
