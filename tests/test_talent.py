"""The talent map: level alignment rules on hand-built people, misleveled candidates, exports."""

from __future__ import annotations

import argparse
import csv
import math

import openpyxl
import pandas as pd
import pytest
from conftest import ROOT

from calib.delivery.sources import load_cycle
from calib.errors import UsageError
from calib.frame import normalize
from calib.inputs.config import load_config
from calib.outputs.talent import cli_talent, level_alignment, talent_table, write_talent

LABELS = ["Does not meet", "Partially meets", "Meets", "Exceeds", "Far exceeds"]
SCALE = (1.0, 5.0)

# -- the rule, case by case ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rating", "mean", "items", "parts", "call", "words"),
    [
        ("Meets", 3.0, 12, 3, "meeting", "at the bar"),  # stable performance
        ("Meets", 3.9, 12, 3, "meeting", "at the bar"),  # high scores alone move nothing
        ("Meets", 4.5, 12, 3, "meeting", "disagree"),
        ("Exceeds", 4.0, 5, 2, "exceeding", "Exceeds, criteria mean 4.00, 5 evidence items in 2 of 3 parts"),
        ("Far exceeds", 3.99, 30, 3, "meeting", "disagree"),  # just under the margin
        ("Exceeds", 4.5, 4, 3, "meeting", "needs 5 in 2"),  # thin: too few items
        ("Exceeds", 4.5, 20, 1, "meeting", "needs 5 in 2"),  # thin: one kind of work
        ("Partially meets", 2.0, 6, 2, "below", "Partially meets, criteria mean 2.00"),
        ("Does not meet", 2.5, 6, 2, "meeting", "disagree"),
        ("Does not meet", 1.0, 2, 2, "meeting", "point to below"),
        (None, 4.8, 30, 3, "meeting", "no review"),
        ("Exceeds", math.nan, 30, 3, "meeting", "no criteria scores"),
    ],
)
def test_level_alignment_rule(rating, mean, items, parts, call, words):
    got, basis = level_alignment(rating, LABELS, mean, SCALE, items, parts)
    assert got == call and words in basis


# -- a hand-built team over two cycles ----------------------------------------------------------

PEOPLE = """\
employee_id,name,manager_id,team,discipline,level
E1,Ada Top,,lead,engineering,L6
E2,Bo Manager,E1,api,engineering,L5
E8,-2+3 Below,E2,api,engineering,L3
E3,Cy Steady High,E2,api,engineering,L3
E4,Di Spiky,E2,api,engineering,L4
E5,Ed Stable,E2,api,engineering,L2
E6,Fa New Star,E2,api,engineering,L3
E7,Gu Thin,E2,api,engineering,L4
E9,Hu Elsewhere,E1,lead,engineering,L4
"""
#          2025-H2 rating, criteria (Craft, Impact), items; 2026-H1 the same; promoted; coaching plan
PLAN = {
    "E3": ("Exceeds", (4, 4.5), 8, "Far exceeds", (4.5, 4), 9, "false", ""),
    "E4": ("Far exceeds", (5, 3.5), 8, "Far exceeds", (5, 3.5), 9, "true", ""),
    "E5": ("Meets", (3, 3), 8, "Meets", (3, 3.5), 8, "false", "Pair on design reviews"),
    "E6": ("Meets", (3, 3.5), 8, "Exceeds", (4.5, 4.5), 8, "true", ""),
    "E7": ("Exceeds", (4.5, 4.5), 8, "Exceeds", (4.5, 4.5), 3, "false", ""),
    "E8": ("Does not meet", (1.5, 2), 6, "Partially meets", (1.5, 1.5), 6, "false", "=cmd|' /C calc'!A0"),
}
CYCLES = {"2025-H2": "2025-0", "2026-H1": "2026-0"}


