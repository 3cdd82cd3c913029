"""Curve-following: hand-checked distances and p-values, and seeded orgs with a planted quota."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency

from calib.analyses.curves import (
    _tarone_holm,
    central_tendency,
    chi2_lower_tail,
    curve_findings,
    manager_curve_fit,
    org_dispersion,
)
from calib.errors import ConfigError

LABELS = ["Does not meet", "Partially meets", "Meets", "Exceeds", "Far exceeds"]
GUIDE = (0.05, 0.15, 0.50, 0.20, 0.10)  # the sample org's guideline
QUOTA = (1, 1, 5, 2, 1)  # a team of 10 rated to it, rounded (largest remainders)
CYCLES = ("2025-H2", "2026-H1")


def frame_from_counts(counts: np.ndarray, managers: list[str] | None = None) -> pd.DataFrame:
    """A calibration frame from counts[manager, cycle, label]: one row per rating."""
    counts = np.asarray(counts)
    m, c, k = counts.shape
    managers = managers or [f"M{i:02d}" for i in range(m)]
    reps = counts.ravel()
    codes = np.repeat(np.tile(np.arange(k), m * c), reps)
    frame = pd.DataFrame({
        "cycle": np.repeat(np.tile(np.array(CYCLES[:c], dtype=object), m).repeat(k), reps),
        "employee_id": [f"E{i}" for i in range(reps.sum())],
        "reviewer_id": np.repeat(np.array(managers, dtype=object).repeat(c * k), reps),
        "final_rating": pd.Categorical.from_codes(codes, categories=LABELS, ordered=True),
    })
    frame["final_value"] = frame["final_rating"].cat.codes + 1.0
    return frame


def guideline(shares: tuple[float, ...] = GUIDE) -> dict[str, float]:
    return dict(zip(LABELS, shares, strict=True))


def org_counts(rng: np.random.Generator, managers: int, quota: int) -> np.ndarray:
    """counts[manager, cycle, label]: the first `quota` managers rate a team of 10 to the curve each
    cycle; the others' teams of 4-12 are drawn independently from the guideline."""
    sizes = rng.integers(4, 13, managers)
    counts = rng.multinomial(np.repeat(sizes, 2)[:, None], GUIDE).reshape(managers, 2, len(GUIDE))
    counts[:quota] = QUOTA
    return counts


# --- distances and entropy -----------------------------------------------------------------


def test_distances_are_zero_when_the_team_matches_the_curve() -> None:
    fits = manager_curve_fit(
        frame_from_counts([[[1, 2, 4, 2, 1]]]), labels=LABELS, guideline=guideline((0.1, 0.2, 0.4, 0.2, 0.1))
    )
    row = fits.iloc[0]
    assert (row["n"], row["tv_distance"], row["js_distance"], row["emd_levels"]) == (10, 0, 0, 0)
    # -(2 x .1 log2 .1 + 2 x .2 log2 .2 + .4 log2 .4) = 2.121928 bits, / log2 5
    assert row["entropy_bits"] == pytest.approx(2.121928, abs=1e-6)
    assert row["entropy_normalized"] == pytest.approx(2.121928 / 2.321928, abs=1e-6)
    assert row["chi2"] == pytest.approx(0, abs=1e-12)


def test_distances_when_everyone_gets_meets() -> None:
    fits = manager_curve_fit(
        frame_from_counts([[[0, 0, 10, 0, 0]]]), labels=LABELS, guideline=guideline((0.1, 0.2, 0.4, 0.2, 0.1))
    )
    row = fits.iloc[0]
    assert row["tv_distance"] == pytest.approx(0.6)  # (.1 + .2 + .6 + .2 + .1) / 2
    assert row["emd_levels"] == pytest.approx(0.8)  # |CDF gaps| .1 + .3 + .3 + .1
    # M = (.05, .1, .7, .1, .05); KL(p|M) = log2(1/.7), KL(q|M) = .6 + .4 log2(.4/.7)
    js = math.sqrt(0.5 * (math.log2(1 / 0.7) + 0.6 + 0.4 * math.log2(0.4 / 0.7)))
    assert row["js_distance"] == pytest.approx(js)  # 0.629139
    assert row["entropy_bits"] == 0 and row["entropy_normalized"] == 0


