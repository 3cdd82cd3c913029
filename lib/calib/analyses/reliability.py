"""Peer-feedback reliability and reviewer leniency, for one cycle of `peer_feedback`.

How much does one peer's score tell us about the person reviewed? Three answers, side by side:
ICC(1) (one-way random effects), the ICC from the crossed reviewer x reviewee model
(`calib.analyses.crossed`), and Krippendorff's ordinal alpha. All rest on the same assumption: a
reviewee's raters are a random sample of exchangeable raters. Self-ratings are left out.

Preparation, shared by every function here: rows without a score and self-ratings
(relationship "self" or reviewer == reviewee) are dropped, then criterion-level rows are
averaged per (reviewer, reviewee), so a reviewer who scored five criteria counts as one rating,
not five correlated ones. Reviewer effects are reported in id order: the analysis never ranks
people.
"""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
from scipy import stats

from calib.analyses.crossed import fit_crossed
from calib.analyses.findings import Finding

BOOTSTRAP_RESAMPLES = 200
BOOTSTRAP_SEED = 2016  # any fixed seed: the same input gives the same interval
Z95 = float(stats.norm.ppf(0.975))
KOO_LI_BANDS = ((0.5, "poor"), (0.75, "moderate"), (0.9, "good"), (np.inf, "excellent"))
ASSUMPTION = "raters are exchangeable and each reviewee's raters are a random sample of raters"
COLUMNS = ["cycle", "measure", "label", "estimate", "lower", "upper", "band", "n_reviewees",
           "n_ratings", "n_raters", "assumption"]


def peer_ratings(feedback: pd.DataFrame) -> pd.DataFrame:
    """One score per (reviewer, reviewee): the mean over criteria, without self-ratings.

    Parameters
    ----------
    feedback
        The typed `peer_feedback` frame of one cycle (score float, ids str).

    Returns
    -------
    pd.DataFrame
        Columns reviewer_id, reviewee_id, score, sorted by reviewee then reviewer.
    """
    cycles = feedback["cycle"].dropna().unique() if "cycle" in feedback.columns else []
    if len(cycles) > 1:
        raise ValueError(f"peer feedback holds {len(cycles)} cycles; pass one cycle at a time")
    usable = feedback[feedback["score"].notna() & (feedback["reviewer_id"] != feedback["reviewee_id"])]
    if "relationship" in usable.columns:
        usable = usable[usable["relationship"].fillna("") != "self"]
    pairs = usable.groupby(["reviewee_id", "reviewer_id"], sort=True)["score"].mean()
    return pairs.reset_index()[["reviewer_id", "reviewee_id", "score"]].astype(
        {"reviewer_id": "str", "reviewee_id": "str", "score": "float64"})


def koo_li_band(icc: float) -> str | None:
    """Koo & Li (2016): < .5 poor, .5-.75 moderate, .75-.9 good, >= .9 excellent."""
    if not np.isfinite(icc):
        return None
    return next(label for limit, label in KOO_LI_BANDS if icc < limit)


def peer_reliability(feedback: pd.DataFrame, *, min_raters: int = 2) -> pd.DataFrame:
    """Reliability of a single peer score, three ways.

    Parameters
    ----------
    feedback
        The typed `peer_feedback` frame of one cycle.
    min_raters
        Only reviewees with at least this many distinct raters count (at least 2).

    Returns
    -------
    pd.DataFrame
        One row per measure (icc1, icc_crossed, alpha_ordinal): estimate, 95% lower/upper
        where an interval exists, Koo & Li band (ICCs only), n_reviewees, n_ratings (one per
        reviewer-reviewee pair), n_raters and the assumption the number rests on.
    """
    if min_raters < 2:
        raise ValueError("reliability needs at least 2 raters per reviewee")
    ratings = peer_ratings(feedback)
    raters_per = ratings.groupby("reviewee_id")["reviewer_id"].transform("nunique")
    ratings = ratings[raters_per >= min_raters].reset_index(drop=True)
    counts = {"n_reviewees": ratings["reviewee_id"].nunique(), "n_ratings": len(ratings),
              "n_raters": ratings["reviewer_id"].nunique()}
    cycles = feedback["cycle"].dropna() if "cycle" in feedback.columns else pd.Series()
    cycle = cycles.iloc[0] if len(cycles) else None
    rows = [_icc1(ratings), _icc_crossed(ratings), _alpha_ordinal(ratings)]
    out = pd.DataFrame([{"cycle": cycle, **row, **counts} for row in rows])
    out["band"] = [koo_li_band(r.estimate) if r.measure.startswith("icc") else None
                   for r in out.itertuples()]
    return out[COLUMNS]


