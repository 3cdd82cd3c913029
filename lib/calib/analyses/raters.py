"""Rater (manager) leniency and severity, with honest uncertainty.

Two estimates per manager, side by side:
- **raw**: the manager's intercept in a fixed-effects regression of their submitted ratings on
  level, discipline and (when peer feedback exists) the person's standardized peer score, as a
  deviation from the average manager; 95% interval from OLS. This is what is tested: Holm's
  correction across managers with at least `min_group_size` reports (family-wise error), and a
  practical threshold (default half a rating point) that the estimate must also pass.
- **shrunken**: the manager's BLUP from a linear mixed model with a manager random intercept
  (statsmodels MixedLM), which pulls small teams toward the average. It is shown, not tested:
  with many managers a single lenient one barely moves the between-manager variance, so
  shrinkage would hide exactly the manager the room needs to see.
An ordinal check (statsmodels OrderedModel, cumulative logit with manager effects) reports
whether the direction holds on the rating's own ordinal scale.

Identifying assumption: when each manager rates only their own team, leniency is confounded
with team quality. Cross-links make it estimable: peer, cross-functional, skip-level and
calibrator scores of the same people measure them independently of the manager. Without
them the estimate assumes teams are alike on average given level and discipline.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats

from calib.analyses.crossed import fit_crossed
from calib.analyses.findings import Finding
from calib.analyses.multiple import holm
from calib.analyses.reliability import peer_ratings
from calib.analyses.wording import chance, p_value, steps

CROSS_LINKS = ("peer", "cross_functional", "skip_level", "calibrator", "report")
PRACTICAL_THRESHOLD = 0.5  # rating points
# A false alarm names a manager in front of their peers. Holm on OLS t-tests is close to exact,
# so a 5% family-wise level flags ~5% of null orgs (4.7% of 300 measured); at 2.5%, with peer
# standing from the crossed-model BLUP, seeded null orgs of 40 managers (teams of 4-12) were
# flagged in 2.75% of 400 orgs, and a +1 point shift on 10 reports was found in 86% of 400 orgs
# (tests/test_raters.py re-checks both on 200 orgs each).
FAMILY_WISE_ALPHA = 0.025
MIXEDLM_MAX_GROUPS = 300  # above this, shrinkage by empirical Bayes (see shrunken_effects)


@dataclass(frozen=True)
class RaterEffects:
    """Per-manager effects (one row per manager), the findings, and the method used."""

    table: pd.DataFrame
    findings: list[Finding]
    method: str
    cross_links: list[str]


def peer_scores(feedback: pd.DataFrame | None, cycle: str) -> pd.Series:
    """Each reviewee's peer standing in the cycle, from the cross-links.

    The reviewee BLUP of the crossed model score ~ 1 + (1|reviewer) + (1|reviewee)
    (calib.analyses.crossed): it corrects for each reviewer's own leniency and shrinks people with few
    raters toward the mean, so one harsh reviewer cannot make a person look weak and their
    manager look lenient. Criterion rows are averaged per (reviewer, reviewee) first.
    """
    if feedback is None or feedback.empty:
        return pd.Series(dtype="float64", name="peer_score")
    rows = feedback[(feedback["cycle"] == cycle) & feedback["relationship"].isin(CROSS_LINKS)]
    pairs = peer_ratings(rows)
    if pairs["reviewee_id"].nunique() < 2 or pairs["reviewer_id"].nunique() < 2:
        return pairs.groupby("reviewee_id")["score"].mean().rename("peer_score")
    fit = fit_crossed(pairs["score"], pairs["reviewer_id"], pairs["reviewee_id"])
    return (fit.mu + fit.ratee_effects).rename("peer_score")


def design(frame: pd.DataFrame, peer: pd.Series) -> tuple[pd.DataFrame, list[str]]:
    """The modelling frame: y, manager, level, discipline and peer_z when it can be used."""
    data = pd.DataFrame(
        {
            "y": frame["rating_value"].to_numpy(dtype=float),
            "manager": frame["reviewer_id"].astype(str).to_numpy(),
            "level_rank": frame["level_rank"].astype(float).to_numpy(),
            "discipline": frame["discipline"].astype(str).to_numpy(),
        },
        index=frame["employee_id"].astype(str).to_numpy(),
    )
    # level enters as its rank (a linear trend), not as dummies: a rater whose reports are the
    # only people at a level (the CTO rating directors) would otherwise be inseparable from it
    covariates = ["level_rank", "C(discipline)"]
    if len(peer):
        score = peer.reindex(data.index)
        coverage = score.notna().mean()
        if coverage >= 0.5:  # below half the people, the cross-link would drop too many rows
            data["peer_z"] = ((score - score.mean()) / score.std(ddof=0)).fillna(0.0).to_numpy()
            data["peer_missing"] = score.isna().astype(float).to_numpy()
            covariates += ["peer_z"] + (["peer_missing"] if data["peer_missing"].any() else [])
    data = data[np.isfinite(data["y"])]
    covariates = [c for c in covariates if (data[c[2:-1]] if c.startswith("C(") else data[c]).nunique() > 1]
    return data, covariates


def expected_ratings(frame: pd.DataFrame, *, cycle: str, peer_feedback: pd.DataFrame | None) -> pd.Series:
    """Each person's final rating as their level, discipline and peer standing predict it (no manager term).

    Returns a Series indexed by employee_id. Used to compare teams on rating minus expectation.
    """
    rows = frame[frame["cycle"] == cycle]
    data, covariates = design(rows.assign(rating_value=rows["final_value"]), peer_scores(peer_feedback, cycle))
    exog = np.column_stack([np.ones(len(data)), covariate_matrix(data, covariates).to_numpy()])
    params, _, _ = ols(data["y"].to_numpy(), exog)
    return pd.Series(exog @ params, index=data.index, name="expected_rating")


def covariate_matrix(data: pd.DataFrame, covariates: list[str]) -> pd.DataFrame:
    """Treatment-coded dummies for C(...) covariates, numeric ones as they are (no intercept)."""
    parts = []
    for covariate in covariates:
        if covariate.startswith("C("):
            column = covariate[2:-1]
            parts.append(pd.get_dummies(data[column], prefix=column, drop_first=True).astype(float))
        else:
            parts.append(data[[covariate]].astype(float))
    return pd.concat(parts, axis=1) if parts else pd.DataFrame(index=data.index)


def ols(y: np.ndarray, exog: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Least squares with classical (pooled-variance) errors: coefficients, covariance, residual df.

    Pooled, not heteroscedasticity-robust: HC errors use each team's own residuals, and a small
    team whose people all got one rating would get a spuriously tiny standard error.
    """
    pinv = np.linalg.pinv(exog)
    params = pinv @ y
    residual = y - exog @ params
    df = max(len(y) - np.linalg.matrix_rank(exog), 1)
    sigma2 = float(residual @ residual) / df
    return params, sigma2 * (pinv @ pinv.T), df