# --- the lower-tail test -------------------------------------------------------------------


def test_lower_tail_by_hand_for_three_ratings_on_two_labels() -> None:
    # q = (.25, .75), n = 3: (0,3) X²=1 P=27/64; (1,2) X²=1/9 P=27/64; (2,1) X²=25/9 P=9/64; (3,0) X²=9 P=1/64
    q = [0.25, 0.75]
    assert chi2_lower_tail([1, 2], q) == pytest.approx((1 / 9, 27 / 64, 27 / 64, "exact"))
    assert chi2_lower_tail([0, 3], q).p == pytest.approx(54 / 64)
    assert chi2_lower_tail([2, 1], q).p == pytest.approx(63 / 64)
    assert chi2_lower_tail([3, 0], q).p == pytest.approx(1.0)
    # two cycles: the X² add; only (1,2)+(1,2), (0,3)+(1,2), (1,2)+(0,3) reach <= 10/9
    assert chi2_lower_tail([[1, 2], [1, 2]], q).p == pytest.approx((27 / 64) ** 2)
    assert chi2_lower_tail([[0, 3], [1, 2]], q).p == pytest.approx(3 * (27 / 64) ** 2)


@pytest.mark.parametrize(
    "counts", [[0, 1, 4, 2, 1], [1, 1, 5, 2, 1], [0, 0, 8, 0, 0], [[1, 1, 4, 1, 1], [0, 1, 3, 2, 0]]]
)
def test_exact_and_monte_carlo_agree(counts: list) -> None:
    exact = chi2_lower_tail(counts, GUIDE)
    simulated = chi2_lower_tail(counts, GUIDE, simulations=20_000, seed=3, max_exact=0)
    assert (exact.method, simulated.method) == ("exact", "monte carlo")
    error = math.sqrt(exact.p * (1 - exact.p) / 20_000)
    assert abs(simulated.p - exact.p) <= 4 * error + 1 / 20_000
    assert simulated.chi2 == pytest.approx(exact.chi2)


def test_monte_carlo_is_seeded() -> None:
    a = chi2_lower_tail([2, 3, 9, 4, 2], GUIDE, simulations=2_000, seed=7, max_exact=0)
    assert a == chi2_lower_tail([2, 3, 9, 4, 2], GUIDE, simulations=2_000, seed=7, max_exact=0)


def test_a_rating_the_guideline_gives_no_share_cannot_fit_it() -> None:
    assert chi2_lower_tail([1, 0, 5, 2, 2], (0, 0.2, 0.5, 0.2, 0.1)).p == 1.0


def test_a_guideline_off_the_scale_or_not_summing_to_one_is_a_config_error() -> None:
    frame = frame_from_counts([[QUOTA]])
    with pytest.raises(ConfigError):
        manager_curve_fit(frame, labels=LABELS, guideline={**guideline(), "Meets": 0.6})
    with pytest.raises(ConfigError):
        manager_curve_fit(frame, labels=LABELS, guideline={"Outstanding": 1.0})


def test_tarone_holm_ignores_managers_whose_team_cannot_reach_the_level() -> None:
    # nine managers could never reach 0.05 / k: the tenth is tested at 0.05, not 0.005
    p_min = np.array([0.001] + [0.2] * 9)
    p = np.array([0.02] + [0.5] * 9)
    reject, level, family = _tarone_holm(p, p_min, 0.05)
    assert reject.tolist() == [True] + [False] * 9 and family[0] == 1 and level[0] == 0.05
    reject, _, _ = _tarone_holm(p, np.full(10, 0.001), 0.05)  # all could: plain Holm, 0.02 > 0.005
    assert not reject.any()


