"""Showing parts: in a notebook at top level (`show`), and a small table as escaped HTML (`table_html`)."""

from __future__ import annotations

import pandas as pd

from calib.outputs.report.sections.base import Part


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
