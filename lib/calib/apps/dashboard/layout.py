"""How a tab is laid out for a projector: a `View`, and altair charts readable from the back of a room.

A `View` is HTML above the chart, the chart (or None) and HTML below it. Charts come in large type
and high contrast (`projector`), with points big enough to see (`bolder`), one above the other when
a tab has several (`stack`), and never more than `MAX_ROWS` managers or teams (`limit_rows`). The
page draws each part of a stack on its own, as wide as the page (`fit`: vega's container width,
so the same chart fills a 1920x1080 projector and fits a 1366x768 laptop, legend included; `WIDE`
is only the width a spec carries outside a page). A long chart of rows (managers, teams) shows
`PAGE_ROWS` at a time with its axis, the pages chosen with buttons under it (`paginate`, in the
browser: no round trip), on one x scale for every page so pages compare.
"""

from __future__ import annotations

from dataclasses import dataclass

import altair as alt
import pandas as pd

from calib.apps.dashboard.filters import ALL

WIDE = 1150  # chart width in pixels of a spec outside a page (the page draws charts as wide as itself)
MAX_ROWS = 50  # managers or teams in one chart or table; more would be illegible from the back
PAGE_ROWS = 16  # rows of a long chart on one page: with its title and axis, within a 768-pixel-high laptop
TITLE_LIMIT = 1000  # pixels: a longer title is cut with an ellipsis rather than widening the chart


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
        title={
            "fontSize": 25, "color": "#000", "anchor": "start", "limit": TITLE_LIMIT, "offset": 12,
            "subtitleFontSize": 19, "subtitleColor": "#000", "subtitleFontStyle": "italic",
        },  # fmt: skip
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


def fit(chart: alt.TopLevelMixin) -> list[alt.TopLevelMixin]:
    """The charts the page draws: each part of a stack on its own, as wide as its container.

    vega sizes a single or layered chart to its container (`width="container"`), not a concatenation,
    so a stack is split; each part keeps the stack's configuration.
    """
    if not isinstance(chart, alt.VConcatChart):
        return [chart.properties(width="container", autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))]
    lifted = list(chart.params) if chart.params is not alt.Undefined else []  # altair lifts a part's params
    out = []
    for part in chart.vconcat:
        drawn = part.properties(width="container", autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))
        drawn.config = chart.config
        spec = drawn.to_json(validate=False)
        mine = [p for p in lifted if f'"{p.name}' in spec or f" {p.name}" in spec]
        if mine:
            drawn.params = mine
        out.append(drawn)
    return out


def paginate(
    chart: alt.LayerChart, *, rows: int = PAGE_ROWS, name: str = "rows", start: str = ""
) -> alt.LayerChart:
    """A layered chart of many rows (y = a label) shown `rows` at a time, with radio buttons for the pages.

    Pages follow the y order; every page has the same x domain (the reference line included) and its
    axis on top, read before the rows (on a laptop the bottom of a page may sit below the window); the
    first page shown is the one with a label starting with `start` (e.g. the chosen manager), else
    the first. A chart with `rows` or fewer rows, or not layered, is returned as it is.
    """
    layers = list(getattr(chart, "layer", None) or [])
    drawn = [layer for layer in layers if _y_sort(layer) is not None]
    if not drawn:
        return chart
    data = drawn[0].data
    order = [label for label in _y_sort(drawn[0]) if label in set(data["label"])]
    pages = -(-len(order) // rows)
    if pages <= 1:
        return chart
    per_page = -(-len(order) // pages)  # balanced: 49 rows -> 13, 13, 13, 10
    page_of = {label: i // per_page for i, label in enumerate(order)}
    paged = data.assign(_page=data["label"].map(page_of))
    labels = [f"{p * per_page + 1}–{min((p + 1) * per_page, len(order))}" for p in range(pages)]
    first = next((page_of[label] for label in order if start and str(label).startswith(start)), 0)
    buttons = alt.binding_radio(options=list(range(pages)), labels=labels, name="Rows ")
    param = alt.param(name=f"{name}_page", value=first, bind=buttons)
    domain = _x_domain(layers, data)
    out = []
    for layer in layers:
        layer = layer.copy(deep=True, ignore=["data"])
        if layer.data is data:
            layer.data = paged
            layer = layer.transform_filter(f"datum._page == {param.name}")
        x = _channel(layer, "x")
        if domain is not None and x:
            layer.encoding.x = layer.encoding.x.scale(domain=domain, nice=True, zero=False)
            if x.get("axis", {}) is not None:  # the axis on top, beside the title: in view as soon as the chart is
                layer.encoding.x = layer.encoding.x.axis(orient="top")
        out.append(layer)
    kept = {k: getattr(chart, k) for k in ("title", "width", "height") if getattr(chart, k) is not alt.Undefined}
    return alt.layer(*out).add_params(param).properties(**kept)


def _channel(layer, name: str) -> dict:
    """An encoding channel of a layer as a dict ({} when the layer has none)."""
    encoding = getattr(layer, "encoding", alt.Undefined)
    channel = getattr(encoding, name, alt.Undefined) if encoding is not alt.Undefined else alt.Undefined
    return {} if channel is alt.Undefined else channel.to_dict(validate=False)


def _y_sort(layer) -> list | None:
    sort = _channel(layer, "y").get("sort")
    data = getattr(layer, "data", None)
    return sort if isinstance(sort, list) and isinstance(data, pd.DataFrame) and "label" in data.columns else None


def _x_domain(layers: list, data: pd.DataFrame) -> list[float] | None:
    """The x extent of every page: the fields the layers put on x and x2, and each reference line's value."""
    values: list[float] = []
    for layer in layers:
        frame = layer.data if isinstance(layer.data, pd.DataFrame) else data
        for name in ("x", "x2"):
            column = _channel(layer, name).get("field")
            if column in frame.columns:
                values += pd.to_numeric(frame[column], errors="coerce").dropna().tolist()
    return [min(values), max(values)] if values else None
