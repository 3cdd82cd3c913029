"""`calib analyze` on the sample org: every planted pattern found, nothing unplanted flagged,
schema-valid, byte-identical reruns. The truth comes from the generator, not from this file."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
from conftest import ROOT

from calib.analyses.runner import SCHEMA_PATH
from calib.synth.org import PLANTED_TEAMS, planted_people

SAMPLE = ROOT / "data_samples" / "cycle.yml"


def analyze(out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "calib.cli", "analyze", str(SAMPLE), "--out", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=ROOT)


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> tuple[Path, Path]:
    first, second = tmp_path_factory.mktemp("a"), tmp_path_factory.mktemp("b")
    for out in (first, second):
        run = analyze(out)
        assert run.returncode == 0, run.stderr
    return first, second


@pytest.fixture(scope="module")
def document(outputs) -> dict:
    return json.loads((outputs[0] / "findings.json").read_text())


@pytest.fixture(scope="module")
def truth() -> dict[str, list[str]]:
    return planted_people(pd.read_csv(ROOT / "data_samples" / "people.csv", dtype=str))


def found(document: dict, kind: str, severity: set[str] | None = None) -> set[str]:
    findings = document["findings"]
    return {f["subject"] for f in findings if f["kind"] == kind and (severity is None or f["severity"] in severity)}


def test_findings_validate_against_the_published_schema(document):
    jsonschema.validate(document, json.loads(SCHEMA_PATH.read_text()))
    assert document["cycle"] == "2026-H1" and document["findings"]
    for finding in document["findings"]:
        assert finding["explanation"].endswith((".", "!")) and finding["n"] >= 1


def test_every_planted_pattern_is_found(document, truth):
    assert truth["lenient_manager"][0] in found(document, "rater_leniency", {"alert"})
    assert truth["severe_manager"][0] in found(document, "rater_severity", {"alert"})
    assert truth["quota_manager"][0] in found(document, "forced_distribution", {"alert"})
    assert PLANTED_TEAMS["elite"] in found(document, "team_context_mismatch")
    assert truth["bunched_manager"][0] in found(document, "recency_bias", {"alert"})
    assert set(truth["invisible_engineers"]) <= found(document, "invisible_work")
    assert "gender=woman" in found(document, "adverse_impact", {"alert"})


def test_no_unplanted_manager_is_flagged(document, truth):
    # the elite team's manager rates harshly by design (RATING_EFFECT), so she is planted too
    planted = {truth[f"{p}_manager"][0] for p in ("lenient", "severe", "elite")}
    flagged = found(document, "rater_leniency") | found(document, "rater_severity")
    assert flagged == planted
    assert found(document, "forced_distribution") == {truth["quota_manager"][0]}
    assert found(document, "recency_bias") == {truth["bunched_manager"][0]}
    alerts = {(f["kind"], f["subject"]) for f in document["findings"] if f["severity"] == "alert"}
    assert len(alerts) == 6  # the six planted patterns that alert


def test_reruns_are_byte_identical(outputs):
    first, second = outputs
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_input_hashes_match_the_files(document):
    for name, source in document["inputs"].items():
        path = SAMPLE.parent / source["file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == source["sha256"], name


def test_tables_carry_the_promised_columns(outputs):
    tables = outputs[0] / "tables"
    required = {
        "manager_effects": {"manager_id", "n", "raw_effect", "shrunken_effect", "lower", "upper", "flagged"},
        "peer_reviewer_effects": {"reviewer_id", "n", "effect", "lower", "upper"},
        "peer_variance_components": {"component", "variance"},
        "bias_audit": {"attribute", "outcome", "group", "n", "rate", "impact_ratio", "suppressed"},
        "evidence_health": {"employee_id", "delivery", "reliability", "influence", "late_share", "thin"},
    }
    for name, columns in required.items():
        header = set(pd.read_csv(tables / f"{name}.csv", nrows=0).columns)
        assert columns <= header, (name, columns - header)
    components = pd.read_csv(tables / "peer_variance_components.csv")
    assert set(components["component"]) == {"reviewer", "reviewee", "residual"}


def test_suppressed_groups_carry_no_numbers(outputs):
    audit = pd.read_csv(outputs[0] / "tables" / "bias_audit.csv")
    hidden = audit[audit["suppressed"]]
    assert hidden[["n", "selected", "rate"]].isna().all().all()


def test_bad_input_writes_nothing(tmp_path, tiny_cycle):
    config = tiny_cycle(files={"reviews.csv": "cycle,employee_id,reviewer_id,rating\n2026-H1,E3,E2,Great\n"})
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "calib.cli", "analyze", str(config), "--out", str(out)],
                         capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 1 and "rating" in run.stderr and "Traceback" not in run.stderr
    assert not out.exists()
