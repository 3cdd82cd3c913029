"""Evidence health: does each rating rest on evidence kept through the whole cycle?

The evidence log is kept year-round in three parts (delivery, reliability, influence) so a rating
can point at examples instead of memory. `evidence_health` reads it for one cycle:
- **thin evidence**: a rating away from the middle resting on few items or one kind of work;
- **recency bias**: a manager whose people logged their evidence at the end of the cycle;
- **light criteria**: a criterion most people have fewer than two examples for.
`invisible_work` looks the other way: few visible items (PRs, tickets) for the level, but strong
reliability or influence work or a team whose reliability or delivery rose, and a rating at or
below the middle. Counts are context, never a performance score: no table here is sorted by one.

"Late" means dated in the last fifth of the cycle's days: with D days, the item on day d (0 = the
first day) is late when d >= 0.8 D, so an item exactly on the boundary day counts as late and an
evenly kept log puts 20% of its items there (exactly so when D is a multiple of 5). Thresholds on
shares of counts (late from 0.8 D, a mean late share of 0.4, an SLO met share up 0.1) are decided
in exact arithmetic: (0.1 + 0.7) / 2 is 0.39999999999999997 in floating point, not 0.4.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from calib.analyses.findings import Finding
from calib.analyses.multiple import holm
from calib.analyses.wording import chance, p_value
from calib.frame import EVIDENCE_CATEGORIES

LATE_FRACTION = Fraction(1, 5)  # the last fifth of the cycle; an even log puts this share of its items there
MAX_DENOMINATOR = 10**6  # shares of up to a million counts are recovered exactly from their floats
RECENCY_THRESHOLD = 0.4  # practical threshold on a manager's mean late share: twice an even log
# Top and bottom ratings move pay, promotion and careers the most, so they need the most support:
# at least five items (about one a month over a half-year cycle) spanning two of the three parts.
THIN_MIN_ITEMS = 5
THIN_MIN_CATEGORIES = 2
LIGHT_MIN_EXAMPLES = 2  # fewer tagged items than this: the criterion rests on memory
LIGHT_MAJORITY = 0.5  # a criterion is reported when over half the people are light on it


@dataclass(frozen=True)
class EvidenceHealth:
    """Per person (tables/evidence_health.csv), per manager (recency), per criterion, and the findings."""

    people: pd.DataFrame
    managers: pd.DataFrame
    criteria: pd.DataFrame
    findings: list[Finding]


def rating_bands(labels: Sequence[str]) -> tuple[str, set[str]]:
    """The middle label, and the labels away from it: the top two and the bottom one, never the middle."""
    middle = labels[(len(labels) - 1) // 2]
    return middle, {*labels[-2:], labels[0]} - {middle}


def is_late(dates: pd.Series, *, start: dt.date, end: dt.date) -> pd.Series:
    """Whether each date falls in the last fifth of the cycle's days (the boundary day is late)."""
    days = (end - start).days + 1
    elapsed = (pd.to_datetime(dates) - pd.Timestamp(start)).dt.days
    early = 1 - LATE_FRACTION  # elapsed >= 0.8 D, in integers: 0.8 * D is not exact in floating point
    return elapsed * early.denominator >= days * early.numerator


def exact_share(value: float) -> Fraction:
    """A share of counts (k / n, n up to a million) as the fraction it is, not its float."""
    return Fraction(value).limit_denominator(MAX_DENOMINATOR)


def at_least(values: pd.Series, threshold: float) -> pd.Series:
    """values >= threshold, both read exactly: the threshold as written (0.4 is 2/5); missing: False."""
    limit = Fraction(repr(float(threshold)))
    return values.map(lambda v: isinstance(v, Fraction) and v >= limit).astype(bool)


def window_items(evidence: pd.DataFrame, people: pd.Series, *, start: dt.date, end: dt.date) -> pd.DataFrame:
    """The evidence of `people` dated inside [start, end] (both inclusive), with a boolean `late`."""
    dates = pd.to_datetime(evidence["date"])
    keep = (dates >= pd.Timestamp(start)) & (dates <= pd.Timestamp(end)) & evidence["employee_id"].isin(people)
    items = evidence.loc[keep].copy()
    items["late"] = is_late(items["date"], start=start, end=end)
    return items