def _files() -> dict[str, str]:
    reviews = ["cycle,employee_id,reviewer_id,rating,promotion_recommended,coaching_plan"]
    scores = ["cycle,employee_id,criterion,score"]
    evidence = ["employee_id,date,category,criterion,kind,title,url"]
    for person, (r1, s1, n1, r2, s2, n2, promoted, plan) in PLAN.items():
        for cycle, rating, marks, items in (("2025-H2", r1, s1, n1), ("2026-H1", r2, s2, n2)):
            now = cycle == "2026-H1"
            reviews.append(f"{cycle},{person},E2,{rating},{promoted if now else 'false'},{plan if now else ''}")
            scores += [f"{cycle},{person},Craft,{marks[0]}", f"{cycle},{person},Impact,{marks[1]}"]
            for k in range(items):
                category = ("delivery", "reliability", "influence")[k % 3]
                criterion = "Craft" if k % 2 else "Impact"
                month = (7 if cycle == "2025-H2" else 1) + k % 5
                evidence.append(f"{person},{cycle[:4]}-{month:02d}-1{k % 9},{category},{criterion},pr,Item {k},")
    reviews += ["2026-H1,E2,E1,Meets,false,", "2026-H1,E9,E1,Exceeds,false,"]
    return {
        "people.csv": PEOPLE,
        "reviews.csv": "\n".join(reviews) + "\n",
        "criteria_scores.csv": "\n".join(scores) + "\n",
        "evidence.csv": "\n".join(evidence) + "\n",
    }


@pytest.fixture
def team(tiny_cycle):
    path = tiny_cycle(
        files=_files(), config=lambda t: t.replace("inputs:\n", "inputs:\n  criteria_scores: criteria_scores.csv\n")
    )
    return normalize(load_cycle(load_config(path)))


def test_one_row_per_direct_report_sorted_with_the_calls(team):
    table = talent_table(team, manager_id="E2")
    assert table["employee_id"].tolist() == ["E3", "E4", "E5", "E6", "E7", "E8"]  # by id, whatever the input order
    for column in (
        "employee_id",
        "name",
        "level",
        "rating_history",
        "criteria_mean",
        "score_craft",
        "score_impact",
        "evidence_items",
        "categories_covered",
        "light_criteria",
        "level_alignment",
        "level_alignment_basis",
        "misleveled_candidate",
        "misleveled_reason",
        "promotion_recommended",
        "coaching_plan",
        "notes",
    ):
        assert column in table.columns
    row = table.set_index("employee_id")
    assert row.loc["E3", "rating_history"] == "2025-H2: Exceeds; 2026-H1: Far exceeds"
    assert row.loc["E3", "criteria_mean"] == 4.25 and row.loc["E3", "evidence_items"] == 9
    assert row["level_alignment"].to_dict() == {
        "E3": "exceeding",
        "E4": "exceeding",
        "E5": "meeting",
        "E6": "exceeding",
        "E7": "meeting",
        "E8": "below",
    }
    assert "needs 5 in 2" in row.loc["E7", "level_alignment_basis"]  # the scores say exceeding; 3 items do not


def test_misleveled_needs_two_cycles_and_every_criterion_beyond_the_bar(team):
    row = talent_table(team, manager_id="E2").set_index("employee_id")
    assert row["misleveled_candidate"].to_dict() == {
        "E3": True,  # exceeding twice, every criterion >= 4 both times
        "E4": False,  # exceeding twice, but Impact 3.5: strong, not at another level
        "E5": False,
        "E6": False,  # exceeding once: one strong half-year is not a level
        "E7": False,
        "E8": True,  # below twice, every criterion <= 2
    }
    assert row.loc["E3", "misleveled_reason"].startswith(
        "exceeding L3 in 2025-H2 and 2026-H1, every criterion at or above 4"
    )
    assert row.loc["E8", "misleveled_reason"].startswith(
        "below L3 in 2025-H2 and 2026-H1, every criterion at or below 2"
    )
    assert row.loc["E4", "misleveled_reason"] == "" and row.loc["E4", "previous_alignment"] == "exceeding"


