"""Offline charts for the apps: altair's anywidget `JupyterChart` with its JavaScript bundled, cached on disk.

Used by the dashboard and the explorer: no page ever fetches vega from a CDN.
"""

from __future__ import annotations

from pathlib import Path

import altair as alt


def bundle_file(cache: str | Path) -> Path:
    """Where the offline bundle of this altair and vl-convert is cached in `cache`."""
    import vl_convert as vlc

    return Path(cache) / f"jupyterchart-altair-{alt.__version__}-vlc-{vlc.__version__}.js"


def enable_offline_charts(cache: str | Path = "") -> None:
    """`alt.JupyterChart.enable_offline()`, with the JavaScript bundle cached on disk.

    vl-convert builds the same bundle (vega, vega-lite, vega-embed: no CDN) in 2-3 s each time; the
    cache keeps that out of every kernel's start. It is keyed by the altair and vl-convert versions.
    """
    path = bundle_file(cache) if cache else None
    if not alt.JupyterChart._is_offline:
        if path is not None and path.is_file():
            alt.JupyterChart._esm = path.read_text(encoding="utf-8")  # what enable_offline() sets, from disk
            alt.JupyterChart._is_offline = True
            return
        alt.JupyterChart.enable_offline()
    if path is not None and not path.is_file():
        from calib.files import write_text_atomic

        try:
            write_text_atomic(path, str(alt.JupyterChart._esm))
        except OSError:
            pass  # a read-only cache only costs time
