"""The manager's explorer: its tables checked against the sample's CSVs, its pages against leaks.

Scoping is checked where a leak would be: in the snapshot files the kernel reads, and in every
page and document the views produce for one manager, for every one of their people.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT

from calib.apps.explorer import model, snapshot, views, widgets
from calib.apps.explorer import serve as explore
from calib.errors import UsageError
from calib.outputs.alignment.model import build_documents
from calib.outputs.alignment.render import render_html, render_markdown

SAMPLE = ROOT / "data_samples"
MANAGER = "E0049"
EVIL = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def scoped(tmp_path_factory) -> Path:
    """E0049's scoped snapshot of the sample, as `calib explore` writes it."""
    folder = explore.prepare(SAMPLE / "cycle.yml", MANAGER, tmp_path_factory.mktemp("cache"), log=lambda *_: None)
    return folder / explore.SNAPSHOT


@pytest.fixture(scope="module")
def team(scoped) -> model.Explorer:
    return snapshot.load_scoped(scoped)


@pytest.fixture(scope="module")
def raw() -> dict[str, pd.DataFrame]:
    names = ("people", "reviews", "evidence", "peer_feedback", "expectations")
    return {n: pd.read_csv(SAMPLE / f"{n}.csv", dtype=str, keep_default_na=False) for n in names}


@pytest.fixture(scope="module")
def outsiders(raw) -> tuple[set[str], set[str]]:
    """Ids and names of everyone who is neither E0049 nor below them."""
    people = raw["people"]
    inside = {MANAGER, *people.loc[people["manager_id"] == MANAGER, "employee_id"]}
    others = people[~people["employee_id"].isin(inside)]
    return set(others["employee_id"]), set(others["name"])


def leaks(text: str, outsiders: tuple[set[str], set[str]]) -> list[str]:
    ids, names = outsiders
    return sorted({i for i in re.findall(r"\bE\d{4}\b", text) if i in ids} | {n for n in names if n in text})


# -- the tables --------------------------------------------------------------------------------------


def test_criteria_coverage_marks_light_criteria_and_counts_since_the_pairing():
    items = pd.DataFrame(
        {
            "criterion": ["Mastery", " mastery ", "Impact", None, "Teaching"],
            "date": pd.to_datetime(["2026-01-05", "2026-03-01", "2026-03-02", "2026-03-03", "2026-01-01"]),
        }
    )
    table = model.criteria_coverage(items, ["Mastery", "Impact", "Autonomy"], since=dt.date(2026, 2, 1))
    assert table.drop(columns="at_level").to_dict("list") == {
        "criterion": ["Mastery", "Impact", "Autonomy", model.UNTAGGED],
        "examples": [2, 1, 0, 2],
        "since_pairing": [1, 1, 0, 1],
        "mark": ["", model.LIGHT_MARK, model.LIGHT_MARK, ""],
    }


def test_the_people_are_the_managers_own_in_name_order(team, raw):
    people = raw["people"]
    reports = people[people["manager_id"] == MANAGER]
    options = model.person_options(team)
    assert [v for _, v in options] == list(reports.sort_values("name")["employee_id"])
    assert options[0] == ("Adebayo Huang (E0025)", "E0025") and team.manager == "Omar Fernandes"
    assert model.teams_of(team) == ["observability"]


def test_the_pairing_view_matches_the_inputs(team, raw):
    view = model.pairing(team, "E0025")
    assert (view.name, view.level, view.team, view.manager) == (
        "Adebayo Huang",
        "L4",
        "observability",
        "Omar Fernandes",
    )
    assert view.as_of == dt.date(2026, 6, 30) and not view.mid_cycle
    assert view.since == dt.date(2026, 6, 2)  # four weeks before the date the cycle stands at
    evidence = raw["evidence"]
    mine = evidence[(evidence["employee_id"] == "E0025") & (evidence["date"] >= "2026-01-01")]
    assert len(view.evidence) == len(mine) and view.evidence["date"].is_monotonic_increasing
    assert len(view.recent) == (mine["date"] >= "2026-06-02").sum()
    coverage = view.coverage.set_index("criterion")
    for criterion in ("Mastery", "Impact", "Autonomy", "Collaboration"):
        assert coverage.loc[criterion, "examples"] == (mine["criterion"] == criterion).sum()
        assert coverage.loc[criterion, "at_level"]  # what meeting it looks like at L4, from the framework
    assert coverage.loc[model.UNTAGGED, "examples"] == (mine["criterion"] == "").sum()
    links = {w.label: w.url for w in view.work}
    assert (
        "merged:>=2026-06-02" in links["Merged pull requests"]
        and "author:adebayo-huang" in links["Merged pull requests"]
    )
    expectations = raw["expectations"].query("cycle == '2026-H1' and employee_id == 'E0025'")
    assert view.expectations["expectation"].tolist() == expectations["expectation"].tolist()
    assert view.expectations["key_steps"].iloc[0] == [s.strip() for s in expectations["key_steps"].iloc[0].split(";")]
    later = model.pairing(team, "E0025", since=dt.date(2026, 3, 1))
    assert len(later.recent) == (mine["date"] >= "2026-03-01").sum()
    assert "from=2026-03-01" in {w.label: w.url for w in later.work}["Kudos"]


