"""Evidence health and invisible work: hand-checked cases and seeded simulations with known truth."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from calib.analyses.evidence import (
    at_least,
    evidence_health,
    exact_share,
    holm,
    is_late,
    recency_by_manager,
)
from calib.analyses.invisible import invisible_work

LABELS = ["Does not meet", "Partially meets", "Meets", "Exceeds", "Far exceeds"]
LEVELS = ["L1", "L2", "L3", "L4", "L5", "L6", "L7"]
START, END = dt.date(2026, 1, 1), dt.date(2026, 1, 10)  # 10 days: the last fifth is Jan 9 and Jan 10
EVIDENCE_COLUMNS = ["employee_id", "date", "category", "criterion", "kind", "title", "url"]


def frame_of(rows: list[tuple], cycle: str = "C") -> pd.DataFrame:
    """Calibration-frame rows: (employee_id, reviewer_id, final_rating[, level, team, slo_met_share, delivery])."""
    columns = ["employee_id", "reviewer_id", "final_rating", "level", "team"]
    columns += ["team_slo_met_share", "team_delivery_level"]
    frame = pd.DataFrame([(*r, *[None] * (7 - len(r))) for r in rows], columns=columns)
    frame["cycle"] = pd.Categorical([cycle] * len(frame), categories=["P", "C"], ordered=True)
    frame["final_rating"] = frame["final_rating"].astype(pd.CategoricalDtype(LABELS, ordered=True))
    frame["level"] = frame["level"].fillna("L4").astype(pd.CategoricalDtype(LEVELS, ordered=True))
    frame["team_slo_met_share"] = frame["team_slo_met_share"].astype("float64")
    frame["discipline"] = "engineering"
    frame["track"] = "ic"
    return frame


def evidence_of(rows: list[tuple]) -> pd.DataFrame:
    """Evidence rows: (employee_id, "YYYY-MM-DD", category, criterion or None, kind)."""
    frame = pd.DataFrame([(*r, "a title", None) for r in rows], columns=EVIDENCE_COLUMNS)
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


def health(frame: pd.DataFrame, evidence: pd.DataFrame, **kwargs):
    options = {"cycle": "C", "start": START, "end": END, "labels": LABELS, "criteria": ["Impact", "Autonomy"]}
    return evidence_health(frame, evidence, **{**options, **kwargs})


# -- counts, coverage, late share ---------------------------------------------------------------------


HAND_FRAME = [("E3", "M2", "Does not meet"), ("E1", "M1", "Far exceeds"), ("E2", "M1", "Meets")]
HAND_EVIDENCE = [
    # E1: 4 items in the window; Jan 9 is day 8 of 10, exactly on the 80% boundary: late (the last fifth of
    # the days is Jan 9-10, so an even log puts 20% there). Late: Jan 9 and Jan 10 -> 2 of 4 = 0.5.
    ("E1", "2026-01-01", "delivery", "Impact", "pr"),
    ("E1", "2026-01-05", "reliability", "Impact", "incident"),
    ("E1", "2026-01-09", "influence", "Autonomy", "mentoring"),
    ("E1", "2026-01-10", "delivery", None, "ticket"),
    ("E1", "2025-12-31", "delivery", "Impact", "pr"),  # before the window: not counted
    # E2: 2 delivery items; Jan 8 (day 7) is the last early day -> late share 0 of 2 = 0.0
    ("E2", "2026-01-02", "delivery", "Impact", "pr"),
    ("E2", "2026-01-08", "delivery", " impact ", "pr"),  # criterion matched ignoring case and spacing
    ("E2", "2026-01-11", "delivery", "Impact", "pr"),  # after the window: not counted
    ("E9", "2026-01-03", "delivery", "Impact", "pr"),  # not reviewed in the cycle: ignored
]  # E3 has no items: late share undefined (NaN)


def test_counts_categories_and_late_share_by_hand():
    result = health(frame_of(HAND_FRAME), evidence_of(HAND_EVIDENCE))
    people = result.people.set_index("employee_id")
    assert list(result.people["employee_id"]) == ["E1", "E2", "E3"]
    assert people.loc["E1", ["items", "delivery", "reliability", "influence", "categories_covered"]].tolist() == [
        4, 2, 1, 1, 3,
    ]
    assert people.loc["E2", ["items", "delivery", "reliability", "influence", "categories_covered"]].tolist() == [
        2, 2, 0, 0, 1,
    ]
    assert people.loc["E3", ["items", "categories_covered"]].tolist() == [0, 0]
    assert people.loc["E1", "late_share"] == pytest.approx(0.5)
    assert people.loc["E2", "late_share"] == 0.0
    assert np.isnan(people.loc["E3", "late_share"])
    # criteria light (< 2 tagged): E1 Impact 2, Autonomy 1 -> 1; E2 Impact 2, Autonomy 0 -> 1; E3 -> 2
    assert people["criteria_light"].tolist() == [1, 1, 2]
    # thin: E1 is top-rated on 4 items; E3 bottom-rated on none; E2 is rated Meets
    assert people["thin"].tolist() == [True, False, True]
    assert people.loc["E1", "thin_reason"] == "4 items (fewer than 5)"
    assert people.loc["E3", "thin_reason"] == "0 items (fewer than 5); 0 of 3 categories (fewer than 2)"
    assert people.loc["E2", "thin_reason"] == ""
    columns = ["employee_id", "reviewer_id", "final_rating", "items", "delivery", "reliability", "influence",
               "categories_covered", "late_share", "criteria_light", "thin", "thin_reason"]
    assert list(result.people.columns) == columns


def test_the_boundary_day_is_late_and_an_even_log_is_20_percent_late():
    days = pd.Series(pd.date_range(START, END, freq="D"))
    assert is_late(days, start=START, end=END).tolist() == [False] * 8 + [True] * 2
    half = pd.Series(pd.date_range("2026-01-01", "2026-06-29", freq="D"))  # 180 days
    assert is_late(half, start=dt.date(2026, 1, 1), end=dt.date(2026, 6, 29)).mean() == pytest.approx(0.2)


def test_light_criteria_by_hand():
    result = health(frame_of(HAND_FRAME), evidence_of(HAND_EVIDENCE))
    table = result.criteria.set_index("criterion")
    # Impact: only E3 has fewer than 2 tagged items -> 1 of 3; Autonomy: all three -> 3 of 3
    assert table.loc["Impact", ["people", "people_light"]].tolist() == [3, 1]
    assert table.loc["Autonomy", ["people", "people_light"]].tolist() == [3, 3]
    assert table.loc["Impact", "share_light"] == pytest.approx(1 / 3)
    light = [f for f in result.findings if f.kind == "light_criterion"]
    assert [f.subject for f in light] == ["Autonomy"]
    assert light[0].explanation == (
        "Most people (3 of 3) have fewer than two examples for Autonomy: the rating on that criterion rests on memory."
    )
    assert light[0].severity == "info" and light[0].n == 3 and light[0].threshold == 0.5


# -- thin evidence ------------------------------------------------------------------------------------


def three_items(pid: str) -> list[tuple]:
    return [(pid, f"2026-01-0{d}", "delivery", "Impact", "pr") for d in (2, 4, 6)]


def test_thin_evidence_fires_for_a_top_rating_on_three_items_not_for_meets():
    frame = frame_of([("E1", "M1", "Far exceeds"), ("E2", "M1", "Meets")])
    result = health(frame, evidence_of(three_items("E1") + three_items("E2")))
    thin = [f for f in result.findings if f.kind == "thin_evidence"]
    assert [f.subject for f in thin] == ["E1"]
    assert thin[0].severity == "warning" and thin[0].n == 3 and thin[0].threshold == 5
    assert thin[0].explanation == (
        "E1 is rated Far exceeds on 3 evidence items, none about reliability or influence: "
        "ask for examples before the rating stands."
    )


def test_thin_evidence_also_means_one_kind_of_work():
    eight = [("E1", f"2026-01-0{d}", "delivery", "Impact", "pr") for d in range(1, 9)]
    result = health(frame_of([("E1", "M1", "Exceeds")]), evidence_of(eight))
    (finding,) = [f for f in result.findings if f.kind == "thin_evidence"]
    assert "on 8 evidence items, all about delivery, none about reliability or influence" in finding.explanation
    assert result.people.loc[0, "thin_reason"] == "1 of 3 categories (fewer than 2)"


# -- recency bias -------------------------------------------------------------------------------------


def simulate_people(rng: np.random.Generator, *, managers: int = 40, late: float = 0.2) -> pd.DataFrame:
    """One org's person table: M00 (8 people) logs each item late with probability `late`, everyone else 0.2.

    Each item's lateness is Bernoulli(0.2) for an even log over a cycle whose length is a multiple
    of five days (checked by the boundary test above), so late counts are binomial.
    """
    sizes = rng.integers(4, 13, size=managers)
    sizes[0] = 8
    reviewer = np.repeat([f"M{m:02d}" for m in range(managers)], sizes)
    items = rng.integers(6, 25, size=len(reviewer))
    p = np.where(reviewer == "M00", late, 0.2)
    return pd.DataFrame({"reviewer_id": reviewer, "items": items, "late_share": rng.binomial(items, p) / items})


def test_bunched_manager_is_found_and_null_orgs_flag_almost_no_one():
    rng = np.random.default_rng(20260630)
    orgs = 200
    found = [recency_by_manager(simulate_people(rng, late=0.75)) for _ in range(orgs)]
    power = np.mean([t.loc[t["reviewer_id"] == "M00", "flagged"].item() for t in found])
    others = np.mean([t.loc[t["reviewer_id"] != "M00", "flagged"].any() for t in found])
    null = [recency_by_manager(simulate_people(rng)) for _ in range(orgs)]
    null_rate = np.mean([t["flagged"].any() for t in null])
    holm_only = np.mean([(t["p_holm"] < 0.05).any() for t in null])  # without the practical threshold
    print(f"bunched flagged {power:.3f}; null orgs flagged {null_rate:.3f} (Holm alone {holm_only:.3f})")
    assert power >= 0.90
    assert null_rate <= 0.05
    assert holm_only <= 0.10  # the t test on skewed shares of 4-12 people is near its nominal 5%
    assert others <= 0.05  # the bunched team shifts the others' reference only a little


def test_holm_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.01, 0.04, 0.03, 0.2, 0.001, 0.04])
    assert holm(p) == pytest.approx(multipletests(p, method="holm")[1])


def test_small_teams_are_labelled_and_never_flagged():
    rng = np.random.default_rng(3)
    people = simulate_people(rng)
    small = pd.DataFrame({"reviewer_id": ["S"] * 3, "items": [10, 12, 9], "late_share": [1.0, 0.9, 1.0]})
    table = recency_by_manager(pd.concat([people, small], ignore_index=True)).set_index("reviewer_id")
    assert table.loc["S", "small"] and not table.loc["S", "flagged"] and np.isnan(table.loc["S", "p_holm"])
    assert table.loc["S", "people"] == 3 and table.loc["S", "late_share"] == pytest.approx(2.9 / 3)
    assert list(table.reset_index().columns) == [
        "reviewer_id", "people", "items", "late_share", "lower", "upper", "reference", "p_value", "p_holm", "small",
        "flagged",
    ]


def test_recency_by_hand_mean_interval_and_reference():
    # manager A: late shares 0.5, 0.7, 0.9 (mean 0.7, sd 0.2); B: 0.1, 0.2, 0.3 (mean 0.2); C has no items
    people = pd.DataFrame({
        "reviewer_id": ["A"] * 3 + ["B"] * 3 + ["C"],
        "items": [10] * 6 + [0],
        "late_share": [0.5, 0.7, 0.9, 0.1, 0.2, 0.3, np.nan],
    })
    table = recency_by_manager(people, min_group_size=3).set_index("reviewer_id")
    half = 4.302652729911275 * 0.2 / np.sqrt(3)  # t(0.975, 2) * sd / sqrt(n)
    assert table.loc["A", "late_share"] == pytest.approx(0.7)
    assert table.loc["A", "reference"] == pytest.approx(0.2)  # B's people only
    assert table.loc["A", ["lower", "upper"]].tolist() == pytest.approx([0.7 - half, min(0.7 + half, 1.0)])
    t = (0.7 - 0.2) / (0.2 / np.sqrt(3))
    from scipy import stats

    assert table.loc["A", "p_value"] == pytest.approx(2 * stats.t.sf(t, 2))
    assert table.loc["C", "people"] == 0 and table.loc["C", "small"]


def test_a_mean_late_share_of_exactly_the_threshold_is_flagged():
    # (0.1 + 0.7 + 0.1 + 0.7 + 0.1 + 0.7) / 6 is 0.39999999999999997 in floating point; exactly 0.4
    people = pd.DataFrame({
        "reviewer_id": ["A"] * 6 + ["B"] * 10,
        "items": [10] * 16,
        "late_share": [0.1, 0.7] * 3 + [0.0] * 10,
    })
    table = recency_by_manager(people, min_group_size=5).set_index("reviewer_id")
    assert table.loc["A", "late_share"] < 0.4 and table.loc["A", "p_holm"] < 0.05
    assert table.loc["A", "flagged"]
    people.loc[0, "late_share"] = 0.0  # a mean of 0.3: below the threshold
    assert not recency_by_manager(people, min_group_size=5).set_index("reviewer_id").loc["A", "flagged"]


def test_shares_of_counts_compare_exactly_at_a_threshold():
    rises = pd.Series([exact_share(0.7) - exact_share(0.6), exact_share(0.69) - exact_share(0.6), None])
    assert 0.7 - 0.6 < 0.1  # 0.09999999999999998
    assert at_least(rises, 0.1).tolist() == [True, False, False]
    assert exact_share(2 / 3) == Fraction(2, 3) and exact_share(999_983 / 1_000_000) == Fraction(999_983, 1_000_000)


def seeded_org(rng: np.random.Generator, managers: int = 40) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A whole org through dates: a 180-day cycle, M00's team dates 75% of its items in the last 36 days."""
    rows, items = [], []
    for m in range(managers):
        for i in range(8 if m == 0 else int(rng.integers(4, 13))):
            pid = f"E{m:02d}{i:02d}"
            rows.append((pid, f"M{m:02d}", LABELS[int(rng.integers(1, 4))]))
            n = int(rng.integers(6, 25))
            late = rng.random(n) < (0.75 if m == 0 else 0.0)
            day = np.where(late, rng.integers(144, 180, n), rng.integers(0, 144 if m == 0 else 180, n))
            for d in day:
                items.append((pid, str(np.datetime64("2026-01-01") + int(d)), "delivery", "Impact", "pr"))
    return frame_of(rows), evidence_of(items)


