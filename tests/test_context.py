"""Team context and cycle-over-cycle drift: hand-computed cases and seeded simulations with known truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from calib.analyses.context import (
    benjamini_hochberg,
    cycle_over_cycle,
    expected_direction,
    group_versus_rest,
    holm,
    manager_drift,
    team_context,
)

LABELS = ["Does not meet", "Partially meets", "Meets", "Exceeds", "Far exceeds"]


def with_ratings(frame: pd.DataFrame, cycles: list[str]) -> pd.DataFrame:
    """Make cycle and final_rating the ordered categoricals the calibration frame carries."""
    frame = frame.copy()
    frame["cycle"] = pd.Categorical(frame["cycle"], cycles, ordered=True)
    frame["final_value"] = frame["final_value"].astype(float)
    frame["final_rating"] = pd.Categorical.from_codes(frame["final_value"].astype(int) - 1, LABELS, ordered=True)
    return frame


def team_rows(team: str, ratings: list[int], delivery: str | None, slo_met: float | None) -> list[dict]:
    return [
        {
            "cycle": "C",
            "employee_id": f"{team}-{i}",
            "reviewer_id": f"lead-{team}",
            "team": team,
            "final_value": value,
            "team_delivery_level": delivery,
            "team_deploy_days_per_week": 5.0,
            "team_change_failure_rate": 0.03,
            "team_slo_met_share": slo_met,
        }
        for i, value in enumerate(ratings)
    ]


# -- team context: by hand ------------------------------------------------------------------------

PAY = [2, 2, 2, 2, 2, 3, 2, 2]  # elite delivery, every SLO met: strong, rated low
OPS = [5, 4, 5, 4, 5, 4]  # medium delivery: neutral, rated high, never tested
WEB = [3, 3, 4, 3, 3, 4, 3]  # low delivery: weak, rated near the rest
TINY = [1, 2, 1]  # elite, every SLO met, rated low, but only 3 people


def hand_frame() -> pd.DataFrame:
    rows = (
        team_rows("pay", PAY, "elite", 1.0)
        + team_rows("ops", OPS, "medium", 0.8)
        + team_rows("web", WEB, "low", 0.9)
        + team_rows("tiny", TINY, "elite", 1.0)
    )
    return with_ratings(pd.DataFrame(rows), ["B", "C"])


def test_team_differences_and_the_mismatch_flag_by_hand():
    result = team_context(hand_frame(), cycle="C")
    table = result.table.set_index("team")
    assert list(result.table["team"]) == ["ops", "pay", "tiny", "web"]  # by id, never by rating
    assert "employee_id" not in result.table.columns  # one row per team, no per-person value
    everyone = PAY + OPS + WEB + TINY
    teams = {"pay": PAY, "ops": OPS, "web": WEB, "tiny": TINY}
    for team, ratings in teams.items():
        rest = [v for other, values in teams.items() if other != team for v in values]
        assert table.loc[team, "n"] == len(ratings)
        assert table.loc[team, "mean_rating"] == pytest.approx(sum(ratings) / len(ratings))
        assert table.loc[team, "org_mean"] == pytest.approx(sum(everyone) / len(everyone))
        assert table.loc[team, "difference"] == pytest.approx(sum(ratings) / len(ratings) - sum(rest) / len(rest))
        student = stats.ttest_ind(ratings, rest, equal_var=True)  # pooled variance, as the module says
        assert table.loc[team, "p_value"] == pytest.approx(student.pvalue)
    # pay: 17/8 - (27 + 23 + 4)/16 = -1.25 exactly
    assert table.loc["pay", "difference"] == pytest.approx(-1.25)
    assert list(table["expected"]) == ["neutral", "strong", "strong", "weak"]
    assert table.loc["tiny", "small"] and not table.loc["tiny", "tested"] and not table.loc["tiny", "mismatch"]
    assert not table.loc["ops", "tested"] and not table.loc["ops", "mismatch"]  # neutral: never flagged
    assert np.isnan(table.loc["ops", "q_value"]) and np.isnan(table.loc["tiny", "q_value"])
    # one-sided toward a mismatch: both pay (strong, below) and web (weak, above) point that way
    p_pay, p_web = table.loc["pay", "p_value"] / 2, table.loc["web", "p_value"] / 2
    assert table.loc["pay", "p_mismatch"] == pytest.approx(p_pay) and p_pay < p_web
    # BH across the two tested teams: q(1) = min(2 p(1), p(2)), q(2) = p(2)
    assert table.loc["pay", "q_value"] == pytest.approx(min(2 * p_pay, p_web))
    assert table.loc["web", "q_value"] == pytest.approx(p_web)
    assert table.loc["pay", "mismatch"] and not table.loc["web", "mismatch"]  # web: +0.46, q = 0.2

    [finding] = result.findings
    assert (finding.kind, finding.subject, finding.severity) == ("team_context_mismatch", "pay", "warning")
    assert finding.n == 8
    assert finding.estimate == pytest.approx(-1.25) and finding.threshold == 0.5
    assert finding.interval[0] < finding.estimate < finding.interval[1] < 0
    assert finding.explanation.startswith(
        "Team pay is rated about one and a half steps lower than the rest of the org although its results are strong; "
        "probably not chance. The team ships daily with a 3% change failure rate (elite delivery)"
    )
    assert "met every SLO" in finding.explanation and "1.2 points below the rest of the org" in finding.explanation
    assert "not any one person" in finding.method and "prompt to look" in finding.method


def test_team_mean_interval_is_the_one_sample_t_interval():
    table = team_context(hand_frame(), cycle="C").table.set_index("team")
    half = stats.t.ppf(0.975, len(WEB) - 1) * np.std(WEB, ddof=1) / np.sqrt(len(WEB))
    assert table.loc["web", "mean_lower"] == pytest.approx(np.mean(WEB) - half)
    assert table.loc["web", "mean_upper"] == pytest.approx(np.mean(WEB) + half)


def test_only_a_rating_against_the_context_is_a_mismatch():
    high = [5, 5, 4, 5, 5, 4]
    rows = team_rows("ops", high, "low", 1.0) + team_rows("qa", high, "medium", 1.0)
    rows += team_rows("api", high, "elite", 1.0)
    rows += team_rows("core", [3, 2, 3, 3, 2, 3, 3, 3, 2, 3, 3, 2], "medium", 1.0)
    result = team_context(with_ratings(pd.DataFrame(rows), ["C"]), cycle="C")
    table = result.table.set_index("team")
    assert [f.subject for f in result.findings] == ["ops"]  # weak and rated high
    assert "above the rest of the org" in result.findings[0].explanation
    assert "check what individual evidence" in result.findings[0].explanation
    assert table.loc["qa", "expected"] == "neutral" and np.isnan(table.loc["qa", "p_mismatch"])
    assert table.loc["api", "tested"] and table.loc["api", "p_mismatch"] > 0.5  # strong and rated high: fine


def test_expected_direction_rule():
    assert expected_direction("elite", 1.0) == "strong"
    assert expected_direction("high", 0.75) == "strong"
    assert expected_direction("high", 0.7) == "neutral"  # SLOs met, but not mostly
    assert expected_direction("elite", None) == "neutral"  # no SLO data: no claim
    assert expected_direction("medium", 1.0) == "neutral"
    assert expected_direction("low", 1.0) == "weak"
    assert expected_direction("elite", 0.4) == "weak"  # blown SLOs are not offset by shipping fast
    assert expected_direction(None, 0.2) == "weak"
    assert expected_direction(np.nan, np.nan) == "neutral"


def test_group_versus_rest_edge_cases():
    table = group_versus_rest(pd.Series(["a", "b", "b"]), pd.Series([1.0, 2.0, 2.0]))
    assert np.isnan(table.loc["a", "lower"])  # one person: no interval for the mean
    assert table.loc["b", "p_value"] == 0.0  # no spread anywhere, a real difference
    lone = group_versus_rest(pd.Series(["a", "a"]), pd.Series([1.0, 3.0]))
    assert np.isnan(lone.loc["a", "difference"]) and np.isnan(lone.loc["a", "p_value"])  # nobody outside


def test_holm_and_benjamini_hochberg_by_hand():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # sorted 0.005, 0.01, 0.03, 0.04; Holm: 4p, 3p, 2p, 1p made non-decreasing: .02, .03, .06, .06
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # BH: p * 4 / rank = .02, .02, .04, .04, made non-increasing from the top
    assert benjamini_hochberg(p) == pytest.approx([0.02, 0.04, 0.04, 0.02])


def test_an_unknown_cycle_is_an_error():
    with pytest.raises(ValueError, match="no ratings"):
        team_context(hand_frame(), cycle="Z")


# -- team context: seeded simulation --------------------------------------------------------------


def simulate_org(rng: np.random.Generator, *, shift: float = 0.0, teams: int = 40) -> pd.DataFrame:
    """40 teams of 4-12, about 1/4 strong and 1/4 weak; team t00 is strong, has 10 people, rated `shift` off."""
    sizes = rng.integers(4, 13, size=teams)
    sizes[0] = 10
    kinds = rng.choice(["strong", "weak", "neutral"], size=teams, p=[0.25, 0.25, 0.5])
    kinds[0] = "strong"
    contexts = {
        "strong": [("elite", 1.0), ("high", 0.9), ("elite", 0.8)],
        "weak": [("low", 0.9), ("medium", 0.3), (None, 0.2)],
        "neutral": [("medium", 0.9), ("high", 0.6), (None, 1.0), ("elite", None)],
    }
    team = np.repeat([f"t{i:02d}" for i in range(teams)], sizes)
    options = [contexts[k][rng.integers(len(contexts[k]))] for k in kinds]
    latent = 3 + 0.8 * rng.normal(size=sizes.sum()) + np.where(team == "t00", shift, 0.0)
    return pd.DataFrame(
        {
            "cycle": "C",
            "employee_id": [f"p{i:04d}" for i in range(sizes.sum())],
            "team": team,
            "final_value": np.clip(np.round(latent), 1, 5),
            "team_delivery_level": np.repeat([o[0] for o in options], sizes),
            "team_slo_met_share": np.repeat([np.nan if o[1] is None else o[1] for o in options], sizes),
        }
    )


@pytest.mark.slow
def test_team_context_false_discoveries_and_power():
    # 4,000 orgs of this simulation: any finding in 9.7% of null orgs (BH at q = 0.1 on one-sided
    # tests: under the complete null the chance of any discovery is q), planted team found in 86.5%
    rng = np.random.default_rng(20260601)
    orgs = 200
    null = np.mean([bool(team_context(simulate_org(rng), cycle="C").findings) for _ in range(orgs)])
    found = []
    for _ in range(orgs):
        table = team_context(simulate_org(rng, shift=-1.0), cycle="C").table.set_index("team")
        found.append(bool(table.loc["t00", "mismatch"]))
    power = np.mean(found)
    print(f"null orgs with any mismatch: {null:.3f}; strong team rated 1 point low found: {power:.3f}")
    assert null <= 0.10
    assert power >= 0.80


# -- cycle over cycle: by hand --------------------------------------------------------------------


def two_cycles() -> pd.DataFrame:
    rows = [
        ("A", "E1", "M1", 3),
        ("A", "E2", "M1", 4),
        ("A", "E3", "M2", 2),
        ("A", "E4", "M2", 3),
        ("A", "E5", "M2", 4),  # leaves after A
        ("B", "E1", "M1", 3),  # unchanged
        ("B", "E2", "M1", 5),  # +1
        ("B", "E3", "M2", 3),  # +1
        ("B", "E4", "M2", 2),  # -1
        ("B", "E6", "M2", 3),  # new hire in B
    ]
    frame = pd.DataFrame(rows, columns=["cycle", "employee_id", "reviewer_id", "final_value"]).assign(team="t")
    return with_ratings(frame, ["A", "B"])


def test_changes_stickiness_and_transitions_by_hand():
    result = cycle_over_cycle(two_cycles())
    changes = result.changes.set_index("employee_id")
    assert list(changes.index) == ["E1", "E2", "E3", "E4"]  # E5 and E6 are in one cycle only
    assert changes["change"].tolist() == [0, 1, 1, -1]
    assert changes.loc["E2", "previous_rating"] == "Exceeds" and changes.loc["E2", "current_rating"] == "Far exceeds"
    [pair] = result.pairs.to_dict("records")
    assert pair["in_both"] == 4 and pair["unchanged"] == 1 and pair["stickiness"] == pytest.approx(0.25)
    assert (pair["moved_up"], pair["moved_down"], pair["new"], pair["left"]) == (2, 1, 1, 1)
    transitions = result.transitions
    assert len(transitions) == 25 and transitions["count"].sum() == 4  # every cell of the 5 x 5 scale
    nonzero = {(r.previous, r.current): r.count for r in transitions[transitions["count"] > 0].itertuples()}
    assert nonzero == {
        ("Partially meets", "Meets"): 1,
        ("Meets", "Partially meets"): 1,
        ("Meets", "Meets"): 1,
        ("Exceeds", "Far exceeds"): 1,
    }
    diagonal = transitions.loc[transitions["previous"] == transitions["current"], "count"].sum()
    assert diagonal / transitions["count"].sum() == pytest.approx(pair["stickiness"])


def test_manager_drift_by_hand_and_small_teams_never_flagged():
    managers = cycle_over_cycle(two_cycles()).managers.set_index("reviewer_id")
    assert managers.loc["M1", "people"] == 2 and managers.loc["M1", "mean_change"] == pytest.approx(0.5)
    assert managers.loc["M2", "mean_change"] == pytest.approx(0.0)
    assert managers.loc["M1", "drift"] == pytest.approx(0.5) and managers.loc["M2", "drift"] == pytest.approx(-0.5)
    half = stats.t.ppf(0.975, 1) * np.std([0, 1], ddof=1) / np.sqrt(2)
    assert managers.loc["M1", "upper"] == pytest.approx(0.5 + half)
    assert managers["small"].all() and not managers["flagged"].any() and managers["p_holm"].isna().all()


def test_one_cycle_gives_empty_tables():
    result = cycle_over_cycle(two_cycles().query("cycle == 'A'"))
    assert result.changes.empty and result.managers.empty and result.findings == []


# -- cycle over cycle: seeded simulation ----------------------------------------------------------


def simulate_changes(rng: np.random.Generator, *, drift: bool = False, managers: int = 40) -> pd.DataFrame:
    """One pair of cycles, 40 managers of 4-12; with `drift`, all 10 people of m00 move up one rating."""
    sizes = rng.integers(4, 13, size=managers)
    sizes[0] = 10
    manager = np.repeat([f"m{i:02d}" for i in range(managers)], sizes)
    latent = 3 + 0.7 * rng.normal(size=len(manager))
    before = np.clip(np.round(latent + rng.normal(0, 0.5, len(manager))), 1, 5)
    after = np.clip(np.round(latent + rng.normal(0, 0.5, len(manager))), 1, 5)
    if drift:
        after = np.where(manager == "m00", np.minimum(before + 1, 5), after)
    return pd.DataFrame(
        {
            "previous_cycle": "A",
            "current_cycle": "B",
            "employee_id": [f"p{i:04d}" for i in range(len(manager))],
            "previous_reviewer_id": manager,
            "reviewer_id": manager,
            "previous_value": before,
            "current_value": after,
            "change": after - before,
        }
    )


@pytest.mark.slow
def test_drift_false_alarms_and_power():
    # 4,000 null orgs: anyone flagged in 4.3% (Holm at 0.05); 2,000 drift orgs: m00 found in 93.7%.
    # A noisier plant (m00's people shifted +1 before rounding, not each moved exactly +1) is found
    # in only 69%: ten people are few against 40 Holm-corrected comparisons.
    rng = np.random.default_rng(20251231)
    orgs = 200
    null = np.mean([manager_drift(simulate_changes(rng))["flagged"].any() for _ in range(orgs)])
    found = []
    for _ in range(orgs):
        table = manager_drift(simulate_changes(rng, drift=True)).set_index("reviewer_id")
        found.append(bool(table.loc["m00", "flagged"] and table.loc["m00", "drift"] > 0))
    power = np.mean(found)
    print(f"null orgs with any manager flagged: {null:.3f}; all 10 people moving +1 found: {power:.3f}")
    assert null <= 0.05
    assert power >= 0.80


def test_cycle_over_cycle_end_to_end_reports_the_drifting_manager():
    changes = simulate_changes(np.random.default_rng(1), drift=True)
    rows = changes[["employee_id", "reviewer_id"]]
    frame = pd.concat(
        [
            rows.assign(cycle="A", final_value=changes["previous_value"]),
            rows.assign(cycle="B", final_value=changes["current_value"]),
        ],
        ignore_index=True,
    )
    result = cycle_over_cycle(with_ratings(frame.assign(team="t"), ["A", "B"]))
    assert result.changes["change"].tolist() == changes["change"].tolist()
    finding = next(f for f in result.findings if f.subject == "m00")
    assert finding.kind == "rating_drift" and finding.severity == "warning" and finding.n == 10
    assert finding.interval[0] > 0 and "points more than everyone else" in finding.explanation
    assert "not imputed" in finding.method and finding.threshold == 0.5


def test_expected_ratings_remove_differences_in_who_is_on_the_team():
    # team a: seniors rated 4, team b: juniors rated 2; everyone is rated exactly as expected
    rows = [(f"a{i}", "a", 4.0) for i in range(6)] + [(f"b{i}", "b", 2.0) for i in range(6)]
    rows += [(f"c{i}", "c", 3.0) for i in range(6)]
    frame = pd.DataFrame(rows, columns=["employee_id", "team", "final_value"])
    frame["cycle"] = "C"
    frame["team_delivery_level"] = pd.Categorical(["elite"] * 6 + ["low"] * 6 + ["medium"] * 6,
                                                  categories=["low", "medium", "high", "elite"], ordered=True)
    frame["team_slo_met_share"] = [1.0] * 6 + [0.2] * 6 + [0.6] * 6
    expected = pd.Series(frame["final_value"].to_numpy(), index=frame["employee_id"])
    raw = team_context(frame, cycle="C").table.set_index("team")
    adjusted = team_context(frame, cycle="C", expected=expected).table.set_index("team")
    assert raw.loc["a", "difference"] == pytest.approx(1.5)  # 4 vs the rest's 2.5
    assert adjusted.loc["a", "difference"] == pytest.approx(0.0) and not adjusted["mismatch"].any()
    assert adjusted.loc["a", "mean_rating"] == 4.0 and adjusted["adjusted"].all()
