"""Charts as wide as the page: an invisible anywidget that resizes vega charts when their container does.

vega sizes a chart drawn with `width="container"` (calib.apps.dashboard.layout.fit) when it is drawn
and on a window resize only, so a chart drawn before its widget is attached, or while its tab is
hidden, would stay 0 pixels wide. `ChartSizer` (static/fit.js: plain ES module, shipped in the
package) watches the chart containers and sends the window a resize event when one changes width.
One per page is enough; it draws nothing.
"""

from __future__ import annotations

from pathlib import Path

import anywidget

STATIC = Path(__file__).parent / "static"  # the dashboard's JavaScript and CSS (package data)


class ChartSizer(anywidget.AnyWidget):
    """Place it anywhere in the page: it resizes the dashboard's charts to their containers."""

    _esm = STATIC / "fit.js"