def test_bunched_team_is_flagged_end_to_end_with_an_explanation():
    frame, evidence = seeded_org(np.random.default_rng(11))
    result = health(frame, evidence, start=dt.date(2026, 1, 1), end=dt.date(2026, 6, 29))
    assert result.managers.loc[result.managers["flagged"], "reviewer_id"].tolist() == ["M00"]
    (finding,) = [f for f in result.findings if f.kind == "recency_bias"]
    assert finding.severity == "alert" and finding.n == 8 and finding.threshold == 0.4
    assert finding.interval[0] < finding.estimate < finding.interval[1] and finding.estimate > 0.6
    assert "last fifth of the cycle" in finding.explanation and "Holm" in finding.method


# -- invisible work -----------------------------------------------------------------------------------


def invisible_case(rating: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Six L4 engineers (E01-E06) and two L7 (E07, E08); E06 has 1 PR, 14 reliability and 4 influence items.

    L4 PRs 10, 12, 13, 9, 11, 1 -> sorted 1, 9, 10, 11, 12, 13: 25th percentile 9 + 0.25 * 1 = 9.25
    (E04 and E06 are low); L4 reliability 1, 0, 2, 1, 0, 14 -> 75th percentile 1 + 0.75 * 1 = 1.75
    (E06 only). L7 has 2 people (< 5): compared with all engineers (8 people), where PRs
    0, 1, 9, 10, 11, 12, 13, 20 give a 25th percentile of 1 + 0.75 * 8 = 7. E07's team (sre) met
    50% of its SLO windows last cycle and 60% now (a rise of exactly 0.1) and went medium -> high,
    but E07 has no reliability or influence items: an improving team alone is not corroboration.
    """
    prs = {"E01": 10, "E02": 12, "E03": 13, "E04": 9, "E05": 11, "E06": 1, "E07": 0, "E08": 20}
    reliability = {"E01": 1, "E03": 2, "E04": 1}
    items = [(p, f"2026-01-0{1 + k % 9}", "delivery", "Impact", "pr") for p, n in prs.items() for k in range(n)]
    items += [(p, "2026-01-05", "reliability", None, "oncall") for p, n in reliability.items() for _ in range(n)]
    items += [("E06", "2026-01-03", "reliability", None, kind) for kind in ["incident"] * 5 + ["postmortem"] * 5]
    items += [("E06", "2026-01-07", "reliability", None, "slo_fix")] * 4
    items += [("E06", "2026-01-08", "influence", None, "mentoring")] * 4  # corroborates: L4 influence p75 is 0
    current = [
        ("E08", "M2", "Meets", "L7", "web", 0.9, "high"),
        ("E03", "M1", "Meets", "L4", "web", 0.9, "high"),
        ("E06", "M1", rating, "L4", "web", 0.9, "high"),
        ("E01", "M1", "Meets", "L4", "web", 0.9, "high"),
        ("E07", "M2", "Meets", "L7", "sre", 0.6, "high"),
        ("E05", "M1", "Meets", "L4", "web", 0.9, "high"),
        ("E04", "M1", "Meets", "L4", "web", 0.9, "high"),
        ("E02", "M1", "Meets", "L4", "web", 0.9, "high"),
    ]
    previous = [("E07", "M2", "Meets", "L7", "sre", 0.5, "medium"), ("E01", "M1", "Meets", "L4", "web", 0.9, "high")]
    return pd.concat([frame_of(previous, cycle="P"), frame_of(current)], ignore_index=True), evidence_of(items)


def find_invisible(frame: pd.DataFrame, evidence: pd.DataFrame):
    return invisible_work(frame, evidence, cycle="C", start=START, end=END, labels=LABELS)


def test_invisible_work_finds_the_planted_person_rated_meets():
    result = find_invisible(*invisible_case("Meets"))
    table = result.table.set_index("employee_id")
    assert list(result.table["employee_id"]) == ["E06"]  # E07: few PRs and a better team, but no deep work
    assert table.loc["E06", ["visible", "reliability", "influence", "visible_p25", "reliability_p75"]].tolist() == [
        1, 14, 4, 9.25, 1.75,
    ]
    assert table.loc["E06", "signal"] == "reliability; influence"
    assert table.loc["E06", "compared_with"] == "engineering L4"
    assert "E04" not in table.index  # few PRs, but nothing strong and the team did not improve
    finding = result.findings[0]
    assert finding.kind == "invisible_work" and finding.severity == "info"
    assert "14 reliability items" in finding.explanation and "check for undervalued deep work" in finding.explanation
    assert "context, not performance" in finding.method


def test_invisible_work_leaves_managers_and_ungrounded_groups_alone():
    frame, evidence = invisible_case("Meets")
    frame.loc[frame["employee_id"] == "E06", "track"] = "manager"
    assert "E06" not in set(find_invisible(frame, evidence).table["employee_id"])  # managing is the work
    frame, evidence = invisible_case("Meets")
    frame["discipline"] = "design"
    no_prs = evidence[evidence["kind"] != "pr"]
    assert find_invisible(frame, no_prs).table.empty  # where nobody has PRs, few PRs mean nothing


def test_invisible_work_leaves_the_same_person_rated_exceeds_alone():
    result = find_invisible(*invisible_case("Exceeds"))
    assert "E06" not in set(result.table["employee_id"])


# -- determinism --------------------------------------------------------------------------------------


def test_same_input_gives_identical_frames_whatever_the_row_order():
    frame, evidence = invisible_case("Meets")
    shuffled = evidence.sample(frac=1.0, random_state=7).reset_index(drop=True)
    first = health(frame, evidence), find_invisible(frame, evidence)
    second = health(frame, shuffled), find_invisible(frame, shuffled)
    for a, b in [(first[0].people, second[0].people), (first[0].managers, second[0].managers),
                 (first[0].criteria, second[0].criteria), (first[1].table, second[1].table)]:
        pd.testing.assert_frame_equal(a, b)
    assert first[0].findings == second[0].findings and first[1].findings == second[1].findings
