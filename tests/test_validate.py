"""Every validation case of the data contract: one message per problem, naming file, row, column."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from conftest import TINY_FILES

from calib.delivery.dora import periods_from_cycles, team_dora
from calib.delivery.slo import slo_status
from calib.delivery.sources import load_cycle
from calib.errors import InputError, Problem
from calib.inputs.config import load_config

TINY_PEOPLE = TINY_FILES["people.csv"]


def problems_of(config_path) -> list[Problem]:
    with pytest.raises(InputError) as caught:
        load_cycle(load_config(config_path))
    return [p for p in caught.value.problems if p.severity == "error"]


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def test_tiny_cycle_is_valid(tiny_cycle):
    data = load_cycle(load_config(tiny_cycle()))
    assert set(data.tables) == {"people", "reviews", "evidence", "services"}
    assert set(data.events) == {"deployments", "incidents", "slos"}  # in the engine (calib.delivery.sources)
    assert data["reviews"].loc[4, "rating"] == "Meets"  # "meets" in the file: case does not matter
    assert data["slos"]["target"].tolist() == [0.999, 0.99]  # percent -> ratio, exactly
    assert data.sources["people"].rows == 7


def test_input_files_are_never_modified(tiny_cycle):
    path = tiny_cycle()
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in path.parent.iterdir()}
    load_cycle(load_config(path))
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in path.parent.iterdir()}
    assert before == after


def test_missing_file(tiny_cycle):
    problem = only(problems_of(tiny_cycle(files={"evidence.csv": None})))
    assert problem.file == "evidence.csv" and "an existing file" in problem.expected


def test_missing_required_column(tiny_cycle):
    people = "employee_id,name,team,discipline,level\nE1,Ada,lead,engineering,L6\n"
    problems = problems_of(tiny_cycle(files={"people.csv": people}))
    missing = [p for p in problems if p.expected.startswith("a column named")]
    assert [(p.file, p.row, p.column) for p in missing] == [("people.csv", 1, "manager_id")]


def test_unknown_rating_label(tiny_cycle):
    reviews = "cycle,employee_id,reviewer_id,rating\n2026-H1,E3,E2,Outstanding\n"
    problem = only(problems_of(tiny_cycle(files={"reviews.csv": reviews})))
    assert (problem.file, problem.row, problem.column, problem.value) == ("reviews.csv", 2, "rating", "Outstanding")
    assert "Does not meet" in problem.expected and "Far exceeds" in problem.expected


def test_numeric_rating_off_the_scale(tiny_cycle):
    reviews = "cycle,employee_id,reviewer_id,rating\n2026-H1,E3,E2,3\n2026-H1,E4,E2,6\n2026-H1,E5,E2,4.0\n"
    path = tiny_cycle(
        files={"reviews.csv": reviews},
        config=lambda t: t.replace("[Does not meet, Partially meets, Meets, Exceeds, Far exceeds]", "[1, 2, 3, 4, 5]"),
    )
    problem = only(problems_of(path))
    assert (problem.row, problem.column, problem.value) == (3, "rating", "6")


def test_duplicate_review(tiny_cycle):
    reviews = "cycle,employee_id,reviewer_id,rating\n2026-H1,E3,E2,Meets\n2025-H2,E3,E2,Meets\n2026-H1,E3,E2,Exceeds\n"
    problem = only(problems_of(tiny_cycle(files={"reviews.csv": reviews})))
    assert problem.row == 4 and problem.column == "cycle,employee_id"
    assert "once" in problem.expected


def test_manager_that_is_not_a_person(tiny_cycle):
    people = TINY_PEOPLE.replace("E5,Ed Dev,E2", "E5,Ed Dev,E99")
    problem = only(problems_of(tiny_cycle(files={"people.csv": people})))
    assert (problem.file, problem.row, problem.column, problem.value) == ("people.csv", 6, "manager_id", "E99")


def test_reviewer_that_is_not_a_person(tiny_cycle):
    reviews = "cycle,employee_id,reviewer_id,rating\n2026-H1,E3,X1,Meets\n"
    problem = only(problems_of(tiny_cycle(files={"reviews.csv": reviews})))
    assert (problem.file, problem.row, problem.column, problem.value) == ("reviews.csv", 2, "reviewer_id", "X1")


def test_loop_in_the_manager_chain(tiny_cycle):
    people = TINY_PEOPLE.replace("E2,Bo Manager,E1", "E2,Bo Manager,E4")
    problem = only(problems_of(tiny_cycle(files={"people.csv": people})))
    assert problem.column == "manager_id" and "E2 -> E4 -> E2" in problem.expected.replace(
        "E4 -> E2 -> E4", "E2 -> E4 -> E2"
    )


def test_unparsable_date(tiny_cycle):
    evidence = "employee_id,date,category,kind,title,url\nE3,2026-13-45,delivery,pr,x,https://a\n"
    problem = only(problems_of(tiny_cycle(files={"evidence.csv": evidence})))
    assert (problem.file, problem.row, problem.column, problem.value) == ("evidence.csv", 2, "date", "2026-13-45")
    assert "date" in problem.expected


def test_date_outside_the_cycles(tiny_cycle):
    evidence = "employee_id,date,category,kind,title,url\nE3,2024-01-02,delivery,pr,x,https://a\n"
    problem = only(problems_of(tiny_cycle(files={"evidence.csv": evidence})))
    assert (problem.column, problem.value) == ("date", "2024-01-02")
    assert "2025-07-01 to 2026-06-30" in problem.expected


def test_resolved_before_started(tiny_cycle):
    incidents = "incident_id,service,started_at,resolved_at\nI1,api-svc,2026-01-05T16:00:00Z,2026-01-05T15:00:00Z\n"
    problem = only(problems_of(tiny_cycle(files={"incidents.csv": incidents})))
    assert (problem.file, problem.row, problem.column) == ("incidents.csv", 2, "resolved_at")
    assert "after started_at" in problem.expected


@pytest.mark.parametrize("target", ["0", "-0.5", "150", "0"])
def test_slo_target_outside_the_range(tiny_cycle, target):
    slos = f"service,slo_name,target,window_days,good_events,total_events\napi-svc,availability,{target},30,1,2\n"
    problem = only(problems_of(tiny_cycle(files={"slos.csv": slos})))
    assert (problem.file, problem.row, problem.column) == ("slos.csv", 2, "target")
    assert "(0, 1]" in problem.expected


def test_empty_file(tiny_cycle):
    problem = only(problems_of(tiny_cycle(files={"evidence.csv": ""})))
    assert problem.file == "evidence.csv" and "header row" in problem.expected


def test_header_only_file(tiny_cycle):
    problem = only(problems_of(tiny_cycle(files={"evidence.csv": "employee_id,date,category,kind,title,url\n"})))
    assert problem.file == "evidence.csv" and "data row" in problem.expected


def test_bom_and_windows_line_endings_load(tiny_cycle):
    people = ("\ufeff" + TINY_PEOPLE).replace("\n", "\r\n").encode("utf-8")
    data = load_cycle(load_config(tiny_cycle(files={"people.csv": people})))
    assert list(data["people"].columns[:2]) == ["employee_id", "name"]
    assert data["people"]["employee_id"].tolist()[-1] == "E7"


def test_semicolon_separated_csv_loads(tiny_cycle):
    people = TINY_PEOPLE.replace(",", ";")
    data = load_cycle(load_config(tiny_cycle(files={"people.csv": people})))
    assert data["people"].loc[4, "manager_id"] == "E2"  # row 4: E3, managed by E2


def test_every_problem_in_every_file_is_reported_at_once(tiny_cycle):
    reviews = "cycle,employee_id,reviewer_id,rating\n2026-H1,E3,E2,Great\n2027-H1,E4,E2,Meets\n"
    evidence = (
        "employee_id,date,category,kind,title,url\nE3,yesterday,delivery,pr,x,https://a\nE3,2026-01-02,fun,pr,x,\n"
    )
    problems = problems_of(tiny_cycle(files={"reviews.csv": reviews, "evidence.csv": evidence}))
    where = sorted((p.file, p.row, p.column) for p in problems)
    assert where == [
        ("evidence.csv", 2, "date"),
        ("evidence.csv", 3, "category"),
        ("reviews.csv", 2, "rating"),
        ("reviews.csv", 3, "cycle"),
    ]


def test_warnings_for_suspicious_but_usable_data(tiny_cycle):
    data = load_cycle(load_config(tiny_cycle()))
    said = [(p.file, p.column, p.value, p.row) for p in data.warnings]
    assert ("evidence.csv", "url", None, 4) in said  # evidence without a link
    assert ("services.csv", "team", "lead", None) in said  # a team with no service
    assert all(p.severity == "warning" for p in data.warnings)
    small = [p for p in data.warnings if p.column == "team" and p.file == "people.csv"]
    assert small == []  # api and lead have 3+ people each
    people = TINY_PEOPLE + "E8,Hu Solo,E1,solo,engineering,L3,man\n"
    data = load_cycle(load_config(tiny_cycle(files={"people.csv": people})))
    assert any(p.file == "people.csv" and p.value == "solo" for p in data.warnings)


def test_vendor_headers_are_renamed_by_the_config(tiny_cycle):
    people = TINY_PEOPLE.replace("employee_id,name,manager_id", "Employee ID,Full Name,Manager ID")
    columns = "columns:\n  people: {Employee ID: employee_id, Full Name: name, Manager ID: manager_id}\n"
    data = load_cycle(load_config(tiny_cycle(files={"people.csv": people}, config=lambda t: t + columns)))
    assert data["people"].loc[2, "name"] == "Ada Top"


# -- suspicious but usable values -----------------------------------------------------------------

TODAY = dt.date(2026, 7, 15)  # a fixed "today": never the wall clock


def suspicious(data) -> list[str]:
    return [str(p) for p in data.warnings if "today" in p.expected or "cycles (" in p.expected]


def test_events_after_today_or_after_the_last_cycle_are_warned_about(tiny_cycle):
    deployments = TINY_FILES["deployments.csv"] + (
        "D6,api-svc,2031-02-03T10:00:00Z,SUCCESS,production,2\nD7,api-svc,2026-07-02T09:00:00Z,SUCCESS,production,1\n"
    )
    incidents = TINY_FILES["incidents.csv"] + "I3,api-svc,2026-06-30T22:00:00Z,2026-07-01T01:00:00Z,,sev3\n"
    data = load_cycle(
        load_config(tiny_cycle(files={"deployments.csv": deployments, "incidents.csv": incidents})), today=TODAY
    )
    assert suspicious(data) == [
        "warning: deployments.csv, row 7, column finished_at: value '2031-02-03T10:00:00+00:00': expected a date no "
        "later than today (2026-07-15): a deployment in the future is a typo or a wrong clock",
        "warning: deployments.csv, row 8, column finished_at: value '2026-07-02T09:00:00+00:00': expected a date "
        "inside the configured cycles (the last ends 2026-06-30): this deployment counts for no cycle",
    ]  # an incident started in the cycle may be resolved after it
    early = load_cycle(load_config(tiny_cycle(files={"incidents.csv": incidents})), today=dt.date(2026, 6, 30))
    assert [(p.file, p.row, p.column) for p in early.warnings if "today" in p.expected] == [
        ("incidents.csv", 4, "resolved_at")
    ]
    assert suspicious(load_cycle(load_config(tiny_cycle()), today=TODAY)) == []


def test_a_review_by_the_person_reviewed_is_warned_about(tiny_cycle):
    reviews = TINY_FILES["reviews.csv"].replace("2026-H1,E6,E1,Far exceeds", "2026-H1,E6,E6,Far exceeds")
    data = load_cycle(load_config(tiny_cycle(files={"reviews.csv": reviews})), today=TODAY)
    said = [str(p) for p in data.warnings if p.column == "reviewer_id"]
    assert said == [
        "warning: reviews.csv, row 6, column reviewer_id: value 'E6': expected a reviewer other than the person "
        "reviewed (E6 reviews themself: no second view)"
    ]


@pytest.mark.parametrize(
    ("target", "said"),
    [
        ("1.5", "1.5 is read as 1.5%: did you mean 0.985 or 98.5?"),
        ("0.3", "0.3 is read as 30%: did you mean 0.7 or 70?"),
        ("49.9", "49.9 is read as 49.9%: did you mean 0.501 or 50.1?"),
        ("50", None),
        ("0.5", None),
        ("99.9", None),
    ],
)
def test_an_slo_target_that_reads_as_a_small_percentage_is_warned_about(tiny_cycle, target, said):
    slos = f"service,slo_name,target,window_days,good_events,total_events\napi-svc,availability,{target},30,1,2\n"
    data = load_cycle(load_config(tiny_cycle(files={"slos.csv": slos})), today=TODAY)
    warned = [str(p) for p in data.warnings if p.column == "target"]
    if said is None:
        assert warned == []
    else:
        assert warned == [
            f"warning: slos.csv, row 2, column target: value '{target}': expected an SLO target of 50% or more ({said})"
        ]


def test_a_percent_target_becomes_the_exact_ratio_and_is_met_at_exactly_the_target(tiny_cycle):
    slos = "service,slo_name,target,window_days,good_events,total_events\napi-svc,availability,99.9,30,999,1000\n"
    data = load_cycle(load_config(tiny_cycle(files={"slos.csv": slos})), today=TODAY)
    assert data["slos"]["target"].tolist() == [0.999]  # not 99.9 / 100 = 0.9990000000000001
    assert slo_status(data["slos"])["met"].tolist() == [True]


# -- issue 17: what was silent is said, in one line ---------------------------------------------------

CHANGES = "  changes: changes.csv\n  incidents:"


def zones(data) -> list[str]:
    return sorted(str(p) for p in data.warnings if "time zone" in p.expected)


def test_times_with_and_without_a_zone_in_one_column_are_one_warning_per_column(tiny_cycle):
    deployments = (
        TINY_FILES["deployments.csv"]
        .replace("2026-01-05T15:00:00Z", "2026-01-05T15:00:00")
        .replace("2026-01-14T09:00:00Z", "2026-01-14 09:00")
    )
    incidents = TINY_FILES["incidents.csv"].replace("2026-02-01T00:30:00Z", "2026-02-01T01:30:00+01:00")
    evidence = TINY_FILES["evidence.csv"].replace("E3,2026-02-01,", "E3,2026-02-01T23:00:00-05:00,")
    files = {"deployments.csv": deployments, "incidents.csv": incidents, "evidence.csv": evidence}
    data = load_cycle(load_config(tiny_cycle(files=files)), today=TODAY)
    assert zones(data) == [
        "warning: deployments.csv, row 3, column finished_at: value '2026-01-05T15:00:00': expected a time zone, "
        "as the 3 other values in this column have (Z, +02:00, ...): 2 values without one were read as UTC",
        "warning: evidence.csv, row 3, column date: value '2026-06-20': expected a time zone, as the 1 other value "
        "in this column has (Z, +02:00, ...): 2 values without one were read as UTC",
    ]  # every incident time has a zone, +01:00 or Z: nothing to say
    naive = TINY_FILES["deployments.csv"].replace("Z,", ",")  # none has a zone: read as UTC, as documented
    assert zones(load_cycle(load_config(tiny_cycle(files={"deployments.csv": naive})), today=TODAY)) == []


def test_a_change_created_after_its_deployment_is_one_warning_with_the_count(tiny_cycle):
    changes = (
        "change_id,deployment_id,created_at\nC1,D1,2026-01-05T08:00:00Z\nC2,D2,2026-01-06T08:00:00Z\n"
        "C3,D5,2026-01-14T09:00:00Z\nC4,D5,2026-01-13T09:00:00Z\n"
    )
    path = tiny_cycle(files={"changes.csv": changes}, config=lambda t: t.replace("  incidents:", CHANGES))
    data = load_cycle(load_config(path), today=TODAY)
    assert [str(p) for p in data.warnings if p.column == "created_at"] == [
        "warning: changes.csv, row 3, column created_at: value '2026-01-06T08:00:00+00:00': expected a time before "
        "its deployment D2 finished in production (2026-01-05T15:00:00+00:00): 2 changes like this are left out "
        "of lead time"
    ]  # C3 was created as D5 finished: a lead time of 0, left out too
    dora = team_dora(data, periods_from_cycles(data.config.cycles)).set_index(["team", "period"])
    assert dora.loc[("api", "2026-H1"), ["lead_time_n", "lead_time_dropped"]].tolist() == [2, 2]


def test_an_input_that_is_a_folder_names_its_key_and_the_config(tiny_cycle, monkeypatch):
    path = tiny_cycle(
        config=lambda t: t.replace("evidence: evidence.csv", "evidence: .").replace(
            "deployments: deployments.csv", "deployments: ."
        )
    )
    monkeypatch.chdir(path.parent)
    assert sorted(str(p) for p in problems_of(path)) == [
        f"error: cycle.yml, key inputs.deployments: value '.': expected a file or a folder of .parquet files, but "
        f"{path.parent} is a folder without any",
        f"error: cycle.yml, key inputs.evidence: value '.': expected a file, but {path.parent} is a folder",
    ]


def test_a_long_value_is_cut_in_messages(tiny_cycle):
    reviews = "cycle,employee_id,reviewer_id,rating\n2026-H1,E3,E2," + "Great" * 2000 + "\n"
    problem = only(problems_of(tiny_cycle(files={"reviews.csv": reviews})))
    assert str(problem).startswith(
        f"error: reviews.csv, row 2, column rating: value '{'Great' * 20}'... (10,000 characters): expected a rating"
    )