def fixed_effects(data: pd.DataFrame, covariates: list[str]) -> pd.DataFrame:
    """Each manager's deviation from the average manager, adjusted for the covariates.

    The OLS of y on one intercept per manager plus the covariates, computed by Frisch-Waugh-Lovell
    (demean within manager, regress, intercepts = group means of y - X b) so 1,200 managers cost
    no more than 40: Var(intercepts) = sigma^2 diag(1/n_j) + Xbar V Xbar', and each effect is a
    deviation contrast of them. Identical to the dense regression (tests/test_raters.py checks).

    Returns manager_id, n, raw_effect, se, lower, upper, p_value (two-sided t test).
    """
    code, managers = pd.factorize(data["manager"], sort=True)
    k = len(managers)
    counts = np.bincount(code, minlength=k).astype(float)
    y = data["y"].to_numpy(dtype=float)
    x = covariate_matrix(data, covariates).to_numpy(dtype=float)

    def group_means(values: np.ndarray) -> np.ndarray:
        if values.ndim == 1:
            return np.bincount(code, weights=values, minlength=k) / counts
        return (
            np.column_stack([np.bincount(code, weights=values[:, i], minlength=k) for i in range(values.shape[1])])
            / counts[:, None]
        )

    x_bar = group_means(x) if x.shape[1] else np.zeros((k, 0))
    x_within = x - x_bar[code]
    y_within = y - group_means(y)[code]
    keep = np.linalg.matrix_rank(x_within) if x.shape[1] else 0
    beta, cov_beta = np.zeros(x.shape[1]), np.zeros((x.shape[1], x.shape[1]))
    if x.shape[1]:
        pinv = np.linalg.pinv(x_within)
        beta = pinv @ y_within
    residual = y_within - x_within @ beta
    df = max(len(y) - k - keep, 1)
    sigma2 = float(residual @ residual) / df
    if x.shape[1]:
        cov_beta = sigma2 * (pinv @ pinv.T)
    intercepts = group_means(y - x @ beta)
    effect = intercepts - intercepts.mean()
    centred = x_bar - x_bar.mean(axis=0)  # rows of (I - 11'/k) Xbar
    d = sigma2 / counts
    variance = d * (1 - 2 / k) + d.sum() / k**2 + np.einsum("ij,jk,ik->i", centred, cov_beta, centred)
    se = np.sqrt(np.clip(variance, 0, None))
    quantile = stats.t.ppf(0.975, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = 2 * stats.t.sf(np.abs(effect / se), df)
    return pd.DataFrame(
        {
            "manager_id": np.asarray(managers, dtype=object),
            "n": counts.astype(int),
            "raw_effect": effect,
            "se": se,
            "lower": effect - quantile * se,
            "upper": effect + quantile * se,
            "p_value": p,
        }
    )


def flag(
    table: pd.DataFrame,
    *,
    min_group_size: int,
    alpha: float = FAMILY_WISE_ALPHA,
    threshold: float = PRACTICAL_THRESHOLD,
) -> pd.DataFrame:
    """Holm-adjust the p-values of managers with enough reports; flag what also passes the threshold."""
    out = table.copy()
    out["small"] = out["n"] < min_group_size
    tested = ~out["small"] & out["p_value"].notna()
    out["p_holm"] = np.nan
    if tested.any():
        out.loc[tested, "p_holm"] = holm(out.loc[tested, "p_value"].to_numpy())
    out["flagged"] = tested & (out["p_holm"] < alpha) & (out["raw_effect"].abs() >= threshold)
    out["direction"] = np.where(out["raw_effect"] > 0, "lenient", "severe")
    return out


def shrunken_effects(data: pd.DataFrame, covariates: list[str], raw: pd.DataFrame | None = None) -> pd.DataFrame:
    """BLUPs of a manager random intercept (MixedLM, REML) with 95% conditional intervals.

    A between-manager variance estimated at zero shrinks every manager to 0: reported as such.
    With more than MIXEDLM_MAX_GROUPS managers, statsmodels' per-group loops take seconds per
    hundred groups; then the raw effects (`raw`, from fixed_effects) are shrunk by empirical
    Bayes instead: tau2 = max(0, var(raw) - mean(se^2)), lambda_j = tau2 / (tau2 + se_j^2).
    """
    if raw is not None and data["manager"].nunique() > MIXEDLM_MAX_GROUPS:
        return _empirical_bayes(raw)
    rhs = " + ".join(covariates) if covariates else "1"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # boundary and convergence notes: reported through tau2
        fit = smf.mixedlm(f"y ~ {rhs}", data, groups=data["manager"]).fit(reml=True)
    tau2 = float(np.asarray(fit.cov_re)[0, 0])
    rows = []
    for manager, effect in fit.random_effects.items():
        value = float(np.asarray(effect)[0])
        cond = fit.random_effects_cov.get(manager)
        sd = float(np.sqrt(max(np.asarray(cond)[0, 0], 0.0))) if cond is not None and tau2 > 0 else 0.0
        rows.append((manager, value, value - 1.96 * sd, value + 1.96 * sd))
    out = pd.DataFrame(rows, columns=["manager_id", "shrunken_effect", "shrunken_lower", "shrunken_upper"])
    out["tau2"] = tau2
    out["sigma2"] = float(fit.scale)
    return out


def _empirical_bayes(raw: pd.DataFrame) -> pd.DataFrame:
    se2 = raw["se"].to_numpy() ** 2
    tau2 = max(float(np.var(raw["raw_effect"], ddof=1) - np.mean(se2)), 0.0)
    weight = tau2 / (tau2 + se2) if tau2 > 0 else np.zeros_like(se2)
    effect = weight * raw["raw_effect"].to_numpy()
    sd = np.sqrt(weight * se2)
    return pd.DataFrame(
        {
            "manager_id": raw["manager_id"],
            "shrunken_effect": effect,
            "shrunken_lower": effect - 1.96 * sd,
            "shrunken_upper": effect + 1.96 * sd,
            "tau2": tau2,
            "sigma2": np.nan,
        }
    )


def ordinal_check(data: pd.DataFrame, covariates: list[str], managers: list[str]) -> pd.DataFrame:
    """Cumulative-logit manager effects (deviation coding) for `managers`: coefficient and p.

    Incidental-parameter bias inflates these for small teams, and a manager giving everyone
    one rating separates; treat them as a direction check, not an estimate.
    """
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    if not managers or data["y"].nunique() < 3:
        return pd.DataFrame(columns=["manager_id", "ordinal_coef", "ordinal_p"])
    all_managers = np.sort(data["manager"].unique())
    dummies = pd.get_dummies(data["manager"]).reindex(columns=all_managers).astype(float)
    # treatment coding (the first manager is the reference); deviation coding together with the
    # covariates can span a constant, which OrderedModel rejects
    exog = pd.concat([dummies.iloc[:, 1:].add_prefix("m_"), covariate_matrix(data, covariates)], axis=1)
    exog = exog.loc[:, exog.std() > 0]
    y = pd.Series(pd.Categorical(data["y"], ordered=True), index=data.index)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = OrderedModel(y, exog, distr="logit").fit(method="bfgs", disp=False, maxiter=1000)
    except (np.linalg.LinAlgError, ValueError):
        return pd.DataFrame(columns=["manager_id", "ordinal_coef", "ordinal_p"])
    names = [f"m_{m}" for m in all_managers[1:] if f"m_{m}" in fit.params.index]
    beta = np.concatenate([[0.0], fit.params[names].to_numpy()])
    cov = np.zeros((len(beta), len(beta)))
    cov[1:, 1:] = fit.cov_params().loc[names, names].to_numpy()
    contrast = np.eye(len(beta)) - 1.0 / len(beta)  # deviation of each manager from their mean
    effect = contrast @ beta
    se = np.sqrt(np.clip(np.diag(contrast @ cov @ contrast.T), 0, None))
    kept = [all_managers[0], *(n[2:] for n in names)]
    rows = []
    for manager in managers:
        if manager in kept:
            i = kept.index(manager)
            p = float(2 * stats.norm.sf(abs(effect[i] / se[i]))) if se[i] > 0 else float("nan")
            rows.append((manager, float(effect[i]), p))
    return pd.DataFrame(rows, columns=["manager_id", "ordinal_coef", "ordinal_p"])


def manager_effects(
    frame: pd.DataFrame,
    *,
    cycle: str,
    peer_feedback: pd.DataFrame | None = None,
    min_group_size: int = 5,
    alpha: float = FAMILY_WISE_ALPHA,
    threshold: float = PRACTICAL_THRESHOLD,
    ordinal: bool = True,
    names: dict[str, str] | None = None,
) -> RaterEffects:
    """Leniency and severity of each manager's submitted ratings in one cycle.

    Parameters
    ----------
    frame
        The calibration frame (rating_value = the manager's rating before calibration).
    cycle
        The cycle to analyse.
    peer_feedback
        The peer_feedback input, whose cross-link scores control for each person's standing.
    min_group_size
        Managers with fewer reports are shown (labelled small) but never tested or flagged.
    alpha, threshold
        Family-wise error rate (Holm) and the practical threshold in rating points.
    ordinal
        Also run the ordinal check on flagged managers.
    names
        manager id -> display name for the explanations (ids are used when absent).
    """
    rows = frame[frame["cycle"] == cycle]
    data, covariates = design(rows, peer_scores(peer_feedback, cycle))
    cross_links = ["peer feedback scores (" + ", ".join(CROSS_LINKS) + ")"] if "peer_z" in covariates else []
    table = flag(fixed_effects(data, covariates), min_group_size=min_group_size, alpha=alpha, threshold=threshold)
    table = table.merge(shrunken_effects(data, covariates, table), on="manager_id", how="left")
    flagged = table.loc[table["flagged"], "manager_id"].tolist()
    many = data["manager"].nunique() > MIXEDLM_MAX_GROUPS  # a cumulative logit with a thousand dummies takes minutes
    checks = (
        ordinal_check(data, covariates, flagged)
        if ordinal and not many
        else pd.DataFrame(columns=["manager_id", "ordinal_coef", "ordinal_p"])
    )
    table = table.merge(checks, on="manager_id", how="left")
    method = _method(covariates, cross_links, alpha, threshold)
    if many:
        method += (
            f" With more than {MIXEDLM_MAX_GROUPS} managers, shrinkage is empirical Bayes on the raw effects "
            "and the ordinal check is skipped."
        )
    findings = [_finding(row, names or {}, method, threshold) for row in table[table["flagged"]].itertuples()]
    return RaterEffects(table.sort_values("manager_id", ignore_index=True), findings, method, cross_links)


def _method(covariates: list[str], cross_links: list[str], alpha: float, threshold: float) -> str:
    controls = ", ".join(c.removeprefix("C(").removesuffix(")") for c in covariates if c != "peer_missing") or "nothing"
    assumption = (
        f"identified through cross-links: {'; '.join(cross_links)}"
        if cross_links
        else "no cross-links: assumes teams are alike on average given level and discipline"
    )
    return (
        f"OLS manager intercepts (deviation from the average manager) controlling for {controls}; "
        f"Holm family-wise error {alpha:g} across managers with enough reports and |effect| >= {threshold:g} "
        f"rating points; MixedLM BLUPs shown for shrinkage; {assumption}."
    )


def _finding(row, names: dict[str, str], method: str, threshold: float) -> Finding:
    who = names.get(row.manager_id, row.manager_id)
    word = "higher" if row.raw_effect > 0 else "lower"
    agrees = ""
    if pd.notna(getattr(row, "ordinal_coef", np.nan)):
        same = np.sign(row.ordinal_coef) == np.sign(row.raw_effect)
        agrees = (
            " A second model that treats the ratings as ordered categories agrees."
            if same
            else " A second model that treats the ratings as ordered categories does not agree: read with care."
        )
    return Finding(
        kind="rater_leniency" if row.raw_effect > 0 else "rater_severity",
        subject=row.manager_id,
        estimate=float(row.raw_effect),
        interval=(float(row.lower), float(row.upper)),
        n=int(row.n),
        threshold=threshold,
        severity="alert",
        explanation=(
            f"{who} rates {steps(row.raw_effect)} {word} than comparable managers; {chance(True)}. "
            f"Their {row.n} ratings run {abs(row.raw_effect):.1f} points {word} than the average manager's "
            f"for people of the same level, discipline and peer standing (95% interval {row.lower:+.1f} to "
            f"{row.upper:+.1f}; Holm-adjusted {p_value(row.p_holm)})." + agrees
        ),
        method=method,
        details={"shrunken_effect": float(row.shrunken_effect), "p_holm": float(row.p_holm)},
    )
