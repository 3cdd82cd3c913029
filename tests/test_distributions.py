"""Rating distributions, small-cell suppression, the discipline seam and the metric policy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from calib.analyses.distributions import distributions, rating_distribution
from calib.analyses.seam import discipline_seam, seam_pairs
from calib.errors import PolicyError
from calib.inputs.policy import MetricPolicy
from calib.privacy import suppressed_groups

LABELS = ["Low", "Mid", "High"]


def rated(groups: dict[str, list[str]], column: str = "final_rating") -> pd.DataFrame:
    rows = [(g, r) for g, ratings in groups.items() for r in ratings]
    frame = pd.DataFrame(rows, columns=["team", column])
    frame[column] = frame[column].astype(pd.CategoricalDtype(LABELS, ordered=True))
    return frame


def test_counts_and_shares_by_hand():
    frame = rated({"a": ["Low", "Mid", "Mid", "High", "High", "High"], "b": ["Mid"] * 5})
    out = rating_distribution(frame, by="team", labels=LABELS, min_group_size=5).set_index(["group", "rating"])
    assert out.loc[("a", "High"), "count"] == 3 and out.loc[("a", "High"), "share"] == 0.5
    assert out.loc[("a", "Low"), "n"] == 6
    assert out.loc[("b", "Low"), "count"] == 0 and out.loc[("b", "Mid"), "share"] == 1.0
    assert not out["suppressed"].any()


def test_a_small_group_and_its_complement_are_suppressed():
    frame = rated({"a": ["Low"] * 3, "b": ["Mid"] * 6, "c": ["High"] * 9})
    out = rating_distribution(frame, by="team", labels=LABELS, min_group_size=5)
    hidden = out.groupby("group")["suppressed"].first()
    assert hidden.to_dict() == {"a": True, "b": True, "c": False}  # b hides a from total - c
    assert out.loc[out["suppressed"], ["count", "share", "n"]].isna().all().all()


def test_suppression_rule():
    sizes = pd.Series({"x": 2, "y": 7, "z": 7, "w": 30})
    assert suppressed_groups(sizes, 5).to_dict() == {"x": True, "y": True, "z": False, "w": False}  # tie -> name order
    two_small = pd.Series({"x": 2, "y": 3, "w": 30})
    assert suppressed_groups(two_small, 5).to_dict() == {"x": True, "y": True, "w": False}
    assert not suppressed_groups(pd.Series({"x": 5, "y": 6}), 5).any()


def test_before_and_after_calibration():
    frame = rated({"a": ["Low", "Mid", "Mid", "High", "High"]})
    frame["rating"] = pd.Categorical(["Mid"] * 5, categories=LABELS, ordered=True)
    frame["cycle"] = "C"
    frame["discipline"] = "engineering"
    out = distributions(frame, cycle="C", labels=LABELS, min_group_size=5)
    org = out[(out["dimension"] == "all") & (out["rating"] == "Mid")].set_index("stage")
    assert org.loc["submitted", "count"] == 5 and org.loc["calibrated", "count"] == 2


def seam_frame(gap: float, rng: np.random.Generator, n: int = 60) -> pd.DataFrame:
    rows = []
    for i in range(n):
        discipline = ["engineering", "product"][i % 2]
        level = 3 + (i // 2) % 3
        shift = gap if discipline == "product" else 0
        value = float(np.clip(np.round(2 + 0.5 * (level - 3) + shift + rng.normal(0, 0.3)), 1, 5))
        rows.append((f"P{i:03d}", discipline, f"L{level}", level, value))
    frame = pd.DataFrame(rows, columns=["employee_id", "discipline", "level", "level_rank", "final_value"])
    frame["final_rating"] = pd.Categorical(frame["final_value"].map({1: "1", 2: "2", 3: "3", 4: "4", 5: "5"}),
                                           categories=["1", "2", "3", "4", "5"], ordered=True)
    frame["cycle"] = "C"
    for c in ("evidence_delivery_n", "evidence_reliability_n", "evidence_influence_n"):
        frame[c] = 1
    return frame


def test_seam_effect_at_equal_level_and_pairs():
    seam = discipline_seam(seam_frame(1.0, np.random.default_rng(1)), cycle="C")
    row = seam.effects.set_index("discipline").loc["product"]
    assert row["difference"] == pytest.approx(1.0, abs=0.25) and row["lower"] > 0
    assert [f.kind for f in seam.findings] == ["discipline_gap"]
    assert (seam.pairs["rating"].astype(str) != "").all()
    same = seam.pairs.apply(lambda r: r["level"] == r["reference_level"], axis=1)
    assert same.mean() > 0.5  # nearest level, mostly the same level
    assert seam.pairs["reference_employee_id"].is_unique or len(seam.pairs) <= 1
    none = discipline_seam(seam_frame(0.0, np.random.default_rng(2)), cycle="C")
    assert none.findings == []


def test_seam_pairs_use_each_person_once_across_disciplines():
    # One engineer at each rating and three other disciplines: before, the engineer was paired three times.
    people = [("E1", "engineering", "3"), ("E2", "engineering", "3"), ("E3", "engineering", "4")]
    people += [(f"{d[0].upper()}{i}", d, r) for d in ("data", "design", "product") for i, r in enumerate("334")]
    frame = pd.DataFrame(people, columns=["employee_id", "discipline", "final_rating"])
    frame = frame.assign(level="L3", level_rank=3, cycle="C", final_value=frame["final_rating"].astype(float))
    pairs = seam_pairs(frame, "engineering")
    everyone = pd.concat([pairs["employee_id"], pairs["reference_employee_id"]])
    assert everyone.is_unique, everyone[everyone.duplicated()].tolist()
    assert sorted(pairs["reference_employee_id"]) == ["E1", "E2", "E3"]  # every engineer still compared once


def test_metric_policy():
    policy = MetricPolicy(forbidden=["emoji_reactions"])
    with pytest.raises(PolicyError, match="forbidden"):
        policy.require("lines_of_code", "person_context")
    with pytest.raises(PolicyError, match="forbidden"):
        policy.require("Emoji_Reactions", "team_context")
    with pytest.raises(PolicyError, match="refusing to rank people by pr_count"):
        policy.require("pr_count", "rank")
    with pytest.raises(PolicyError, match="describes a team"):
        policy.require("change_failure_rate", "rank")
    policy.require("pr_count", "person_context")
    policy.require("lead_time", "team_context")
    assert policy.kind("something_new") == "contextual"
    assert policy.allowed(["pr_count", "commit_count", "review_latency_hours"], "person_context") == [
        "pr_count", "review_latency_hours"
    ]
