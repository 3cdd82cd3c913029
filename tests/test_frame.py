"""The calibration frame on the tiny cycle."""

from __future__ import annotations

import pandas as pd

from calib.delivery.sources import load_cycle
from calib.frame import normalize
from calib.inputs.config import load_config


def test_one_row_per_review_with_numbers_and_team_context(tiny_cycle):
    frame = normalize(load_cycle(load_config(tiny_cycle()))).frame
    assert len(frame) == 7 and not frame.duplicated(["cycle", "employee_id"]).any()
    e3 = frame[(frame.cycle == "2026-H1") & (frame.employee_id == "E3")].iloc[0]
    assert (e3["rating"], e3["rating_value"]) == ("Exceeds", 4.0)
    assert (e3["final_rating"], e3["final_value"]) == ("Meets", 3.0)  # calibrated down
    assert (e3["evidence_delivery_n"], e3["evidence_reliability_n"], e3["evidence_influence_n"]) == (1, 1, 0)
    assert e3["team_delivery_level"] == "low" and e3["team_lead_time_hours"] == 4
    assert e3["team_slo_met_share"] == 0.5 and e3["team_size"] == 4
    assert e3["level_rank"] == 3 and e3["gender"] == "man"
    lead = frame[(frame.cycle == "2026-H1") & (frame.team == "lead")]
    assert lead["team_delivery_level"].isna().all()  # a team with no service has no context, not a bad one
    assert frame["cycle"].cat.categories.tolist() == ["2025-H2", "2026-H1"]
    assert isinstance(frame["final_rating"].dtype, pd.CategoricalDtype) and frame["final_rating"].cat.ordered