# --- seeded orgs with known truth ----------------------------------------------------------


def forced_subjects(counts: np.ndarray, *, by_cycle: bool = False) -> set[str]:
    fits = manager_curve_fit(frame_from_counts(counts), labels=LABELS, guideline=guideline(), by_cycle=by_cycle)
    return {f.subject for f in curve_findings(fits, None, None) if f.kind == "forced_distribution"}


def test_quota_managers_pooled_over_two_cycles_are_flagged() -> None:
    rng = np.random.default_rng(2026)
    orgs, hits = 100, 0
    for _ in range(orgs):
        flagged = forced_subjects(org_counts(rng, 40, quota=1))
        hits += "M00" in flagged
    assert hits / orgs >= 0.8


def test_null_orgs_rarely_flag_anyone() -> None:
    rng = np.random.default_rng(7)
    orgs = 200
    any_flagged = sum(bool(forced_subjects(org_counts(rng, 40, quota=0))) for _ in range(orgs))
    assert any_flagged / orgs <= 0.05


def test_one_cycle_of_a_ten_person_quota_is_not_enough() -> None:
    # a perfect quota fit of 10 happens by chance 3.5% of the time: no correction lets it through
    rng = np.random.default_rng(11)
    flagged = forced_subjects(org_counts(rng, 40, quota=1), by_cycle=True)
    assert not any(s.startswith("M00") for s in flagged)


def test_small_groups_are_reported_but_never_flagged() -> None:
    counts = org_counts(np.random.default_rng(5), 40, quota=3)
    fits = manager_curve_fit(frame_from_counts(counts), labels=LABELS, guideline=guideline(), min_group_size=25)
    assert fits["small"].all() and fits["p_lower"].notna().all()
    assert curve_findings(fits, None, central_tendency(frame_from_counts(counts), labels=LABELS,
                                                         min_group_size=25)) == []


def test_findings_read_aloud_and_never_ask_for_a_curve() -> None:
    counts = org_counts(np.random.default_rng(3), 40, quota=1)
    fits = manager_curve_fit(frame_from_counts(counts), labels=LABELS, guideline=guideline())
    [finding] = [f for f in curve_findings(fits, None, None) if f.subject == "M00"]
    assert finding.kind == "forced_distribution" and finding.severity == "alert"
    assert finding.explanation.startswith(
        "Manager M00's ratings across 2 cycles follow the guideline curve almost exactly, closer than real teams do; "
        "unlikely to be chance. Their 20 ratings match the curve"
    )
    assert "fit a quota" in finding.explanation and "p = 0.0013" in finding.explanation
    assert "independent" in finding.method and "8-person" in finding.method
    assert (finding.estimate, finding.threshold, finding.interval, finding.n) == (pytest.approx(0.05), 0.1, None, 20)
    assert finding.to_json()["details"]["p_lower"] == pytest.approx(0.00125582, rel=1e-4)


def test_fits_are_deterministic_sorted_and_split_by_cycle_on_request() -> None:
    frame = frame_from_counts(org_counts(np.random.default_rng(9), 6, quota=1))
    shuffled = frame.sample(frac=1, random_state=1)
    pooled = manager_curve_fit(shuffled, labels=LABELS, guideline=guideline())
    pd.testing.assert_frame_equal(pooled, manager_curve_fit(frame, labels=LABELS, guideline=guideline()))
    assert pooled["reviewer_id"].tolist() == sorted(pooled["reviewer_id"]) and (pooled["n_cycles"] == 2).all()
    split = manager_curve_fit(frame, labels=LABELS, guideline=guideline(), by_cycle=True)
    assert len(split) == 12 and (split["n_cycles"] == 1).all()
    assert split.groupby("reviewer_id")["n"].sum().tolist() == pooled["n"].tolist()


