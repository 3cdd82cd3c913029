"""How a tab is laid out for a projector: a `View`, and altair charts readable from the back of a room.

A `View` is HTML above the chart, the chart (or None) and HTML below it. Charts are `WIDE` enough
for a 1920x1080 screen with the legend beside them, in large type and high contrast (`projector`),
with points big enough to see (`bolder`), one above the other when a tab has several (`stack`), and
never more than `MAX_ROWS` managers or teams (`limit_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import pandas as pd

from calib.apps.dashboard.filters import ALL

WIDE = 1150  # chart width in pixels: a 1920x1080 projector with the legend beside it
MAX_ROWS = 50  # managers or teams in one chart or table; more would be illegible from the back


@dataclass
class View:
    """One tab's content: HTML above the chart, the chart (or None), HTML below it."""

    html: str
    chart: alt.TopLevelMixin | None = None
    intro: str = ""


def projector(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """Large type and high contrast for a room: read from the back at 1920x1080 (one configure call)."""
    return chart.configure(
        font="Helvetica, Arial, sans-serif",
        padding=8,
        axis={
            "labelFontSize": 19,
            "titleFontSize": 20,
            "labelColor": "#000",
            "titleColor": "#000",
            "labelLimit": 460,
            "domainColor": "#000",
            "tickColor": "#000",
            "gridColor": "#d0d0d0",
        },
        title={"fontSize": 25, "color": "#000", "anchor": "start", "limit": WIDE + 400, "offset": 12},
        legend={"labelFontSize": 19, "titleFontSize": 19, "symbolSize": 260, "labelLimit": 400, "labelColor": "#000"},
        text={"fontSize": 18, "color": "#000"},
        rule={"strokeWidth": 4},
        view={"strokeWidth": 0},
        concat={"spacing": 40},
    )


def bolder(chart: alt.TopLevelMixin, size: int = 220) -> alt.TopLevelMixin:
    """Points big enough to see from the back of a room (the charts module sizes them for a laptop)."""
    for layer in getattr(chart, "layer", None) or []:
        mark = layer.mark
        if isinstance(mark, alt.MarkDef) and mark.type in {"point", "circle"}:
            mark.size = size
            mark.strokeWidth = 3
    return chart


def stack(*parts: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """Charts one above the other, each with its own colours and legend, in projector style."""
    if len(parts) == 1:
        return projector(parts[0])
    return projector(alt.vconcat(*parts).resolve_scale(color="independent", shape="independent"))


def limit_rows(rows: pd.DataFrame, *, key: str, flag: str, size: str, keep: str = ALL) -> tuple[pd.DataFrame, str]:
    """At most MAX_ROWS rows: the kept one, every flagged one, then the largest |size|."""
    if len(rows) <= MAX_ROWS:
        return rows, ""
    priority = rows[key].astype(str).eq(keep).astype(int) * 2 + rows[flag].fillna(False).astype(bool).astype(int)
    order = rows.assign(_p=priority, _s=rows[size].abs()).sort_values(["_p", "_s"], ascending=False)
    note = (
        f"Showing {MAX_ROWS} of {len(rows):,}: every flagged one and the largest effects; "
        "narrow the filters to see the others."
    )
    return rows.loc[order.index[:MAX_ROWS]], note