def test_stable_performance_is_meeting_and_nothing_is_computed_toward_promotion(team):
    row = talent_table(team, manager_id="E2").set_index("employee_id")
    assert row.loc["E5", "level_alignment"] == "meeting" and not row.loc["E5", "misleveled_candidate"]
    assert row.loc["E5", "rating_history"] == "2025-H2: Meets; 2026-H1: Meets"
    # promotion is copied from the reviews, never derived from the call
    assert row["promotion_recommended"].astype(bool).to_dict() == {
        "E3": False,
        "E4": True,
        "E5": False,
        "E6": True,
        "E7": False,
        "E8": False,
    }
    assert row.loc["E5", "coaching_plan"] == "Pair on design reviews" and row.loc["E3", "coaching_plan"] == ""
    assert set(row["notes"]) == {""}


def test_scope_everyone_or_a_manager(team):
    everyone = talent_table(team)
    assert everyone["employee_id"].tolist() == sorted(["E1", "E2", "E3", "E4", "E5", "E6", "E7", "E8", "E9"])
    assert (
        everyone.set_index("employee_id").loc["E1", "level_alignment_basis"]
        == "no review this cycle: meeting by default"
    )
    with pytest.raises(UsageError, match="E404"):
        talent_table(team, manager_id="E404")
    with pytest.raises(UsageError, match="E5 has no direct reports"):
        talent_table(team, manager_id="E5")


def test_exports_are_neutralized(team, tmp_path):
    table = talent_table(team, manager_id="E2")
    csv_path, xlsx_path = write_talent(table, tmp_path)
    with csv_path.open(newline="", encoding="utf-8") as handle:
        rows = {r["employee_id"]: r for r in csv.DictReader(handle)}
    assert rows["E8"]["name"] == "'-2+3 Below" and rows["E8"]["coaching_plan"] == "'=cmd|' /C calc'!A0"
    assert rows["E3"]["criteria_mean"] == "4.25" and rows["E3"]["misleveled_candidate"] == "True"
    sheet = openpyxl.load_workbook(xlsx_path).active
    header = [c.value for c in sheet[1]]
    cells = {r[0].value: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2)}
    assert cells["E8"]["name"].value == "'-2+3 Below" and cells["E8"]["name"].data_type == "s"
    assert cells["E3"]["criteria_mean"].value == 4.25 and cells["E3"]["evidence_items"].value == 9
    assert not any(c.data_type == "f" for row in sheet.iter_rows() for c in row)


def test_sample_team_hand_checked(tmp_path):
    normalized = normalize(load_cycle(load_config(ROOT / "data_samples" / "cycle.yml")))
    table = talent_table(normalized, manager_id="E0049").set_index("employee_id")
    assert len(table) == 9 and table.index.is_monotonic_increasing
    scores = pd.read_csv(ROOT / "data_samples" / "criteria_scores.csv").query("employee_id == 'E0225'")
    h1 = scores[scores["cycle"] == "2026-H1"].set_index("criterion")["score"]
    assert table.loc["E0225", "criteria_mean"] == round(h1.mean(), 2) == 1.75
    assert table.loc["E0225", "level_alignment"] == "below" and h1.max() == 2.5
    assert not table.loc["E0225", "misleveled_candidate"]  # Impact 2.5: not every criterion at or below 2
    crew = ["E0025", "E0029", "E0034", "E0035"]  # the planted invisible-work engineers: Meets, at the bar
    assert (table.loc[crew, "level_alignment"] == "meeting").all()
    assert (table.loc[crew, "rating_history"] == "2025-H2: Meets; 2026-H1: Meets").all()


def test_cli_talent_writes_both_files(tmp_path, capsys):
    args = argparse.Namespace(
        config=str(ROOT / "data_samples" / "cycle.yml"), manager="E0049", cycle=None, out=str(tmp_path)
    )
    assert cli_talent(args) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["talent-E0049.csv", "talent-E0049.xlsx"]
    assert "talent map of 9 people" in capsys.readouterr().out
    assert len(pd.read_csv(tmp_path / "talent-E0049.csv")) == 9