def test_without_a_guideline_only_counts_and_entropy() -> None:
    fits = manager_curve_fit(frame_from_counts([[QUOTA, QUOTA]]), labels=LABELS, guideline=None)
    assert fits.loc[0, "p_method"] == "none" and fits[["tv_distance", "p_lower"]].isna().all().all()
    assert fits.loc[0, "entropy_bits"] > 0 and curve_findings(fits, None, None) == []


# --- org-wide under-dispersion -------------------------------------------------------------


def test_org_chi_square_matches_scipy() -> None:
    counts = org_counts(np.random.default_rng(4), 12, quota=0)
    result = org_dispersion(frame_from_counts(counts), labels=LABELS, simulations=200)
    table = counts.sum(1)
    expected = chi2_contingency(table[:, table.sum(0) > 0], correction=False)
    assert result["chi2"] == pytest.approx(expected.statistic) and result["df"] == expected.dof
    assert result["ratio"] == pytest.approx(expected.statistic / expected.dof)
    assert (result["n_managers"], result["n_ratings"], result["n_people"]) == (12, table.sum(), table.sum())


def test_identical_teams_are_under_dispersed() -> None:
    counts = np.tile(np.array([[1, 2, 4, 2, 1]]), (15, 2, 1))
    result = org_dispersion(frame_from_counts(counts), labels=LABELS, simulations=2_000)
    assert result["chi2"] == 0 and result["p_lower"] == pytest.approx(1 / 2_001)
    [finding] = curve_findings(None, result, None)
    assert finding.kind == "org_forced_distribution" and finding.subject == "org"
    assert "same curve" in finding.explanation


def test_independent_teams_are_not_under_dispersed() -> None:
    rng = np.random.default_rng(8)
    frames = [frame_from_counts(org_counts(rng, 30, quota=0)) for _ in range(40)]
    p = [org_dispersion(f, labels=LABELS, simulations=400, seed=s)["p_lower"] for s, f in enumerate(frames)]
    assert np.mean(np.array(p) < 0.05) <= 0.15 and 0.3 < np.mean(p) < 0.7  # about uniform


def test_org_dispersion_leaves_out_small_teams() -> None:
    counts = np.tile(np.array([[1, 2, 4, 2, 1]]), (4, 1, 1))
    counts[0, 0] = [0, 0, 3, 0, 0]
    result = org_dispersion(frame_from_counts(counts), labels=LABELS, simulations=100)
    assert result["n_managers"] == 3 and result["n_ratings"] == 30


# --- central tendency ----------------------------------------------------------------------


def test_central_tendency_finds_a_manager_who_rates_nine_of_ten_meets() -> None:
    counts = np.array([[[0, 0, 9, 1, 0]], [[0, 0, 4, 0, 0]], [[1, 2, 4, 2, 1]]])
    frame = frame_from_counts(counts, managers=["Bunch", "Tiny", "Spread"])
    table = central_tendency(frame, labels=LABELS)
    assert table["reviewer_id"].tolist() == ["Bunch", "Spread", "Tiny"]
    assert table["share_middle"].tolist() == [0.9, 0.4, 1.0] and table["small"].tolist() == [False, False, True]
    assert table.loc[0, "org_share_middle"] == pytest.approx(17 / 24)
    [finding] = curve_findings(None, None, table, labels=LABELS)
    # 9 of 10 against an org share of 17/24: binomial p = 0.13, so recorded (info), not flagged
    assert (finding.kind, finding.subject, finding.severity, finding.n) == ("central_tendency", "Bunch", "info", 10)
    assert finding.estimate == 0.9 and finding.interval[0] < 0.9 < finding.interval[1]
    assert "9 of 10 people the middle rating (Meets)" in finding.explanation
    assert finding.explanation.startswith("Manager Bunch gives nearly everyone the middle rating; could be chance")
    assert "(Holm-adjusted p = 0.33)" in finding.explanation  # p once: it read "Holm-adjusted p = p = 0.33"


