"""The synthetic org: deterministic, shaped like a real org, carrying every planted pattern."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from calib.delivery.sources import load_cycle
from calib.inputs.config import load_config
from calib.synth.org import (
    GUIDELINE,
    INPUTS,
    PLANTED_TEAMS,
    RATINGS,
    config_text,
    generate_org,
    planted_people,
    write_org,
)

SAMPLE = Path(__file__).parent.parent / "data_samples"
SCORE = {label: k + 1 for k, label in enumerate(RATINGS)}


@pytest.fixture(scope="module")
def org() -> dict[str, pd.DataFrame]:
    return generate_org()


@pytest.fixture(scope="module")
def planted(org) -> dict[str, list[str]]:
    return planted_people(org["people"])


@pytest.fixture(scope="module")
def rated(org) -> pd.DataFrame:
    """Reviews with the person's attributes, a numeric rating and their mean peer score."""
    peers = org["peer_feedback"].groupby(["cycle", "reviewee_id"])["score"].mean().rename("peer")
    people = org["people"][["employee_id", "team", "track", "gender", "discipline", "level"]]
    frame = org["reviews"].merge(people, on="employee_id")
    frame = frame.join(peers, on=["cycle", "employee_id"])
    return frame.assign(value=frame["rating"].map(SCORE))


def test_same_seed_same_frames_other_seed_other_frames(org):
    again = generate_org()
    assert list(again) == list(org) == list(INPUTS)
    for name in org:
        pd.testing.assert_frame_equal(again[name], org[name])
    other = generate_org(seed=1)
    assert not other["people"]["name"].equals(org["people"]["name"])
    assert not other["reviews"]["rating"].equals(org["reviews"]["rating"])


def test_shape_of_the_sample_org(org):
    people = org["people"]
    assert len(people) == 300 and people["employee_id"].is_unique and people["name"].is_unique
    assert people["employee_id"].str.fullmatch(r"E\d{4}").all()
    top = people[people["manager_id"].isna()]
    assert len(top) == 1 and top["level"].item() == "L8"
    reports = people.groupby("manager_id").size()
    leads = people[(people["track"] == "manager") & (people["team"] != "leadership")]
    assert len(leads) == 40 and reports.reindex(leads["employee_id"]).between(4, 12).all()
    assert set(leads["level"]) <= {"L5", "L6", "L7"}
    directors = people[people["manager_id"] == top["employee_id"].item()]
    assert 4 <= len(directors) <= 5 and set(directors["level"]) == {"L8"}
    ics = people[people["track"] == "ic"]
    assert 240 <= len(ics) <= 260 and sorted(ics["level"].unique()) == [f"L{k}" for k in range(2, 8)]
    shares = people["discipline"].value_counts(normalize=True)
    assert set(shares.index) == {"engineering", "product", "design", "data"}
    assert 0.5 < shares["engineering"] < 0.7 and min(shares) > 0.08
    teams = org["teams"]
    assert set(people["team"]) == set(teams["team"])
    designers = people.loc[people["discipline"].isin(["product", "design"]) & (people["track"] == "ic"), "team"]
    assert set(teams.set_index("team").loc[designers.unique(), "team_type"]) <= {"product", "design"}
    assert 0.01 < people["gender"].isna().mean() < 0.06 and 0.01 < (people["gender"] == "nonbinary").mean() < 0.06


