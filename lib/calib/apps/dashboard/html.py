"""The HTML the dashboard writes, every user-supplied string escaped, and the projector's stylesheet.

`Safe` marks text already escaped; `esc` escapes any value; `link` links only http(s) URLs (and in
blind mode none that names a person); `html_table` escapes each cell unless it is `Safe`. Also the
cell formats the tabs share, and findings as a list, most severe first, with a mark that does not
rely on colour (audit group labels hidden in blind mode), every one reachable. `PROJECTOR_CSS`
styles the page for a 1920x1080 projector and a 1366x768 laptop alike: type sized to the window,
black on white, nothing wider than the page.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from calib.privacy import HIDDEN, PROTECTED_FINDINGS

SEVERITY_MARK = {"alert": "▲ alert", "warning": "● warning", "info": "○ info"}  # shape + word, not colour alone

PROJECTOR_CSS = """
<style>
:root {
  --calib-font: clamp(17px, 1.15vw, 22px); --calib-small: clamp(16px, 1.1vw, 21px);
  --jp-widgets-font-size: var(--calib-font); --jp-widgets-inline-height: 44px; --jp-widgets-inline-width: 340px;
  --jp-widgets-inline-label-width: 130px; --jp-widgets-horizontal-tab-height: 52px;
  --jp-widgets-horizontal-tab-width: 230px; --jp-ui-font-size1: var(--calib-font);
  --jp-content-font-size1: var(--calib-font);
  --jp-ui-font-color1: #000; --jp-content-font-color1: #000; --jp-widgets-label-color: #000;
  --jp-widgets-input-color: #000; --jp-widgets-input-border-color: #333;
}
body, .jp-Notebook { background: #fff; color: #000; }
#rendered_cells, .jp-Cell { padding-left: 8px; padding-right: 8px; }
.jp-RenderedMarkdown h1 { font-size: 34px; margin: 4px 0; }
.calib-dashboard { font-size: var(--calib-font); line-height: 1.35; color: #000; max-width: 1880px; min-width: 0; }
.calib-dashboard .widget-label, .calib-dashboard select, .calib-dashboard button,
.calib-dashboard .widget-html-content { font-size: var(--calib-font); color: #000; }
.calib-dashboard .widget-html-content { line-height: 1.35; }
.calib-dashboard .lm-TabBar-tab { font-size: clamp(18px, 1.3vw, 24px); font-weight: 600; color: #000;
  line-height: 48px; min-width: 0; padding: 0 10px; }
.calib-dashboard .lm-TabBar-tab.lm-mod-current { border-top: 6px solid #0072B2; }
.calib-dashboard .calib-filters { flex-wrap: wrap; gap: 6px 18px; align-items: center; }
.calib-dashboard .calib-filters select { border: 2px solid #333; }
.calib-dashboard button.calib-blind { font-weight: 700; border: 3px solid #000; min-width: 240px; height: 44px; }
.calib-dashboard button.calib-blind.mod-active { background: #000; color: #fff; }
.calib-dashboard h2 { font-size: 1.36em; margin: 14px 0 6px; }
.calib-dashboard h3 { font-size: 1.14em; margin: 16px 0 4px; }
.calib-dashboard p { margin: 6px 0; }
.calib-dashboard .calib-header { font-size: 1.18em; font-weight: 600; }
.calib-dashboard .calib-note { color: #222; font-style: italic; }
.calib-dashboard .widget-box, .calib-dashboard .widget-html, .calib-dashboard .widget-html-content { min-width: 0; }
.calib-dashboard .widget-html-content { overflow-wrap: anywhere; }
.calib-dashboard table { border-collapse: collapse; margin: 6px 0 12px; max-width: 100%; }
.calib-dashboard th, .calib-dashboard td { padding: 5px 12px; border-bottom: 1px solid #777; text-align: left;
  vertical-align: top; font-size: var(--calib-small); overflow-wrap: normal; }
.calib-dashboard th { border-bottom: 3px solid #000; }
.calib-dashboard td:first-child { white-space: nowrap; }  /* dates and names never break mid-word */
.calib-dashboard .calib-nowrap { white-space: nowrap; }  /* "▲ mismatch", "36 days": one piece */
.calib-dashboard .calib-scroll { max-height: 70vh; overflow-y: auto; overflow-x: hidden; }
.calib-dashboard .calib-scroll thead th { position: sticky; top: 0; background: #fff; }
.calib-dashboard a { color: #004f80; text-decoration: underline; }
.calib-dashboard .calib-cards { display: flex; gap: 24px; flex-wrap: wrap; margin: 8px 0; }
.calib-dashboard .calib-card { border: 3px solid #000; padding: 8px 18px; min-width: 200px; }
.calib-dashboard .calib-card b { display: block; font-size: 1.8em; }
.calib-dashboard .calib-alert { color: #8a3300; font-weight: 700; }
.calib-dashboard .calib-warning { color: #6b4a00; font-weight: 700; }
.calib-dashboard .calib-info { color: #003e66; }
.calib-dashboard .calib-findings li { margin: 6px 0; }
.calib-dashboard details.calib-more > summary { cursor: pointer; font-weight: 600; margin: 6px 0; }
.calib-dashboard .calib-charts { min-width: 0; }
.calib-dashboard .calib-charts .vega-embed { width: 100%; display: block; }
.calib-dashboard .calib-charts .vega-embed details, .calib-dashboard .calib-charts .vega-embed summary {
  position: relative; }
.calib-dashboard .vega-bindings { font-size: var(--calib-font); margin: 4px 0 12px 8px; }
.calib-dashboard .vega-bindings label { margin-right: 14px; }
.calib-dashboard .vega-bindings input[type=radio] { width: 20px; height: 20px; vertical-align: middle; }
.calib-error { border: 4px solid #D55E00; background: #fff4ea; padding: 12px 18px; font-size: 22px; color: #000; }
</style>
"""


class Safe(str):
    """HTML already escaped (built here from escaped parts)."""


def esc(value: object) -> Safe:
    """Escape any value for HTML text or an attribute."""
    return Safe(html.escape(str(value), quote=True))


def link(text: object, url: object, *, blind: bool = False, redact: Callable[[str], str] = str) -> Safe:
    """A link only for http(s) URLs; anything else is shown as plain text.

    In blind mode a URL that names a person (its redaction differs) is not linked at all.
    """
    target = str(url).strip() if isinstance(url, str) else ""
    if blind and target and redact(target) != target:
        return esc(text)
    if re.match(r"(?i)^https?://", target):
        return Safe(f'<a href="{esc(target)}" target="_blank" rel="noopener noreferrer">{esc(text)}</a>')
    return esc(text)


def _cell(value: object, digits: int = 2) -> Safe:
    if isinstance(value, Safe):
        return value
    if value is None or (isinstance(value, float) and not np.isfinite(value)) or value is pd.NA:
        return Safe("–")
    if isinstance(value, float | np.floating):
        return esc(f"{value:.{digits}f}")
    return esc(value)


def html_table(headers: list[str], rows: list[list[object]], *, cls: str = "") -> Safe:
    """A table; cells are escaped unless `Safe`."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return Safe(f'<table class="{esc(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>')


def pct(value: float) -> str:
    """A share as a whole percentage, or a dash when there is none."""
    return "–" if value is None or not np.isfinite(value) else f"{value:.0%}"


def integer(value: object) -> object:
    """A count as an int, or a dash when it is missing."""
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "–"


def evidence_counts(row: Mapping, prefix: str) -> str:
    """Delivery / reliability / influence evidence counts of a row (`prefix`: e.g. "reference_" in a seam pair)."""
    return " / ".join(
        str(integer(row.get(f"{prefix}evidence_{c}_n"))) for c in ("delivery", "reliability", "influence")
    )


def people_in(rows: pd.DataFrame) -> str:
    """How many people `rows` hold, in words ("1 person", "1,204 people")."""
    return f"{len(rows):,} {'person' if len(rows) == 1 else 'people'}"


def finding_text(finding: Mapping, text: Callable[[str], object], blind: bool) -> str:
    """A finding's explanation as the surface shows it (`text`: a `calib.privacy.Redaction`);
    audit group labels hidden in blind mode."""
    if blind and finding["kind"] in PROTECTED_FINDINGS:
        attribute = str(finding["subject"]).split("=")[0]
        return f"A gap in outcomes by {attribute} (group labels {HIDDEN}; see the Audit tab)."
    return str(text(str(finding["explanation"])))


def findings_html(findings: pd.DataFrame, text: Callable[[str], object], blind: bool, *, limit: int = 8) -> Safe:
    """A list of findings, most severe first, with a mark that does not rely on colour.

    The first `limit` are listed; the rest sit in a section that opens ("4 more: 2 warnings, 2 info"),
    so every finding counted anywhere is one click away.
    """
    if findings.empty:
        return Safe('<p class="calib-note">No findings about this selection.</p>')

    def items(rows: pd.DataFrame) -> str:
        return "".join(
            f'<li><span class="calib-{esc(f["severity"])}">{esc(SEVERITY_MARK.get(f["severity"], f["severity"]))}'
            f"</span> {esc(finding_text(f, text, blind))}</li>"
            for f in rows.to_dict("records")
        )

    rest = findings.iloc[limit:]
    tail = ""
    if len(rest):
        counts = rest["severity"].value_counts()
        kinds = ", ".join(
            f"{counts[s]} {s}{'s' if counts[s] != 1 and s != 'info' else ''}" for s in SEVERITY_MARK if s in counts
        )
        tail = (
            f'<details class="calib-more"><summary>{len(rest)} more: {esc(kinds)}</summary>'
            f'<ul class="calib-findings">{items(rest)}</ul></details>'
        )
    return Safe(f'<ul class="calib-findings">{items(findings.head(limit))}</ul>{tail}')


def deploys(days_per_week: object) -> str:
    """Deployment days per week as people say it: "every day", "3 days a week", "less than weekly"."""
    try:
        days = float(days_per_week)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "–"
    if pd.isna(days):
        return "–"
    if days >= 5:
        return "every day"
    if days >= 1:
        return f"{days:g} day{'s' if days != 1 else ''} a week"
    return "less than weekly"


def duration(hours: object) -> str:
    """A duration as people say it: "25 min", "3.2 h", "4.5 days", "36 days" (a dash when missing)."""
    try:
        value = float(hours)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "–"
    if not np.isfinite(value):
        return "–"
    if value < 1:
        return f"{value * 60:.0f} min"
    if value < 48:
        return f"{value:.1f} h"
    days = value / 24
    return f"{days:.1f} days" if days < 10 else f"{days:,.0f} days"
