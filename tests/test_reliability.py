"""Peer reliability and reviewer effects against published values, hand computation and planted truth."""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pytest

from calib.analyses.reliability import (
    _alpha,
    koo_li_band,
    peer_ratings,
    peer_reliability,
    peer_reviewer_effects,
    peer_variance_components,
    reliability_findings,
)

# Shrout & Fleiss (1979), Table 2: 6 targets x 4 judges; ICC(1,1) = .17, ICC(2,1) = .29.
SHROUT_FLEISS = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", p. 8: 4 coders x 12 units,
# ordinal alpha = 0.815 (also the krippendorff package's documented example).
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, np.nan, np.nan, np.nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, np.nan, 3],
    [np.nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, np.nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, np.nan],
]


def feedback_from(units_by_raters: list[list[float]] | np.ndarray, cycle: str = "2026-H1") -> pd.DataFrame:
    """A peer_feedback frame from a reviewees x reviewers matrix (NaN = no rating)."""
    matrix = np.asarray(units_by_raters, dtype=float)
    rows = [
        {"cycle": cycle, "reviewer_id": f"R{j:02d}", "reviewee_id": f"E{i:02d}", "relationship": "peer",
         "criterion": None, "score": matrix[i, j], "comment": ""}
        for i in range(matrix.shape[0]) for j in range(matrix.shape[1]) if np.isfinite(matrix[i, j])
    ]
    return pd.DataFrame(rows)


