"""Scope: one manager's cut holds their people and nobody else, ids and free text included."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from conftest import ROOT, TINY_FILES

import calib
from calib.errors import UsageError
from calib.scope import OUTSIDE, filter_subtree, subtree

SAMPLE = ROOT / "data_samples" / "cycle.yml"
PEER_FEEDBACK = """\
cycle,reviewer_id,reviewee_id,relationship,score,comment
2026-H1,E6,E3,peer,4,Paired with Fa Lead on the outage
2026-H1,E4,E3,peer,4,Great work with Di
2026-H1,E3,E6,peer,3,About someone else
"""


@pytest.fixture
def tiny(tiny_cycle):
    evidence = TINY_FILES["evidence.csv"] + (
        "E5,2026-04-01,influence,docs,Wrote the guide Gu Lead asked for,https://git.example/gu-lead/guide\n"
        "E6,2026-04-02,delivery,pr,Fa's own work,https://git.example/3\n"
    )
    people = TINY_FILES["people.csv"].replace("gender\n", "gender,handle\n").replace("L4,man\n", "L4,man,gu-lead\n")
    path = tiny_cycle(
        files={"evidence.csv": evidence, "peer_feedback.csv": PEER_FEEDBACK, "people.csv": people},
        config=lambda t: t.replace("inputs:\n", "inputs:\n  peer_feedback: peer_feedback.csv\n"),
    )
    return calib.normalize(calib.validate(path))


def strings(normalized) -> list[str]:
    """Every text cell of every table the cut holds."""
    frames = [*normalized.data.tables.values(), normalized.frame, normalized.team_dora, normalized.team_slos]
    out = []
    for frame in frames:
        for column in frame.columns:
            out += [str(column), *(str(v) for v in frame[column].dropna().unique())]
    return out


def test_the_subtree_is_everyone_below_transitively():
    people = pd.DataFrame({"employee_id": list("ABCDEF"), "manager_id": [None, "A", "B", "B", "C", "F"]})
    assert subtree(people, "A") == ["B", "C", "D", "E"]
    assert subtree(people, "C") == ["E"] and subtree(people, "E") == []
    assert subtree(people, "F") == []  # a self-loop is nobody's report


def test_a_manager_sees_their_people_and_their_own_name_only(tiny):
    cut = filter_subtree(tiny, "E2")
    assert sorted(cut.data["people"]["employee_id"]) == ["E2", "E3", "E4", "E5"]
    assert pd.isna(cut.data["people"].set_index("employee_id").loc["E2", "manager_id"])  # their own manager: gone
    assert sorted(cut.data["reviews"]["employee_id"]) == ["E3", "E3", "E4", "E5"]  # not the manager's own review
    assert sorted(cut.frame["employee_id"]) == ["E3", "E3", "E4", "E5"]
    assert set(cut.data["evidence"]["employee_id"]) == {"E3", "E4", "E5"}
    assert list(cut.team_dora["team"].unique()) == ["api"] and list(cut.data["services"]["team"]) == ["api"]
    assert cut.data.warnings == []
    everything = " ".join(strings(cut))
    for outsider in ("E1", "E6", "E7", "Ada Top", "Fa Lead", "Gu Lead", "gu-lead"):
        assert not re.search(rf"\b{re.escape(outsider)}\b", everything), outsider


def test_free_text_naming_anyone_else_is_scrubbed_and_links_dropped(tiny):
    cut = filter_subtree(tiny, "E2")
    feedback = cut.data["peer_feedback"].set_index("reviewer_id", drop=False)
    assert list(cut.data["peer_feedback"]["reviewee_id"]) == ["E3", "E3"]  # feedback about others: gone
    assert cut.data["peer_feedback"]["reviewer_id"].isna().sum() == 1  # E6 wrote it: the id is gone, the row stays
    comments = sorted(feedback["comment"])
    assert comments == ["Great work with Di", f"Paired with {OUTSIDE} on the outage"]  # Di is inside: unchanged
    evidence = cut.data["evidence"].set_index("title")
    guide = f"Wrote the guide {OUTSIDE} asked for"
    assert guide in evidence.index and pd.isna(evidence.loc[guide, "url"])
    assert "Mentored Ed" in evidence.index  # Ed is inside: unchanged
    assert "Fa's own work" not in evidence.index


def test_a_manager_of_managers_sees_the_whole_subtree(tiny):
    cut = filter_subtree(tiny, "E1")
    assert sorted(cut.data["people"]["employee_id"]) == [f"E{i}" for i in range(1, 8)]
    assert "E1" not in set(cut.data["reviews"]["employee_id"])


def test_unknown_ids_and_people_without_reports_are_refused(tiny):
    with pytest.raises(UsageError, match="no person with employee_id 'E99'"):
        filter_subtree(tiny, "E99")
    with pytest.raises(UsageError, match="nobody reports to E3"):
        filter_subtree(tiny, "E3")


def test_on_the_sample_no_one_else_is_named_anywhere_in_the_cut():
    normalized = calib.normalize(calib.validate(SAMPLE))
    people = normalized.data["people"]
    cut = filter_subtree(normalized, "E0049")
    inside = set(cut.data["people"]["employee_id"])
    assert len(inside) == 10 and set(people.loc[people["manager_id"] == "E0049", "employee_id"]) < inside
    everything = "\n".join(strings(cut))
    assert set(re.findall(r"\bE\d{4}\b", everything)) <= inside
    outsiders = people[~people["employee_id"].isin(inside)]
    named = [n for n in outsiders["name"] if n in everything]
    assert not named
    handles = [h for h in outsiders["handle"] if re.search(rf"\b{re.escape(h)}\b", everything)]
    assert not handles
    reviews = cut.data["reviews"]
    assert set(reviews["employee_id"]) == inside - {"E0049"}
    assert set(reviews["reviewer_id"].dropna()) <= inside