def test_reviews_cycles_and_logs(org):
    reviews, people = org["reviews"], org["people"].set_index("employee_id")
    assert sorted(reviews["cycle"].unique()) == ["2025-H2", "2026-H1"]
    hired = people.loc[reviews["employee_id"], "hire_date"].to_numpy()
    ends = reviews["cycle"].map({"2025-H2": "2025-12-31", "2026-H1": "2026-06-30"}).to_numpy()
    assert (hired <= ends).all()
    assert (people["hire_date"] > "2025-12-31").sum() == 300 - 1 - (reviews["cycle"] == "2025-H2").sum()
    assert (reviews["reviewer_id"].to_numpy() == people.loc[reviews["employee_id"], "manager_id"].to_numpy()).all()
    assert 0.04 < (reviews["rating"] != reviews["calibrated_rating"]).mean() < 0.12
    assert 0.06 < (reviews["promotion_recommended"] == "true").mean() < 0.14
    curve = reviews["rating"].value_counts(normalize=True).reindex(RATINGS)
    assert np.abs(curve.to_numpy() - [0.05, 0.15, 0.50, 0.22, 0.08]).max() < 0.06
    assert org["criteria_scores"].groupby(["cycle", "employee_id"]).size().eq(4).all()
    feedback = org["peer_feedback"]
    assert feedback.groupby(["cycle", "reviewee_id"]).size().between(3, 6).all()
    assert set(feedback["relationship"]) == {"peer", "cross_functional", "report", "skip_level", "calibrator"}
    for frame in (feedback, org["criteria_scores"]):
        assert frame["score"].between(1, 5).all() and (frame["score"] * 2 % 1 == 0).all()
    evidence = org["evidence"]
    per_review = evidence.groupby([evidence["employee_id"], evidence["date"] >= "2026-01-01"]).size()
    assert per_review.between(6, 30).all() and len(per_review) == len(reviews)
    assert evidence["date"].between("2025-07-01", "2026-06-30").all()
    assert 0.04 < evidence["url"].isna().mean() < 0.1


def test_handles_expectations_and_alignment_keys(org):
    people = org["people"]
    assert list(people.columns[:3]) == ["employee_id", "name", "handle"]
    assert people["handle"].is_unique and people["handle"].str.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*").all()
    assert people.set_index("employee_id").loc["E0029", "handle"] == "kenji-obrien"  # Kenji O'Brien
    expectations = org["expectations"]
    assert list(expectations.columns) == ["cycle", "employee_id", "expectation", "key_steps", "status"]
    per_review = expectations.groupby(["cycle", "employee_id"]).size()
    assert per_review.between(2, 4).all()
    assert set(per_review.index) == set(zip(org["reviews"]["cycle"], org["reviews"]["employee_id"], strict=True))
    assert not expectations.duplicated(["cycle", "employee_id", "expectation"]).any()
    assert set(expectations["status"]) == {"not started", "on track", "at risk", "done"}
    done = (expectations["status"] == "done").groupby(expectations["cycle"]).mean()
    assert done["2025-H2"] > 0.6 > done["2026-H1"]  # the newest cycle is still in flight
    config = yaml.safe_load(config_text(org))
    assert config["leveling_framework"] == "leveling.yml" and config["inputs"]["expectations"] == "expectations.csv"
    assert set(config["links"]) == {"process", "leveling_framework"}
    assert set(config["work_queries"]) == {"merged_prs", "reviewed_prs", "kudos", "docs"}
    merged = config["work_queries"]["merged_prs"]
    assert "author:{handle}" in merged and "{start}" in merged


def test_delivery_tables(org):
    deployments, services = org["deployments"], org["services"]
    assert 20 <= len(services) <= 30 and set(services["team"]) <= set(org["teams"]["team"])
    assert set(deployments["service"]) <= set(services["service"])
    assert deployments["finished_at"].str[:7].nunique() == 12
    assert deployments["finished_at"].min() >= "2025-07-01" and deployments["finished_at"].max() < "2026-07-01"
    assert deployments["finished_at"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").all()
    assert 0.015 < (deployments["result"] == "FAILURE").mean() < 0.05
    assert "lead_time_hours" not in deployments
    changes = org["changes"].merge(deployments, on="deployment_id")
    assert changes.groupby("deployment_id").size().between(1, 4).all() and len(changes) == len(org["changes"])
    assert (changes["created_at"] < changes["finished_at"]).all()
    incidents = org["incidents"]
    assert (incidents["resolved_at"] > incidents["started_at"]).all()
    linked = incidents.dropna(subset=["caused_by_deployment_id"]).merge(
        deployments, left_on="caused_by_deployment_id", right_on="deployment_id", suffixes=("", "_deploy"))
    assert 0.6 < len(linked) / len(incidents) < 0.8 and (linked["service"] == linked["service_deploy"]).all()
    assert (linked["environment"] == "production").all() and (linked["started_at"] > linked["finished_at"]).all()
    slos = org["slos"]
    assert slos.groupby(["service", "slo_name"]).size().eq(12).all()
    assert set(slos["service"]) == set(services["service"]) and (slos["good_events"] <= slos["total_events"]).all()


def test_committed_sample_is_exactly_what_the_generator_writes(org, tmp_path):
    write_org(org, tmp_path)
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted([*(f"{n}.csv" for n in org), "cycle.yml"])
    for name in written:
        assert (tmp_path / name).read_bytes() == (SAMPLE / name).read_bytes(), f"data_samples/{name} is stale"


def test_write_org_replaces_only_its_own_files(tmp_path):
    small = generate_org(people=60, managers=8, deployments=2_000)
    (tmp_path / "notes.md").write_text("mine")
    (tmp_path / "people.parquet").write_text("stale")
    write_org(small, tmp_path, fmt="parquet")
    assert (tmp_path / "notes.md").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*(f"{n}.parquet" for n in small), "cycle.yml", "notes.md"])
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "people.parquet"), small["people"], check_dtype=False)
    config = load_config(tmp_path / "cycle.yml")
    assert config.input_path("people") == (tmp_path / "people.parquet").resolve()
    with pytest.raises(ValueError):
        write_org(small, tmp_path, fmt="xlsx")