def _icc1(ratings: pd.DataFrame) -> dict:
    """ICC(1,1) by one-way ANOVA; n0 replaces k in the unbalanced case (Shrout & Fleiss 1979)."""
    label, row = "ICC(1), one-way random, single rater", {"measure": "icc1"}
    y = ratings["score"].to_numpy()
    code = pd.factorize(ratings["reviewee_id"])[0]
    n = np.bincount(code).astype(float) if len(y) else np.empty(0)
    k, total = len(n), len(y)
    if k < 2 or total <= k:
        return {**row, "label": label, "estimate": np.nan, "lower": np.nan, "upper": np.nan,
                "assumption": "too few reviewees with enough raters to estimate"}
    means = np.bincount(code, weights=y) / n
    msb = float(n @ (means - y.mean()) ** 2) / (k - 1)
    msw = float(((y - means[code]) ** 2).sum()) / (total - k)
    n0 = (total - float(n @ n) / total) / (k - 1)  # the average group size, discounted for imbalance
    if msw == 0:  # every reviewee's raters agree exactly
        icc, lower, upper = (1.0, 1.0, 1.0) if msb > 0 else (np.nan, np.nan, np.nan)
    else:
        icc = (msb - msw) / (msb + (n0 - 1) * msw)
        f = msb / msw  # F-based interval (McGraw & Wong 1996, case 1), approximate when unbalanced
        f_low = f / stats.f.ppf(0.975, k - 1, total - k)
        f_high = f * stats.f.ppf(0.975, total - k, k - 1)
        lower, upper = (f_low - 1) / (f_low + n0 - 1), (f_high - 1) / (f_high + n0 - 1)
    return {**row, "label": label, "estimate": icc, "lower": lower, "upper": upper,
            "assumption": f"{ASSUMPTION}; unbalanced ANOVA with n0 = {n0:.2f} raters per reviewee; "
                          "F-based 95% interval"}


def _icc_crossed(ratings: pd.DataFrame) -> dict:
    """ratee / (ratee + rater + residual) from the crossed REML fit: single-rater absolute agreement."""
    row = {"measure": "icc_crossed", "label": "ICC from crossed reviewer x reviewee model",
           "lower": np.nan, "upper": np.nan}
    if ratings["reviewee_id"].nunique() < 2 or len(ratings) < 3:
        return {**row, "estimate": np.nan, "assumption": "too few reviewees with enough raters"}
    v = fit_crossed(ratings["score"], ratings["reviewer_id"], ratings["reviewee_id"]).variances
    total = v["ratee"] + v["rater"] + v["residual"]
    return {**row, "estimate": v["ratee"] / total if total > 0 else np.nan,
            "assumption": f"{ASSUMPTION}; REML variance components, reviewer leniency counted as "
                          "disagreement; no interval (none in closed form for unbalanced designs)"}


def _alpha_ordinal(ratings: pd.DataFrame) -> dict:
    """Krippendorff's ordinal alpha with a seeded bootstrap over reviewees."""
    row = {"measure": "alpha_ordinal", "label": "Krippendorff's alpha, ordinal"}
    # alpha needs only how often each value occurs per unit: the (reviewee x value) table is the
    # package's `value_counts` input, the same alpha as the raters x units matrix at a fraction
    # of its size (10k raters x 10k reviewees would be 800 MB of mostly NaN).
    table = pd.crosstab(ratings["reviewee_id"], ratings["score"]) if len(ratings) else pd.DataFrame()
    estimate = _alpha(table)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    draws = [_alpha(table.iloc[rng.integers(0, len(table), len(table))])
             for _ in range(BOOTSTRAP_RESAMPLES)] if np.isfinite(estimate) else []
    finite = np.array([d for d in draws if np.isfinite(d)])
    lower, upper = np.percentile(finite, [2.5, 97.5]) if len(finite) else (np.nan, np.nan)
    return {**row, "estimate": estimate, "lower": float(lower), "upper": float(upper),
            "assumption": f"{ASSUMPTION}; ordinal distances over the observed score values; "
                          f"percentile bootstrap over reviewees, {BOOTSTRAP_RESAMPLES} resamples"}


def _alpha(table: pd.DataFrame) -> float:
    if table.shape[0] < 2 or table.shape[1] < 2:
        return np.nan  # alpha is undefined when every score is the same value
    try:
        with np.errstate(invalid="ignore", divide="ignore"):  # resamples with no disagreement
            return float(krippendorff.alpha(value_counts=table.to_numpy(), value_domain=list(table.columns),
                                            level_of_measurement="ordinal"))
    except ValueError:  # a bootstrap resample that holds one value only
        return np.nan


