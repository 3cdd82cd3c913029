"""The Calibrate tab's card: everything the room needs about the person at hand, on one screen (pure).

Who they are (level, discipline, team, manager); their rating as submitted, before this session
(the reviews' calibrated rating, else the submitted one) and now, with the version; why the queue
put them there; their evidence items of the cycle (date, category, title, link); their
expectations and status; a summary of their peer feedback (writers never shown); earlier
cycles; what the statistics say about them and their manager; the ratings of their peers (same
level and discipline) beside the organisation's, small groups suppressed; and every event of
the session about them, changes set back by an undo marked. In blind mode every name, id, handle
and e-mail, inside titles, links, comments, notes and reasons too, goes through the one redaction
layer (`calib.privacy`, via `Sources.redaction`); every string is escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from calib.apps.dashboard.filters import Filters
from calib.apps.dashboard.html import Safe, esc, findings_html, html_table, link
from calib.apps.dashboard.sources import Sources
from calib.privacy import suppression
from calib.sessions.events import TOGGLES, Event, when
from calib.sessions.state import active_changes

CARD_COLUMNS = ("cycle", "employee_id", "reviewer_id", "rating", "final_rating", "level", "discipline", "team", "org")
EVIDENCE_SHOWN = 12  # items on the card; the Person tab lists them all
COMMENTS_SHOWN = 3
CARD_CSS = """<style>
.calib-person .calib-card-grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(500px, 1fr));
  gap: 0 28px; align-items: start; }
