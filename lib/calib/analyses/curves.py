"""Curve-following: do a manager's ratings fit the guideline curve too closely to be chance?

The workbench never recommends forcing a curve. It looks for managers who appear to follow one,
because rating to a quota punishes collaboration and deep work: someone lands at the bottom
whatever the team did. A manager who fills a quota fits the curve *too well*, so the test is the
lower tail of Pearson's X² under the guideline, from the exact multinomial distribution
(compositions enumerated) or a seeded Monte Carlo one, never the asymptotic chi-square.

Small numbers decide what can be seen. An 8-person team is statistically indistinguishable from
most curves: on a typical five-level curve even a perfect fit of 8 ratings happens by chance about
one time in thirty, which no correction across 40 managers lets through. Aggregating across cycles
gives more power: call the functions on a frame holding several cycles and each manager's ratings
are pooled (``by_cycle=False``, the default); ``by_cycle=True`` gives one row per manager and cycle.
Pooled, the counts and distances use all of a manager's ratings and the test sums each cycle's X²,
because a quota is filled cycle by cycle: two cycles of 1,1,5,2,1 against the sample guideline
(.05, .15, .5, .2, .1) give p = 0.0013 summed per cycle, but p = 0.13 as one pooled team of 20.

Assumption throughout: under the null each rating is an independent draw from the guideline
(for `org_dispersion`: ratings are exchangeable across managers within a cycle).
"""

from __future__ import annotations

import itertools
import math
import zlib
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon
from scipy.special import gammaln
from scipy.stats import binomtest, entropy
from statsmodels.stats.proportion import proportion_confint

from calib.analyses.findings import Finding
from calib.analyses.multiple import holm
from calib.analyses.wording import chance, p_value
from calib.errors import ConfigError, Problem

MAX_EXACT = 250_000  # compositions of one cycle's team enumerated exactly; beyond: Monte Carlo
MAX_PAIRS = 4_000_000  # X² support pairs convolved exactly across cycles; beyond: Monte Carlo
TOL = 1e-7  # X² values closer than this are ties (float sums of the same rational numbers)
FIT_METHOD = (
    "Lower-tail exact (or Monte Carlo) multinomial test of Pearson's X² against the guideline, summed over "
    "cycles; Holm step-down with Tarone's rule for discrete tests across managers, plus total variation "
    "<= {tv:g}. Assumes ratings independent given the guideline; an 8-person team is indistinguishable "
    "from most curves, so only strong fits are flagged."
)
ORG_METHOD = (
    "Pearson chi-square of the manager-by-rating table, lower-tail permutation test (ratings shuffled "
    "across managers within each cycle); assumes ratings exchangeable across managers."
)


class LowerTail(NamedTuple):
    """Pearson's X² and its lower-tail p-value under the guideline."""

    chi2: float
    p: float  # P(X² <= observed) under the guideline
    p_min: float  # the smallest p any ratings of these team sizes could produce
    method: str  # "exact", "monte carlo" or "none"