def test_a_person_light_on_a_criterion_is_marked(team):
    coverage = model.pairing(team, "E0225").coverage.set_index("criterion")
    assert coverage.loc["Collaboration", "examples"] == 0 and coverage.loc["Collaboration", "mark"] == model.LIGHT_MARK


def test_nobody_outside_the_team_has_a_pairing_view(team):
    for someone in ("E0001", MANAGER, "E9999"):
        with pytest.raises(UsageError, match="is not one of E0049's people"):
            model.pairing(team, someone)


def test_the_team_view_matches_the_inputs(team, raw):
    ids = [v for _, v in model.person_options(team)]
    expectations = raw["expectations"].query("cycle == '2026-H1'")
    table = model.team_expectations(team).set_index("employee_id")
    for employee_id in ids:
        mine = expectations[expectations["employee_id"] == employee_id]["status"].value_counts()
        assert {k: v for k, v in table.loc[employee_id].drop("name").items() if v} == mine.to_dict()
    peers = raw["peer_feedback"].query("cycle == '2026-H1'")
    counted = model.team_peers(team).set_index("employee_id")
    assert counted.loc["E0025"].drop("name").sum() == (peers["reviewee_id"] == "E0025").sum()
    ratings = model.team_ratings(team).set_index("employee_id")
    assert ratings.loc["E0172", "2026-H1"] == "Partially meets (submitted Meets)"
    coverage = model.team_coverage(team).set_index("employee_id")
    evidence = raw["evidence"].query("date >= '2026-01-01' and employee_id == 'E0025'")
    assert coverage.loc["E0025", "total"] == len(evidence)
    assert coverage.loc["E0025", "reliability"] == (evidence["category"] == "reliability").sum()


def test_numbers_read_in_human_units(team):
    assert views.percent(0.998254) == "99.83%" and views.percent(None) == "–"
    assert views.duration(3.2) == "3.2 h" and views.duration(50.4) == "2.1 days" and views.duration(0.5) == "30 min"
    assert views.day(pd.Timestamp("2026-03-01 00:00")) == "2026-03-01"
    trend = views.trend_html(model.team_trend(team.normalized, "observability"))
    assert "99.83%" in trend and "2 of 6 (33%)" in trend and "30.6 h (high)" in trend
    assert "<th>SLO windows</th>" not in trend  # windows read "2 of 6" in one column
    assert "0.333333" not in trend and "0.998254" not in trend
    page = views.team_html(team)
    assert "<th></th>" not in page.split("<table")[1][:200]  # no index column
    assert not re.search(r"\d\.\d{4,}", page)  # no raw floats anywhere


# -- scoped by construction --------------------------------------------------------------------------


def test_the_snapshot_holds_the_managers_people_only(scoped, outsiders, raw):
    texts = []
    for path in sorted(scoped.iterdir()):
        if path.suffix == ".parquet":
            table = pd.read_parquet(path)
            assert "gender" not in table.columns and "comment" not in table.columns, path.name
            texts += [str(c) for c in table.columns]
            texts += [str(v) for c in table.columns for v in table[c].dropna().unique()]
        elif path.is_file():
            texts.append(path.read_text(encoding="utf-8"))
    everything = "\n".join(texts)
    assert not leaks(everything, outsiders)
    settings = json.loads((scoped / "config.json").read_text())
    assert all(v.endswith(".parquet") and "/" not in v for v in settings["inputs"].values())
    assert str(SAMPLE) not in everything and "data_samples" not in everything
    assert {p.stem for p in scoped.glob("*.parquet")} >= {"people", "reviews", "evidence", "team_dora", "team_slos"}
    assert not {p.stem for p in scoped.glob("*.parquet")} & {"deployments", "changes", "incidents", "slos"}


