"""The Calibrate tab's views besides the queue (calib.apps.dashboard.queue) and the card (`card`), pure.

A calibration session (`calib.sessions`) gives one row per person in scope (`session.table()`) and
its log; these functions only read those and the loaded `Sources`. `apply_session` makes the
session's ratings the frame's after-calibration ratings, so every tab shows the room's state;
`distribution_now` draws the ratings in view as submitted, before this session (the reviews'
calibrated rating, else the submitted one: where the session started) and now, beside the
guideline (never enforced); `change_log_html` lists the session's latest events.
"""

from __future__ import annotations

from collections.abc import Callable

import altair as alt
import numpy as np
import pandas as pd

from calib.apps.dashboard.filters import Filters
from calib.apps.dashboard.html import html_table
from calib.apps.dashboard.layout import View, projector
from calib.apps.dashboard.sources import Sources
from calib.outputs import charts
from calib.privacy import suppression

CHART_WIDTH = 700  # narrower than a tab's WIDE charts: with its labels and legend it fits a 1366-pixel laptop
LOG_SHOWN = 12  # latest events in the session's log panel (each person's card holds their whole history)
STAGES = (("submitted", "rating"), ("before this session", "_before"), ("now (this session)", "final_rating"))


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


def distribution_now(sources: Sources, filters: Filters) -> alt.TopLevelMixin:
    """Ratings in view as submitted, before this session and as the room has them now, against the guideline.

    Counted on the ratings' category codes of the rows in view (the first two stages once per
    filter: the session changes only "now"); a stage of fewer than `min_group_size` people is
    withheld, as in calib.analyses.distributions.
    """
    config = sources.config
    labels = list(config.rating_labels)
    where = sources.positions(filters)
    fixed = sources.memo(("stages before the session", filters), lambda: _fixed_stages(sources, where))
    counts = {**fixed, STAGES[2][0]: _counts(sources.frame["final_rating"].cat.codes.to_numpy()[where], len(labels))}
    hidden = suppression({stage: int(n.sum()) for stage, n in counts.items()}, config.min_group_size)
    rows = []
    for stage, n in counts.items():
        total = int(n.sum())
        for label, count in zip(labels, n.tolist(), strict=True):
            shown = stage not in hidden and total > 0
            rows.append(
                {
                    "dimension": "_stage", "group": stage, "rating": label, "stage": "all",
                    "count": float(count) if shown else np.nan, "n": float(total) if shown else np.nan,
                    "share": count / total if shown else np.nan, "suppressed": stage in hidden,
                }
            )  # fmt: skip
    dist = pd.DataFrame(rows).astype({"rating": pd.CategoricalDtype(labels, ordered=True)})
    return projector(
        charts.distribution_chart(
            dist,
            dimension="_stage",
            stage="all",
            labels=labels,
            guideline=config.guideline_curve,
            title="Ratings in view: submitted, before this session, now, and the guideline (never enforced)",
        ).properties(width=CHART_WIDTH, height=alt.Step(44))
    )


def _fixed_stages(sources: Sources, where: np.ndarray) -> dict[str, np.ndarray]:
    """Counts per rating of the rows at `where`, as submitted and before this session."""
    frame, size = sources.frame, len(sources.config.rating_labels)
    submitted = frame["rating"].cat.codes.to_numpy()[where]
    before = submitted
    if "calibrated_rating" in frame.columns:
        calibrated = frame["calibrated_rating"].cat.codes.to_numpy()[where]
        before = np.where(calibrated >= 0, calibrated, submitted)
    return {STAGES[0][0]: _counts(submitted, size), STAGES[1][0]: _counts(before, size)}


def _counts(codes: np.ndarray, size: int) -> np.ndarray:
    return np.bincount(codes[codes >= 0], minlength=size)


def change_log_html(
    log: pd.DataFrame, labels: dict[str, str], redact: Callable[[str], object], *, limit: int = LOG_SHOWN
) -> str:
    """The session's latest events, newest first: when, who, what, person, from → to, why (every string escaped)."""
    if log.empty:
        return '<h3>The session\'s log</h3><p class="calib-note">Nothing recorded yet.</p>'
    shown = log.iloc[::-1].head(limit)
    rows = [
        [
            str(r.get("at", ""))[:16].replace("T", " "),
            redact(str(r.get("author", ""))),
            str(r.get("kind", "")).replace("_", " "),
            _person(r.get("employee_id"), labels, redact),
            " → ".join(str(v) for v in (r.get("from"), r.get("to")) if isinstance(v, str) and v),
            redact(str(r.get("reason") or "")),
        ]
        for r in shown.to_dict("records")
    ]
    earlier = len(log) - len(shown)
    more = (
        f'<p class="calib-note">{earlier} earlier events: each person\'s card holds their whole history, and '
        "`calib report --session` lists every event.</p>"
        if earlier > 0
        else ""
    )
    headers = ["when (UTC)", "who", "what", "person", "from → to", "why"]
    return "<h3>The session's log (latest first)</h3>" + html_table(headers, rows) + more


def _person(value: object, labels: dict[str, str], redact: Callable[[str], object]) -> str:
    if not isinstance(value, str) or not value:
        return ""
    return labels.get(value) or str(redact(value))


def calibrate(sources: Sources, filters: Filters, log: pd.DataFrame) -> View:
    """The Calibrate tab below the card: the distribution in view, and the session's latest events."""
    redact = sources.redaction(filters.blind) if filters.blind else str
    body = change_log_html(log, sources.labels(filters.blind), redact)
    return View(body, distribution_now(sources, filters))
