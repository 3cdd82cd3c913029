"""SLO arithmetic against hand-computed cases."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from calib.delivery.dora import Period
from calib.delivery.slo import slo_status, team_slos


def slos(rows):
    return pd.DataFrame(rows, columns=["service", "slo_name", "target", "window_days", "good_events", "total_events"])


def test_attainment_budget_and_burn():
    out = slo_status(
        slos([("a", "availability", 0.999, 30, 999_500, 1_000_000), ("a", "latency", 0.99, 30, 985_000, 1_000_000)])
    )
    first, second = out.iloc[0], out.iloc[1]
    assert first["attainment"] == pytest.approx(0.9995)
    assert first["error_budget"] == pytest.approx(0.001)
    assert first["budget_consumed"] == pytest.approx(0.5)
    assert first["budget_remaining"] == pytest.approx(0.5)
    assert first["burn_rate"] == pytest.approx(0.5) and first["met"]
    assert second["budget_consumed"] == pytest.approx(1.5)
    assert second["budget_remaining"] == pytest.approx(-0.5)  # blown: negative
    assert not second["met"]


def test_a_target_of_one_leaves_no_budget():
    out = slo_status(slos([("a", "x", 1.0, 30, 100, 100), ("a", "y", 1.0, 30, 99, 100), ("a", "z", 0.9, 30, 0, 0)]))
    assert out.iloc[0]["budget_consumed"] == 0
    assert math.isinf(out.iloc[1]["budget_consumed"])
    assert pd.isna(out.iloc[2]["attainment"])  # no events: unknown, not perfect


def test_team_slos_pool_and_count_windows():
    frame = slos([("a", "availability", 0.999, 30, 999_500, 1_000_000), ("a", "latency", 0.99, 30, 985_000, 1_000_000)])
    frame["window_end"] = pd.to_datetime(["2026-01-31", "2025-12-31"])
    services = pd.DataFrame({"service": ["a"], "team": ["api"]})
    periods = [
        Period("H2", pd.Timestamp("2025-07-01"), pd.Timestamp("2025-12-31")),
        Period("H1", pd.Timestamp("2026-01-01"), pd.Timestamp("2026-06-30")),
    ]
    out = team_slos(frame, services, periods).set_index("period")
    assert out.loc["H1", "slo_windows"] == 1 and out.loc["H1", "slo_met_share"] == 1.0
    assert out.loc["H2", "slo_budget_consumed"] == pytest.approx(1.5)
    frame = frame.drop(columns="window_end")
    pooled = team_slos(frame, services, periods[:1]).iloc[0]
    assert pooled["slo_windows"] == 2 and pooled["slo_met_share"] == 0.5
    assert pooled["slo_attainment"] == pytest.approx((999_500 + 985_000) / 2_000_000)
