"""The explorer's pages as HTML: every value from the inputs escaped, numbers in human units.

Built with the dashboard's escaping helpers (calib.apps.dashboard.html: `esc`, `link`,
`html_table`), so a name is always text, never markup; only http(s) addresses become links.
Tables have no index column; shares read "99.83%", durations "3.2 h" or "2.1 days", dates
YYYY-MM-DD. `EXPLORER_CSS` adds to the dashboard's stylesheet what a laptop screen needs.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from calib.apps.dashboard.html import Safe, esc, html_table, link
from calib.apps.explorer.model import (
    LEVELS,
    LIGHT_MARK,
    TREND_DORA,
    TREND_SLO,
    UNTAGGED,
    Explorer,
    Pairing,
    team_coverage,
    team_expectations,
    team_peers,
    team_people,
    team_ratings,
    team_trend,
    teams_of,
)
from calib.outputs.alignment.render import LIGHT_MIN_EXAMPLES

LIGHT = "▲ light"  # a shape and a word: never colour alone
NOTE = '<p class="calib-note">{}</p>'

# The dashboard's projector styles apply (the page's root has the class calib-dashboard); on a
# laptop-sized window the type steps down so a table still fits without scrolling sideways.
EXPLORER_CSS = """
<style>
.calib-explorer .calib-light { color: #8a3300; font-weight: 700; white-space: nowrap; }
.calib-explorer .calib-ok { color: #003e66; white-space: nowrap; }
.calib-explorer ul.calib-steps { margin: 0; padding-left: 22px; }
.calib-explorer .calib-level-text { max-width: 760px; }
.calib-explorer .calib-doc-row { align-items: center; gap: 12px; flex-wrap: wrap; }
.calib-explorer .calib-side { display: flex; flex-wrap: wrap; gap: 0 56px; align-items: flex-start; }
.calib-explorer td:first-child { white-space: nowrap; }
.calib-explorer .calib-doc-row input { font-size: inherit; }
.calib-explorer button.calib-download { font-weight: 700; border: 3px solid #000; height: 44px; padding: 0 18px; }
.calib-explorer button.calib-download { width: auto; margin-right: 12px; }
.calib-explorer .calib-done { color: #00512e; font-weight: 700; }
.calib-explorer .calib-failed { color: #8a3300; font-weight: 700; }
@media (max-width: 1500px) {
  :root { --jp-widgets-font-size: 16px; --jp-widgets-inline-height: 34px; --jp-ui-font-size1: 16px;
    --jp-content-font-size1: 16px; --jp-widgets-horizontal-tab-height: 42px; }
  .calib-dashboard { font-size: 16px; }
  .calib-dashboard .widget-label, .calib-dashboard select, .calib-dashboard button,
  .calib-dashboard input, .calib-dashboard .widget-html-content { font-size: 16px; }
  .calib-dashboard .lm-TabBar-tab { font-size: 18px; line-height: 38px; }
  .calib-dashboard h2 { font-size: 24px; } .calib-dashboard h3 { font-size: 20px; }
  .calib-dashboard .calib-header { font-size: 20px; }
  .calib-dashboard th, .calib-dashboard td { font-size: 15px; padding: 4px 9px; }
  .calib-explorer button.calib-download { height: 36px; }
}
</style>
"""


# -- formats ---------------------------------------------------------------------------------------


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def percent(value: object, digits: int = 2) -> str:
    """A share as a percentage: 0.998254 -> "99.83%"; a dash when missing."""
    return "–" if _missing(value) else f"{float(value) * 100:.{digits}f}%"  # type: ignore[arg-type]


def duration(hours: object) -> str:
    """Hours in human units: "45 min", "3.2 h", "2.1 days"; a dash when missing."""
    if _missing(hours):
        return "–"
    value = float(hours)  # type: ignore[arg-type]
    if value < 1:
        return f"{value * 60:.0f} min"
    return f"{value:.1f} h" if value < 48 else f"{value / 24:.1f} days"


def day(value: object) -> str:
    """A date as YYYY-MM-DD; a dash when missing."""
    return "–" if _missing(value) else pd.Timestamp(value).date().isoformat()  # type: ignore[arg-type]


def count(value: object) -> str:
    """A count as a whole number; a dash when missing."""
    return "–" if _missing(value) else f"{int(value):,}"  # type: ignore[call-overload]


# -- the pairing view --------------------------------------------------------------------------------


def header_html(explorer: Explorer, window, as_of: dt.date) -> Safe:
    """The page's header line: whose people, how many, the cycle and the date it stands at."""
    people = team_people(explorer)
    state = f"mid-cycle, as of {as_of}" if as_of < window.end else f"ended {window.end}"
    who = f"{esc(explorer.manager)}'s people ({len(people)})"
    return Safe(f"{who} · {esc(window.id)}, {esc(state)}{session_note(explorer)}")


def session_note(explorer: Explorer) -> str:
    """Which calibration session's ratings are after calibration, its status and when it was read ("" without)."""
    s = explorer.session
    if not s:
        return ""
    state = "locked: final" if s.get("status") == "locked" else "open: its ratings may still change"
    return (
        f" · after calibration = session {esc(s.get('name'))} ({esc(state)}; {int(s.get('events') or 0)} events, "
        f"read {esc(s.get('read_at'))})"
    )


def pairing_intro(view: Pairing) -> Safe:
    """Who, and where the cycle stands, above the timeline."""
    role = f" · {esc(view.role)}" if view.role else ""
    manager = f" · reports to {esc(view.manager)}" if view.manager else ""
    state = f"mid-cycle, as of {view.as_of}" if view.mid_cycle else f"the whole cycle, to {view.as_of}"
    return Safe(
        f'<h2>{esc(view.name)} <span class="calib-note">({esc(view.employee_id)})</span></h2>'
        f"<p>{esc(view.level)}{role} · team {esc(view.team)}{manager}</p>"
        f"<p><b>{esc(view.window.id)}</b> ({view.window.start} to {view.window.end}), {esc(state)}: "
        f"{len(view.evidence)} examples logged, <b>{len(view.recent)} since the last pairing</b> ({view.since}).</p>"
    )


def pairing_body(view: Pairing) -> Safe:
    """Light criteria, where to look since the last pairing, the new examples, expectations."""
    parts = [_criteria_html(view), _work_html(view), _recent_html(view), _expectations_html(view)]
    if view.context:
        rows = [[name.replace("_", " "), f"{value:g}"] for name, value in view.context]
        parts.append(
            "<h3>Telemetry (context only, never a score)</h3>"
            + html_table(["metric", "value"], rows, cls="calib-narrow")
        )
    return Safe("".join(parts))


def _criteria_html(view: Pairing) -> str:
    coverage = view.coverage
    framed = coverage[coverage["criterion"] != UNTAGGED]
    light = list(framed.loc[framed["mark"] == LIGHT_MARK, "criterion"])
    lead = (
        f"Light so far (fewer than {LIGHT_MIN_EXAMPLES} examples this cycle): <b>{esc(', '.join(light))}</b>. "
        "Look for examples of these first."
        if light
        else f"Every criterion has at least {LIGHT_MIN_EXAMPLES} examples this cycle."
    )
    rows = []
    for r in coverage.to_dict("records"):
        mark = (
            Safe(f'<span class="calib-light">{LIGHT}</span>') if r["mark"] else Safe('<span class="calib-ok">ok</span>')
        )
        rows.append(
            [
                r["criterion"],
                r["examples"],
                r["since_pairing"],
                "" if r["criterion"] == UNTAGGED else mark,
                Safe(f'<div class="calib-level-text">{esc(r["at_level"])}</div>') if r["at_level"] else "",
            ]
        )
    headers = ["criterion", "examples this cycle", "since the last pairing", "so far", f"meeting it at {view.level}"]
    return (
        "<h3>Criteria: which are light on examples</h3>"
        + NOTE.format(lead)
        + html_table(headers, rows, cls="calib-criteria")
    )


def _work_html(view: Pairing) -> str:
    head = f"<h3>Where to look: finding your work since {view.since}</h3>"
    if not view.work:
        return head + NOTE.format("No work queries in the cycle config (work_queries).")
    items = "".join(
        f"<li>{link(w.label, w.url)}</li>" if w.url else f"<li>{esc(w.label)}: {esc(w.note)}</li>" for w in view.work
    )
    return head + f"<ul>{items}</ul>"


def _recent_html(view: Pairing) -> str:
    head = f"<h3>Examples logged since the last pairing ({view.since})</h3>"
    if view.recent.empty:
        return head + NOTE.format("None yet: the links above are where to look.")
    rows = [
        [
            day(r["date"]),
            r.get("category"),
            r["criterion"] if isinstance(r.get("criterion"), str) and r["criterion"].strip() else "–",
            link(r.get("title"), r.get("url")),
        ]
        for r in view.recent.to_dict("records")
    ]
    return head + html_table(["date", "category", "criterion", "example"], rows)


def _expectations_html(view: Pairing) -> str:
    head = f"<h3>Expectations for {esc(view.window.id)}: key steps and status</h3>"
    if view.expectations is None:
        return head + NOTE.format("No expectations input in this cycle.")
    if view.expectations.empty:
        return head + NOTE.format("No expectations recorded for this person in this cycle.")
    rows = []
    for r in view.expectations.to_dict("records"):
        steps = "".join(f"<li>{esc(s)}</li>" for s in r["key_steps"])
        rows.append([r["expectation"], Safe(f'<ul class="calib-steps">{steps}</ul>') if steps else "–", r["status"]])
    return head + html_table(["expectation", "key steps", "status"], rows)


# -- the team view -------------------------------------------------------------------------------------


def team_html(explorer: Explorer, cycle: str | None = None) -> Safe:
    """The team view: coverage, expectations, peer feedback, ratings, then each team's delivery and SLOs."""
    shown = cycle or explorer.normalized.data.config.cycle
    parts = [f"<h2>{esc(explorer.manager)}'s people in {esc(shown)}</h2>"]
    coverage = team_coverage(explorer, cycle)
    fixed = {"employee_id", "name", "delivery", "reliability", "influence", "total", UNTAGGED}
    criteria = [c for c in coverage.columns if c not in fixed]
    rows = []
    for r in coverage.to_dict("records"):
        cells: list[object] = [_who(r), r["delivery"], r["reliability"], r["influence"]]
        for criterion in criteria:
            value = int(r[criterion])
            cells.append(
                Safe(f'<span class="calib-light">{value} {LIGHT}</span>') if value < LIGHT_MIN_EXAMPLES else value
            )
        cells += [r[UNTAGGED], r["total"]]
        rows.append(cells)
    parts.append(
        "<h3>Evidence this cycle, by category and criterion</h3>"
        + NOTE.format(f"{LIGHT}: fewer than {LIGHT_MIN_EXAMPLES} examples of the criterion so far.")
        + html_table(["person", "delivery", "reliability", "influence", *criteria, "untagged", "total"], rows)
    )
    side = []
    for title, table in (
        ("Expectations, by status", team_expectations(explorer, cycle)),
        ("Peer feedback received, by relationship (counts; writers not shown)", team_peers(explorer, cycle)),
    ):
        if table is not None:
            columns = [c for c in table.columns if c not in ("employee_id", "name")]
            body = [[_who(r), *(r[c] for c in columns)] for r in table.to_dict("records")]
            headers = ["person", *(c.replace("_", " ") for c in columns)]
            side.append(f"<div><h3>{esc(title)}</h3>{html_table(headers, body)}</div>")
    parts.append(f'<div class="calib-side">{"".join(side)}</div>')
    ratings = team_ratings(explorer)
    cycles = [c.id for c in explorer.normalized.data.config.cycles]
    parts.append(
        "<h3>Ratings by cycle (after calibration"
        + (f"; {esc(explorer.session['cycle'])}: session {esc(explorer.session['name'])}" if explorer.session else "")
        + ")</h3>"
        + html_table(
            ["person", "level", *cycles],
            [[_who(r), r["level"], *(r[c] for c in cycles)] for r in ratings.to_dict("records")],
        )
    )
    parts.append(
        "<h3>Team delivery and SLOs: the team's results, context for everyone on it, never a personal score</h3>"
    )
    for team in teams_of(explorer):
        parts.append(f"<p><b>{esc(team)}</b></p>" + trend_html(team_trend(explorer.normalized, team)))
    return Safe("".join(parts))


def _who(row: dict) -> Safe:
    return Safe(f'{esc(row["name"])} <span class="calib-note">({esc(row["employee_id"])})</span>')


def trend_html(trend: pd.DataFrame) -> Safe:
    """One team's trend, a row per cycle, in human units; levels beside the values they grade."""
    formats = {
        "deploy_days_per_week": lambda v: "–" if _missing(v) else f"{float(v):g}",
        "lead_time_hours": duration,
        "change_failure_rate": lambda v: percent(v, 1),
        "time_to_restore_hours": duration,
        "slo_attainment": percent,
        "slo_budget_consumed": lambda v: percent(v, 0),
    }
    columns = [(c, label) for c, label in TREND_DORA + TREND_SLO if c in trend.columns and c != "slo_windows"]
    rows = []
    for r in trend.to_dict("records"):
        cells: list[object] = [r["cycle"]]
        for column, _ in columns:
            value = r[column]
            if column == "slo_met_share":
                windows = r.get("slo_windows")
                cells.append(
                    "–"
                    if _missing(value)
                    else f"{round(float(value) * float(windows))} of {int(windows)} ({percent(value, 0)})"
                    if not _missing(windows)
                    else percent(value, 0)
                )
                continue
            shown = formats[column](value) if column in formats else ("no data" if _missing(value) else str(value))
            level = r.get(LEVELS.get(column, ""), None)
            cells.append(f"{shown} ({level})" if isinstance(level, str) and not _missing(value) else shown)
        rows.append(cells)
    return html_table(["cycle", *(label for _, label in columns)], rows)
