"""The calibration session behind the report: the header line, and the "Calibration changes" section.

Both read `ReportContext.session` (session.json, written by `calib report --session`: ids,
pseudonyms in blind mode) and show nothing without a session, so a report without one is as
before. Every value, reasons included, is Markdown-escaped (`md`): a reason is shown as text,
never as markup or a link.
"""

from __future__ import annotations

import pandas as pd

from calib.outputs.report.sections.base import Part, ReportContext, bullets, md, pct

HEADING = "Calibration changes"
MAX_CHANGES = 500  # events listed in the section; every one is in session.json and `calib session log`
CHANGES = ("rating", "potential", "undo_rating", "undo_potential")  # events with a from → to
WHAT = {  # event kind -> how the list names it
    "open": "opened the session",
    "rating": "rating",
    "potential": "potential",
    "undo_rating": "undid a rating change",
    "undo_potential": "undid a potential change",
    "note": "note",
    "lock": "locked the session",
}


def session_header(ctx: ReportContext) -> list[Part]:
    """Which session the after-calibration ratings come from: name, status, store, whether its log checks out."""
    s = ctx.session
    if not s:
        return []
    text = (
        f"**After calibration = calibration session {md(s['name'])}** (cycle {md(s['cycle'])}, scope "
        f"{md(s['scope'])}), **{md(s['status'])}**, stored in {md(s['store'])}; {int(s['events'])} events in its "
        f"log, head hash {_code(s['head_hash'])}."
    )
    if s["status"] == "locked":
        text += f" Locked by {md(ctx.text(s.get('locked_by')))} at {md(s.get('locked_when'))}."
    else:
        text += " The session is still open: its ratings can change; lock it before this report is final."
    if s.get("verified"):
        text += " Its hash chain checks out."
    else:
        text += (
            f"\n\n**Its log failed verification**: {md(ctx.text(s.get('verify_problem')))}. The ratings are shown "
            "as stored; run `calib session verify` and settle that before relying on them."
        )
    return [Part(text)]


def calibration_changes(ctx: ReportContext) -> list[Part]:
    """What the session changed: counts, a from -> to matrix, by manager and discipline, evidence, every change."""
    s = ctx.session
    if not s:
        return []
    parts = [Part(f"## {HEADING}\n\n" + _summary(s)), _matrix(s)]
    managers = [r for r in s["by_manager"] if r["changed"] or r["changes"]]
    if managers:
        shown = managers[: ctx.max_rows]
        more = (
            f" Showing the {len(shown)} with the most changes of {len(managers)}; every one is in session.json."
            if len(shown) < len(managers)
            else ""
        )
        parts.append(
            Part(
                "**By manager** (who submitted the rating; managers not listed changed no one)." + more,
                table=_groups(shown, "manager", lambda v: ctx.label(v)),
            )
        )
    if s["by_discipline"]:
        parts.append(Part("**By discipline.**", table=_groups(s["by_discipline"], "discipline", str)))
    evidence = s["evidence"]
    share = f" ({pct(evidence['share'])})" if evidence["share"] is not None else ""
    parts.append(
        Part(
            f"**Reasons citing evidence**: {int(evidence['citing'])} of {int(evidence['changes'])} rating "
            f"changes{share} (undos not counted).\n\n*Definition.* {md(evidence['definition'])}"
        )
    )
    log = s.get("log", s["changes"])
    lines = [_event_line(ctx, e) for e in log]
    counts = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in s.get("event_kinds", {}).items())
    parts.append(
        Part(
            f"**Every event of the session** ({counts}), in the order recorded (reasons and notes as written, "
            "shown as text):\n\n"
            + (bullets(lines, MAX_CHANGES, "(all in session.json and `calib session log`)") if lines else "none")
        )
    )
    return parts


def _summary(s: dict) -> str:
    text = (
        f"Calibration session {md(s['name'])} ({md(s['status'])}) recorded **{int(s['rating_changes'])} rating "
        f"change(s)**, which moved **{int(s['people_changed'])} of the {int(s['people_in_scope'])} people** in its "
        f"scope ({int(s['raised'])} raised, {int(s['lowered'])} lowered)"
    )
    if s["changed_back"]:
        text += f"; {int(s['changed_back'])} were changed and changed back"
    text += "."
    if s["potential_changes"]:
        text += f" Its log also holds {int(s['potential_changes'])} potential change(s); the analyses use ratings only."
    if s.get("undos"):
        text += f" {int(s['undos'])} undo(s) set earlier changes back; they are in the list below."
    text += (
        "\n\nAfter calibration, everywhere in this report, means the session's rating for the people in its scope: "
        "the rating before this session (the reviews' calibrated rating, else the submitted one) unless the session "
        "changed it. Everyone else keeps the reviews' calibrated rating."
    )
    if s["input_calibrated_replaced"]:
        text += (
            f" For {int(s['input_calibrated_replaced'])} people in scope the session's rating replaces the reviews' "
            "calibrated rating, as `calib session export` writes it back."
        )
    if s["changes_outside_report"]:
        text += f" {int(s['changes_outside_report'])} change(s) concern people outside this report's org: not counted."
    return text


def _matrix(s: dict) -> Part:
    labels = s["labels"]
    table = pd.DataFrame(s["matrix"], columns=labels)
    table.insert(0, "before \\ after", labels)
    return Part(
        "**From → to**: people in scope by their rating before this session (rows) and their rating after it "
        "(columns); off the diagonal, the people the session changed.",
        table=table,
    )


def _groups(rows: list[dict], what: str, label) -> pd.DataFrame:
    key = "manager_id" if what == "manager" else what
    return pd.DataFrame(
        {
            what: [label(r[key]) for r in rows],
            "people in scope": [r["people"] for r in rows],
            "changed": [r["changed"] for r in rows],
            "raised": [r["raised"] for r in rows],
            "lowered": [r["lowered"] for r in rows],
            "rating changes": [r["changes"] for r in rows],
        }
    )


def _event_line(ctx: ReportContext, e: dict) -> str:
    """One event: when, what (about whom, from → to), by whom, and its reason or note."""
    kind = e.get("kind", "rating")
    what = WHAT.get(kind, kind)
    if kind in ("flag", "discussed"):
        what = {"flag": "flagged for discussion", "discussed": "marked discussed"}[kind]
        what = what if e.get("to") != "off" else f"took off: {what}"
    context = ", ".join(
        x
        for x in (md(e.get("discipline")), f"manager {md(ctx.label(e['manager_id']))}" if e.get("manager_id") else "")
        if x
    )
    about = ""
    if e.get("employee_id"):
        about = f" **{md(ctx.label(e['employee_id']))}**" + (f" ({context})" if context else "")
    values = f", {md(e['from'])} → {md(e['to'])}" if kind in CHANGES else ""
    evidence = " (cites evidence)" if e.get("cites_evidence") else ""
    said = ctx.text(e.get("reason")) if e.get("reason") else ""
    label = "Note" if kind == "note" else "Reason"
    return (
        f"- {md(e['when'])}: {md(what)}{about}{values}, by {md(e['author'])}{evidence}."
        + (f" {label}: {md(said)}" if said else "")
    )


def _code(value: object) -> str:
    text = str(value or "")
    return f"`{text}`" if text.isalnum() else md(text)
