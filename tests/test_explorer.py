"""The team explorer's helpers on the sample, checked against the CSVs; the widget app assembles."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import ROOT

from calib.apps import explorer as explorer
from calib.errors import UsageError

SAMPLE = ROOT / "data_samples"


@pytest.fixture(scope="module")
def workbench() -> explorer.Explorer:
    return explorer.load(SAMPLE / "cycle.yml")


@pytest.fixture(scope="module")
def raw() -> dict[str, pd.DataFrame]:
    names = ("people", "reviews", "criteria_scores", "evidence", "peer_feedback", "expectations")
    return {n: pd.read_csv(SAMPLE / f"{n}.csv", dtype=str, keep_default_na=False) for n in names}


def test_criteria_coverage_marks_light_criteria():
    items = pd.DataFrame({"criterion": ["Mastery", " mastery ", "Impact", None, "Teaching"]})
    table = explorer.criteria_coverage(items, ["Mastery", "Impact", "Autonomy"])
    assert table.to_dict("list") == {
        "criterion": ["Mastery", "Impact", "Autonomy", "(not tagged with a criterion)"],
        "examples": [2, 1, 0, 2],
        "mark": ["", "light: add examples", "light: add examples", ""],
    }


def test_team_and_manager_pickers(workbench, raw):
    team = explorer.team_table(workbench.normalized, "E0049")
    expected = sorted(raw["people"].query("manager_id == 'E0049'")["employee_id"])
    assert team["employee_id"].tolist() == expected and len(expected) == 9
    assert team.set_index("employee_id").loc["E0025", "rating 2026-H1"] == "Meets"
    options = dict((v, k) for k, v in explorer.manager_options(workbench.normalized))
    assert options["E0049"] == "Omar Fernandes (E0049, observability, 9 reports)"
    assert "E0025" not in options and "E0016" in options
    with pytest.raises(UsageError, match="E0025 has no direct reports"):
        explorer.team_table(workbench.normalized, "E0025")


def test_person_view_matches_the_inputs(workbench, raw):
    view = explorer.person_view(workbench, "E0025")
    assert view.title == "Adebayo Huang (E0025), L4, observability" and not view.mid_cycle
    evidence = raw["evidence"]
    mine = evidence[(evidence["employee_id"] == "E0025") & (evidence["date"] >= "2026-01-01")]
    assert len(view.evidence) == len(mine) and view.evidence["date"].is_monotonic_increasing
    coverage = view.coverage.set_index("criterion")["examples"]
    for criterion in ("Mastery", "Impact", "Autonomy", "Collaboration"):
        assert coverage[criterion] == (mine["criterion"] == criterion).sum()
    assert coverage["(not tagged with a criterion)"] == (mine["criterion"] == "").sum()
    feedback = raw["peer_feedback"].query("cycle == '2026-H1' and reviewee_id == 'E0025'")
    peers = view.peers.set_index("relationship")["feedback"]
    assert peers.sum() == len(feedback) and peers.to_dict() == {
        r: int((feedback["relationship"] == r).sum()) for r in sorted(raw["peer_feedback"]["relationship"].unique())
    }
    expectations = raw["expectations"].query("cycle == '2026-H1' and employee_id == 'E0025'")
    assert view.expectations["expectation"].tolist() == expectations["expectation"].tolist()
    assert view.expectations["status"].tolist() == expectations["status"].tolist()
    history = view.history.set_index("cycle")
    assert history.loc["2025-H2", "rating"] == "Meets" and history.loc["2025-H2", "Impact"] == 2.5
    assert list(history.columns) == ["rating", "calibrated_rating", "Mastery", "Impact", "Autonomy", "Collaboration"]
    assert view.context is None  # no telemetry in the sample
    spec = json.loads(view.timeline.to_json())
    rows = [r for data in spec["datasets"].values() for r in data if "category" in r]
    assert len(rows) == len(mine)


def test_person_with_no_examples_for_a_criterion_is_marked(workbench):
    coverage = explorer.person_view(workbench, "E0225").coverage.set_index("criterion")
    assert coverage.loc["Collaboration", "examples"] == 0
    assert coverage.loc["Collaboration", "mark"] == "light: add examples"


def test_team_trend_is_the_team_context(workbench):
    trend = explorer.team_trend(workbench.normalized, "observability").set_index("cycle")
    dora = workbench.normalized.team_dora.query("team == 'observability'").set_index("period")
    slos = workbench.normalized.team_slos.query("team == 'observability'").set_index("period")
    for cycle in ("2025-H2", "2026-H1"):
        assert trend.loc[cycle, "delivery"] == dora.loc[cycle, "delivery_level"]
        assert trend.loc[cycle, "SLO windows met"] == pytest.approx(slos.loc[cycle, "slo_met_share"])
    assert trend.loc["2026-H1", "SLO attainment"] > trend.loc["2025-H2", "SLO attainment"]  # planted: rising SLOs


def test_telemetry_is_context_only(tiny_cycle):
    telemetry = "cycle,employee_id,metric,value\n2026-H1,E3,commit_count,300\n2026-H1,E3,prs_reviewed,14\n"
    path = tiny_cycle(
        files={"telemetry.csv": telemetry},
        config=lambda t: t.replace("inputs:\n", "inputs:\n  telemetry: telemetry.csv\n"),
    )
    view = explorer.person_view(explorer.load(path), "E3")
    assert view.context.to_dict("list") == {"metric": ["prs_reviewed"], "value (context, not a score)": [14.0]}


def test_app_assembles_and_switches_team(workbench):
    app = explorer.explorer_app(workbench, "E0049", employee_id="E0034")
    team, person = app.children[0].children
    assert team.value == "E0049" and person.value == "E0034"
    assert [v for _, v in person.options][0] == "E0025" and len(person.options) == 9
    team.value = "E0016"
    assert len(person.options) == 12 and person.value == person.options[0][1]
    with pytest.raises(UsageError, match="E0225 is not a direct report of E0016"):
        explorer.explorer_app(workbench, "E0016", employee_id="E0225")
    with pytest.raises(UsageError, match="E9999"):
        explorer.explorer_app(workbench, "E9999")