def test_sizes_that_do_not_fit_are_refused():
    with pytest.raises(ValueError, match="teams of 4 to 12"):
        generate_org(people=100, managers=40)
    with pytest.raises(ValueError, match="1 January or 1 July"):
        generate_org(start=pd.Timestamp("2025-03-01").date())


def test_sample_passes_the_loader():
    data = load_cycle(load_config(SAMPLE / "cycle.yml"))
    assert set(data.tables) | set(data.events) == set(INPUTS)
    kinds = {(w.file, w.column) for w in data.warnings}  # links missing, teams owning no service, the CTO unreviewed
    assert kinds == {("evidence.csv", "url"), ("services.csv", "team"), ("reviews.csv", "employee_id")}


# -- the planted patterns (data_samples/README.md) ----------------------------------------------


def test_lenient_and_severe_managers_stand_out_only_in_their_ratings(rated, planted):
    mean = rated["value"].mean()
    lenient = rated[rated["reviewer_id"] == planted["lenient_manager"][0]]
    severe = rated[rated["reviewer_id"] == planted["severe_manager"][0]]
    assert len(lenient) >= 18 and len(severe) >= 18
    assert lenient["value"].mean() - mean > 0.7 and mean - severe["value"].mean() > 0.7
    for team in (lenient, severe):  # peers see ordinary people
        assert abs(team["peer"].mean() - rated["peer"].mean()) < 0.3
    # rating minus peer score, per team lead: the planted managers are the extremes
    ics = rated[rated["track"] == "ic"]
    gap = (ics["value"] - ics["peer"]).groupby(ics["reviewer_id"]).mean().sort_values()
    assert gap.index[-1] == planted["lenient_manager"][0]
    assert planted["severe_manager"][0] in gap.index[:2]  # next to the harsh manager of the elite team


def test_quota_manager_follows_the_guideline_curve_every_cycle(rated, planted):
    team = rated[rated["reviewer_id"] == planted["quota_manager"][0]]
    for _, cycle in team.groupby("cycle"):
        counts = cycle["rating"].value_counts().reindex(RATINGS, fill_value=0).to_numpy()
        assert len(cycle) >= 9 and (np.abs(counts - len(cycle) * np.array(GUIDELINE)) < 1).all()


