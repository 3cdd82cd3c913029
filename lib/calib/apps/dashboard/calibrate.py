"""The Calibrate tab's views: the queue of people to discuss, one person at hand, and the change log (pure).

A calibration session (`calib.sessions`) gives one row per person in scope (`session.table()`) and
its log (`session.log()`); these functions only read those frames and the loaded `Sources`.

**The queue** puts first what the statistics and the room flagged, so the loudest voice does not
set the agenda: people flagged for discussion in the session; people named by an alert or a
warning of the analyses (thin evidence, recency, invisible work...); the reports of a manager the
analyses flag as lenient, severe or fitting a quota; the people of the engineering/product seam
pairs (same rating, very different evidence); then top and bottom ratings; then big movers
against last cycle (two or more steps). Everyone else follows, and anyone already discussed moves
to the end. Within a group the order is the display label (names, or pseudonyms in blind mode),
never a metric.
"""

from __future__ import annotations

from collections.abc import Callable

import altair as alt
import numpy as np
import pandas as pd

from calib.apps.dashboard.filters import Filters
from calib.apps.dashboard.html import esc, findings_html, html_table
from calib.apps.dashboard.layout import WIDE, View, projector
from calib.apps.dashboard.sources import Sources
from calib.apps.dashboard.summaries import stage_distribution
from calib.outputs import charts

MANAGER_KINDS = ("rater_leniency", "rater_severity", "forced_distribution")
BIG_MOVE = 2  # rating steps against last cycle that make a "big mover"
LOG_SHOWN = 12  # latest events in the change-log panel
REASONS = (  # (priority, why), lower first
    (0, "flagged for discussion"),
    (1, "alert from the analyses"),
    (2, "warning from the analyses"),
    (3, "manager flagged by the analyses"),
    (4, "seam pair: same rating, different evidence"),
    (5, "top or bottom rating"),
    (6, "big mover against last cycle"),
    (9, "no flag"),
)


def apply_session(sources: Sources, table: pd.DataFrame) -> None:
    """Make the session's current ratings the frame's after-calibration ratings for the cycle (in place).

    Every tab then shows "after calibration" as the room has it now. Only the rows of the config's
    cycle for people the session knows change, and only where the rating differs (on category codes:
    a change at 10k people touches one row, not ten thousand strings).
    """
    frame = sources.frame
    dtype = frame["final_rating"].dtype
    ids = table["employee_id"].astype(str)
    key = ("session rows", len(ids), int(pd.util.hash_pandas_object(ids, index=False).sum()))
    rows, where = sources.memo(key, lambda: _session_positions(sources, ids))  # type: ignore[misc]
    if not len(rows):
        return
    wanted = pd.Categorical(table["rating"].astype(object), dtype=dtype).codes[where]
    final = frame["final_rating"]
    differs = rows[final.cat.codes.to_numpy()[rows] != wanted]
    if not len(differs):
        return
    codes = final.cat.codes.to_numpy().copy()  # a fresh column: frames read from Parquet may be read-only
    codes[differs] = wanted[final.cat.codes.to_numpy()[rows] != wanted]
    frame["final_rating"] = pd.Categorical.from_codes(codes, dtype=dtype)
    if "final_value" in frame.columns:
        scale = np.arange(1, len(dtype.categories) + 1, dtype="float64")
        value = frame["final_value"].to_numpy(dtype="float64").copy()
        value[differs] = scale[codes[differs]]
        frame["final_value"] = value