def test_every_page_and_document_for_the_manager_names_no_one_else(team, outsiders):
    window, as_of = model.stands_at(team)
    pages = [views.header_html(team, window, as_of), views.team_html(team)]
    ids = [v for _, v in model.person_options(team)]
    for employee_id in ids:
        view = model.pairing(team, employee_id)
        pages += [views.pairing_intro(view), views.pairing_body(view), view.timeline.to_json()]
    for doc in build_documents(team.normalized, ids, leveling=team.leveling):
        pages += [render_markdown(doc), render_html(doc)]
    assert not leaks("\n".join(pages), outsiders)


def test_the_served_notebook_gets_the_snapshot_and_never_the_config(scoped, tmp_path):
    import nbformat

    served = explore.write_served_notebook(scoped.parent)
    assert served.parent == scoped.parent / "voila" and [p.name for p in served.parent.iterdir()] == [served.name]
    notebook = nbformat.read(served, as_version=4)
    (injected,) = [c for c in notebook.cells if "injected-parameters" in c.metadata.get("tags", [])]
    values: dict = {}
    exec(injected.source, values)
    assert values["snapshot"] == str(scoped) and values["config"] == "" and values["manager_id"] == ""
    assert not {"out_dir", "workdir"} & set(values)  # the page names no folder on the server
    code = "\n".join(c.source for c in notebook.cells if c.cell_type == "code")
    assert "QUERY_STRING" not in code and "environ" not in code