def manager_curve_fit(
    frame: pd.DataFrame,
    *,
    labels: list[str],
    guideline: dict[str, float] | None,
    column: str = "final_rating",
    min_group_size: int = 5,
    simulations: int = 20_000,
    seed: int = 0,
    by_cycle: bool = False,
) -> pd.DataFrame:
    """Per manager: rating counts, distances to the guideline curve, entropy, lower-tail test.

    Parameters
    ----------
    frame
        The calibration frame (reviewer_id, cycle, `column`); rows without a reviewer or a rating
        on the scale are left out.
    labels, column
        The scale's labels (lowest first) and the rating column.
    guideline
        Label -> expected share (summing to 1), or None: then only counts and entropy.
    min_group_size
        Managers with fewer ratings are marked ``small``: reported, never flagged.
    simulations, seed
        Monte Carlo draws when exact enumeration is too large, and the seed (combined with the
        manager's id, so a manager's p does not depend on who else is in the frame).
    by_cycle
        False pools each manager's cycles (more power); True gives one row per manager and cycle.

    Returns
    -------
    pd.DataFrame
        reviewer_id (and cycle when split), n, n_cycles, count_<label>, tv_distance (½Σ|p-q|),
        js_distance (Jensen-Shannon, base 2), emd_levels (earth mover's distance in rating steps),
        entropy_bits, entropy_normalized (/ log2 K), chi2, p_lower, p_min, p_method, small;
        sorted by reviewer (and cycle).
    """
    shares = _shares(guideline, labels)
    keys = ["reviewer_id", "cycle"] if by_cycle else ["reviewer_id"]
    strata = _strata(frame, labels, column)  # sorted by reviewer and cycle
    by_key, rows = strata[keys].to_numpy(), strata[list(range(len(labels)))].to_numpy(dtype=np.int64)
    bounds = np.flatnonzero((by_key[1:] != by_key[:-1]).any(1)) + 1
    counts = np.split(rows, bounds) if len(rows) else []  # one (cycles x labels) array per manager
    starts = np.r_[0, bounds][: len(counts)]
    total = np.array([c.sum(0) for c in counts], dtype=np.int64).reshape(-1, len(labels))
    p = total / np.maximum(total.sum(1, keepdims=True), 1)
    out = {key: by_key[starts, i] for i, key in enumerate(keys)}
    out.update(n=total.sum(1), n_cycles=np.array([len(c) for c in counts], dtype=int))
    out.update({f"count_{label}": total[:, i] for i, label in enumerate(labels)})
    out.update(tv_distance=math.nan, js_distance=math.nan, emd_levels=math.nan)
    tests = [LowerTail(math.nan, math.nan, math.nan, "none")] * len(total)
    if shares is not None and len(total):
        out["tv_distance"] = 0.5 * np.abs(p - shares).sum(1)
        out["js_distance"] = jensenshannon(p, np.broadcast_to(shares, p.shape), base=2, axis=1)
        # = scipy.stats.wasserstein_distance(levels, levels, p, shares) on levels 1..K, vectorized
        out["emd_levels"] = np.abs(np.cumsum(p - shares, axis=1)[:, :-1]).sum(1)
        seeds = [[seed, *(zlib.crc32(str(k).encode()) for k in key)] for key in by_key[starts]]
        tests = [chi2_lower_tail(c, shares, simulations=simulations, seed=s)
                 for c, s in zip(counts, seeds, strict=True)]
    out["entropy_bits"] = entropy(p, base=2, axis=1) if len(total) else np.array([])
    out["entropy_normalized"] = out["entropy_bits"] / math.log2(len(labels))
    out.update(zip(["chi2", "p_lower", "p_min"], np.array([t[:3] for t in tests], float).reshape(-1, 3).T, strict=True))
    out.update(p_method=[t.method for t in tests], small=out["n"] < min_group_size)
    return pd.DataFrame(out, index=pd.RangeIndex(len(total)))


def chi2_lower_tail(
    counts: np.ndarray | Sequence[Sequence[int]] | Sequence[int],
    shares: np.ndarray | Sequence[float],
    *,
    simulations: int = 20_000,
    seed: int | Sequence[int] = 0,
    max_exact: int = MAX_EXACT,
) -> LowerTail:
    """Pearson's X² summed over strata (cycles) and P(X² <= observed) under the guideline.

    Parameters
    ----------
    counts
        One row of counts per stratum (a 1-D array is one stratum), one column per label.
    shares
        The guideline's expected shares, same order. Labels with share 0 are left out; a rating
        on one of them cannot fit the curve (X² = inf, p = 1).
    simulations, seed, max_exact
        Monte Carlo draws and seed, used when a stratum has more than ``max_exact`` compositions
        (0 forces Monte Carlo) or the strata's X² supports more than ``MAX_PAIRS`` pairs.

    Returns
    -------
    LowerTail
        X², p, the smallest p these stratum sizes can produce (1 / (simulations + 1) for Monte
        Carlo) and the method. The Monte Carlo p is (1 + b) / (1 + simulations), b the draws with
        X² <= observed: a valid p-value (P(p <= c) <= c under the guideline).
    """
    counts = np.atleast_2d(np.asarray(counts, dtype=np.int64))
    counts = counts[counts.sum(1) > 0]
    q = np.asarray(shares, dtype=float)
    if not len(counts):
        return LowerTail(math.nan, math.nan, math.nan, "none")
    impossible = bool((counts[:, q <= 0] > 0).any())
    counts, q = counts[:, q > 0], q[q > 0] / q[q > 0].sum()
    sizes = counts.sum(1)
    observed = math.inf if impossible else float(_pearson(counts, sizes[:, None], q).sum())
    exact = _sum_distribution(tuple(sorted(sizes.tolist())), tuple(q.tolist()), max_exact)
    if exact is not None:
        values, cdf = exact
        p = 1.0 if impossible else float(cdf[np.searchsorted(values, observed + TOL, side="right") - 1])
        return LowerTail(observed, min(p, 1.0), float(cdf[0]), "exact")
    rng = np.random.default_rng(seed)
    drawn = sum(_pearson(rng.multinomial(n, q, size=simulations), n, q) for n in sizes.tolist())
    below = int((drawn <= observed + TOL).sum())
    return LowerTail(observed, (1 + below) / (1 + simulations), 1 / (1 + simulations), "monte carlo")


