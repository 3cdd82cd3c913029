"""Vendor adapters: DevLake and Four Keys exports become canonical inputs, source rows kept."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from calib.delivery.sources import load_cycle
from calib.errors import InputError, Problem
from calib.inputs import adapters as adapters
from calib.inputs.config import load_config
from calib.inputs.contract import parse
from calib.inputs.load import read_table

DATA = Path(__file__).parent / "data" / "adapters"
DEPLOY_9001 = "github:GithubRun:1:5001:9001"
JENKINS_88 = "jenkins:JenkinsBuild:1:deploy-orders#88"
JENKINS_89 = "jenkins:JenkinsBuild:1:deploy-orders#89"
WEBHOOK = "webhook:2:6f1c0a9d3b7e4c21:4be1f0c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8"
SHA = {
    "3f2a": "3f2a9c1e5b7d4f608a1c2e3d4b5a69788c7d6e5f",
    "9bc1": "9bc14d0a2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b",
    "9d0e": "9d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f7a8b9c0",
    "5c6d": "5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d",
    "1e2f": "1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f",
}
CLOUD_BUILD = "b1e7c6d2-4f1a-4c55-9e3b-0a2d6f7e8c91"


def export(file: str, fmt: str, name: str) -> pd.DataFrame:
    """A fixture export read the way `load_cycle` reads it (text, indexed by CSV row)."""
    return read_table(
        DATA / file, display_name=file, expected_columns=adapters.expected_columns(fmt, name)
    )


def table(frame: pd.DataFrame) -> dict[int, dict[str, object]]:
    """Row number -> {column: value}, missing values as None."""
    return {
        int(row): {
            k: None if not isinstance(v, list) and pd.isna(v) else v for k, v in values.items()
        }
        for row, values in frame.to_dict("index").items()
    }


# -- DevLake -----------------------------------------------------------------------------------


def test_devlake_deployment_rows_stay_rows_and_unfinished_ones_are_dropped():
    out = adapters.adapt(
        export("devlake_cicd_deployment_commits.csv", "devlake", "deployments"),
        "devlake",
        "deployments",
        "dl.csv",
    )
    scope = "github:GithubRepos:1:5001"
    jenkins = "jenkins:JenkinsJob:1:deploy-orders"

    def row(deployment, service, finished, result, environment, repo):
        commit = deployment if deployment == WEBHOOK else f"{deployment}:https://github.com/acme/{repo}"
        return dict(
            deployment_id=deployment,
            service=service,
            finished_at=finished,
            result=result,
            environment=environment,
            deployment_commit_id=commit,
        )

    # one row per deployment commit, as DevLake keeps them (calib.delivery.dora makes deployments of them);
    # 5: in progress (no result, no finish), dropped; 8: empty environment
    assert table(out) == {
        2: row(DEPLOY_9001, scope, "2026-02-02 10:15:00.000", "SUCCESS", "PRODUCTION", "payments-api"),
        3: row(DEPLOY_9001, scope, "2026-02-02 10:21:30.000", "SUCCESS", "PRODUCTION", "payments-web"),
        4: row("github:GithubRun:1:5001:9002", scope, "2026-02-03 08:40:12.500", "SUCCESS", "STAGING", "payments-api"),
        6: row(JENKINS_88, jenkins, "2026-02-04 17:02:00.000", "FAILURE", "PRODUCTION", "orders-api"),
        7: row(JENKINS_88, jenkins, "2026-02-04 17:05:45.000", "SUCCESS", "PRODUCTION", "orders-worker"),
        8: row(JENKINS_89, jenkins, "2026-02-05 11:30:00.000", "SUCCESS", "unspecified", "orders-api"),
        9: row(WEBHOOK, "webhook:2", "2026-02-06 14:00:00.000", "SUCCESS", "PRODUCTION", "ledger"),
    }
    typed, problems = parse(out, "deployments", "dl.csv")
    assert problems == []
    assert typed.loc[4, "environment"] == "staging"
    assert typed.loc[3, "finished_at"] == pd.Timestamp("2026-02-02 10:21:30", tz="UTC")


def test_devlake_failed_row_without_a_finish_time_is_skipped_like_devlake_skips_it():
    # GitLab's deployments and DevLake's pipeline-generated ones have FAILURE rows with no finish
    frame = export("devlake_cicd_deployment_commits.csv", "devlake", "deployments")
    frame.loc[6, "finished_date"] = None
    out = adapters.adapt(frame, "devlake", "deployments", "dl.csv")
    assert 6 not in out.index and out.loc[7, "deployment_id"] == JENKINS_88
    assert parse(out, "deployments", "dl.csv")[1] == []


def test_devlake_deployment_with_an_unreadable_time_is_reported_at_its_row():
    frame = export("devlake_cicd_deployment_commits.csv", "devlake", "deployments")
    frame.loc[2, "finished_date"] = "02/31/2026 25:00"
    out = adapters.adapt(frame, "devlake", "deployments", "dl.csv")
    assert out.loc[2, "finished_at"] == "02/31/2026 25:00"
    _, problems = parse(out, "deployments", "dl.csv")
    assert problems == [
        Problem(
            "dl.csv", 2, "finished_at", "02/31/2026 25:00", "a date-time like 2026-03-31T14:05:00Z"
        )
    ]


def test_devlake_results_it_skips_are_dropped_and_unknown_ones_kept_for_the_schema():
    frame = export("devlake_cicd_deployment_commits.csv", "devlake", "deployments")
    frame.loc[9, "result"] = "ABORT"
    frame.loc[4, "result"] = "CANCELLED"
    out = adapters.adapt(frame, "devlake", "deployments", "dl.csv")
    assert out["result"].to_dict() == {
        2: "SUCCESS",
        3: "SUCCESS",
        4: "CANCELLED",
        6: "FAILURE",
        7: "SUCCESS",
        8: "SUCCESS",
    }


def test_devlake_service_falls_back_to_the_repo_name_and_a_service_column_wins():
    frame = export("devlake_cicd_deployment_commits.csv", "devlake", "deployments")
    out = adapters.adapt(frame.drop(columns="cicd_scope_id"), "devlake", "deployments", "dl.csv")
    assert out["service"].to_dict() == {
        2: "acme/payments-api",
        3: "acme/payments-web",
        4: "acme/payments-api",
        6: "acme/orders-api",
        7: "acme/orders-worker",
        8: "acme/orders-api",
        9: "acme/ledger",
    }
    out = adapters.adapt(frame.assign(service="payments"), "devlake", "deployments", "dl.csv")
    assert set(out["service"]) == {"payments"}


def test_devlake_changes_start_at_the_first_commit_and_name_the_deployment():
    out = adapters.adapt(
        export("devlake_project_pr_metrics.csv", "devlake", "changes"),
        "devlake",
        "changes",
        "prm.csv",
    )
    # row 4 was never deployed; DevLake's own created_at column (record time) is not used
    assert table(out) == {
        2: dict(
            change_id="github:GithubPullRequests:1:7001",
            deployment_id=DEPLOY_9001,
            created_at="2026-02-01T12:30:00+00:00",
        ),  # 14:00 minus 90 min of coding
        3: dict(
            change_id="github:GithubPullRequests:1:7002",
            deployment_id=DEPLOY_9001,
            created_at="2026-02-01 16:45:10.250",
        ),  # no coding time: the PR's creation
        5: dict(
            change_id="github:GithubPullRequests:1:7010",
            deployment_id=WEBHOOK,
            created_at="2026-02-02T08:00:00+00:00",
        ),  # 1500 min = 25 h
        6: dict(
            change_id="github:GithubPullRequests:1:7020",
            deployment_id=JENKINS_88,
            created_at="2026-02-04T10:12:00+00:00",
        ),
    }
    assert parse(out, "changes", "prm.csv")[1] == []


def test_devlake_changes_prefer_a_joined_cicd_deployment_id():
    frame = export("devlake_project_pr_metrics.csv", "devlake", "changes")
    frame["cicd_deployment_id"] = ["D1", "D1", None, "D2", "D3"]
    out = adapters.adapt(frame, "devlake", "changes", "prm.csv")
    assert out["deployment_id"].to_dict() == {2: "D1", 3: "D1", 5: "D2", 6: "D3"}


def test_devlake_changes_from_the_tables_own_dates_start_at_the_earlier_of_commit_and_pr():
    # project_pr_metrics has carried pr_created_date and first_commit_authored_date since mid-2024
    frame = pd.DataFrame(
        {
            "id": ["pr1", "pr2", "pr3", "pr4"],
            "deployment_commit_id": ["5", "5", None, "7"],
            "first_commit_authored_date": ["2023-04-10T04:51:47Z", "2023-04-13T04:51:47Z", None, None],
            "pr_created_date": ["2023-04-11T04:51:47Z", "2023-04-12T04:51:47Z", "2023-04-12", "2023-04-12T09:00:00Z"],
        },
        index=[2, 3, 4, 5],
    )
    out = adapters.adapt(frame, "devlake", "changes", "prm.csv")
    assert table(out) == {
        2: dict(change_id="pr1", deployment_id="5", created_at="2023-04-10T04:51:47+00:00"),  # the first commit
        3: dict(change_id="pr2", deployment_id="5", created_at="2023-04-12T04:51:47Z"),  # a later commit starts nothing
        5: dict(change_id="pr4", deployment_id="7", created_at="2023-04-12T09:00:00Z"),  # no commit date
    }
    assert {"pr_created_date", "first_commit_authored_date"} <= set(adapters.expected_columns("devlake", "changes"))


def test_devlake_incidents_take_their_scope_as_service_and_may_all_be_open():
    frame = pd.DataFrame(
        {
            "id": ["github:GithubIssue:1:1", "github:GithubIssue:1:2"],
            "created_date": ["2022-11-13 23:37:21", "2022-09-15 01:56:16"],
            "table": ["repos", "boards"],
            "scope_id": ["repo1", "board1"],
            "original_project": ["acme/api", "ACME"],
        },
        index=[2, 3],
    )
    out = adapters.adapt(frame, "devlake", "incidents", "incidents.csv")
    assert out["service"].tolist() == ["repo1", "board1"]  # project_mapping maps scopes to projects
    assert out["started_at"].tolist() == ["2022-11-13 23:37:21", "2022-09-15 01:56:16"]
    assert out["resolved_at"].isna().all()
    assert parse(out, "incidents", "incidents.csv")[1] == []


def test_devlake_incidents():
    out = adapters.adapt(
        export("devlake_incidents.csv", "devlake", "incidents"), "devlake", "incidents", "i.csv"
    )
    assert table(out) == {
        2: dict(
            incident_id="jira:JiraIssues:1:10231",
            service="Payments",
            started_at="2026-02-02 11:05:00.000",
            resolved_at="2026-02-02 13:35:00.000",
            caused_by_deployment_id=DEPLOY_9001,
            severity="SEV-2",
        ),
        3: dict(
            incident_id="jira:JiraIssues:1:10240",
            service="Orders",
            started_at="2026-02-05 12:00:00.000",
            resolved_at=None,
            caused_by_deployment_id=JENKINS_89,
            severity=None,
        ),
    }


def test_devlake_issues_export_keeps_only_incidents():
    out = adapters.adapt(
        export("devlake_issues.csv", "devlake", "incidents"), "devlake", "incidents", "is.csv"
    )
    assert table(out) == {
        3: dict(
            incident_id="jira:JiraIssues:1:10231",
            service="Payments",
            started_at="2026-02-02 11:05:00.000",
            resolved_at="2026-02-02 13:35:00.000",
            severity="SEV-2",
        ),
        5: dict(
            incident_id="github:GithubIssues:1:1342",
            service="acme/ledger",
            started_at="2026-02-06 15:20:00.000",
            resolved_at="2026-02-06 16:05:00.000",
            severity="SEV-3",
        ),
    }


def test_an_issues_export_without_a_service_takes_the_service_the_config_names(tmp_path):
    (tmp_path / "issues.csv").write_bytes((DATA / "devlake_issues.csv").read_bytes())
    text = (DATA / "devlake_issues.csv").read_text(encoding="utf-8")
    header, *rows = text.splitlines()
    keep = [i for i, c in enumerate(header.split(",")) if c != "original_project"]
    (tmp_path / "pagerduty.csv").write_text(
        "\n".join(",".join(line.split(",")[i] for i in keep) for line in [header, *rows]) + "\n", encoding="utf-8"
    )
    files = {
        "cycle.yml": """\
            cycle: 2026-H1
            cycles:
              - {id: 2026-H1, start: 2026-01-01, end: 2026-06-30}
            rating_scale: [Below, Meets, Above]
            inputs:
              people: people.csv
              reviews: reviews.csv
              services: services.csv
              incidents: {path: pagerduty.csv, format: devlake, service: pagerduty}
            """,
        "people.csv": "employee_id,name,manager_id,team,discipline,level\nE1,Ana Lead,,ops,engineering,L6\n",
        "reviews.csv": "cycle,employee_id,reviewer_id,rating\n2026-H1,E1,E1,Meets\n",
        "services.csv": "service,team\npagerduty,ops\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    data = load_cycle(load_config(tmp_path / "cycle.yml"))
    assert data["incidents"]["service"].tolist() == ["pagerduty", "pagerduty"]
    without = (tmp_path / "cycle.yml").read_text().replace(", service: pagerduty", "")
    (tmp_path / "cycle.yml").write_text(without)
    with pytest.raises(InputError) as caught:
        load_cycle(load_config(tmp_path / "cycle.yml"))
    (problem,) = [p for p in caught.value.problems if p.severity == "error"]
    assert (problem.file, problem.row, problem.column) == ("pagerduty.csv", 1, "service")
    assert "or `service:` for incidents in the config" in problem.expected


# -- Four Keys ---------------------------------------------------------------------------------


def test_fourkeys_deployments_are_successful_production_deployments_per_source():
    frame = export("fourkeys_deployments.csv", "fourkeys", "deployments")
    out = adapters.adapt(frame, "fourkeys", "deployments", "fk.csv")
    assert table(out) == {
        2: dict(
            deployment_id="1473901234",
            service="github",
            finished_at="2026-02-04 16:20:11 UTC",
            result="SUCCESS",
            environment="production",
        ),
        3: dict(
            deployment_id=CLOUD_BUILD,
            service="cloud_build",
            finished_at="2026-02-05 09:02:45.120 UTC",
            result="SUCCESS",
            environment="production",
        ),
        4: dict(
            deployment_id="881",
            service="gitlab",
            finished_at="2026-02-06 13:30:00 UTC",
            result="SUCCESS",
            environment="production",
        ),
    }
    given = frame.assign(service=["pay", "pay", "orders"], environment=["prod", "staging", "prod"])
    out = adapters.adapt(given, "fourkeys", "deployments", "fk.csv")
    assert out[["service", "environment"]].values.tolist() == [
        ["pay", "prod"],
        ["pay", "staging"],
        ["orders", "prod"],
    ]


def test_fourkeys_changes_take_the_first_deployment_of_an_array():
    out = adapters.adapt(
        export("fourkeys_changes.csv", "fourkeys", "changes"), "fourkeys", "changes", "c.csv"
    )
    # rows 7 ([]) and 8 (empty) were never deployed
    assert table(out) == {
        2: dict(
            change_id=SHA["3f2a"], deployment_id="1473901234", created_at="2026-02-04 15:10:00 UTC"
        ),
        3: dict(
            change_id=SHA["9bc1"], deployment_id="1473901234", created_at="2026-02-04 14:55:30 UTC"
        ),
        4: dict(
            change_id=SHA["9d0e"], deployment_id=CLOUD_BUILD, created_at="2026-02-05 08:31:02 UTC"
        ),
        5: dict(change_id=SHA["5c6d"], deployment_id="881", created_at="2026-02-06 12:01:40 UTC"),
        6: dict(change_id=SHA["1e2f"], deployment_id="881", created_at="2026-02-06 11:47:05 UTC"),
    }
    assert parse(out, "changes", "c.csv")[1] == []


@pytest.mark.parametrize(
    ("cell", "ids"),
    [
        ('["a1","b2"]', ["a1", "b2"]),
        ("[a1, b2]", ["a1", "b2"]),
        ("['a1', 'b2']", ["a1", "b2"]),
        ("a1,b2", ["a1", "b2"]),
        ("a1 b2", ["a1", "b2"]),
        ("a1", ["a1"]),
        ('"a1"', ["a1"]),
        ("[]", []),
        ("", []),
        (None, []),
        (np.nan, []),
        (["a1", "b2"], ["a1", "b2"]),
        (np.array(["a1"], dtype=object), ["a1"]),
        ("[1473901234, 1473905555]", ["1473901234", "1473905555"]),
    ],
)
def test_array_cells(cell, ids):
    assert adapters._as_list(cell) == ids


def test_fourkeys_incidents_link_a_deployment_only_when_the_export_has_one():
    frame = export("fourkeys_incidents.csv", "fourkeys", "incidents")
    out = adapters.adapt(frame, "fourkeys", "incidents", "fi.csv")
    assert table(out) == {
        2: dict(
            incident_id="412",
            service="github",
            started_at="2026-02-04 17:05:00 UTC",
            resolved_at="2026-02-04 19:45:00 UTC",
        ),
        3: dict(
            incident_id="Q1VZ8K3M2ABCDE",
            service="pagerduty",
            started_at="2026-02-06 14:10:00 UTC",
            resolved_at=None,
        ),
    }
    joined = frame.assign(deploy_id=['["1473901234", "1473905555"]', "[]"])
    out = adapters.adapt(joined, "fourkeys", "incidents", "fi.csv")
    assert table(out[["caused_by_deployment_id"]]) == {
        2: {"caused_by_deployment_id": "1473901234"},
        3: {"caused_by_deployment_id": None},
    }


def test_fourkeys_bigquery_times_parse():
    # BigQuery writes "2026-02-05 09:02:45.120 UTC": not strict ISO 8601, with sub-second digits
    out = adapters.adapt(
        export("fourkeys_deployments.csv", "fourkeys", "deployments"),
        "fourkeys",
        "deployments",
        "fk.csv",
    )
    typed, problems = parse(out, "deployments", "fk.csv")
    assert problems == []
    assert typed.loc[3, "finished_at"] == pd.Timestamp("2026-02-05 09:02:45.120", tz="UTC")


# -- errors, other file kinds ------------------------------------------------------------------


def test_missing_vendor_columns_are_all_named_in_one_error():
    frame = export("devlake_cicd_deployment_commits.csv", "devlake", "deployments")
    frame = frame.drop(columns=["cicd_deployment_id", "cicd_scope_id", "repo_url", "finished_date"])
    with pytest.raises(InputError) as caught:
        adapters.adapt(frame, "devlake", "deployments", "dl.csv")
    export_kind = "in a DevLake cicd_deployment_commits export"
    assert caught.value.problems == [
        Problem(
            "dl.csv",
            1,
            "cicd_deployment_id",
            None,
            f"a column named cicd_deployment_id {export_kind}",
        ),
        Problem(
            "dl.csv",
            1,
            "cicd_scope_id",
            None,
            f"a column named cicd_scope_id (or repo_url, or service) {export_kind} "
            "(or `service:` for deployments in the config, naming the service of every row)",
        ),
        Problem("dl.csv", 1, "finished_date", None, f"a column named finished_date {export_kind}"),
    ]


def test_missing_fourkeys_column():
    frame = export("fourkeys_changes.csv", "fourkeys", "changes").drop(columns="deploy_id")
    with pytest.raises(InputError) as caught:
        adapters.adapt(frame, "fourkeys", "changes", "c.csv")
    assert caught.value.problems == [
        Problem(
            "c.csv",
            1,
            "deploy_id",
            None,
            "a column named deploy_id in a Four Keys four_keys.changes export",
        )
    ]


@pytest.mark.parametrize(
    ("fmt", "name"), [("devlake", "people"), ("fourkeys", "team_metrics"), ("jira", "changes")]
)
def test_unsupported_pairs_name_the_supported_ones(fmt, name):
    frame = export("fourkeys_changes.csv", "fourkeys", "changes")
    assert adapters.expected_columns(fmt, name) == []
    with pytest.raises(InputError) as caught:
        adapters.adapt(frame, fmt, name, "x.csv")
    (problem,) = caught.value.problems
    assert (problem.file, problem.column, problem.value) == ("x.csv", "format", f"{fmt} for {name}")
    assert (
        "devlake for changes, deployments, incidents; fourkeys for changes, deployments, incidents"
        in (problem.expected)
    )
    assert ("give it as canonical" in problem.expected) == (name == "team_metrics")


def test_expected_columns_find_an_excel_header_below_a_title(tmp_path):
    path = tmp_path / "fourkeys.xlsx"
    rows = [
        ["Four Keys export", None, None],
        ["project acme-prod, 2026-02-07", None, None],
        [None, None, None],
        ["source", "deploy_id", "time_created"],
        ["github", "1473901234", "2026-02-04 16:20:11 UTC"],
    ]
    pd.DataFrame(rows).to_excel(path, header=False, index=False)
    assert adapters.expected_columns("fourkeys", "deployments") == [
        "deploy_id",
        "source",
        "service",
        "time_created",
        "environment",
    ]
    frame = read_table(
        path,
        display_name="fourkeys.xlsx",
        expected_columns=adapters.expected_columns("fourkeys", "deployments"),
    )
    out = adapters.adapt(frame, "fourkeys", "deployments", "fourkeys.xlsx")
    assert table(out) == {
        5: dict(
            deployment_id="1473901234",
            service="github",
            finished_at="2026-02-04 16:20:11 UTC",
            result="SUCCESS",
            environment="production",
        )
    }


def test_parquet_lists_and_timestamps(tmp_path):
    path = tmp_path / "changes.parquet"
    times = pd.to_datetime(
        ["2026-02-04 15:10:00", "2026-02-04 14:55:30", "2026-02-06 12:00:00"], utc=True
    )
    pq.write_table(
        pa.table(
            {
                "change_id": ["c1", "c2", "c3"],
                "time_created": pa.array(times),
                "deploy_id": pa.array([["d1"], ["d1", "d2"], []], type=pa.list_(pa.string())),
            }
        ),
        path,
    )
    out = adapters.adapt(
        read_table(path, display_name="changes.parquet"), "fourkeys", "changes", "changes.parquet"
    )
    assert out.index.tolist() == [2, 3]
    assert out["deployment_id"].tolist() == ["d1", "d1"]
    assert out["created_at"].tolist() == list(times[:2])


# -- end to end --------------------------------------------------------------------------------


def test_load_cycle_with_a_devlake_deployments_export(tmp_path):
    (tmp_path / "deployments.csv").write_bytes(
        (DATA / "devlake_cicd_deployment_commits.csv").read_bytes()
    )
    files = {
        "cycle.yml": """\
            cycle: 2026-H1
            cycles:
              - {id: 2026-H1, start: 2026-01-01, end: 2026-06-30}
            rating_scale: [Below, Meets, Above]
            inputs:
              people: people.csv
              reviews: reviews.csv
              deployments: {path: deployments.csv, format: devlake}
            """,
        "people.csv": """\
            employee_id,name,manager_id,team,discipline,level
            E1,Ana Lead,,payments,engineering,L6
            E2,Ben Dev,E1,payments,engineering,L4
            E3,Cai Dev,E1,payments,engineering,L3
            """,
        "reviews.csv": """\
            cycle,employee_id,reviewer_id,rating
            2026-H1,E1,E1,Meets
            2026-H1,E2,E1,Above
            2026-H1,E3,E1,Meets
            """,
    }
    for name, text in files.items():
        (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    data = load_cycle(load_config(tmp_path / "cycle.yml"))
    deployments = data["deployments"]
    assert deployments.index.tolist() == [2, 3, 4, 6, 7, 8, 9]
    assert deployments["environment"].tolist() == [
        "production",
        "production",
        "staging",
        "production",
        "production",
        "unspecified",
        "production",
    ]
    assert deployments["result"].tolist() == ["SUCCESS"] * 3 + ["FAILURE"] + ["SUCCESS"] * 3
    assert deployments.loc[7, "finished_at"] == pd.Timestamp("2026-02-04 17:05:45", tz="UTC")
    assert (data.sources["deployments"].format, data.sources["deployments"].rows) == ("devlake", 7)
    assert [p for p in data.warnings if p.file == "deployments.csv"] == []