def test_elite_delivery_team_is_rated_harshly(org, rated, planted):
    team = PLANTED_TEAMS["elite"]
    reviews = rated[rated["reviewer_id"] == planted["elite_manager"][0]]
    assert reviews["value"].mean() < rated["value"].mean() - 0.3 < reviews["peer"].mean() - 0.3
    owned = org["services"].loc[org["services"]["team"] == team, "service"]
    deploys = org["deployments"][org["deployments"]["service"].isin(owned)]
    good = deploys[(deploys["result"] == "SUCCESS") & (deploys["environment"] == "production")]
    days = pd.to_datetime(good["finished_at"]).dt.tz_localize(None).dt.normalize().drop_duplicates()
    assert days.groupby(days.dt.to_period("W-SUN")).size().median() >= 5
    incidents = org["incidents"][org["incidents"]["service"].isin(owned)]
    assert incidents["caused_by_deployment_id"].nunique() / len(good) < 0.05
    restore = pd.to_datetime(incidents["resolved_at"]) - pd.to_datetime(incidents["started_at"])
    assert restore.median() < pd.Timedelta(hours=1)
    changes = org["changes"].merge(good, on="deployment_id")
    lead = pd.to_datetime(changes["finished_at"]) - pd.to_datetime(changes["created_at"])
    assert lead.median() < pd.Timedelta(days=1)


def test_one_team_bunches_its_evidence_at_the_end_of_the_cycle(org):
    evidence = org["evidence"].merge(org["people"][["employee_id", "team"]], on="employee_id")
    h1 = evidence[evidence["date"] >= "2026-01-01"]
    late = pd.to_datetime(h1["date"]) >= pd.Timestamp("2026-01-01") + 0.8 * pd.Timedelta(days=180)
    bunched = h1["team"] == PLANTED_TEAMS["bunched"]
    assert late[bunched].mean() > 0.6 and late[~bunched].mean() < 0.3


def test_invisible_reliability_work(org, rated, planted):
    crew = planted["invisible_engineers"]
    people = org["people"].set_index("employee_id")
    assert len(crew) == 4 and (people.loc[crew, "team"] == PLANTED_TEAMS["invisible"]).all()
    assert (people.loc[crew, "discipline"] == "engineering").all()
    assert rated.loc[rated["employee_id"].isin(crew), "value"].max() <= SCORE["Meets"]
    assert rated.loc[rated["employee_id"].isin(crew), "peer"].mean() > rated["peer"].mean() + 0.3
    evidence = org["evidence"]
    mine, rest = evidence[evidence["employee_id"].isin(crew)], evidence[~evidence["employee_id"].isin(crew)]
    shipping = ["pr", "ticket"]
    assert mine["kind"].isin(shipping).mean() < 0.5 * rest["kind"].isin(shipping).mean()
    assert mine["category"].isin(["reliability", "influence"]).mean() > 0.75
    owned = org["services"].loc[org["services"]["team"] == PLANTED_TEAMS["invisible"], "service"]
    slos = org["slos"][org["slos"]["service"].isin(owned)]
    monthly = (slos["good_events"] / slos["total_events"]).groupby(slos["window_end"]).mean()
    assert monthly.iloc[-3:].mean() > monthly.iloc[:3].mean()


def test_women_reach_top_ratings_at_half_the_rate_through_the_rating_only(org, rated):
    ics = rated[rated["track"] == "ic"]
    top = ics["value"] >= SCORE["Exceeds"]
    women, men = top[ics["gender"] == "woman"].mean(), top[ics["gender"] == "man"].mean()
    assert women < 0.6 * men
    assert abs(ics.loc[ics["gender"] == "woman", "peer"].mean() - ics.loc[ics["gender"] == "man", "peer"].mean()) < 0.2
    criteria = org["criteria_scores"].merge(org["people"][["employee_id", "gender"]], on="employee_id")
    by_gender = criteria.groupby("gender")["score"].mean()
    assert abs(by_gender["woman"] - by_gender["man"]) < 0.25


def test_large_org_mode_has_lead_times_and_no_changes_table():
    big = generate_org(people=2_000, managers=240, deployments=50_000, plant=False)
    assert "changes" not in big and "lead_time_hours" in big["deployments"]
    assert len(big["deployments"]) == 50_000 and (big["deployments"]["lead_time_hours"] >= 0).all()
    people = big["people"]
    assert len(people) == 2_000 and people["name"].is_unique and people["employee_id"].is_unique
    assert (people["track"] == "manager").sum() == 1 + 24 + 240
    assert len(big["services"]) == 160 and len(big["teams"]) == 241
    assert big["reviews"].groupby("cycle").size().between(1_800, 1_999).all()