def test_an_unknown_manager_is_one_line_and_exit_1(tmp_path):
    for manager, message in (("E9999", "no person with employee_id 'E9999'"), ("E0025", "nobody reports to E0025")):
        done = subprocess.run(
            [sys.executable, "-m", "calib.cli", "explore", str(SAMPLE / "cycle.yml"), "--manager", manager],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert done.returncode == 1, done.stderr
        assert done.stderr.strip().count("\n") == 0 and message in done.stderr and "Traceback" not in done.stderr
        assert not (tmp_path / "reports" / ".cache").exists() or not any(
            (tmp_path / "reports" / ".cache").glob("explorer-*")
        )


def test_a_sessions_ratings_are_cut_into_the_snapshot_and_named(tmp_path, outsiders):
    from calib.inputs.config import load_config
    from calib.sessions import SessionError, open_session

    store = tmp_path / "sessions.sqlite"
    with open_session(load_config(SAMPLE / "cycle.yml"), "q3", store=store, by="Fran Facilitator") as session:
        session.set_rating("E0225", "Far exceeds", reason="Noah's launch, see E0070", by="Fran Facilitator")
        session.set_rating("E0070", "Meets", reason="someone else's person", by="Fran Facilitator")
    cache = tmp_path / "cache"
    first = explore.prepare(SAMPLE / "cycle.yml", MANAGER, cache, session="q3", store=str(store), log=lambda *_: None)
    team = snapshot.load_scoped(first / explore.SNAPSHOT)
    ratings = model.team_ratings(team).set_index("employee_id")
    assert ratings.at["E0225", "2026-H1"] == "Far exceeds (submitted Does not meet)"
    window, as_of = model.stands_at(team)
    header = views.header_html(team, window, as_of)
    assert "after calibration = session q3 (open: its ratings may still change; 3 events, read " in header
    assert "Ratings by cycle (after calibration; 2026-H1: session q3)" in views.team_html(team)
    files = "\n".join(p.read_bytes().decode("utf-8", "replace") for p in (first / explore.SNAPSHOT).iterdir())
    for absent in (str(store), "Fran Facilitator", "someone else", "E0070"):  # no store, author, reason or outsider
        assert absent not in files, absent
    assert not leaks(files, outsiders)
    with open_session(load_config(SAMPLE / "cycle.yml"), "q3", store=store) as session:
        session.undo("E0225", reason="wrong person", by="Fran Facilitator")
    again = explore.prepare(SAMPLE / "cycle.yml", MANAGER, cache, session="q3", store=str(store), log=lambda *_: None)
    assert again != first  # a new event: a new cut
    ratings = model.team_ratings(snapshot.load_scoped(again / explore.SNAPSHOT)).set_index("employee_id")
    assert ratings.at["E0225", "2026-H1"] == "Does not meet"
    with pytest.raises(SessionError, match="no session named 'q4'"):
        explore.prepare(SAMPLE / "cycle.yml", MANAGER, cache, session="q4", store=str(store))


# -- the page ----------------------------------------------------------------------------------------


def widget_tree(root) -> list:
    """Every widget below `root` (children, tabs and boxes)."""
    found, todo = [], [root]
    while todo:
        widget = todo.pop()
        found.append(widget)
        todo += list(getattr(widget, "children", ()))
    return found


def test_the_app_follows_the_person_and_the_date_and_hands_the_document_to_the_browser(team, tmp_path, monkeypatch):
    import ipywidgets

    monkeypatch.chdir(tmp_path)
    app = widgets.ExplorerApp(team, employee_id="E0034")
    assert app.person.value == "E0034" and "Beatriz Larsen" in app.intro.value and app.chart is not None
    app.person.value = "E0225"
    assert "Noah Costa" in app.intro.value and app.error.layout.display == "none"
    app.since.value = dt.date(2026, 3, 1)
    assert "since 2026-03-01" in app.body.value
    app.tabs.selected_index = 1
    assert "Ratings by cycle" in app.team.value
    # no field anywhere takes a path: the document goes to the browser, never to a folder on the server
    assert not [w for w in widget_tree(app.widget) if isinstance(w, ipywidgets.Text | ipywidgets.Textarea)]
    sent: list[dict] = []
    for button in app.downloads:
        monkeypatch.setattr(button, "send", sent.append)  # what would travel to the page
        button._on_request(button, {"event": "request"}, [])
    assert [m["name"] for m in sent] == ["E0225-alignment-2026-H1.md", "E0225-alignment-2026-H1.html"]
    assert [m["mime"].split(";")[0] for m in sent] == ["text/markdown", "text/html"]
    assert all("Noah Costa" in m["text"] for m in sent) and sent[1]["text"].lstrip().lower().startswith("<!doctype")
    assert "Sent E0225-alignment-2026-H1.html to your browser" in app.status.value
    assert list(tmp_path.iterdir()) == []  # nothing written on the server
    for button in app.downloads:  # anything else the page might send is ignored
        button._on_request(button, {"event": "request", "path": "/etc/passwd"}, [])
        button._on_request(button, "/etc/passwd", [])
    assert len(sent) == 4 and list(tmp_path.iterdir()) == []


def test_the_notebooks_path_without_a_server_cuts_the_config_itself(tmp_path):
    app = widgets.launch(config=str(SAMPLE / "cycle.yml"), manager_id=MANAGER, last_pairing="2026-05-01")
    assert isinstance(app, widgets.ExplorerApp) and app.since.value == dt.date(2026, 5, 1)
    assert set(app.explorer.normalized.data["people"]["manager_id"].dropna()) == {MANAGER}
    for bad, message in (
        ({"manager_id": "E9999"}, "E9999"),
        ({"last_pairing": "last month"}, "YYYY-MM-DD"),
        ({"config": ""}, "give a scoped snapshot"),
        ({"snapshot": str(tmp_path)}, "not a scoped snapshot"),
    ):
        panel = widgets.launch(**{"config": str(SAMPLE / "cycle.yml"), "manager_id": MANAGER, **bad})
        assert "could not start" in panel.value and message in panel.value and "Traceback" not in panel.value


def test_a_hostile_name_and_title_are_text(tiny_cycle, tmp_path):
    people = (
        "employee_id,name,manager_id,team,discipline,level\n"
        f'E1,Boss,,api,engineering,L6\nE2,"{EVIL}",E1,api,engineering,L3\nE3,Cy,E1,api,engineering,L3\n'
    )
    evidence = (
        "employee_id,date,category,kind,title,url,criterion\n"
        'E2,2026-02-01,delivery,pr,"<img src=x onerror=alert(2)>",javascript:alert(3),"<b>Impact</b>"\n'
    )
    path = tiny_cycle(
        files={
            "people.csv": people,
            "evidence.csv": evidence,
            "reviews.csv": "cycle,employee_id,reviewer_id,rating\n2026-H1,E2,E1,Meets\n",
        },
    )
    app = widgets.ExplorerApp(model.open_team(path, "E1"), employee_id="E2")
    app.tabs.selected_index = 1
    html = app.header.value + app.intro.value + app.body.value + app.team.value
    assert "<script>" not in html and "<img" not in html and "<b>Impact" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in app.intro.value and "&lt;img src=x" in app.body.value


def test_telemetry_is_context_only(tiny_cycle):
    telemetry = "cycle,employee_id,metric,value\n2026-H1,E3,commit_count,300\n2026-H1,E3,prs_reviewed,14\n"
    path = tiny_cycle(
        files={"telemetry.csv": telemetry},
        config=lambda t: t.replace("inputs:\n", "inputs:\n  telemetry: telemetry.csv\n"),
    )
    view = model.pairing(model.open_team(path, "E2"), "E3")
    assert view.context == (("prs_reviewed", 14.0),)
    assert "commit" not in views.pairing_body(view) and "Telemetry (context only, never a score)" in views.pairing_body(
        view
    )