.calib-person .calib-card-grid > section { min-width: 0; }
.calib-person-head h2 { margin: 0 0 2px; }
.calib-person-head p { margin: 2px 0; }
.calib-person table.calib-ratings { margin: 2px 0 4px; }
.calib-person table.calib-ratings td, .calib-person table.calib-ratings th { font-size: 22px; padding: 2px 16px; }
.calib-person table.calib-ratings th { white-space: nowrap; }
.calib-person table.calib-ratings td b { font-size: 26px; }
.calib-person .calib-why { border-left: 6px solid #000; padding: 0 12px; margin: 4px 0; }
.calib-person td { overflow-wrap: break-word; }
.calib-person .calib-bar { display: inline-block; height: 16px; background: #333; vertical-align: middle;
  margin-right: 8px; }
.calib-person .calib-undone { text-decoration: line-through; }
.calib-dashboard .calib-recorded { font-weight: 700; }
.calib-dashboard .calib-refused { font-weight: 700; color: #8a3300; }
</style>"""
WORDS = {
    "rating": "rating",
    "potential": "potential",
    "undo_rating": "undo (rating)",
    "undo_potential": "undo (potential)",
    "note": "note",
}


def person_card(
    sources: Sources,
    filters: Filters,
    table: pd.DataFrame,
    events: Sequence[Event],
    employee_id: str | None,
    *,
    locked: bool = False,
    why: str = "",
) -> tuple[str, str]:
    """HTML: the card of `employee_id` (see the module docstring), as its head (who, the ratings, why they
    are in the queue: shown above the decision controls) and its body (the rest, below them)."""
    if not employee_id:
        return '<p class="calib-note">No one in view is in this session: change the filters above.</p>', ""
    me = table[table["employee_id"].astype(str) == employee_id]
    if me.empty:
        return '<p class="calib-note">This person is not in the session.</p>', ""
    me = me.iloc[0]
    labels = sources.labels(filters.blind)
    text = sources.redaction(filters.blind)
    mine = sources.where("frame", "employee_id", employee_id)
    mine = mine[[c for c in CARD_COLUMNS if c in mine.columns]].sort_values("cycle")
    here = mine[mine["cycle"].astype(str) == str(sources.config.cycle)]
    row = here.iloc[0] if len(here) else pd.Series(dtype=object)
    manager = str(row.get("reviewer_id") or "")
    team, org = row.get("team"), row.get("org")
    who = [
        esc(v)
        for v in (row.get("level"), row.get("discipline"))
        if isinstance(v, str) or (v is not None and pd.notna(v))
    ]
    if isinstance(team, str):
        who.append(esc(f"team {team}") + (f" ({esc(org)})" if isinstance(org, str) else ""))
    if manager:
        who.append(Safe(f"rated by {esc(labels.get(manager, manager))}"))
    marks = [m for m, on in (("flagged for discussion", me["flagged"]), ("discussed ✓", me["discussed"])) if on]
    marks += ["session locked"] if locked else []
    head = (
        f'<h2>{esc(labels.get(employee_id, employee_id))}</h2><p>{" · ".join(who)}'
        + "".join(f" · <b>{esc(m)}</b>" for m in marks)
        + "</p>"
        + _ratings(me)
        + (f'<p class="calib-why">In the queue: {esc(why)}</p>' if why else "")
    )
    verdict = sources.results.findings
    if not verdict.empty:
        verdict = verdict[verdict["subject"].astype(str).isin([employee_id, manager])]
    sections = [
        ("Evidence this cycle", _evidence(sources, filters, employee_id, text)),
        ("What the statistics say (this person and their manager)", findings_html(verdict, text, filters.blind)),
        ("Expectations", _expectations(sources, employee_id)),
        ("Peer feedback (writers not shown)", _peers(sources, employee_id, text)),
        ("Their peers' ratings now, beside the organisation's", _peer_ratings(sources, row)),
        ("Earlier cycles", _earlier(sources, mine)),
        ("This person in the session", _history(events, employee_id, text)),
    ]
    body = "".join(f"<section><h3>{esc(title)}</h3>{html}</section>" for title, html in sections if html)
    return (
        f'{CARD_CSS}<div class="calib-person calib-person-head">{head}</div>',
        f'<div class="calib-person"><div class="calib-card-grid">{body}</div></div>',
    )


def _ratings(me: pd.Series) -> str:
    """Submitted, before this session, now (with the version) and the potential, as one small table."""
    now = f"<b>{esc(me['rating'])}</b> (version {int(me['version'])}" + (
        ", changed)" if bool(me["rating_changed"]) else ")"
    )
    headers = ["submitted", "before this session", "now"]
    cells: list[object] = [esc(me["submitted_rating"]), esc(me["start_rating"]), Safe(now)]
    if isinstance(me.get("potential"), str):
        headers.append("potential")
        cells.append(esc(me["potential"]) + (" (changed)" if bool(me["potential_changed"]) else ""))
    return html_table(headers, [[Safe(c) for c in cells]], cls="calib-ratings")


def _evidence(sources: Sources, filters: Filters, employee_id: str, text: Callable[[str], object]) -> str:
    if sources.table("evidence") is None:
        return '<p class="calib-note">No evidence input in this cycle.</p>'
    window = next(c for c in sources.config.cycles if c.id == str(sources.config.cycle))
    items = sources.where("evidence", "employee_id", employee_id)
    items = items[(items["date"] >= pd.Timestamp(window.start)) & (items["date"] <= pd.Timestamp(window.end))]
    items = items.sort_values("date", ascending=False)
    if items.empty:
        return '<p class="calib-note">No evidence logged this cycle.</p>'
    counts = items["category"].value_counts()
    summary = " · ".join(f"{c} {int(n)}" for c, n in counts.items())
    rows = [
        [
            pd.Timestamp(i["date"]).date().isoformat(),
            i.get("category"),
            link(str(text(str(i.get("title")))), i.get("url"), blind=filters.blind, redact=text),  # type: ignore[arg-type]
            i.get("criterion") if isinstance(i.get("criterion"), str) else "",
        ]
        for i in items.head(EVIDENCE_SHOWN).to_dict("records")
    ]
    more = len(items) - len(rows)
    note = f'<p class="calib-note">and {more} earlier: every item is on the Person tab.</p>' if more > 0 else ""
    return f"<p>{len(items)} items: {esc(summary)} (newest first)</p>" + html_table(
        ["date", "category", "item", "criterion"], rows
    ) + note


def _this_cycle(sources: Sources, name: str, column: str, employee_id: str) -> pd.DataFrame | None:
    """The person's rows of an optional input for the config's cycle (None: the cycle has no such input)."""
    if sources.table(name) is None:
        return None
    mine = sources.where(name, column, employee_id)
    return mine[mine["cycle"].astype(str) == _cycle(sources)]


def _expectations(sources: Sources, employee_id: str) -> str:
    mine = _this_cycle(sources, "expectations", "employee_id", employee_id)
    if mine is None:
        return ""
    if mine.empty:
        return '<p class="calib-note">None recorded for this cycle.</p>'
    return html_table(["expectation", "status"], [[r["expectation"], r["status"]] for r in mine.to_dict("records")])


def _peers(sources: Sources, employee_id: str, text: Callable[[str], object]) -> str:
    mine = _this_cycle(sources, "peer_feedback", "reviewee_id", employee_id)
    if mine is None:
        return ""
    if mine.empty:
        return '<p class="calib-note">None recorded for this cycle.</p>'
    low, high = sources.config.score_range
    summary = mine.groupby("relationship", sort=True)["score"].agg(["size", "mean"]).reset_index()
    rows = [
        [r["relationship"].replace("_", " "), int(r["size"]), f"{r['mean']:.1f}"] for r in summary.to_dict("records")
    ]
    comments = mine["comment"].dropna().astype(str).drop_duplicates().head(COMMENTS_SHOWN) if "comment" in mine else []
    quoted = "".join(f"<li>{esc(text(c))}</li>" for c in comments)
    return (
        f"<p>{len(mine)} responses, mean score {mine['score'].mean():.1f} on {low:g}–{high:g}</p>"
        + html_table(["relationship", "responses", "mean"], rows)
        + (f"<ul>{quoted}</ul>" if quoted else "")
    )


def _peer_ratings(sources: Sources, row: pd.Series) -> str:
    """Shares of each rating now among same-level, same-discipline peers and in the whole cycle.

    A group smaller than `min_group_size` is withheld (calib.privacy); the two are not a partition
    of anything, so no complementary suppression is needed.
    """
    level, discipline = row.get("level"), row.get("discipline")
    if not isinstance(level, str) or not isinstance(discipline, str):
        return ""
    labels = list(sources.config.rating_labels)
    everyone = Filters(cycle=_cycle(sources))
    groups = {
        f"peers ({level} {discipline})": sources.positions(replace(everyone, level=level, discipline=discipline)),
        "organisation": sources.positions(everyone),
    }
    everything = sources.frame["final_rating"].cat.codes.to_numpy()
    counts = {}
    for group, rows in groups.items():
        codes = everything[rows]
        counts[group] = np.bincount(codes[codes >= 0], minlength=len(labels))
    small = sources.config.min_group_size
    shown = {group: n for group, n in counts.items() if not suppression({group: int(n.sum())}, small)}

    def cell(group: str, index: int) -> object:
        if group not in shown:
            return "–"
        share = shown[group][index] / shown[group].sum()
        return Safe(f'<span class="calib-bar" style="width:{round(120 * share)}px"></span>{share:.0%}')

    headers = ["rating"] + [
        f"{g} (n={int(n.sum())})" if g in shown else f"{g} (fewer than {small}: not shown)" for g, n in counts.items()
    ]
    return html_table(headers, [[label, *(cell(g, i) for g in counts)] for i, label in enumerate(labels)])


def _earlier(sources: Sources, mine: pd.DataFrame) -> str:
    earlier = mine[mine["cycle"].astype(str) != _cycle(sources)]
    if earlier.empty:
        return '<p class="calib-note">No earlier cycle.</p>'
    rows = []
    for r in earlier.to_dict("records"):
        submitted = "" if str(r["rating"]) == str(r["final_rating"]) else f"submitted {r['rating']}"
        rows.append([r["cycle"], r["final_rating"], submitted])
    return html_table(["cycle", "after calibration", ""], rows)


def _history(events: Sequence[Event], employee_id: str, text: Callable[[str], object]) -> str:
    """Every event of the session about this person, newest first; changes an undo set back struck through."""
    mine = [e for e in events if e.employee_id == employee_id]
    if not mine:
        return '<p class="calib-note">Nothing recorded about this person yet.</p>'
    standing = {e.seq for e in active_changes(mine)}
    rows = []
    for e in reversed(mine):
        what = WORDS.get(e.kind, e.kind)
        if e.kind in TOGGLES:
            what = {"flag": "flagged", "discussed": "discussed"}[e.kind] + (" (off)" if e.to_value == "off" else "")
        values = " → ".join(str(v) for v in (e.from_value, e.to_value) if v) if e.kind not in TOGGLES else ""
        if e.kind in ("rating", "potential") and e.seq not in standing:
            values = Safe(f'<span class="calib-undone">{esc(values)}</span> (undone)')
        rows.append([when(e.at), text(e.author), what, values, text(e.reason)])
    return html_table(["when", "who", "what", "from → to", "why / note"], rows)


def _cycle(sources: Sources) -> str:
    return str(sources.config.cycle)