def simulated_feedback(people: int, per_person: int, sd: tuple[float, float, float], seed: int,
                       lenient: str | None = None) -> pd.DataFrame:
    """Peers review peers; half-point scores on 1-5. `lenient` adds +1.5 to one reviewer's scores."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"P{i:03d}" for i in range(people)])
    true = rng.normal(3.0, sd[0], people)
    leniency = rng.normal(0.0, sd[1], people)
    rows = []
    for i in range(people):
        for j in rng.choice(np.delete(np.arange(people), i), per_person, replace=False):
            rows.append((ids[j], ids[i], true[i] + leniency[j] + rng.normal(0, sd[2])))
    if lenient is not None:  # the lenient reviewer also reviews 12 more people, +1.5 on every score
        seen = {reviewee for reviewer, reviewee, _ in rows if reviewer == lenient}
        extra = [i for i in range(people) if ids[i] not in seen and ids[i] != lenient][:12]
        rows += [(lenient, ids[i], true[i] + leniency[ids == lenient][0] + rng.normal(0, sd[2]))
                 for i in extra]
    frame = pd.DataFrame(rows, columns=["reviewer_id", "reviewee_id", "raw"])
    if lenient is not None:
        frame.loc[frame["reviewer_id"] == lenient, "raw"] += 1.5
    frame["score"] = (np.clip(frame.pop("raw"), 1, 5) * 2).round() / 2
    return frame.assign(cycle="2026-H1", relationship="peer", criterion=None, comment="")


def measure(table: pd.DataFrame, name: str) -> pd.Series:
    return table.set_index("measure").loc[name]


def test_shrout_fleiss_published_iccs() -> None:
    table = peer_reliability(feedback_from(SHROUT_FLEISS))
    icc1 = measure(table, "icc1")
    assert round(icc1["estimate"], 2) == 0.17
    # the F-based interval, as pingouin reports it for this data: [-0.13, 0.72]
    assert (round(icc1["lower"], 2), round(icc1["upper"], 2)) == (-0.13, 0.72)
    assert icc1["band"] == "poor"
    # balanced and interior, REML components equal the ANOVA ones: ICC(2,1) = .29
    assert round(measure(table, "icc_crossed")["estimate"], 2) == 0.29
    assert icc1[["n_reviewees", "n_ratings", "n_raters"]].tolist() == [6, 24, 4]


def test_krippendorff_published_example() -> None:
    data = np.array(KRIPPENDORFF_2011).T  # units x coders
    alpha = measure(peer_reliability(feedback_from(data)), "alpha_ordinal")
    assert round(alpha["estimate"], 3) == 0.815
    assert alpha["n_reviewees"] == 11  # unit 12 has one coder: below min_raters
    assert alpha["lower"] < alpha["estimate"] < alpha["upper"] <= 1


def test_krippendorff_hand_computed() -> None:
    # Units (1,1), (2,2), (1,2): coincidences o11 = o22 = 2, o12 = o21 = 1; n1 = n2 = 3, n = 6.
    # Ordinal delta(1,2) = (n1 + n2 - (n1 + n2) / 2)^2 = 9. D_o = 2 * 9 / 6 = 3;
    # D_e = 2 * 3 * 3 * 9 / (6 * 5) = 5.4; alpha = 1 - 3 / 5.4 = 4/9.
    alpha = measure(peer_reliability(feedback_from([[1, 1], [2, 2], [1, 2]])), "alpha_ordinal")
    assert alpha["estimate"] == pytest.approx(4 / 9)


def test_value_counts_alpha_equals_raters_by_units_alpha() -> None:
    rng = np.random.default_rng(4)
    matrix = rng.choice(np.arange(2, 11) / 2, size=(30, 8))
    matrix[rng.random(matrix.shape) < 0.6] = np.nan
    ratings = peer_ratings(feedback_from(matrix))
    table = pd.crosstab(ratings["reviewee_id"], ratings["score"])
    reference = krippendorff.alpha(reliability_data=matrix.T, level_of_measurement="ordinal")
    assert _alpha(table) == pytest.approx(reference, abs=1e-12)


def test_perfect_agreement() -> None:
    rng = np.random.default_rng(8)
    truth = rng.choice(np.arange(2, 11) / 2, 20)
    matrix = np.tile(truth[:, None], (1, 8))
    matrix[rng.random(matrix.shape) < 0.5] = np.nan  # each reviewee has a different set of raters
    table = peer_reliability(feedback_from(matrix)).set_index("measure")
    assert table.loc["icc1", "estimate"] == 1.0
    assert table.loc["icc_crossed", "estimate"] == pytest.approx(1.0, abs=1e-4)
    assert table.loc["alpha_ordinal", "estimate"] == pytest.approx(1.0)
    assert table.loc["icc1", "band"] == "excellent"
    assert reliability_findings(table.reset_index()) == []


def test_pure_noise_gives_icc_near_zero_and_a_warning() -> None:
    feedback = simulated_feedback(people=150, per_person=4, sd=(0.0, 0.0, 1.0), seed=12)
    table = peer_reliability(feedback)
    for name in ("icc1", "icc_crossed", "alpha_ordinal"):
        assert abs(measure(table, name)["estimate"]) < 0.1, name
    icc1 = measure(table, "icc1")
    assert icc1["lower"] < 0 < icc1["upper"]
    (finding,) = reliability_findings(table)
    assert finding.kind == "low_reliability" and finding.severity == "warning"
    assert finding.n == 150 and finding.interval == (icc1["lower"], icc1["upper"])
    assert "exchangeable" in finding.method and "random sample" in finding.method
    assert finding.explanation.endswith(".") and "ICC" in finding.explanation
    assert finding.to_json()["details"]["n_ratings"] == 600


def test_reviewer_effects_recover_planted_lenient_reviewer() -> None:
    feedback = simulated_feedback(people=120, per_person=6, sd=(0.7, 0.2, 0.5), seed=3, lenient="P017")
    effects = peer_reviewer_effects(feedback)
    assert effects["reviewer_id"].is_monotonic_increasing  # id order, never a ranking
    assert list(effects.columns) == ["reviewer_id", "n", "effect", "lower", "upper", "small"]
    planted = effects.set_index("reviewer_id").loc["P017"]
    assert effects.loc[effects["effect"].idxmax(), "reviewer_id"] == "P017"
    assert planted["lower"] > 0 and planted["n"] >= 12
    assert effects["small"].equals(effects["n"] < 5)
    components = peer_variance_components(feedback).set_index("component")["variance"]
    assert list(components.index) == ["reviewer", "reviewee", "residual"]
    assert components["reviewee"] == pytest.approx(0.49, rel=0.35)


def test_criteria_are_averaged_and_self_ratings_dropped() -> None:
    feedback = pd.DataFrame({
        "cycle": "2026-H1",
        "reviewer_id": ["A", "A", "B", "C", "C", "A"],
        "reviewee_id": ["X", "X", "X", "X", "C", "Y"],
        "relationship": ["peer", "peer", "peer", "peer", "self", "peer"],
        "criterion": ["craft", "impact", None, None, None, "craft"],
        "score": [4.0, 3.0, 2.5, np.nan, 5.0, 3.5],
        "comment": "",
    })
    ratings = peer_ratings(feedback)
    assert ratings.to_dict("records") == [
        {"reviewer_id": "A", "reviewee_id": "X", "score": 3.5},
        {"reviewer_id": "B", "reviewee_id": "X", "score": 2.5},
        {"reviewer_id": "A", "reviewee_id": "Y", "score": 3.5},
    ]
    with pytest.raises(ValueError, match="cycles"):
        peer_ratings(pd.concat([feedback, feedback.assign(cycle="2025-H2")]))


def test_outputs_are_deterministic() -> None:
    feedback = simulated_feedback(people=60, per_person=4, sd=(0.6, 0.3, 0.6), seed=21)
    pd.testing.assert_frame_equal(peer_reliability(feedback), peer_reliability(feedback))
    pd.testing.assert_frame_equal(peer_reviewer_effects(feedback), peer_reviewer_effects(feedback))
    shuffled = feedback.sample(frac=1.0, random_state=5)  # row order does not matter either
    pd.testing.assert_frame_equal(peer_reliability(feedback), peer_reliability(shuffled))
    pd.testing.assert_frame_equal(peer_reviewer_effects(feedback), peer_reviewer_effects(shuffled))


def test_koo_li_bands() -> None:
    assert [koo_li_band(v) for v in (0.49, 0.5, 0.75, 0.9, float("nan"))] == [
        "poor", "moderate", "good", "excellent", None]
