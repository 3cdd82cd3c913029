"""Bias audit: hand-checked cases, privacy suppression, and seeded power / false-positive runs."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from calib.analyses.bias import (
    MISSING_GROUP,
    below_four_fifths,
    bias_audit,
    holm,
    standardized_mean_difference,
)
from calib.privacy import suppression as suppressed_groups

SCALE = ["Does not meet", "Partially meets", "Meets", "Exceeds", "Far exceeds"]
TOP, BOTTOM = ["Exceeds", "Far exceeds"], ["Does not meet"]


def cohort(group: str | None, n: int, selected: int, hit: str = "Exceeds", rest: str = "Meets") -> list:
    """n people of `group`: `selected` of them rated `hit`, the others `rest`."""
    return [(group, hit)] * selected + [(group, rest)] * (n - selected)


def build(people: list, *, managers: int = 12, cycle: str = "2026-H1", **columns: object) -> pd.DataFrame:
    """A calibration frame from (gender, final rating) pairs; extra columns by keyword."""
    n = len(people)
    frame = pd.DataFrame(
        {
            "cycle": cycle,
            "employee_id": [f"E{i:04d}" for i in range(n)],
            "reviewer_id": [f"M{i % managers:02d}" for i in range(n)],
            "gender": [g for g, _ in people],
            "final_rating": pd.Categorical([r for _, r in people], categories=SCALE, ordered=True),
            "level": "L3",
            "discipline": "engineering",
        }
    )
    frame["final_value"] = frame["final_rating"].cat.codes + 1.0
    for name, value in columns.items():
        frame[name] = value
    return frame


def audit(frame: pd.DataFrame, k: int = 5, **kwargs: object):
    return bias_audit(frame, attributes=["gender"], top=TOP, bottom=BOTTOM, min_group_size=k, **kwargs)


def row(table: pd.DataFrame, outcome: str, group: str) -> pd.Series:
    found = table[(table["outcome"] == outcome) & (table["group"] == group)]
    assert len(found) == 1
    return found.iloc[0]


# openintro gender_discrimination: 21 of 24 files labelled male promoted, 14 of 24 female.
OPENINTRO = cohort("male", 24, 21) + cohort("female", 24, 14)


def test_openintro_worked_example() -> None:
    result = audit(build(OPENINTRO))
    female = row(result.table, "top_rating", "female")
    assert female["reference_group"] == "male"
    assert female["impact_ratio"] == pytest.approx((14 / 24) / (21 / 24))  # 0.667
    assert female["fisher_p"] == pytest.approx(0.049, abs=5e-4)
    # Katz log interval by hand: log(2/3) +- 1.96 * sqrt(1/14 - 1/24 + 1/21 - 1/24) = 0.46 .. 0.97
    half = 1.959964 * math.sqrt(1 / 14 - 1 / 24 + 1 / 21 - 1 / 24)
    assert female["rr_lower"] == pytest.approx(math.exp(math.log(2 / 3) - half), rel=1e-4)
    assert female["rr_upper"] == pytest.approx(math.exp(math.log(2 / 3) + half), rel=1e-4)
    assert (round(female["rr_lower"], 2), round(female["rr_upper"], 2)) == (0.46, 0.97)
    # No one has a bottom rating: nothing is tested there, so Holm's family has one member.
    assert female["holm_p"] == pytest.approx(female["fisher_p"])
    assert np.isnan(row(result.table, "bottom_rating", "male")["fisher_p"])
    [finding] = result.findings
    assert (finding.kind, finding.severity, finding.subject) == ("adverse_impact", "alert", "gender=female")
    assert finding.n == 24
    assert finding.estimate == pytest.approx(2 / 3)
    assert finding.interval == (female["rr_lower"], female["rr_upper"])
    assert finding.threshold == 0.8
    assert finding.explanation == (
        "People recorded as gender 'female' get a top rating about two-thirds as often as 'male' (58% vs 88%); "
        "unlikely to be chance. Impact ratio 0.67 (n = 24 and 24), below the four-fifths guideline "
        "(Holm-adjusted p = 0.049)."
    )
    for phrase in ("within cycle 2026-H1", "level and discipline", "clustered by manager", "not proof"):
        assert phrase in finding.method


def test_promotion_outcome_from_text_flags() -> None:
    promoted = ["true"] * 21 + ["false"] * 3 + ["TRUE"] * 14 + ["False"] * 10
    frame = build([(g, "Meets") for g, _ in OPENINTRO], promotion_recommended=promoted)
    result = audit(frame)
    female = row(result.table, "promotion_recommended", "female")
    assert (female["n"], female["selected"]) == (24, 14)
    assert female["impact_ratio"] == pytest.approx(2 / 3)
    assert [f.details["outcome"] for f in result.findings] == ["promotion_recommended"]


def test_bottom_rating_ratio_reads_below_one_as_adverse() -> None:
    people = cohort("a", 50, 10, hit="Does not meet") + cohort("b", 50, 5, hit="Does not meet")
    result = audit(build(people))
    a = row(result.table, "bottom_rating", "a")
    assert a["reference_group"] == "b"  # the lowest rate of the adverse outcome
    assert a["impact_ratio"] == pytest.approx(0.10 / 0.20)  # reference's rate over the group's
    assert a["rr_lower"] < a["impact_ratio"] < a["rr_upper"]
    assert a["adjusted_or"] == pytest.approx((5 / 45) / (10 / 40), rel=1e-4)  # reference odds over group odds
    assert a["smd"] < 0  # rated lower on average
    [finding] = result.findings
    assert finding.severity == "info"  # 10/50 vs 5/50 is not beyond chance (Fisher p = 0.26): recorded, not flagged
    assert finding.explanation.startswith(
        "People recorded as gender 'a' get the bottom rating about twice as often as 'b' (20% vs 10%); could be chance."
    )  # the direction named: the flagged group is the one that gets the bottom rating more often
    assert "Impact ratio 0.50 = 10% / 20% (n = 50 and 50)" in finding.explanation


def test_holm_matches_hand_computation() -> None:
    # sorted p: 0.01*3 = 0.03, 0.02*2 = 0.04, 0.04*1 = 0.04 (step-down, monotone)
    assert holm(np.array([0.04, 0.01, 0.02])) == pytest.approx([0.04, 0.03, 0.04])


def test_suppressed_groups_rule() -> None:
    assert suppressed_groups({"a": 3, "b": 12, "c": 9}, 5) == {"a": "primary", "c": "complementary"}
    assert suppressed_groups({"a": 3, "b": 4, "c": 40}, 5) == {"a": "primary", "b": "primary"}
    assert suppressed_groups({"a": 3, "b": 40}, 5) == {"a": "primary", "b": "complementary"}
    assert suppressed_groups({"a": 5, "b": 40}, 5) == {}


SMALL_ORG = (
    cohort("man", 40, 20)
    + cohort("woman", 30, 6)
    + cohort("nonbinary", 3, 0)
    + cohort("other", 12, 6)
    + cohort(None, 2, 2)
)


def test_small_group_is_withheld_with_complementary_suppression() -> None:
    result = audit(build(SMALL_ORG), k=5)
    table = result.table
    hidden = table[table["suppressed"]]
    assert set(hidden["group"]) == {"nonbinary", "other", MISSING_GROUP}
    withheld = ["n", "selected", "rate", "impact_ratio", "fisher_p", "rr_lower", "adjusted_or", "smd"]
    assert hidden[withheld].isna().all().all()
    assert set(hidden.loc[hidden["group"] == "other", "note"]) == {"suppressed: complementary suppression"}
    assert not any(f.details["group"] in {"nonbinary", "other"} for f in result.findings)
    assert {f.subject for f in result.findings} == {"gender=woman"}  # 20% vs 50%: shown groups only

    # What a reader can do: subtract the shown cells from the known totals.
    top = table[(table["outcome"] == "top_rating") & ~table["suppressed"]]
    total_n, total_selected = len(SMALL_ORG), sum(r == "Exceeds" for _, r in SMALL_ORG)
    left_n = total_n - int(top["n"].sum())
    left_selected = total_selected - int(top["selected"].sum())
    assert left_n != 3 and left_selected != 0  # neither the small group's size nor its count of top ratings
    # Splits of the 17 leftover records into a small group (1..4), a shown-sized group (>= 5) and a
    # withheld missing cell (1..4): many fit, so the small group's size is not singled out.
    splits = {(s, left_n - s - m) for s in range(1, 5) for m in range(1, 5) if left_n - s - m >= 5}
    assert len({s for s, _ in splits}) == 4


def test_suppressed_cells_cannot_move_the_shown_numbers() -> None:
    changed = [(g, "Far exceeds" if g == "nonbinary" else r) for g, r in SMALL_ORG]
    before = audit(build(SMALL_ORG)).table
    after = audit(build(changed)).table
    pd.testing.assert_frame_equal(before, after)


def test_missing_cell_is_reported_when_nothing_is_suppressed() -> None:
    result = audit(build(cohort("man", 40, 20) + cohort("woman", 30, 6) + cohort(None, 2, 2)))
    missing = row(result.table, "top_rating", MISSING_GROUP)
    assert (missing["n"], missing["suppressed"]) == (2, False)


def test_single_small_group_with_no_missing_is_complemented() -> None:
    table = audit(build(cohort("man", 40, 20) + cohort("woman", 30, 6) + cohort("nonbinary", 2, 1))).table
    assert set(table.loc[table["suppressed"], "group"]) == {"nonbinary", "woman"}
    assert row(table, "top_rating", MISSING_GROUP)["n"] == 0


def test_suppression_is_decided_per_outcome() -> None:
    people = cohort("man", 40, 20) + cohort("woman", 30, 6) + cohort("nonbinary", 10, 5)
    promoted = [True] * 10 + [False] * 30 + [True] + [None] * 29 + [False] * 10  # 1 woman recorded
    table = audit(build(people, promotion_recommended=promoted)).table
    promotion = table[table["outcome"] == "promotion_recommended"]
    assert set(promotion.loc[promotion["suppressed"], "group"]) == {"woman", "nonbinary"}
    assert not table.loc[table["outcome"] == "top_rating", "suppressed"].any()
    # A column nobody filled in is not an outcome at all.
    empty = audit(build(people, promotion_recommended=None)).table
    assert set(empty["outcome"]) == {"top_rating", "bottom_rating"}


def test_missing_attribute_values_are_counted_not_assigned() -> None:
    known = cohort("man", 30, 12) + cohort("woman", 30, 6)
    unknown = [(None, "Far exceeds"), (np.nan, "Far exceeds"), ("", "Far exceeds"), ("  ", "Far exceeds")]
    with_unknown, without = audit(build(known + unknown)).table, audit(build(known)).table
    groups = set(with_unknown["group"])
    assert groups == {"man", "woman", MISSING_GROUP}
    assert row(with_unknown, "top_rating", MISSING_GROUP)["n"] == 4
    shown = with_unknown[with_unknown["group"] != MISSING_GROUP].reset_index(drop=True)
    pd.testing.assert_frame_equal(shown, without[without["group"] != MISSING_GROUP].reset_index(drop=True))


def test_standardized_mean_difference_by_hand() -> None:
    # a = 1, 3 (mean 2, var 2); b = 4, 4, 5, 3 (mean 4, var 2/3); pooled var (1*2 + 3*2/3) / 4 = 1
    assert standardized_mean_difference(np.array([1.0, 3.0]), np.array([4.0, 4.0, 5.0, 3.0])) == -2.0
    people = [("a", "Does not meet"), ("a", "Meets"), ("b", "Exceeds"), ("b", "Exceeds")]
    people += [("b", "Far exceeds"), ("b", "Meets")]
    assert row(audit(build(people), k=2).table, "top_rating", "a")["smd"] == pytest.approx(-2.0)


def test_adjusted_odds_ratio_equals_crude_without_confounding() -> None:
    # Every level x discipline cell has a: 3 of 10 selected, b: 6 of 10; the covariates explain
    # nothing, so the adjusted OR is the crude one, (3 * 4) / (7 * 6) = 2/7.
    people, levels, disciplines = [], [], []
    for level in ("L2", "L3", "L4"):
        for discipline in ("engineering", "data"):
            cell = cohort("a", 10, 3) + cohort("b", 10, 6)
            people += cell
            levels += [level] * len(cell)
            disciplines += [discipline] * len(cell)
    frame = build(people, managers=15, level=levels, discipline=disciplines)
    a = row(audit(frame).table, "top_rating", "a")
    assert a["adjusted_or"] == pytest.approx(2 / 7, rel=1e-4)
    assert a["or_lower"] < 2 / 7 < a["or_upper"]


def test_separation_does_not_crash() -> None:
    frame = build(cohort("a", 20, 0) + cohort("b", 20, 10))
    a = row(audit(frame).table, "top_rating", "a")
    assert np.isnan(a["adjusted_or"]) and "separation" in a["note"]
    assert a["impact_ratio"] == 0.0 and a["fisher_p"] < 0.001  # the crude figures stand
    # A level where everyone was selected is set aside; the group effect stays estimable.
    people = cohort("a", 30, 9) + cohort("b", 30, 18) + cohort("a", 5, 5) + cohort("b", 5, 5)
    frame = build(people, level=["L3"] * 60 + ["L6"] * 10)
    a = row(audit(frame).table, "top_rating", "a")
    assert a["adjusted_or"] == pytest.approx((9 / 21) / (18 / 12), rel=1e-3)
    assert "10 people in levels or disciplines with no variation set aside" in a["note"]


def test_cycle_choice_and_deterministic_order() -> None:
    older = build(cohort("man", 30, 15) + cohort("woman", 30, 3), cycle="2025-H2")
    newer = build(cohort("woman", 30, 15) + cohort("man", 30, 15), cycle="2026-H1")
    frame = pd.concat([older, newer], ignore_index=True)
    frame["cycle"] = frame["cycle"].astype(pd.CategoricalDtype(["2025-H2", "2026-H1"], ordered=True))
    latest, first = audit(frame), audit(frame, cycle="2025-H2")
    assert (latest.cycle, latest.findings) == ("2026-H1", [])
    assert [f.subject for f in first.findings] == ["gender=woman"]
    again = audit(frame, cycle="2025-H2")
    pd.testing.assert_frame_equal(first.table, again.table)
    assert first.findings == again.findings
    assert list(first.table["group"][:3]) == ["man", "woman", MISSING_GROUP]  # labels sorted, missing last


def test_unknown_labels_are_an_error() -> None:
    with pytest.raises(ValueError, match="not labels of the rating scale"):
        bias_audit(build(OPENINTRO), attributes=["gender"], top=["Excellent"], bottom=BOTTOM, min_group_size=5)


def simulated_org(
    rng: np.random.Generator, sizes: dict[str | None, int], top_rate: dict[str, float], promotion: bool
) -> pd.DataFrame:
    """An org with top ratings at `top_rate` per group (default 30%), bottom at 8% of the rest."""
    people = [(g, top_rate.get(g, 0.30)) for g, n in sizes.items() for _ in range(n)]
    n = len(people)
    is_top = rng.random(n) < np.array([p for _, p in people])
    is_bottom = ~is_top & (rng.random(n) < 0.08)
    rating = np.where(is_top, "Exceeds", np.where(is_bottom, "Does not meet", "Meets"))
    frame = build([(g, r) for (g, _), r in zip(people, rating, strict=True)], managers=40)
    if promotion:
        frame["promotion_recommended"] = rng.random(n) < 0.15
    return frame


def alert_rate(seed: int, sizes: dict, top_rate: dict[str, float], *, promotion: bool, orgs: int = 200) -> float:
    """Share of `orgs` seeded organisations whose audit raises at least one alert."""
    rng = np.random.default_rng(seed)
    alerts = 0
    for _ in range(orgs):
        result = audit(simulated_org(rng, sizes, top_rate, promotion), adjust=False)
        alerts += any(f.severity == "alert" for f in result.findings)
    return alerts / orgs


def test_no_planted_gap_rarely_alerts() -> None:
    # 3 comparisons per org (top, bottom, promotion); Holm holds the family-wise error at 5%.
    assert alert_rate(11, {"woman": 135, "man": 135, None: 30}, {}, promotion=True) <= 0.05


def test_planted_gap_alerts() -> None:
    # Top ratings at 14% vs 30%. With 2 comparisons (top, bottom) Holm asks the top-rating p to be
    # < 0.025 (or < 0.05 once the bottom-rating p has passed). Exact power of Fisher's test with the
    # four-fifths condition, enumerating both binomials: P(p < 0.025) = 0.78 at 130 per group,
    # 0.85 at 150 per group; so 130 per group sits just under 80% and 150 per group clears it.
    gap = {"woman": 0.14, "man": 0.30}
    assert alert_rate(12, {"woman": 130, "man": 130, None: 40}, gap, promotion=False) >= 0.70
    assert alert_rate(13, {"woman": 150, "man": 150}, gap, promotion=False) >= 0.80


# -- the four-fifths rule at its boundary ------------------------------------------------------


def test_exactly_four_fifths_is_not_flagged_and_one_fewer_is():
    # 12/20 against 15/20 is exactly 4/5; floating point gives 0.7999999999999999
    at = row(audit(build(cohort("a", 20, 12) + cohort("b", 20, 15))).table, "top_rating", "a")
    assert at["impact_ratio"] == pytest.approx(0.8) and not at["four_fifths_flag"]
    below = row(audit(build(cohort("a", 20, 11) + cohort("b", 20, 15))).table, "top_rating", "a")
    assert below["four_fifths_flag"]  # 11/20 / 15/20 = 0.733


def test_exactly_four_fifths_in_large_groups_raises_no_alert():
    # 600/1000 against 750/1000: Fisher's p is tiny, but the ratio is not *less than* four-fifths
    result = audit(build(cohort("a", 1000, 600) + cohort("b", 1000, 750)), adjust=False)
    assert not row(result.table, "top_rating", "a")["four_fifths_flag"]
    assert result.findings == []
    result = audit(build(cohort("a", 1000, 599) + cohort("b", 1000, 750)), adjust=False)
    assert [f.severity for f in result.findings] == ["alert"]


def test_the_rule_is_exact_for_every_count_pair_of_groups_of_10_to_40():
    at_four_fifths = [  # (selected, n, reference selected, reference n) with a ratio of exactly 4/5
        (selected, n, ref_selected, ref_n)
        for n, ref_n in itertools.product(range(10, 41), repeat=2)
        for selected, ref_selected in itertools.product(range(n + 1), range(1, ref_n + 1))
        if 5 * selected * ref_n == 4 * ref_selected * n
    ]
    wrong_in_floats = [c for c in at_four_fifths if (c[0] / c[1]) / (c[2] / c[3]) < 0.8]
    assert len(wrong_in_floats) == 327  # what a floating-point comparison flagged
    assert not any(below_four_fifths(*c) for c in at_four_fifths)
    one_fewer = [(s - 1, n, rs, rn) for s, n, rs, rn in at_four_fifths if s > 0]
    assert all(below_four_fifths(*c) for c in one_fewer)
    assert all(Fraction(s, n) / Fraction(rs, rn) < Fraction(4, 5) for s, n, rs, rn in one_fewer)
    assert not below_four_fifths(0, 10, 0, 10) and not below_four_fifths(3, 10, 5, 0)
