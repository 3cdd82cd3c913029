"""Invisible work: deep work that visible counts miss, as a prompt for a second look, never a ranking.

Individual contributors with few visible items (PRs, tickets) for their level and discipline,
corroborated by strong reliability or influence work or by a team whose reliability or delivery
rose, and rated at or below the middle (`invisible_work`). Counts are context, never a score.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from calib.analyses.evidence import at_least, count, cycle_rows, exact_share, rating_bands, window_items
from calib.analyses.findings import Finding

LOW_QUANTILE, STRONG_QUANTILE = 0.25, 0.75
STRONG_MIN_ITEMS = 3  # a level that rarely logs reliability work has a 75th percentile of 0 or 1
SLO_RISE = 0.1  # team_slo_met_share up by at least this since the previous cycle
DELIVERY_LEVELS = ["low", "medium", "high", "elite"]
KIND_WORDS = {
    "pr": "PRs",
    "ticket": "tickets",
    "design_doc": "design docs",
    "launch": "launches",
    "incident": "incidents",
    "postmortem": "postmortems",
    "oncall": "on-call shifts",
    "slo_fix": "SLO fixes",
    "talk": "talks",
    "rfc_review": "RFC reviews",
}


@dataclass(frozen=True)
class InvisibleWork:
    """The people found (sorted by employee_id) and one finding each."""

    table: pd.DataFrame
    findings: list[Finding]


def invisible_work(
    frame: pd.DataFrame,
    evidence: pd.DataFrame,
    *,
    cycle: str,
    start: dt.date,
    end: dt.date,
    labels: list[str],
    min_group_size: int = 5,
    visible_kinds: Sequence[str] = ("pr", "ticket"),
) -> InvisibleWork:
    """People whose deep work may be undervalued: a prompt for a second look, never a ranking.

    Found: individual contributors (not track "manager") with visible items (`visible_kinds`) at
    or below the 25th percentile of their discipline at their level (see _level_percentiles), in a
    group whose median is above zero, AND corroborated deep work: both
    reliability and influence items at or above that level's 75th percentile (and at least
    STRONG_MIN_ITEMS), or one of them plus the team's SLO met share up >= 0.1 or delivery level up
    a grade since the frame's previous cycle, AND a final rating at or below the middle label.
    One signal alone fired for 11% of the sample org (influence alone is normal for designers
    and product managers; SLO shares swing between cycles), too many for a prompt to be heard. A
    level with fewer than `min_group_size` people is compared with the whole org. Percentiles
    interpolate linearly. Counts are context, not performance: low visible counts are normal for
    platform and reliability roles, which is why they must not pull a rating down unexamined.

    Parameters
    ----------
    frame
        The calibration frame (level, team, final_rating, team_slo_met_share, team_delivery_level).
    evidence
        The evidence input; only items dated inside [start, end] count.
    cycle, start, end
        The cycle and the dates it covers.
    labels
        The rating scale, lowest first.
    min_group_size
        The smallest level compared with itself.
    visible_kinds
        The evidence kinds that show in activity dashboards.
    """
    rows = cycle_rows(frame, cycle)
    items = window_items(evidence, rows["employee_id"], start=start, end=end)
    ids = rows["employee_id"]
    table = rows[["employee_id", "reviewer_id", "team", "discipline", "level", "final_rating"]].copy()
    table["level"] = table["level"].astype("object").where(table["level"].notna()).map(str, na_action="ignore")
    table["items"] = count(ids, items)
    table["visible"] = count(ids, items, items["kind"].isin(list(visible_kinds)))
    table["reliability"] = count(ids, items, items["category"] == "reliability")
    table["influence"] = count(ids, items, items["category"] == "influence")
    table = table.join(_level_percentiles(table, min_group_size)).join(_team_change(frame, rows, cycle))
    signals = {
        "reliability": (table["reliability"] >= table["reliability_p75"]) & (table["reliability"] >= STRONG_MIN_ITEMS),
        "influence": (table["influence"] >= table["influence_p75"]) & (table["influence"] >= STRONG_MIN_ITEMS),
        "team SLO": at_least(_rise(table["team_slo_met_share"], table["team_slo_met_share_prev"]), SLO_RISE),
        "team delivery": table.pop("delivery_rose"),
    }
    fired = pd.DataFrame(signals).astype(bool)  # a missing team figure compares False
    table["signal"] = fired.apply(lambda r: "; ".join(s for s in signals if r[s]), axis=1).astype("object")
    middle, _ = rating_bands(labels)
    position = table["final_rating"].astype("object").map({label: i for i, label in enumerate(labels)})
    deep = fired["reliability"] | fired["influence"]
    corroborated = fired[["reliability", "influence"]].all(axis=1) | (
        deep & (fired["team SLO"] | fired["team delivery"])
    )
    individual = _column(rows, "track").astype("object").fillna("ic") != "manager"  # managing is the work
    visible_is_normal = table["visible_median"] > 0  # where PRs are not the work, few PRs mean nothing
    found = (
        (table["visible"] <= table["visible_p25"])
        & visible_is_normal
        & corroborated
        & individual
        & (position <= labels.index(middle))
    )
    table = table[found].sort_values("employee_id", kind="stable").reset_index(drop=True)
    method = (
        f"Evidence counts against people at the same level (the whole org below {min_group_size} people): "
        f"{'/'.join(visible_kinds)} items at or below the 25th percentile, and reliability and influence items at or "
        f"above the 75th (and >= {STRONG_MIN_ITEMS}), or one of them with the team's SLO met share up >= {SLO_RISE:g} "
        f"or delivery level up a grade since the previous cycle; individual contributors rated {middle} or below. "
        "Counts are context, not performance: "
        "low visible counts are normal for platform and reliability roles."
    )
    return InvisibleWork(table, [_invisible_finding(row, items, visible_kinds, method) for row in table.itertuples()])


def _level_percentiles(table: pd.DataFrame, min_group_size: int) -> pd.DataFrame:
    """compared_with, group_size, visible_p25, visible_median, reliability_p75, influence_p75.

    People are compared with their discipline at their level; a group under `min_group_size`
    falls back to the discipline, then to the whole org. PR counts mean nothing for a designer
    compared with engineers, so disciplines are never mixed while a discipline has enough people.
    """
    discipline = table["discipline"].astype("object").fillna("unknown").astype(str)
    level_key = discipline + " " + table["level"].astype("object").fillna("").astype(str)
    keys = pd.Series("whole org", index=table.index, dtype="object")
    for candidate in (discipline, level_key):  # later, finer keys win where large enough
        sizes = candidate.map(candidate.value_counts())
        keys = keys.where(sizes < min_group_size, candidate)
    out = pd.DataFrame({"compared_with": keys})
    out["group_size"] = keys.map(keys.value_counts()).astype("int64")
    wanted = [
        ("visible_p25", "visible", LOW_QUANTILE),
        ("visible_median", "visible", 0.5),
        ("reliability_p75", "reliability", STRONG_QUANTILE),
        ("influence_p75", "influence", STRONG_QUANTILE),
    ]
    for name, column, q in wanted:
        out[name] = table.groupby(keys)[column].transform("quantile", q).astype("float64")
    return out


def _column(rows: pd.DataFrame, name: str) -> pd.Series:
    return rows[name] if name in rows.columns else pd.Series(np.nan, index=rows.index)


def _team_change(frame: pd.DataFrame, rows: pd.DataFrame, cycle: str) -> pd.DataFrame:
    """Each person's team SLO met share and delivery level, now and in the frame's previous cycle."""
    if isinstance(frame["cycle"].dtype, pd.CategoricalDtype):
        order = [str(c) for c in frame["cycle"].cat.categories]
    else:
        order = sorted(frame["cycle"].astype(str).unique())
    previous = order[order.index(cycle) - 1] if cycle in order and order.index(cycle) > 0 else None
    before = frame[frame["cycle"] == previous] if previous is not None else frame.iloc[0:0]
    names = dict(enumerate(DELIVERY_LEVELS))
    now_grade = _grade(_column(rows, "team_delivery_level"))
    prev_grade = rows["team"].map(_grade(_column(before, "team_delivery_level")).groupby(before["team"]).first())
    prev_slo = rows["team"].map(_column(before, "team_slo_met_share").groupby(before["team"]).first())
    return pd.DataFrame(
        {
            "team_slo_met_share": _column(rows, "team_slo_met_share").astype("float64"),
            "team_slo_met_share_prev": prev_slo.astype("float64"),
            "team_delivery_level": now_grade.map(names),
            "team_delivery_level_prev": prev_grade.map(names),
            "delivery_rose": now_grade > prev_grade,  # NaN on either side compares False
        },
        index=rows.index,
    )


def _rise(now: pd.Series, before: pd.Series) -> pd.Series:
    """now - before as exact fractions of counts (None where either is missing)."""
    pairs = zip(now, before, strict=True)
    rises = [None if pd.isna(a) or pd.isna(b) else exact_share(a) - exact_share(b) for a, b in pairs]
    return pd.Series(rises, index=now.index, dtype="object")


def _grade(levels: pd.Series) -> pd.Series:
    """Delivery level as 0 (low) .. 3 (elite), NaN when missing."""
    return levels.astype("object").map({name: i for i, name in enumerate(DELIVERY_LEVELS)}).astype("float64")


def _invisible_finding(row: Any, items: pd.DataFrame, visible_kinds: Sequence[str], method: str) -> Finding:
    mine = items[items["employee_id"] == row.employee_id]
    parts = []
    for category in ("reliability", "influence"):
        if category in row.signal.split("; "):
            kinds = mine.loc[mine["category"] == category, "kind"].value_counts()
            kinds = sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))  # most frequent first, ties by name
            words = ", ".join(KIND_WORDS.get(k, k.replace("_", " ")) for k, _ in kinds)
            parts.append(f"{getattr(row, category)} {category} items ({words})")
    if "team SLO" in row.signal:
        before, now = row.team_slo_met_share_prev, row.team_slo_met_share
        parts.append(f"their team's SLO attainment rose ({before:.0%} to {now:.0%} of SLO windows met)")
    if "team delivery" in row.signal:
        parts.append(f"their team's delivery level rose ({row.team_delivery_level_prev} to {row.team_delivery_level})")
    visible = " or ".join(KIND_WORDS.get(k, f"{k.replace('_', ' ')} items") for k in visible_kinds)
    because = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
    return Finding(
        kind="invisible_work",
        subject=row.employee_id,
        estimate=float(row.visible),
        interval=None,
        n=int(row.group_size),
        threshold=float(row.visible_p25),
        severity="info",
        explanation=(
            f"{row.employee_id} ({row.level}) has few {visible} for their level but {because}: "
            f"check for undervalued deep work before the {row.final_rating} stands."
        ),
        method=method,
        details={
            "signal": row.signal,
            "compared_with": row.compared_with,
            "reliability": int(row.reliability),
            "influence": int(row.influence),
            "reliability_p75": float(row.reliability_p75),
            "influence_p75": float(row.influence_p75),
        },
    )