def test_central_tendency_warns_only_beyond_chance() -> None:
    counts = np.array([[[0, 1, 19, 0, 0]], [[3, 4, 4, 4, 3]], [[3, 4, 4, 4, 3]]])
    frame = frame_from_counts(counts, managers=["Bunch", "A", "B"])
    [finding] = curve_findings(None, None, central_tendency(frame, labels=LABELS), labels=LABELS)
    # 19 of 20 against an org share of 27/56: binomial p ~ 1e-5, Holm over 3 managers still tiny
    assert finding.subject == "Bunch" and finding.severity == "warning" and finding.details["p_holm"] < 0.001


def test_an_even_scale_has_two_middle_ratings() -> None:
    labels = ["Low", "Mid-low", "Mid-high", "High"]
    frame = pd.DataFrame({"reviewer_id": ["A"] * 8, "final_rating": ["Mid-low"] * 4 + ["Mid-high"] * 3 + ["High"]})
    table = central_tendency(frame, labels=labels)
    assert table.loc[0, "share_middle"] == 7 / 8
    [finding] = curve_findings(None, None, table, labels=labels)
    assert "(Mid-low / Mid-high)" in finding.explanation


# --- edges ---------------------------------------------------------------------------------


def test_earth_movers_distance_is_scipys() -> None:
    from scipy.stats import wasserstein_distance

    counts = np.random.default_rng(1).integers(0, 6, (12, 1, 5))
    fits = manager_curve_fit(frame_from_counts(counts), labels=LABELS, guideline=guideline())
    levels = np.arange(1, 6)
    for row, emd in zip(counts[:, 0], fits["emd_levels"], strict=True):
        assert emd == pytest.approx(wasserstein_distance(levels, levels, row / row.sum(), GUIDE))


def test_large_teams_use_seeded_monte_carlo_whoever_else_is_in_the_frame() -> None:
    big = np.array([[[3, 9, 30, 12, 6]], [[1, 2, 4, 2, 1]]])  # 60 ratings: 635,376 compositions
    fits = manager_curve_fit(frame_from_counts(big), labels=LABELS, guideline=guideline(), simulations=5_000)
    assert fits["p_method"].tolist() == ["monte carlo", "exact"] and fits.loc[0, "p_min"] == 1 / 5_001
    alone = manager_curve_fit(frame_from_counts(big[:1]), labels=LABELS, guideline=guideline(), simulations=5_000)
    assert alone.loc[0, "p_lower"] == fits.loc[0, "p_lower"]
    exact_by_convolution = chi2_lower_tail([[3, 9, 30, 12, 6]], GUIDE, max_exact=10**6).p
    assert abs(fits.loc[0, "p_lower"] - exact_by_convolution) < 4 * math.sqrt(exact_by_convolution / 5_000) + 1e-3


def test_split_by_cycle_findings_name_the_cycle() -> None:
    counts = np.array([[[1, 3, 10, 4, 2]]])  # one manager, 20 ratings exactly on the curve: p = 0.0061
    fits = manager_curve_fit(frame_from_counts(counts), labels=LABELS, guideline=guideline(), by_cycle=True)
    [finding] = curve_findings(fits, None, None)
    assert finding.subject == "M00 (2025-H2)" and "M00's ratings in 2025-H2 follow" in finding.explanation


def test_an_empty_frame_gives_empty_tables_and_no_findings() -> None:
    empty = frame_from_counts(np.zeros((1, 1, 5), dtype=int))
    fits = manager_curve_fit(empty, labels=LABELS, guideline=guideline())
    table = central_tendency(empty, labels=LABELS)
    assert fits.empty and "p_lower" in fits.columns and table.empty
    assert org_dispersion(empty, labels=LABELS)["n_managers"] == 0
    assert curve_findings(fits, org_dispersion(empty, labels=LABELS), table) == []
