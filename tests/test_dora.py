"""DORA metrics and grading against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from calib.delivery.benchmarks import grade
from calib.delivery.dora import (
    Period,
    by_deployment_id,
    dora_from_events,
    dora_from_team_metrics,
    monthly_periods,
    periods_from_cycles,
    production_deployments,
    team_dora,
)
from calib.delivery.sources import load_cycle
from calib.inputs.config import load_config

H1 = Period("2026-H1", pd.Timestamp("2026-01-01"), pd.Timestamp("2026-06-30"))


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def deployments(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["deployment_id", "service", "finished_at", "result", "environment"])
    frame["finished_at"] = pd.to_datetime(frame["finished_at"], utc=True)
    return frame


SERVICES = pd.DataFrame({"service": ["api-svc"], "team": ["api"]})


@pytest.fixture
def tiny(tiny_cycle):
    data = load_cycle(load_config(tiny_cycle()))
    return data


def test_tiny_cycle_by_hand(tiny):
    # Successful production deploys in H1: D1, D2 (both Mon 5 Jan) and D5 (Wed 14 Jan); D3 failed, D4 staging.
    metrics = team_dora(tiny, periods_from_cycles(tiny.config.cycles)).set_index(["team", "period"])
    row = metrics.loc[("api", "2026-H1")]
    assert row["deployments"] == 3
    assert row["weeks"] == 27  # Mondays 29 Dec 2025 .. 29 Jun 2026
    assert row["deploy_days_per_week"] == 0  # 2 weeks with one day, 25 empty
    assert row["deploy_days_per_month"] == 0  # Jan 2, Feb-Jun 0
    assert row["deploy_days_per_half_year"] == pytest.approx(2 / (181 / 182.5))
    assert row["lead_time_hours"] == 4  # median of 2, 4, 30
    assert row["lead_time_n"] == 3
    assert row["change_failure_rate"] == pytest.approx(1 / 3)  # I1 was caused by D2
    assert row["time_to_restore_hours"] == 1.5  # median of 2.5 h and 0.5 h
    assert row["time_to_restore_n"] == 2
    # dora-2023: DF low, LT elite (< 24 h), CFR low (> 15%), TTR high (< 24 h) -> lower median: low
    assert [
        row[f"{m}_level"] for m in ("deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore")
    ] == [
        "low",
        "elite",
        "low",
        "high",
    ]
    assert row["delivery_level"] == "low"
    assert row["deployment_frequency_small_sample"] and row["time_to_restore_small_sample"]  # n < 10
    empty = metrics.loc[("api", "2025-H2")]
    assert empty["deployments"] == 0 and np.isnan(empty["change_failure_rate"]) and np.isnan(empty["lead_time_hours"])


def test_same_events_graded_by_the_2021_report(tiny):
    raw = team_dora(tiny, [H1])
    regraded = grade(raw.drop(columns=[c for c in raw if c.endswith("_level")]), "dora-2021").iloc[0]
    # DF: 2 deploy days in a half year -> medium; LT 4 h -> high; CFR 33% -> low; TTR 1.5 h -> high
    assert [
        regraded[f"{m}_level"] for m in ("deployment_frequency", "lead_time", "change_failure_rate", "time_to_restore")
    ] == [
        "medium",
        "high",
        "low",
        "high",
    ]
    assert regraded["delivery_level"] == "medium"  # sorted: low, medium, high, high -> second lowest


def test_daily_deploys_are_elite_and_duplicate_ids_collapse():
    days = pd.bdate_range("2026-03-02", "2026-03-27")  # four full working weeks
    rows = [(f"D{i}", "api-svc", f"{d.date()}T12:00:00Z", "SUCCESS", "production") for i, d in enumerate(days)]
    rows.append(("D0", "api-svc", "2026-03-02T18:00:00Z", "SUCCESS", "production"))  # same id, later
    march = Period("2026-03", pd.Timestamp("2026-03-02"), pd.Timestamp("2026-03-29"))
    out = grade(dora_from_events(deployments(rows), None, SERVICES, [march]), "dora-2023").iloc[0]
    assert out["deployments"] == 20
    assert out["deploy_days_per_week"] == 5
    assert out["deployment_frequency_level"] == "elite"
    assert np.isnan(out["change_failure_rate"])  # no incidents given: unknown, not zero


def test_a_deployment_with_failed_and_successful_rows_counts_at_its_latest_successful_row():
    # DevLake's own pipeline fixture and webhook deployments (a result per commit) look like this
    rows = [
        ("D7", "api-svc", "2026-02-02T06:00:00Z", "SUCCESS", "production"),
        ("D7", "api-svc", "2026-02-03T06:00:00Z", "FAILURE", "production"),  # later, but failed
        ("D7", "api-svc", "2026-02-02T09:00:00Z", "SUCCESS", "production"),
        ("D8", "api-svc", "2026-02-04T06:00:00Z", "FAILURE", "production"),  # no row succeeded
        ("D9", "api-svc", "2026-02-05T06:00:00Z", "SUCCESS", "staging"),
    ]
    incidents = pd.DataFrame(
        {
            "incident_id": ["I1"],
            "service": ["api-svc"],
            "started_at": [utc("2026-02-06T10:00:00Z")],
            "resolved_at": [utc("2026-02-06T11:00:00Z")],
            "caused_by_deployment_id": ["D7"],
        }
    )
    deploys = production_deployments(deployments(rows), SERVICES, "production")
    assert deploys[["deployment_id", "finished_at"]].values.tolist() == [["D7", utc("2026-02-02T09:00:00Z")]]
    out = dora_from_events(deployments(rows), incidents, SERVICES, [H1]).iloc[0]
    assert out["deployments"] == 1 and out["change_failure_rate"] == 1.0


def test_changes_and_incidents_may_name_a_deployment_by_one_of_its_rows():
    rows = deployments(
        [
            ("pipeline4", "api-svc", "2023-04-13T07:29:14Z", "SUCCESS", "production"),
            ("pipeline4", "api-svc", "2023-04-13T07:30:34Z", "SUCCESS", "production"),
        ]
    ).assign(deployment_commit_id=["5", "6"])
    changes = pd.DataFrame(
        {
            "change_id": ["pr1", "pr9"],
            "deployment_id": ["5", "unknown"],
            "created_at": [utc("2023-04-13T06:30:34Z"), utc("2023-04-13T06:30:34Z")],
        }
    )
    incidents = pd.DataFrame(
        {
            "incident_id": ["I1"],
            "service": ["api-svc"],
            "started_at": [utc("2023-04-14T00:00:00Z")],
            "resolved_at": pd.Series([pd.NaT], dtype="datetime64[us, UTC]"),
            "caused_by_deployment_id": ["6"],
        }
    )
    april = Period("2023-04", pd.Timestamp("2023-04-01"), pd.Timestamp("2023-04-30"))
    assert by_deployment_id(changes["deployment_id"], rows).tolist() == ["pipeline4", "unknown"]
    out = dora_from_events(rows, incidents, SERVICES, [april], changes=changes).iloc[0]
    assert out["lead_time_n"] == 1 and out["lead_time_hours"] == 1  # to the deployment's finish, 07:30:34
    assert out["change_failure_rate"] == 1.0 and out["open_incidents"] == 1


def test_time_to_restore_needs_no_deployments(tiny_cycle):
    # DevLake's 2021 panel reads incidents only (its PagerDuty and Opsgenie fixtures)
    data = load_cycle(
        load_config(
            tiny_cycle(
                files={"deployments.csv": None}, config=lambda t: t.replace("  deployments: deployments.csv\n", "")
            )
        )
    )
    row = team_dora(data, [H1]).iloc[0]
    assert row["time_to_restore_hours"] == 1.5 and row["time_to_restore_n"] == 2
    assert row["time_to_restore_level"] == "high"
    assert np.isnan(row["deploy_days_per_week"]) and pd.isna(row["deployment_frequency_level"])
    assert row["deployments"] == 0 and np.isnan(row["change_failure_rate"]) and np.isnan(row["lead_time_hours"])
    assert row["delivery_level"] == "high"  # the one metric known


def test_lead_time_from_changes_drops_non_positive():
    deploys = deployments([("D1", "api-svc", "2026-02-02T12:00:00Z", "SUCCESS", "production")])
    changes = pd.DataFrame(
        {
            "change_id": ["c1", "c2", "c3", "c4"],
            "deployment_id": ["D1", "D1", "D1", "D1"],
            "created_at": pd.to_datetime(
                ["2026-02-01T12:00:00Z", "2026-02-02T06:00:00Z", "2026-02-02T11:00:00Z", "2026-02-02T13:00:00Z"],
                utc=True,
            ),
        }
    )
    out = dora_from_events(deploys, None, SERVICES, [H1], changes=changes).iloc[0]
    assert out["lead_time_hours"] == 6  # median of 24, 6, 1; the change made after the deploy is dropped
    assert out["lead_time_n"] == 3 and out["lead_time_dropped"] == 1


@pytest.mark.parametrize(
    ("benchmark", "hours", "level"),
    [
        ("dora-2023", 23.9, "elite"),
        ("dora-2023", 24.0, "high"),
        ("dora-2023", 24 * 7, "medium"),
        ("dora-2023", 24 * 30, "low"),
        ("dora-2021", 0.5, "elite"),
        ("dora-2021", 1.0, "high"),  # "elite < 1 h": exactly an hour is not elite (DevLake agrees)
        ("dora-2021", 24 * 7 - 0.01, "high"),
        ("dora-2021", 24 * 7, "medium"),  # "< 7 d" high, as DevLake grades it
        ("dora-2021", 24 * 8, "medium"),
        ("dora-2021", 730 * 6 - 0.01, "medium"),
        ("dora-2021", 730 * 6, "low"),
        ("dora-2021", 730 * 7, "low"),
    ],
)
def test_lead_time_boundaries(benchmark, hours, level):
    metrics = pd.DataFrame(
        {
            "deploy_days_per_week": [np.nan],
            "deploy_days_per_month": [np.nan],
            "deploy_days_per_half_year": [np.nan],
            "lead_time_hours": [hours],
            "change_failure_rate": [np.nan],
            "time_to_restore_hours": [np.nan],
        }
    )
    out = grade(metrics, benchmark).iloc[0]
    assert out["lead_time_level"] == level
    assert out["delivery_level"] == level  # the only graded metric


@pytest.mark.parametrize(
    ("benchmark", "rate", "level"),
    [
        ("dora-2023", 0.05, "elite"),
        ("dora-2023", 0.10, "high"),
        ("dora-2023", 0.15, "medium"),
        ("dora-2023", 0.151, "low"),
        ("dora-2021", 0.15, "elite"),
        ("dora-2021", 0.30, "high"),
        ("dora-2021", 0.31, "low"),
    ],
)
def test_change_failure_rate_boundaries(benchmark, rate, level):
    metrics = pd.DataFrame(
        {
            c: [np.nan]
            for c in (
                "deploy_days_per_week",
                "deploy_days_per_month",
                "deploy_days_per_half_year",
                "lead_time_hours",
                "time_to_restore_hours",
            )
        }
        | {"change_failure_rate": [rate]}
    )
    assert grade(metrics, benchmark).iloc[0]["change_failure_rate_level"] == level


def test_team_metrics_aggregates_are_recut_to_cycles_with_weights():
    tm = pd.DataFrame(
        {
            "team": ["api", "api", "api"],
            "period_start": pd.to_datetime(["2026-01-01", "2026-02-01", "2025-12-01"]),
            "period_end": pd.to_datetime(["2026-01-31", "2026-02-28", "2025-12-31"]),
            "deployment_frequency": [4.0, 2.0, 9.0],
            "lead_time_hours": [10.0, 40.0, 1.0],
            "change_failure_rate": [0.1, 0.0, 0.5],
            "time_to_restore_hours": [2.0, np.nan, 1.0],
            "deployment_frequency_n": [5, 4, 4],
            "lead_time_n": [30, 10, 5],
            "change_failure_rate_n": [30, 10, 5],
            "time_to_restore_n": [3, 0, 1],
        }
    )
    out = dora_from_team_metrics(tm, [H1]).iloc[0]
    assert out["source_rows"] == 2  # December's row belongs to the earlier half
    assert out["deploy_days_per_week"] == pytest.approx((4 * 5 + 2 * 4) / 9)
    assert out["lead_time_hours"] == pytest.approx((10 * 30 + 40 * 10) / 40)
    assert out["change_failure_rate"] == pytest.approx(3 / 40)
    assert out["time_to_restore_hours"] == 2.0  # the month without incidents carries no weight
    assert out["deployments"] == 40 and out["time_to_restore_n"] == 3


def test_monthly_periods_cover_whole_months():
    months = monthly_periods(pd.Timestamp("2025-07-15"), pd.Timestamp("2025-09-02"))
    assert [(m.id, str(m.start.date()), str(m.end.date())) for m in months] == [
        ("2025-07", "2025-07-01", "2025-07-31"),
        ("2025-08", "2025-08-01", "2025-08-31"),
        ("2025-09", "2025-09-01", "2025-09-30"),
    ]