def peer_variance_components(feedback: pd.DataFrame) -> pd.DataFrame:
    """Reviewer, reviewee and residual variance of peer scores (crossed REML fit).

    Parameters
    ----------
    feedback
        The typed `peer_feedback` frame of one cycle; every usable rating counts, including
        reviewees with a single rater (they still inform the reviewer effects).

    Returns
    -------
    pd.DataFrame
        Columns component (reviewer, reviewee, residual) and variance.
    """
    ratings = peer_ratings(feedback)
    v = fit_crossed(ratings["score"], ratings["reviewer_id"], ratings["reviewee_id"]).variances
    return pd.DataFrame({"component": ["reviewer", "reviewee", "residual"],
                         "variance": [v["rater"], v["ratee"], v["residual"]]})


def peer_reviewer_effects(feedback: pd.DataFrame, *, min_ratings: int = 5) -> pd.DataFrame:
    """Each reviewer's leniency (+) or severity (-) relative to other reviewers of the same people.

    Parameters
    ----------
    feedback
        The typed `peer_feedback` frame of one cycle.
    min_ratings
        Reviewers with fewer ratings than this are marked `small`: their effect is shrunk
        hard towards 0 and the interval is wide.

    Returns
    -------
    pd.DataFrame
        reviewer_id, n, effect (BLUP), lower, upper (95%, from the conditional sd, which ignores
        uncertainty in the variance components) and small, sorted by reviewer_id. When the
        reviewer variance is estimated at 0, every effect and interval is 0: the data show no
        reviewer differences beyond chance, which is not the same as proof of none.
    """
    ratings = peer_ratings(feedback)
    fit = fit_crossed(ratings["score"], ratings["reviewer_id"], ratings["reviewee_id"])
    effects = fit.effects("rater").rename_axis("reviewer_id").reset_index()
    effects["effect"] += 0.0  # -0.0 (a boundary fit) prints as 0.0
    effects["lower"] = effects["effect"] - Z95 * effects["sd"]
    effects["upper"] = effects["effect"] + Z95 * effects["sd"]
    effects["small"] = effects["n"] < min_ratings
    out = effects[["reviewer_id", "n", "effect", "lower", "upper", "small"]]
    return out.sort_values("reviewer_id", kind="stable").reset_index(drop=True)


def reliability_findings(reliability: pd.DataFrame, *, measure: str = "icc1") -> list[Finding]:
    """A `low_reliability` warning when the chosen ICC falls in Koo & Li's poor band.

    Parameters
    ----------
    reliability
        The output of `peer_reliability`.
    measure
        Which ICC decides: "icc1" (default: it has an interval) or "icc_crossed".

    Returns
    -------
    list[Finding]
        Empty unless the ICC is estimable and below 0.5.
    """
    chosen = reliability.set_index("measure")
    if measure not in ("icc1", "icc_crossed") or measure not in chosen.index:
        raise ValueError(f"measure must be an ICC row of the reliability table, not {measure!r}")
    row = chosen.loc[measure]
    if row["band"] != "poor":
        return []
    interval = (float(row["lower"]), float(row["upper"])) if np.isfinite(row["lower"]) else None
    ci = f", 95% interval {interval[0]:.2f} to {interval[1]:.2f}" if interval else ""
    cycle = f" in {row['cycle']}" if pd.notna(row["cycle"]) else ""
    share = f"only about {row['estimate']:.0%}" if row["estimate"] >= 0.005 else "almost none"
    explanation = (
        f"Peer scores{cycle} agree poorly: {share} of the differences between single peer "
        "scores reflect differences between the people reviewed, the rest is the reviewer and "
        f"chance (ICC {row['estimate']:.2f}{ci}, {row['n_reviewees']} people), so weigh the "
        "comments more than any one score."
    )
    others = {f"{m}_estimate": float(chosen.loc[m, "estimate"]) for m in chosen.index if m != measure}
    return [Finding(
        kind="low_reliability", subject=f"peer feedback{cycle}", estimate=float(row["estimate"]),
        interval=interval, n=int(row["n_reviewees"]), threshold=0.5, severity="warning",
        explanation=explanation, method=f"{row['label']}; assumes {row['assumption']}",
        details={"n_ratings": int(row["n_ratings"]), "n_raters": int(row["n_raters"]), **others},
    )]