def _session_positions(sources: Sources, ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the cycle's frame rows whose person is in `ids`, and each one's position in `ids`."""
    frame = sources.frame
    in_cycle = np.flatnonzero((frame["cycle"].astype(str) == str(sources.config.cycle)).to_numpy())
    where = pd.Index(ids).get_indexer(frame["employee_id"].astype(str).to_numpy()[in_cycle])
    keep = where >= 0
    return in_cycle[keep], where[keep]


def queue(sources: Sources, filters: Filters, table: pd.DataFrame) -> pd.DataFrame:
    """People in view and in the session, in the order the room should discuss them (see module docstring).

    Reads the current ratings from the frame (`apply_session` wrote them) and only the few flagged
    and discussed ids from the session's table, so it costs no join at 10k people.
    Returns employee_id, label, why, priority, discussed.
    """
    rows = sources.rows(filters)
    in_session = set(table["employee_id"].astype(str))
    rows = rows[_objects(rows["employee_id"]).isin(in_session).to_numpy()].reset_index(drop=True)
    if rows.empty:
        return pd.DataFrame(columns=["employee_id", "label", "why", "priority", "discussed"])
    ids = _objects(rows["employee_id"])  # hashed lookups: Arrow strings would be boxed one by one in isin
    labels = sources.labels(filters.blind)
    priority = np.full(len(rows), 9)

    def mark(mask: pd.Series | np.ndarray, level: int) -> None:
        priority[np.asarray(mask, dtype=bool) & (priority > level)] = level

    flagged_people = set(table.loc[table["flagged"].astype(bool), "employee_id"].astype(str))
    discussed = ids.isin(set(table.loc[table["discussed"].astype(bool), "employee_id"].astype(str)))
    mark(ids.isin(flagged_people), 0)
    findings = sources.results.findings
    if not findings.empty:
        subjects = findings["subject"].astype(str)
        mark(ids.isin(set(subjects[findings["severity"] == "alert"])), 1)
        mark(ids.isin(set(subjects[findings["severity"] == "warning"])), 2)
        flagged = set(subjects[findings["kind"].isin(MANAGER_KINDS) & findings["severity"].isin(["alert", "warning"])])
        mark(_objects(rows["reviewer_id"]).isin(flagged), 3)
    pairs = sources.results.table("seam_pairs")
    if pairs is not None and len(pairs):
        mark(ids.isin(set(pairs["employee_id"].astype(str)) | set(pairs["reference_employee_id"].astype(str))), 4)
    scale = sources.config.rating_labels
    now = rows["final_rating"].astype(str)
    mark(now.isin([scale[0], scale[-1]]), 5)
    mark(_moves(sources, rows.assign(now=now)).abs() >= BIG_MOVE, 6)
    why = dict(REASONS)
    out = pd.DataFrame(
        {
            "employee_id": ids,
            "label": ids.map(lambda i: labels.get(i, i)),
            "why": pd.Series(priority).map(why),
            "priority": priority,
            "discussed": discussed.to_numpy(),
        }
    )
    return out.sort_values(["discussed", "priority", "label"], kind="stable", ignore_index=True)


def _objects(values: pd.Series) -> pd.Series:
    """Values as a plain object Series of str (fast hashed `isin`/`map`)."""
    return pd.Series(values.astype(str).to_numpy(dtype=object), dtype=object)


def _moves(sources: Sources, rows: pd.DataFrame) -> pd.Series:
    """Rating steps now against the previous cycle's final rating (NaN without one)."""
    cycles = [c.id for c in sources.config.cycles]
    here = cycles.index(str(sources.config.cycle)) if str(sources.config.cycle) in cycles else -1
    if here <= 0:
        return pd.Series(np.nan, index=rows.index)
    frame = sources.frame
    before = frame[frame["cycle"].astype(str) == cycles[here - 1]].set_index("employee_id")["final_rating"]
    scale = {label: i for i, label in enumerate(sources.config.rating_labels)}
    then = rows["employee_id"].map(before.astype(str)).map(scale)
    return rows["now"].astype(str).map(scale) - then


def queue_options(order: pd.DataFrame) -> list[tuple[str, str]]:
    """Dropdown options: "label — why" (✓ when discussed), in queue order."""
    text = order["label"].astype(str) + " — " + order["why"].astype(str)
    text = text.where(~order["discussed"].astype(bool), "✓ " + text)
    return list(zip(text.tolist(), order["employee_id"].astype(str).tolist(), strict=True))


def distribution_now(sources: Sources, filters: Filters) -> alt.TopLevelMixin:
    """Ratings in view as submitted and as the room has them now, against the guideline."""
    config = sources.config
    rows = sources.rows(filters)
    dist = stage_distribution(rows, sources)
    dist["group"] = dist["group"].replace({"after calibration": "now (this session)"})
    return projector(
        charts.distribution_chart(
            dist,
            dimension="_stage",
            stage="all",
            labels=config.rating_labels,
            guideline=config.guideline_curve,
            title="Ratings in view: submitted, now, and the guideline (never enforced)",
        ).properties(width=WIDE, height=alt.Step(44))
    )


def person_at_hand(
    sources: Sources, filters: Filters, table: pd.DataFrame, employee_id: str | None, *, locked: bool
) -> str:
    """HTML: the person's ratings, the statistics' verdict about them and their manager, and their evidence."""
    if not employee_id:
        return '<p class="calib-note">Everyone in view has been discussed, or no one is in view.</p>'
    labels = sources.labels(filters.blind)
    text = sources.redaction(filters.blind)
    me = table[table["employee_id"].astype(str) == employee_id]
    if me.empty:
        return '<p class="calib-note">This person is not in the session.</p>'
    me = me.iloc[0]
    frame = sources.frame
    mine = frame[frame["employee_id"].astype(str) == employee_id].sort_values("cycle")
    here = mine[mine["cycle"].astype(str) == str(sources.config.cycle)]
    manager = str(here["reviewer_id"].iloc[0]) if len(here) and "reviewer_id" in here else ""
    earlier = mine[mine["cycle"].astype(str) != str(sources.config.cycle)]
    history = " · ".join(f"{esc(c)}: {esc(r)}" for c, r in zip(earlier["cycle"], earlier["final_rating"], strict=True))
    state = "changed" if bool(me["rating"] != me["submitted_rating"]) else "as submitted"
    counts = ""
    if len(here):
        row = here.iloc[0]
        counts = " · ".join(
            f"{c} {int(row[f'evidence_{c}_n'])}"
            for c in ("delivery", "reliability", "influence")
            if f"evidence_{c}_n" in row and pd.notna(row[f"evidence_{c}_n"])
        )
    verdict = sources.results.findings
    if not verdict.empty:
        verdict = verdict[verdict["subject"].astype(str).isin([employee_id, manager])]
    notes = f"<p><b>Notes</b>: {esc(text(me['notes']))}</p>" if str(me["notes"]) else ""
    return (
        f"<h2>{esc(labels.get(employee_id, employee_id))}</h2>"
        f"<p>rated by {esc(labels.get(manager, manager))} · submitted <b>{esc(me['submitted_rating'])}</b> · "
        f"now <b>{esc(me['rating'])}</b> ({state}, version {int(me['version'])})"
        + (f" · potential <b>{esc(me['potential'])}</b>" if isinstance(me["potential"], str) else "")
        + (" · <b>flagged</b>" if bool(me["flagged"]) else "")
        + (" · discussed ✓" if bool(me["discussed"]) else "")
        + (" · <b>session locked</b>" if locked else "")
        + "</p>"
        + (f"<p>Evidence this cycle: {esc(counts)}</p>" if counts else "")
        + (f"<p>Earlier cycles: {history}</p>" if history else "")
        + "<h3>What the statistics say (about this person and their manager)</h3>"
        + findings_html(verdict, text, filters.blind)
        + notes
    )


def change_log_html(
    log: pd.DataFrame, labels: dict[str, str], redact: Callable[[str], object], *, limit: int = LOG_SHOWN
) -> str:
    """The latest changes, newest first: when, who, person, from → to, why (every string escaped)."""
    if log.empty:
        return '<h3>Change log</h3><p class="calib-note">No changes recorded yet.</p>'
    shown = log.iloc[::-1].head(limit)
    rows = [
        [
            str(r.get("at", ""))[:16].replace("T", " "),
            redact(str(r.get("author", ""))),
            r.get("kind", ""),
            _person(r.get("employee_id"), labels, redact),
            " → ".join(str(v) for v in (r.get("from"), r.get("to")) if isinstance(v, str) and v),
            redact(str(r.get("reason") or "")),
        ]
        for r in shown.to_dict("records")
    ]
    earlier = len(log) - len(shown)
    more = f'<p class="calib-note">{earlier} earlier events: see `calib session log`.</p>' if earlier > 0 else ""
    return "<h3>Change log</h3>" + html_table(["when (UTC)", "who", "what", "person", "from → to", "why"], rows) + more


def _person(value: object, labels: dict[str, str], redact: Callable[[str], object]) -> str:
    if not isinstance(value, str) or not value:
        return ""
    return labels.get(value) or str(redact(value))


def calibrate(
    sources: Sources,
    filters: Filters,
    table: pd.DataFrame,
    log: pd.DataFrame,
    employee_id: str | None,
    *,
    locked: bool = False,
) -> View:
    """The Calibrate tab: the person at hand, the distribution now, and the change log."""
    redact = sources.redaction(filters.blind) if filters.blind else str
    body = change_log_html(log, sources.labels(filters.blind), redact)
    intro = person_at_hand(sources, filters, table, employee_id, locked=locked)
    return View(body, distribution_now(sources, filters), intro=intro)