def cycle_rows(frame: pd.DataFrame, cycle: str) -> pd.DataFrame:
    rows = frame[frame["cycle"] == cycle].drop_duplicates("employee_id")
    return rows.sort_values("employee_id", kind="stable").reset_index(drop=True)


def count(ids: pd.Series, items: pd.DataFrame, mask: pd.Series | None = None) -> pd.Series:
    """Items per person in `ids` order (0 when none), only those where `mask` when given."""
    chosen = items["employee_id"] if mask is None else items.loc[mask, "employee_id"]
    return ids.map(chosen.value_counts()).fillna(0).astype("int64")


def criteria_counts(ids: pd.Series, items: pd.DataFrame, criteria: Sequence[str]) -> pd.DataFrame:
    """Items tagged with each criterion, per person (rows in `ids` order); untagged items support none."""
    tags = items["criterion"] if "criterion" in items.columns else pd.Series(np.nan, index=items.index)
    key = tags.astype("object").where(tags.notna()).map(lambda v: str(v).strip().casefold(), na_action="ignore")
    counts = {c: count(ids, items, key == c.strip().casefold()).to_numpy() for c in criteria}
    return pd.DataFrame(counts, index=range(len(ids)), columns=list(criteria), dtype="int64")


def people_table(rows: pd.DataFrame, items: pd.DataFrame, criteria: Sequence[str]) -> pd.DataFrame:
    """Counts, categories covered, late share and light criteria per person (thin columns not yet set)."""
    table = rows[["employee_id", "reviewer_id", "final_rating"]].reset_index(drop=True)
    ids = table["employee_id"]
    table["items"] = count(ids, items)
    for category in EVIDENCE_CATEGORIES:
        table[category] = count(ids, items, items["category"] == category)
    table["categories_covered"] = (table[list(EVIDENCE_CATEGORIES)] > 0).sum(axis=1).astype("int64")
    table["late_share"] = ids.map(items.groupby("employee_id")["late"].mean()).astype("float64")
    table["criteria_light"] = (criteria_counts(ids, items, criteria) < LIGHT_MIN_EXAMPLES).sum(axis=1)
    return table


