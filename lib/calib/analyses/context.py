"""Team context against ratings, and ratings from one cycle to the next; teams and managers, never a person.

- `team_context`: does each team's mean final rating sit where its delivery (DORA) and
  reliability (SLO) context points? Strong context rated well below the rest of the org, or
  weak context rated well above it, is a `team_context_mismatch`.
- `cycle_over_cycle`: for people reviewed in two consecutive cycles, how did final ratings move,
  how sticky is the scale, and did one manager's people move unlike everyone else's
  (`rating_drift`)?

DORA metrics and SLOs describe a team's system of work (DORA names their use as individual
goals a pitfall): here they set an expectation for a team's ratings as a whole, and nothing in
this module turns them into anyone's score.

Expected direction from context (our rule, restated in every finding's method):
- strong: delivery level high or elite *and* SLOs mostly met (>= `SLO_MOSTLY_MET`, 75%, of the
  team's SLO windows met their target);
- weak: delivery level low *or* SLOs mostly blown (< `SLO_MOSTLY_BLOWN`, 50%, of windows met,
  i.e. most windows overspent their error budget); an elite team that blew most SLOs is weak;
- neutral: anything else, including missing delivery or SLO data (no evidence either way).

Groups are compared with everyone outside them by a pooled-variance two-sample t test (as
calib.analyses.raters does: a small team whose people all got one rating would otherwise get a tiny
standard error from its own variance alone). A mismatch is directional by construction (the
context says which way before the ratings are seen), so its test is one-sided; drift can go
either way, so its test is two-sided.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import stats

from calib.analyses.findings import Finding
from calib.analyses.multiple import benjamini_hochberg, holm
from calib.analyses.wording import chance, p_value, steps

Expected = Literal["strong", "weak", "neutral"]
SLO_MOSTLY_MET = 0.75  # share of a team's SLO windows met, at or above which its SLOs are "mostly met"
SLO_MOSTLY_BLOWN = 0.5  # below this share met, most windows overspent their error budget
CONTEXT = [  # frame column = "team_" + table column
    *("delivery_level", "deployment_frequency_level", "lead_time_level", "change_failure_rate_level"),
    *("time_to_restore_level", "deploy_days_per_week", "lead_time_hours", "change_failure_rate"),
    *("time_to_restore_hours", "slo_met_share", "slo_budget_consumed", "slo_windows_n"),
]


@dataclass(frozen=True)
class TeamContext:
    """One row per team in the cycle (sorted by team) and the mismatch findings."""

    table: pd.DataFrame
    findings: list[Finding]


@dataclass(frozen=True)
class CycleOverCycle:
    """Rating changes between consecutive cycles.

    Attributes
    ----------
    changes
        One row per person reviewed in both cycles of a pair (sorted by pair, then employee_id).
    transitions
        Previous-by-current rating counts in long format (previous, current, count), every cell
        of the scale included.
    managers
        One row per current manager per pair (see `manager_drift`).
    findings
        `rating_drift` findings.
    pairs
        One row per pair: people in both cycles, stickiness (share unchanged), moves up and
        down, and people reviewed in one cycle only (new, left), counted and never imputed.
    """

    changes: pd.DataFrame
    transitions: pd.DataFrame
    managers: pd.DataFrame
    findings: list[Finding]
    pairs: pd.DataFrame


def group_versus_rest(groups: pd.Series, values: pd.Series, confidence: float = 0.95) -> pd.DataFrame:
    """Each group's mean with its t interval, and its difference from everyone outside the group.

    Parameters
    ----------
    groups, values
        Aligned: the group of each observation and its value (rows missing either are dropped).
    confidence
        Level of the intervals.

    Returns
    -------
    pandas.DataFrame
        Indexed by group (sorted): n, mean, lower, upper (one-sample t interval, n - 1 df),
        rest_mean, difference (mean - rest_mean), difference_lower, difference_upper and
        p_value (two-sided pooled-variance two-sample t test, N - 2 df). Undefined values are NaN.
    """
    labels, columns = _versus_rest(np.asarray(groups, dtype=object), np.asarray(values, dtype=float), confidence)
    return pd.DataFrame(columns, index=pd.Index(labels, name="group"))


def _versus_rest(groups: np.ndarray, y: np.ndarray, confidence: float = 0.95) -> tuple[np.ndarray, dict]:
    keep = np.isfinite(y) & pd.notna(groups)
    codes, labels = pd.factorize(groups[keep], sort=True)
    y, k = y[keep], len(labels)
    n = np.bincount(codes, minlength=k).astype(float)
    s, ss = np.bincount(codes, y, k), np.bincount(codes, y * y, k)
    total_n, total_s, total_ss = float(len(y)), float(y.sum()), float((y * y).sum())
    rest_n, rest_s, df = total_n - n, total_s - s, total_n - 2
    tail = 0.5 + confidence / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        mean, rest_mean = s / n, rest_s / rest_n
        within = np.clip(ss - s * s / n, 0, None)
        rest_within = np.clip((total_ss - ss) - rest_s * rest_s / rest_n, 0, None)
        half = np.where(n > 1, stats.t.ppf(tail, n - 1) * np.sqrt(within / (n - 1) / n), np.nan)
        se = np.sqrt((within + rest_within) / df * (1 / n + 1 / rest_n)) if df > 0 else np.full(k, np.nan)
        difference = np.where(rest_n > 0, mean - rest_mean, np.nan)
        spread = stats.t.ppf(tail, df) * se if df > 0 else np.full(k, np.nan)
        t = np.where(se > 0, difference / se, np.where(difference == 0, np.nan, np.sign(difference) * np.inf))
        p = 2 * stats.t.sf(np.abs(t), df) if df > 0 else np.full(k, np.nan)
    return labels, {
        "n": n.astype("int64"),
        "mean": mean,
        "lower": mean - half,
        "upper": mean + half,
        "rest_mean": np.where(rest_n > 0, rest_mean, np.nan),
        "difference": difference,
        "difference_lower": difference - spread,
        "difference_upper": difference + spread,
        "p_value": np.where(np.isfinite(difference), p, np.nan),
    }


def expected_direction(delivery_level: object, slo_met_share: object) -> Expected:
    """The direction a team's context points to: strong, weak or neutral (the module's rule)."""
    level = None if pd.isna(delivery_level) else str(delivery_level)
    met = None if pd.isna(slo_met_share) else float(slo_met_share)
    if level == "low" or (met is not None and met < SLO_MOSTLY_BLOWN):
        return "weak"
    if level in ("high", "elite") and met is not None and met >= SLO_MOSTLY_MET:
        return "strong"
    return "neutral"


def team_context(
    frame: pd.DataFrame,
    *,
    cycle: str,
    min_group_size: int = 5,
    threshold: float = 0.5,
    q: float = 0.1,
    expected: pd.Series | None = None,
) -> TeamContext:
    """Each team's mean final rating against the rest of the org, beside its delivery and SLO context.

    Parameters
    ----------
    frame
        The calibration frame (cycle, team, final_value and the `team_` context columns;
        absent context columns count as no data).
    cycle
        The cycle to analyse.
    min_group_size
        Teams with fewer rated people are shown (labelled small) but never tested or flagged.
    threshold
        Practical threshold: how far, in rating points, ratings must run against the context.
    q
        False discovery rate (Benjamini-Hochberg) across the teams tested: strong and weak teams
        with at least `min_group_size` people. Neutral teams are never tested.
    expected
        Optional expected rating per employee_id (e.g. calib.analyses.raters.expected_ratings: level,
        discipline and peer standing). When given, teams are compared on rating minus expectation,
        which removes differences in who is on the team; `mean_rating` stays the raw mean.

    Returns
    -------
    TeamContext
        The per-team table (sorted by team): n, mean_rating with its 95% interval, org_mean,
        rest_mean, difference with its interval, p_value (two-sided), the context columns,
        small, expected, p_mismatch (one-sided, toward a mismatch), tested, q_value, mismatch;
        and one `team_context_mismatch` finding per mismatched team. No per-person value.
    """
    rows = frame[(frame["cycle"].astype(str) == str(cycle)) & frame["final_value"].notna() & frame["team"].notna()]
    if rows.empty:
        raise ValueError(f"team context: no ratings in cycle {cycle!r}")
    outcome = rows["final_value"].to_numpy(dtype=float)
    if expected is not None:
        prediction = rows["employee_id"].astype(str).map(expected).to_numpy(dtype=float)
        keep = ~np.isnan(prediction)
        rows, outcome = rows[keep], (outcome - prediction)[keep]
    teams = rows["team"].astype(str).to_numpy()
    labels, numbers = _versus_rest(teams, outcome)
    if expected is not None:  # show the raw team mean; the comparison (and its interval) stays adjusted
        raw = pd.Series(rows["final_value"].to_numpy(dtype=float)).groupby(teams).mean()
        numbers["mean"] = raw.reindex(labels).to_numpy()
        numbers["lower"] = numbers["upper"] = np.full(len(labels), np.nan)
    context = rows.reindex(columns=[f"team_{c}" for c in CONTEXT]).set_axis(CONTEXT, axis=1)
    context = context.set_axis(teams).groupby(level=0, sort=True).first().reindex(labels)  # an array key is slow
    pairs = zip(context["delivery_level"], context["slo_met_share"], strict=True)
    expected = np.array([expected_direction(d, m) for d, m in pairs])
    sign = np.select([expected == "strong", expected == "weak"], [-1.0, 1.0], np.nan)  # a mismatch's direction
    against, half_p = sign * numbers["difference"], numbers["p_value"] / 2
    p_mismatch = np.where(np.isnan(sign), np.nan, np.where(against > 0, half_p, 1 - half_p))
    small = numbers["n"] < min_group_size
    tested = ~np.isnan(sign) & ~small & ~np.isnan(p_mismatch)
    q_value = np.full(len(labels), np.nan)
    q_value[tested] = benjamini_hochberg(p_mismatch[tested])
    with np.errstate(invalid="ignore"):
        mismatch = tested & (q_value <= q) & (against >= threshold)
    names = {"mean": "mean_rating", "lower": "mean_lower", "upper": "mean_upper"}
    table = pd.DataFrame(
        {"cycle": str(cycle), "team": labels}
        | {names.get(k, k): v for k, v in numbers.items()}
        | {"org_mean": float(rows["final_value"].mean())}
        | {c: context[c].array for c in CONTEXT}
        | {"small": small, "expected": expected, "p_mismatch": p_mismatch, "tested": tested}
        | {"q_value": q_value, "mismatch": mismatch, "adjusted": expected is not None}
    )
    method = _context_method(str(cycle), min_group_size, threshold, q)
    if expected is not None:
        method += " Ratings are compared after adjusting for each person's level, discipline and peer standing."
    return TeamContext(table, [_context_finding(row, method, threshold) for row in _rows(table, mismatch)])


def cycle_over_cycle(
    frame: pd.DataFrame, *, min_group_size: int = 5, threshold: float = 0.5, alpha: float = 0.05
) -> CycleOverCycle:
    """Final-rating changes between every pair of consecutive cycles, and per-manager drift.

    Parameters
    ----------
    frame
        The calibration frame. Cycles are taken in the order of the `cycle` categorical (sorted
        ids otherwise); only cycles with ratings count, so an empty cycle does not break a pair.
    min_group_size
        Managers with fewer people reviewed in both cycles are shown (labelled small) but never
        tested or flagged.
    threshold
        Practical threshold on |drift| in rating points.
    alpha
        Family-wise error rate (Holm) across the managers tested in each pair of cycles.

    Returns
    -------
    CycleOverCycle
        Changes, transitions, managers, findings and the per-pair summary.
    """
    rows = frame[frame["final_value"].notna()].assign(cycle=lambda f: f["cycle"].astype(str))
    present = [str(c) for c in _levels(frame["cycle"]) if (rows["cycle"] == str(c)).any()]
    scale = _levels(frame["final_rating"])
    method = _drift_method(min_group_size, threshold, alpha)
    changes, transitions, managers, pairs, findings = [], [], [], [], []
    for previous, current in zip(present, present[1:], strict=False):
        change = _changes(rows, previous, current)
        table = manager_drift(change, min_group_size=min_group_size, threshold=threshold, alpha=alpha)
        changes.append(change)
        transitions.append(_transitions(change, scale))
        pairs.append(_pair_summary(rows, change, previous, current))
        managers.append(table)
        findings += [_drift_finding(row, method, threshold) for row in _rows(table, table["flagged"].to_numpy())]
    return CycleOverCycle(
        _concat(changes, ["previous_cycle", "current_cycle", "employee_id"]),
        _concat(transitions, ["previous_cycle", "current_cycle", "previous", "current", "count"]),
        _concat(managers, ["previous_cycle", "current_cycle", "reviewer_id"]),
        findings,
        _concat(pairs, ["previous_cycle", "current_cycle"]),
    )


def manager_drift(
    changes: pd.DataFrame, *, min_group_size: int = 5, threshold: float = 0.5, alpha: float = 0.05
) -> pd.DataFrame:
    """Each current manager's mean rating change against everyone else's, for one pair of cycles.

    Parameters
    ----------
    changes
        One pair's rows of `CycleOverCycle.changes` (previous_cycle, current_cycle, reviewer_id,
        previous_reviewer_id, change).
    min_group_size, threshold, alpha
        As for `cycle_over_cycle`.

    Returns
    -------
    pandas.DataFrame
        One row per reviewer_id (sorted): people, mean_change with its 95% t interval (lower,
        upper), others_mean_change, drift (= mean_change - others_mean_change) with its interval,
        p_value, same_manager_before (people this manager also reviewed last cycle), small,
        tested, p_holm and flagged.
    """
    reviewer = changes["reviewer_id"].astype(str).to_numpy()
    labels, numbers = _versus_rest(reviewer, changes["change"].to_numpy(dtype=float))
    same = reviewer == changes["previous_reviewer_id"].astype(str).to_numpy()
    small = numbers["n"] < min_group_size
    tested = ~small & ~np.isnan(numbers["p_value"])
    p_holm = np.full(len(labels), np.nan)
    p_holm[tested] = holm(numbers["p_value"][tested])
    with np.errstate(invalid="ignore"):
        flagged = tested & (p_holm < alpha) & (np.abs(numbers["difference"]) >= threshold)
    pair = changes[["previous_cycle", "current_cycle"]].iloc[:1].to_numpy()
    names = {"n": "people", "mean": "mean_change", "rest_mean": "others_mean_change", "difference": "drift"}
    names |= {"difference_lower": "drift_lower", "difference_upper": "drift_upper"}
    return pd.DataFrame(
        {"previous_cycle": pair[0, 0] if len(pair) else None, "current_cycle": pair[0, 1] if len(pair) else None}
        | {"reviewer_id": labels}
        | {names.get(k, k): v for k, v in numbers.items()}
        | {"same_manager_before": pd.Series(same, reviewer).groupby(level=0).sum().reindex(labels).to_numpy("int64")}
        | {"small": small, "tested": tested, "p_holm": p_holm, "flagged": flagged}
    )


def _levels(values: pd.Series) -> list:
    """The categories of an ordered categorical in order, else the sorted distinct values."""
    if isinstance(values.dtype, pd.CategoricalDtype) and values.cat.ordered:
        return list(values.cat.categories)
    return sorted(values.dropna().unique())


def _changes(rows: pd.DataFrame, previous: str, current: str) -> pd.DataFrame:
    keep = [c for c in ["employee_id", "team", "reviewer_id", "level", "final_rating", "final_value"] if c in rows]
    before, after = rows.loc[rows["cycle"] == previous, keep], rows.loc[rows["cycle"] == current, keep]
    both = before.merge(after, on="employee_id", suffixes=("_previous", ""), validate="one_to_one")
    out = pd.DataFrame(
        {
            "previous_cycle": previous,
            "current_cycle": current,
            "employee_id": both["employee_id"],
            "team": both.get("team"),
            "previous_reviewer_id": both["reviewer_id_previous"],
            "reviewer_id": both["reviewer_id"],
            "previous_rating": both["final_rating_previous"],
            "current_rating": both["final_rating"],
            "previous_value": both["final_value_previous"],
            "current_value": both["final_value"],
            "change": both["final_value"] - both["final_value_previous"],
        }
    )
    if "level" in both:  # a promotion resets expectations: the room should see it beside the change
        out["level_changed"] = both["level"].astype(str) != both["level_previous"].astype(str)
    return out.sort_values("employee_id", kind="stable", ignore_index=True)


def _transitions(change: pd.DataFrame, scale: list) -> pd.DataFrame:
    counts = change.groupby(["previous_rating", "current_rating"], observed=True).size()
    cells = pd.MultiIndex.from_product([scale, scale], names=["previous", "current"])
    counts = counts.rename_axis(["previous", "current"]).reindex(cells, fill_value=0).rename("count")
    out = counts.reset_index()
    out.insert(0, "current_cycle", change["current_cycle"].iat[0] if len(change) else None)
    out.insert(0, "previous_cycle", change["previous_cycle"].iat[0] if len(change) else None)
    return out


def _pair_summary(rows: pd.DataFrame, change: pd.DataFrame, previous: str, current: str) -> pd.DataFrame:
    before = set(rows.loc[rows["cycle"] == previous, "employee_id"])
    after = set(rows.loc[rows["cycle"] == current, "employee_id"])
    moved = change["change"]
    summary = {
        "previous_cycle": previous,
        "current_cycle": current,
        "in_both": len(change),
        "unchanged": int((moved == 0).sum()),
        "stickiness": float((moved == 0).mean()) if len(change) else np.nan,
        "moved_up": int((moved > 0).sum()),
        "moved_down": int((moved < 0).sum()),
        "mean_change": float(moved.mean()) if len(change) else np.nan,
        "new": len(after - before),  # new hires, transfers in, or people not reviewed before
        "left": len(before - after),  # leavers, or people not reviewed this time
    }
    return pd.DataFrame([summary])


def _rows(table: pd.DataFrame, mask: np.ndarray) -> list[SimpleNamespace]:
    """The rows under a boolean mask, as attribute records (itertuples and masks cost ~1 ms each)."""
    return [SimpleNamespace(**table.iloc[i].to_dict()) for i in np.flatnonzero(mask)]


def _concat(parts: list[pd.DataFrame], key: list[str]) -> pd.DataFrame:
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=key)


def _context_phrase(row: Any) -> str:  # a table row from _rows
    delivery, slo = "", ""
    if pd.notna(row.delivery_level):
        days, level = row.deploy_days_per_week, f"{row.delivery_level} delivery"
        if pd.isna(days):
            delivery = f"has {level}"
        else:
            weekly = f"deploys {days:g} days a week" if days >= 1 else "deploys less than weekly"
            delivery = "ships daily" if days >= 5 else weekly
        if pd.notna(row.change_failure_rate):
            delivery += f" with a {row.change_failure_rate:.0%} change failure rate"
        delivery += f" ({level})" if pd.notna(days) else ""
    if pd.notna(row.slo_met_share):
        share = row.slo_met_share
        slo = f"met {share:.0%} of its SLO windows"
        slo = "met every SLO" if share >= 1 else "missed every SLO" if share <= 0 else slo
    return " and ".join(p for p in (delivery, slo) if p) or "has no delivery or SLO data"


def _context_finding(row: Any, method: str, threshold: float) -> Finding:
    word = "below" if row.difference < 0 else "above"
    plain = (
        f"Team {row.team} is rated {steps(row.difference)} {'lower' if row.difference < 0 else 'higher'} than the "
        f"rest of the org although its results are {'strong' if row.expected == 'strong' else 'weak'}; "
        "probably not chance. "
    )
    ask = (
        "check whether the team's results are reflected in its reviews"
        if row.expected == "strong"
        else "check what individual evidence the ratings rest on, beside the team's results"
    )
    return Finding(
        kind="team_context_mismatch",
        subject=str(row.team),
        estimate=float(row.difference),
        interval=(float(row.difference_lower), float(row.difference_upper)),
        n=int(row.n),
        threshold=threshold,
        severity="warning",
        explanation=(
            plain + f"The team {_context_phrase(row)}, yet its {row.n} people were rated "
            f"{abs(row.difference):.1f} points {word} the rest of the org"
            + (" for people of the same level, discipline and peer standing" if getattr(row, "adjusted", False) else "")
            + f" (95% interval {row.difference_lower:+.1f} to {row.difference_upper:+.1f}; Benjamini-Hochberg "
            f"{p_value(row.q_value, 'q')}): {ask}."
        ),
        method=method,
        details={"cycle": str(row.cycle), "expected": str(row.expected), "mean_rating": float(row.mean_rating)}
        | {k: float(getattr(row, k)) for k in ("rest_mean", "p_mismatch", "q_value")},
    )


def _drift_finding(row: Any, method: str, threshold: float) -> Finding:
    return Finding(
        kind="rating_drift",
        subject=str(row.reviewer_id),
        estimate=float(row.drift),
        interval=(float(row.drift_lower), float(row.drift_upper)),
        n=int(row.people),
        threshold=threshold,
        severity="warning",
        explanation=(
            f"The ratings of {row.reviewer_id}'s people moved {'up' if row.drift > 0 else 'down'} "
            f"{steps(row.drift)} more than everyone else's since {row.previous_cycle}; {chance(True)}. "
            f"The {row.people} people {row.reviewer_id} rated in {row.current_cycle} moved {row.mean_change:+.1f} "
            f"points on average since {row.previous_cycle}, {abs(row.drift):.1f} points "
            f"{'more' if row.drift > 0 else 'less'} than everyone else ({row.others_mean_change:+.1f}; 95% interval "
            f"of the difference {row.drift_lower:+.1f} to {row.drift_upper:+.1f}): check whether the change "
            "reflects their work or a change in how they are rated."
        ),
        method=method,
        details={"previous_cycle": str(row.previous_cycle), "current_cycle": str(row.current_cycle)}
        | {k: float(getattr(row, k)) for k in ("mean_change", "others_mean_change", "p_value", "p_holm")}
        | {"same_manager_before": int(row.same_manager_before)},
    )


def _context_method(cycle: str, min_group_size: int, threshold: float, q: float) -> str:
    return (
        f"Each team's mean final rating in {cycle} against everyone outside the team (pooled-variance two-sample "
        f"t, 95% intervals). Expected direction: strong = high or elite delivery and at least {SLO_MOSTLY_MET:.0%} "
        f"of SLO windows met; weak = low delivery or under {SLO_MOSTLY_BLOWN:.0%} of SLO windows met; else "
        f"neutral (missing data included). Only strong and weak teams with at least {min_group_size} people are "
        f"tested, one-sided toward a mismatch, with Benjamini-Hochberg at q = {q:g} across them; ratings must run "
        f"against the context by at least {threshold:g} rating points. Assumes delivery and SLOs describe the "
        "team's system of work, not any one person, and that people are rated independently given their team; "
        "a mismatch is a prompt to look, not proof that the ratings are wrong."
    )


def _drift_method(min_group_size: int, threshold: float, alpha: float) -> str:
    return (
        "Change in final rating for people reviewed in both of two consecutive cycles, grouped by the current "
        "cycle's manager; drift = the manager's mean change minus everyone else's (pooled-variance two-sample t, "
        f"95% intervals); Holm family-wise error {alpha:g} across managers with at least {min_group_size} such "
        f"people in each pair of cycles, and |drift| >= {threshold:g} rating points. People reviewed in only one "
        "cycle are counted, not imputed. Assumes a manager's people would otherwise move like everyone else's: "
        "promotions, a change of manager or a return from an unusual previous cycle can look like drift, so a "
        "flag is a prompt to look, not proof."
    )