def org_dispersion(
    frame: pd.DataFrame,
    *,
    labels: list[str],
    column: str = "final_rating",
    min_group_size: int = 5,
    simulations: int = 5_000,
    seed: int = 0,
) -> dict:
    """Are the teams' rating mixes more alike than chance allows (every team mirroring one curve)?

    The manager-by-rating table (managers with at least ``min_group_size`` ratings, pooled over
    cycles; labels nobody got left out) gives Pearson's chi-square of independence: far below its
    degrees of freedom means under-dispersed. The p-value is P(chi-square <= observed) over seeded
    permutations that shuffle ratings across managers within each cycle (team sizes and each
    cycle's rating mix kept), so it holds for any team size.

    Returns
    -------
    dict
        chi2, df, ratio (chi2 / df), p_lower, n_managers, n_people (distinct employees),
        n_ratings, simulations, method; NaN statistics with fewer than 2 managers or labels.
    """
    rated = _rated(frame, labels, column)
    sizes = rated.groupby("reviewer_id").size()
    rated = rated[rated["reviewer_id"].isin(sizes.index[sizes >= min_group_size])]
    managers, manager = np.unique(rated["reviewer_id"].astype(str), return_inverse=True)
    used, label = np.unique(rated["code"].to_numpy(), return_inverse=True)
    people = int(rated["employee_id"].nunique()) if "employee_id" in rated else len(rated)
    out = {"chi2": math.nan, "df": 0, "ratio": math.nan, "p_lower": math.nan, "n_managers": len(managers),
           "n_people": people, "n_ratings": len(rated), "simulations": simulations, "method": "permutation"}
    if len(managers) < 2 or len(used) < 2:
        return out
    shape = (len(managers), len(used))
    table = np.bincount(manager * shape[1] + label, minlength=shape[0] * shape[1]).reshape(shape)
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    chi2 = float(((table - expected) ** 2 / expected).sum())
    stratum = pd.factorize(rated["cycle"])[0]
    order = np.argsort(stratum, kind="stable")  # each cycle a contiguous block, shuffled on its own
    manager, label = manager[order], label[order]
    blocks = np.split(np.arange(len(label)), np.flatnonzero(np.diff(stratum[order])) + 1)
    rng = np.random.default_rng(seed)
    below, step = 0, max(1, 4_000_000 // len(label))  # permutations per batch: ~32 MB of labels
    for start in range(0, simulations, step):
        batch = min(step, simulations - start)
        shuffled = np.tile(label, (batch, 1))
        for block in blocks:
            shuffled[:, block] = rng.permuted(shuffled[:, block], axis=1)
        cells = (np.arange(batch)[:, None] * shape[0] + manager) * shape[1] + shuffled
        tables = np.bincount(cells.ravel(), minlength=batch * table.size).reshape(batch, *shape)
        below += int((((tables - expected) ** 2 / expected).sum((1, 2)) <= chi2 + TOL).sum())
    df = (shape[0] - 1) * (shape[1] - 1)
    out.update(chi2=chi2, df=df, ratio=chi2 / df, p_lower=(1 + below) / (1 + simulations))
    return out


def central_tendency(
    frame: pd.DataFrame,
    *,
    labels: list[str],
    column: str = "final_rating",
    min_group_size: int = 5,
    by_cycle: bool = False,
) -> pd.DataFrame:
    """Per manager: the share at the middle of the scale and the spread, beside the org's.

    The middle is the middle label of an odd scale, the two middle labels of an even one.

    Returns
    -------
    pd.DataFrame
        reviewer_id (and cycle), n, n_middle, share_middle, entropy_normalized,
        org_share_middle, org_entropy_normalized, small; sorted by reviewer (and cycle).
    """
    k = len(labels)
    middle = list(range((k - 1) // 2, k // 2 + 1))
    keys = ["reviewer_id", "cycle"] if by_cycle else ["reviewer_id"]
    counts = _strata(frame, labels, column).groupby(keys, sort=True)[list(range(k))].sum()
    total = counts.to_numpy(dtype=float).reshape(-1, k)
    org = total.sum(0)  # every rated row, small teams included
    out = counts.index.to_frame(index=False)
    out["n"] = total.sum(1).astype(int)
    out["n_middle"] = total[:, middle].sum(1).astype(int)
    out["share_middle"] = out["n_middle"] / out["n"].clip(lower=1)
    out["entropy_normalized"] = (entropy(total, base=2, axis=1) if len(out) else np.array([])) / math.log2(k)
    out["org_share_middle"] = org[middle].sum() / max(org.sum(), 1)
    out["org_entropy_normalized"] = entropy(org, base=2) / math.log2(k) if org.sum() else math.nan
    out["small"] = out["n"] < min_group_size
    return out


def curve_findings(
    fits: pd.DataFrame | None,
    dispersion: dict | None,
    tendency: pd.DataFrame | None,
    *,
    alpha: float = 0.05,
    max_tv: float = 0.1,
    central_share: float = 0.8,
    central_min_n: int = 8,
    labels: list[str] | None = None,
) -> list[Finding]:
    """Findings from the three analyses above (any may be None); small groups never produce one.

    - forced_distribution (alert): the manager's lower-tail p survives Holm's step-down correction
      across the managers tested, refined by Tarone's rule for discrete tests (a manager whose team
      sizes cannot reach the level does not dilute the others), and the total variation distance to
      the guideline is at most ``max_tv`` (0.1: at most one rating in ten would have to move to
      match the curve). Holm (family-wise error) rather than Benjamini-Hochberg, because a finding
      names a person.
    - org_forced_distribution (alert): org-wide under-dispersion p < alpha (one test).
    - central_tendency (warning): at least ``central_share`` of a manager's ratings at the middle
      with n >= ``central_min_n``: a descriptive threshold, not a test (a team can be alike); the
      binomial p against the org's middle share is in the details.

    ``labels`` (the scale) lets the central-tendency explanation name the middle rating.
    """
    findings = _forced(fits, alpha, max_tv) if fits is not None and len(fits) else []
    if dispersion is not None and dispersion.get("p_lower", math.nan) < alpha:
        findings.append(_org(dispersion, alpha))
    if tendency is not None and len(tendency):
        findings += _central(tendency, central_share, central_min_n, labels)
    return findings


def _forced(fits: pd.DataFrame, alpha: float, max_tv: float) -> list[Finding]:
    tested = fits[~fits["small"] & fits["p_lower"].notna()].reset_index(drop=True)
    if not len(tested):
        return []
    reject, level, family = _tarone_holm(tested["p_lower"].to_numpy(), tested["p_min"].to_numpy(), alpha)
    out = []
    for i in np.flatnonzero(reject & (tested["tv_distance"].to_numpy() <= max_tv + 1e-12)):
        row = tested.iloc[i]
        where = f" across {row['n_cycles']} cycles" if row["n_cycles"] > 1 else ""
        where = f" in {row['cycle']}" if "cycle" in row.index else where
        out.append(Finding(
            kind="forced_distribution", subject=_subject(row), estimate=float(row["tv_distance"]), interval=None,
            n=int(row["n"]), threshold=max_tv, severity="alert",
            explanation=(
                f"Manager {row['reviewer_id']}'s ratings{where} follow the guideline curve almost exactly, closer "
                f"than real teams do; {chance(True)}. Their {row['n']} ratings match the curve more closely than "
                f"chance allows ({p_value(row['p_lower'])}): check whether ratings were assigned to fit a quota."
            ),
            method=FIT_METHOD.format(tv=max_tv),
            details={"p_lower": float(row["p_lower"]), "level": float(level[i]), "family": int(family[i]),
                     "alpha": alpha, "chi2": float(row["chi2"]), "p_min": float(row["p_min"]),
                     "js_distance": float(row["js_distance"]), "emd_levels": float(row["emd_levels"]),
                     "n_cycles": int(row["n_cycles"]), "p_method": row["p_method"]},
        ))
    return out


def _org(d: dict, alpha: float) -> Finding:
    return Finding(
        kind="org_forced_distribution", subject="org", estimate=d["ratio"], interval=None, n=d["n_ratings"],
        threshold=None, severity="alert",
        explanation=(
            f"Every team's ratings are spread almost the same way, more alike than real teams are; {chance(True)}. "
            f"Across {d['n_managers']} managers ({d['n_ratings']} ratings) the teams' rating mixes are more alike "
            f"than chance allows (chi-square {d['chi2']:.1f} on {d['df']} degrees of freedom, "
            f"{p_value(d['p_lower'])}): check whether every team was rated to the same curve."
        ),
        method=ORG_METHOD,
        details={"chi2": d["chi2"], "df": d["df"], "p_lower": d["p_lower"], "alpha": alpha,
                 "n_managers": d["n_managers"], "n_people": d["n_people"]},
    )


def _central(tendency: pd.DataFrame, share: float, min_n: int, labels: list[str] | None) -> list[Finding]:
    """Central tendency: a warning when the binomial test against the org's middle share survives
    Holm across every eligible manager; otherwise info (a team can simply be alike, and with 40
    managers a 9-of-10 team turns up by chance in most orgs)."""
    eligible = tendency[~tendency["small"] & (tendency["n"] >= min_n)]
    p_vs_org = np.array([
        binomtest(int(r["n_middle"]), int(r["n"]), min(float(r["org_share_middle"]), 1.0), alternative="greater").pvalue
        for _, r in eligible.iterrows()
    ])
    adjusted = pd.Series(holm(p_vs_org), index=eligible.index) if len(eligible) else pd.Series(dtype=float)
    hit = eligible[eligible["share_middle"] >= share]
    k = len(labels or [])
    rating = f"the middle rating ({' / '.join(labels[(k - 1) // 2 : k // 2 + 1])})" if labels else "the middle rating"
    out = []
    for index, row in hit.iterrows():
        n, middle, org = int(row["n"]), int(row["n_middle"]), float(row["org_share_middle"])
        low, high = proportion_confint(middle, n, method="wilson")
        p_holm = float(adjusted[index])
        maybe = chance(True) if p_holm < 0.05 else f"{chance(False)}: a team can simply be alike"
        when = f" in {row.cycle}" if "cycle" in row.index else ""
        out.append(Finding(
            kind="central_tendency", subject=_subject(row), estimate=float(row["share_middle"]),
            interval=(float(low), float(high)), n=n, threshold=share,
            severity="warning" if p_holm < 0.05 else "info",
            explanation=(
                f"Manager {row['reviewer_id']} gives nearly everyone the middle rating{when}; {maybe}. "
                f"They gave {middle} of {n} people {rating}, against {org:.0%} across the org "
                f"(Holm-adjusted {p_value(p_holm)}): check whether each rating reflects that person's evidence "
                "rather than a safe default."
            ),
            method=(
                f"Share at the middle of the scale with a Wilson 95% interval, shown at >= {share:.0%} "
                f"with n >= {min_n}; "
                "a warning only when a one-sided binomial test against the org's share survives Holm across managers."
            ),
            details={"entropy_normalized": float(row["entropy_normalized"]), "org_share_middle": org,
                     "org_entropy_normalized": float(row["org_entropy_normalized"]),
                     "p_vs_org": float(p_vs_org[list(eligible.index).index(index)]), "p_holm": p_holm},
        ))
    return out


def _tarone_holm(p: np.ndarray, p_min: np.ndarray, alpha: float) -> tuple[np.ndarray, ...]:
    """Holm's step-down where each step's Bonferroni count is Tarone's K for the hypotheses left.

    Tarone's K is the smallest k with #{p_min <= alpha / k} <= k (p_min depends on team sizes
    only). K never grows on a subset, so the step-down is a closed-testing shortcut and keeps the
    family-wise error at alpha.
    """
    reject = np.zeros(len(p), dtype=bool)
    level, family = np.full(len(p), np.nan), np.zeros(len(p), dtype=int)
    for i in np.argsort(p, kind="stable"):
        ks = np.arange(1, (~reject).sum() + 1)
        k = ks[np.searchsorted(np.sort(p_min[~reject]), alpha / ks, side="right") <= ks][0]
        level[i], family[i] = alpha / k, k
        if p[i] > alpha / k:
            break
        reject[i] = True
    return reject, level, family


def _subject(row: pd.Series) -> str:
    return f"{row['reviewer_id']} ({row['cycle']})" if "cycle" in row.index else str(row["reviewer_id"])


def _shares(guideline: dict[str, float] | None, labels: list[str]) -> np.ndarray | None:
    """The guideline as shares in scale order; labels it leaves out get 0."""
    if guideline is None:
        return None
    shares = np.array([float(guideline.get(label, 0.0)) for label in labels])
    if set(guideline) - set(labels) or (shares < 0).any() or abs(shares.sum() - 1) > 1e-6:
        raise ConfigError([Problem(
            "config", None, "guideline_curve", str(guideline),
            f"shares >= 0 for labels of the scale ({', '.join(labels)}) summing to 1", column_label="key",
        )])
    return shares


def _rated(frame: pd.DataFrame, labels: list[str], column: str) -> pd.DataFrame:
    """Rows with a reviewer and a rating on the scale; code = the rating's position (0-based)."""
    codes = pd.Categorical(frame[column], categories=labels).codes
    keep = (codes >= 0) & frame["reviewer_id"].notna().to_numpy()
    rated = frame.loc[keep, [c for c in ("cycle", "employee_id", "reviewer_id") if c in frame.columns]].copy()
    rated["code"] = codes[keep]
    rated["cycle"] = rated["cycle"].astype("object") if "cycle" in rated else ""
    return rated


def _strata(frame: pd.DataFrame, labels: list[str], column: str) -> pd.DataFrame:
    """Counts per reviewer and cycle, sorted by both: columns reviewer_id, cycle, 0..K-1."""
    rated = _rated(frame, labels, column)
    stratum, keys = pd.MultiIndex.from_arrays([rated["reviewer_id"], rated["cycle"]]).factorize(sort=True)
    k = len(labels)
    counts = np.bincount(stratum * k + rated["code"].to_numpy(), minlength=len(keys) * k).reshape(-1, k)
    return pd.concat([keys.to_frame(index=False, name=["reviewer_id", "cycle"]), pd.DataFrame(counts)], axis=1)


def _pearson(counts: np.ndarray, n: np.ndarray | int, q: np.ndarray) -> np.ndarray:
    return ((counts - n * q) ** 2 / (n * q)).sum(-1)


@lru_cache(maxsize=512)
def _stratum_distribution(n: int, q: tuple[float, ...], max_exact: int) -> tuple[np.ndarray, np.ndarray] | None:
    """X² values (sorted, ties merged) and their probabilities for one team of n, or None if too many."""
    k = len(q)
    if math.comb(n + k - 1, k - 1) > max_exact:
        return None
    bars = np.array(list(itertools.combinations(range(n + k - 1), k - 1)), dtype=np.int64).reshape(-1, k - 1)
    edges = np.hstack([np.full((len(bars), 1), -1), bars, np.full((len(bars), 1), n + k - 1)])
    x = np.diff(edges, axis=1) - 1  # stars and bars: every composition of n into k parts
    prob = np.exp(gammaln(n + 1) - gammaln(x + 1).sum(1) + (x * np.log(q)).sum(1))
    return _merge(_pearson(x, n, np.array(q)), prob)


@lru_cache(maxsize=256)  # usually small; at most MAX_PAIRS values each
def _sum_distribution(sizes: tuple[int, ...], q: tuple[float, ...], max_exact: int) -> tuple[np.ndarray, ...] | None:
    """Support and CDF of X² summed over independent strata of these sizes, or None if too large."""
    total = None
    for n in sizes:
        one = _stratum_distribution(n, q, max_exact)
        if one is None or (total is not None and len(total[0]) * len(one[0]) > MAX_PAIRS):
            return None
        total = one if total is None else _merge(np.add.outer(total[0], one[0]).ravel(),
                                                 np.multiply.outer(total[1], one[1]).ravel())
    return total[0], np.cumsum(total[1])


def _merge(values: np.ndarray, prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    support, index = np.unique(np.round(values, 9), return_inverse=True)
    return support, np.bincount(index, weights=prob)