def recency_by_manager(
    people: pd.DataFrame, *, min_group_size: int = 5, alpha: float = 0.05, threshold: float = RECENCY_THRESHOLD
) -> pd.DataFrame:
    """Each manager's mean person late share, tested against the rest of the org.

    The reference is the mean late share of everyone else in the org who has items, not 0.2:
    work that really lands late (launches before the half closes, a quiet December) moves
    everyone's share, and the room can act on a team that differs from its peers, not on an
    org-wide habit; the practical threshold (twice an even log) keeps the absolute level in view.
    The reference is treated as known: it rests on hundreds of people, so its noise is small
    beside a team mean's. Person-level means weigh a prolific logger like anyone else.

    Parameters
    ----------
    people
        One row per person: reviewer_id, items, late_share (NaN when the person has no items).
    min_group_size
        Managers with fewer people who have items are labelled small, never tested or flagged.
    alpha, threshold
        Holm family-wise error rate across the tested managers; the practical threshold on the mean.

    Returns
    -------
    pandas.DataFrame
        reviewer_id, people (with items), items, late_share, lower, upper (95% t interval clipped to
        [0, 1]), reference, p_value (two-sided one-sample t), p_holm, small, flagged; by reviewer_id.
    """
    logged = people[people["items"] > 0]
    grouped = logged.groupby("reviewer_id", sort=True)["late_share"]
    out = pd.DataFrame(
        {
            "people": grouped.size(),
            "items": logged.groupby("reviewer_id")["items"].sum(),
            "late_share": grouped.mean(),
            "sd": grouped.std(ddof=1),
            "total": grouped.sum(),
        }
    )
    out = out.reindex(np.sort(people["reviewer_id"].dropna().unique())).rename_axis("reviewer_id")
    out[["people", "items"]] = out[["people", "items"]].fillna(0).astype("int64")
    n = out["people"].to_numpy(dtype=float)
    rest = len(logged) - n
    with np.errstate(divide="ignore", invalid="ignore"):
        out["reference"] = np.where(rest > 0, (logged["late_share"].sum() - out["total"].fillna(0)) / rest, np.nan)
        se = out["sd"].to_numpy() / np.sqrt(n)
        gap = out["late_share"].to_numpy() - out["reference"].to_numpy()
        p = 2 * stats.t.sf(np.abs(gap / se), n - 1)
        half = stats.t.ppf(0.975, n - 1) * se
    exact = (se == 0) & np.isfinite(gap)  # everyone at one late share: the gap is certain, or nil
    out["p_value"] = np.where(exact, np.where(np.isclose(gap, 0), 1.0, 0.0), p)
    out["lower"] = np.clip(out["late_share"] - half, 0, 1)
    out["upper"] = np.clip(out["late_share"] + half, 0, 1)
    out["small"] = out["people"] < min_group_size
    tested = ~out["small"] & out["p_value"].notna()
    out["p_holm"] = np.nan
    if tested.any():
        out.loc[tested, "p_holm"] = holm(out.loc[tested, "p_value"].to_numpy())
    exact_mean = logged["late_share"].map(exact_share).groupby(logged["reviewer_id"]).agg(
        lambda shares: sum(shares, Fraction(0)) / len(shares)
    )
    high = at_least(exact_mean.reindex(out.index), threshold).to_numpy()
    out["flagged"] = tested & (out["p_holm"] < alpha) & high
    columns = ["people", "items", "late_share", "lower", "upper", "reference", "p_value", "p_holm", "small", "flagged"]
    return out[columns].reset_index()


def evidence_health(
    frame: pd.DataFrame,
    evidence: pd.DataFrame,
    *,
    cycle: str,
    start: dt.date,
    end: dt.date,
    labels: list[str],
    criteria: list[str],
    min_group_size: int = 5,
    alpha: float = 0.05,
) -> EvidenceHealth:
    """Thin evidence, recency bias and light criteria for the people reviewed in `cycle`.

    Parameters
    ----------
    frame
        The calibration frame (employee_id, reviewer_id, final_rating per cycle).
    evidence
        The evidence input; only items dated inside [start, end] (both inclusive) count.
    cycle, start, end
        The cycle and the dates it covers.
    labels
        The rating scale, lowest first: its top two and bottom label need the most support.
    criteria
        The criteria an item can be tagged with (matched ignoring case and spacing at the ends).
    min_group_size
        Managers with fewer people who have items are labelled small and never flagged.
    alpha
        Holm family-wise error rate across managers for recency bias.
    """
    rows = cycle_rows(frame, cycle)
    items = window_items(evidence, rows["employee_id"], start=start, end=end)
    people = people_table(rows, items, criteria)
    few, narrow = people["items"] < THIN_MIN_ITEMS, people["categories_covered"] < THIN_MIN_CATEGORIES
    people["thin"] = people["final_rating"].astype("object").isin(rating_bands(labels)[1]) & (few | narrow)
    people["thin_reason"] = [
        _thin_reason(n, c) if thin else ""
        for n, c, thin in zip(people["items"], people["categories_covered"], people["thin"], strict=True)
    ]
    managers = recency_by_manager(people, min_group_size=min_group_size, alpha=alpha)
    light = criteria_counts(people["employee_id"], items, criteria) < LIGHT_MIN_EXAMPLES
    table = pd.DataFrame(
        {"criterion": list(criteria), "people": len(people), "people_light": [int(light[c].sum()) for c in criteria]}
    )
    table["share_light"] = table["people_light"] / table["people"].where(table["people"] > 0)
    findings = [_thin_finding(row) for row in people[people["thin"]].itertuples()]
    findings += [_recency_finding(row, min_group_size, alpha) for row in managers[managers["flagged"]].itertuples()]
    findings += [_light_finding(row) for row in table[table["share_light"] > LIGHT_MAJORITY].itertuples()]
    return EvidenceHealth(people, managers, table, findings)


def _thin_reason(items: int, covered: int) -> str:
    parts = [f"{items} items (fewer than {THIN_MIN_ITEMS})"] if items < THIN_MIN_ITEMS else []
    if covered < THIN_MIN_CATEGORIES:
        parts.append(f"{covered} of 3 categories (fewer than {THIN_MIN_CATEGORIES})")
    return "; ".join(parts)


def _thin_finding(row: Any) -> Finding:
    counts = {c: getattr(row, c) for c in EVIDENCE_CATEGORIES}
    missing = [c for c, k in counts.items() if k == 0]
    basis = f"{row.items} evidence item{'s' if row.items != 1 else ''}" if row.items else "no evidence items"
    if row.items >= THIN_MIN_ITEMS:  # enough items, all about one kind of work
        basis += f", all about {next(c for c, k in counts.items() if k > 0)}"
    if row.items and missing:
        basis += f", none about {' or '.join(missing)}"
    return Finding(
        kind="thin_evidence",
        subject=row.employee_id,
        estimate=float(row.items),
        interval=None,
        n=int(row.items),
        threshold=float(THIN_MIN_ITEMS),
        severity="warning",
        explanation=f"{row.employee_id} is rated {row.final_rating} on {basis}: "
        "ask for examples before the rating stands.",
        method=(
            f"Top-two and bottom ratings need at least {THIN_MIN_ITEMS} evidence items in the cycle spanning "
            f"{THIN_MIN_CATEGORIES} of delivery, reliability and influence; assumes the log holds the examples "
            "the rating rests on."
        ),
        details={"categories_covered": int(row.categories_covered), "reason": row.thin_reason},
    )


def _recency_finding(row: Any, min_group_size: int, alpha: float) -> Finding:
    return Finding(
        kind="recency_bias",
        subject=row.reviewer_id,
        estimate=float(row.late_share),
        interval=(float(row.lower), float(row.upper)),
        n=int(row.people),
        threshold=RECENCY_THRESHOLD,
        severity="alert",
        explanation=(
            f"{row.reviewer_id}'s people logged most of their evidence at the end of the cycle; {chance(True)}. "
            f"On average {row.late_share:.0%} of it falls in the last fifth of the cycle (95% interval "
            f"{row.lower:.0%} to {row.upper:.0%}; the rest of the org {row.reference:.0%}, an evenly kept log 20%; "
            f"Holm-adjusted {p_value(row.p_holm)}): ask for examples from earlier in the cycle so recent work does "
            "not stand in for the whole."
        ),
        method=(
            "Mean of each person's share of items dated in the cycle's last fifth, 95% t interval; two-sided "
            f"one-sample t test against the mean of everyone else in the org, Holm {alpha:g} across managers with "
            f">= {min_group_size} people who have items, and mean >= {RECENCY_THRESHOLD:g} (twice an even log). "
            "Assumes people log independently and no real end-of-cycle rush explains the timing."
        ),
        details={"reference": float(row.reference), "p_holm": float(row.p_holm), "items": int(row.items)},
    )


def _light_finding(row: Any) -> Finding:
    return Finding(
        kind="light_criterion",
        subject=row.criterion,
        estimate=float(row.share_light),
        interval=None,
        n=int(row.people),
        threshold=LIGHT_MAJORITY,
        severity="info",  # a census: no interval
        explanation=(
            f"Most people ({row.people_light} of {row.people}) have fewer than two examples for {row.criterion}: "
            "the rating on that criterion rests on memory."
        ),
        method=f"Share of the people reviewed with fewer than {LIGHT_MIN_EXAMPLES} items tagged with the criterion "
        "in the cycle; untagged items support no criterion.",
    )
