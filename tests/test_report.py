"""`calib report` end to end on the sample: sections, offline HTML, lineage, blind mode, errors, escaping."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT

from calib.outputs.report.build import check_offline
from calib.outputs.report.prepare import prepare_results
from calib.outputs.report.sections import SECTIONS

SAMPLE = ROOT / "data_samples"
XSS = "<script>alert(1)</script>"
PROTECTED_VALUES = ("woman", "nonbinary")  # labels of the sample's gender column that are never ordinary words


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "calib.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )


def copy_sample(folder: Path) -> Path:
    """The sample cycle copied, so a test can edit inputs; returns the copied cycle.yml."""
    shutil.copytree(SAMPLE, folder)
    return folder / "cycle.yml"


def people() -> pd.DataFrame:
    return pd.read_csv(SAMPLE / "people.csv", dtype=str, keep_default_na=False)


def occurs(value: str, text: str) -> bool:
    """`value` as a whole word (ids like E0012 never match inside E00123)."""
    return value in text and re.search(r"(?<![\w-])" + re.escape(value) + r"(?![\w-])", text) is not None


@pytest.fixture(scope="module")
def open_report(tmp_path_factory) -> tuple[Path, Path]:
    """The report of the sample with one name replaced by a script tag, packets included."""
    root = tmp_path_factory.mktemp("open")
    copy_sample(root / "cycle")
    frame = pd.read_csv(root / "cycle" / "people.csv", dtype=str, keep_default_na=False)
    frame.loc[frame["employee_id"] == "E0013", "name"] = XSS  # the lenient manager: named in headlines and charts
    frame.to_csv(root / "cycle" / "people.csv", index=False, lineterminator="\n")
    out = root / "report"
    done = run_cli("report", "cycle/cycle.yml", "--out", "report", "--per-manager", cwd=root)  # relative paths
    assert done.returncode == 0, done.stderr
    assert str(out / "report.html") in done.stdout
    return out, root / "cycle"


@pytest.fixture(scope="module")
def blind_report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("blind") / "report"
    done = run_cli("report", str(SAMPLE / "cycle.yml"), "--out", str(out), "--blind", "--per-manager")
    assert done.returncode == 0, done.stderr
    return out


def test_every_section_heading_is_in_the_html(open_report):
    html = (open_report[0] / "report.html").read_text(encoding="utf-8")
    for heading in SECTIONS:
        assert re.search(rf"<h2[^>]*>\s*{re.escape(heading)}", html), heading
    assert "findings.json" in {p.name for p in open_report[0].iterdir()}
    assert (open_report[0] / "tables" / "manager_effects.csv").is_file()


def test_the_html_loads_nothing_from_the_network(open_report):
    html = (open_report[0] / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"<script\b[^>]*\bsrc\s*=", html, re.I)
    for tag in re.finditer(r"<(script|link|img|iframe|source|embed|object|a)\b[^>]*>", html, re.I):
        for attribute in re.finditer(r"\b(?:src|href|data)\s*=\s*[\"']?([^\"' >]*)", tag.group(0), re.I):
            assert not re.match(r"(https?:)?//", attribute.group(1)), tag.group(0)  # no remote link, even an anchor
    assert not re.search(r"url\(\s*[\"']?(https?:)?//", html)
    assert "<link" not in html.lower()
    assert "<script" not in html.lower()  # no script at all: the page is static SVG and text
    assert "require.js" not in html and "mathjax" not in html.lower() and "cdn" not in html.lower()


def test_no_code_and_no_prompts(open_report):
    html = (open_report[0] / "report.html").read_text(encoding="utf-8")
    assert "In [" not in html and "Out[" not in html
    source = (ROOT / "notebooks" / "cycle_report.py").read_text(encoding="utf-8")
    for line in source.splitlines():
        if line.strip() and not line.startswith("#") and len(line.strip()) > 12:
            assert line.strip() not in html, line
    assert "jp-InputArea-editor" not in html and 'class="highlight' not in html


def test_lineage_hashes_match_the_inputs(open_report):
    out, inputs = open_report
    html = (out / "report.html").read_text(encoding="utf-8")
    for csv in sorted(inputs.glob("*.csv")):
        digest = hashlib.sha256(csv.read_bytes()).hexdigest()
        assert digest in html, csv.name
    lineage = json.loads((out / "lineage.json").read_text(encoding="utf-8"))
    assert lineage["versions"]["papermill"] and lineage["warning_count"] > 0
    for name, spec in json.loads((out / "findings.json").read_text(encoding="utf-8"))["inputs"].items():
        assert spec["sha256"] == hashlib.sha256((inputs / spec["file"]).read_bytes()).hexdigest(), name


def test_a_script_in_a_name_is_only_ever_escaped(open_report):
    out = open_report[0]
    for page in [out / "report.html", *(out / "packets").glob("*.html")]:
        text = page.read_text(encoding="utf-8")
        assert XSS not in text, page.name
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in (out / "packets" / "e0013.html").read_text(encoding="utf-8")


def test_open_report_names_people_and_shows_the_bias_audit(open_report):
    html = (open_report[0] / "report.html").read_text(encoding="utf-8")
    assert "Erik Ortiz" in html  # the severe manager, by name
    assert "woman" in html  # the audit's groups are shown outside blind mode
    assert "suppressed" in html


def test_blind_mode_leaks_no_name_no_id_and_no_protected_label(blind_report):
    everyone = people()
    files = [p for p in blind_report.rglob("*") if p.is_file()]
    assert {"report.html", "findings.json", "lineage.json", "index.html"} <= {p.name for p in files}
    assert any(p.parent.name == "tables" for p in files)
    for path in files:
        text = path.read_text(encoding="utf-8")
        for column in ("employee_id", "name", "handle"):
            if column in everyone.columns:
                leaked = [v for v in everyone[column] if v and occurs(v, text)]
                assert not leaked, f"{path.relative_to(blind_report)}: {column} {leaked[:5]}"
    html = (blind_report / "report.html").read_text(encoding="utf-8")
    for label in PROTECTED_VALUES:
        assert not occurs(label, html), label
    assert "hidden in blind mode" in html
    assert "Person " in html
    assert not (blind_report / "tables" / "bias_audit.csv").exists()


def test_blind_pseudonyms_are_stable_across_runs(blind_report, tmp_path):
    again = tmp_path / "again"
    prepare_results(SAMPLE / "cycle.yml", again, blind=True)
    first = (blind_report / "tables" / "manager_effects.csv").read_text()
    assert (again / "tables" / "manager_effects.csv").read_text() == first
    assert (again / "findings.json").read_text() == (blind_report / "findings.json").read_text()


def test_a_bad_input_exits_1_with_the_validators_line_and_writes_nothing(tmp_path):
    config = copy_sample(tmp_path / "cycle")
    reviews = tmp_path / "cycle" / "reviews.csv"
    lines = reviews.read_text().splitlines()
    assert lines[0].split(",")[3] == "rating"
    cells = lines[4].split(",")
    cells[3] = "Superb"
    lines[4] = ",".join(cells)
    reviews.write_text("\n".join(lines) + "\n")
    out = tmp_path / "report"
    done = run_cli("report", str(config), "--out", str(out))
    assert done.returncode == 1
    assert "error: reviews.csv, row 5, column rating: value 'Superb'" in done.stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging folder left behind

    out.mkdir()
    (out / "report.html").write_text("the previous report")
    done = run_cli("report", str(config), "--out", str(out))
    assert done.returncode == 1
    assert [p.name for p in out.iterdir()] == ["report.html"]
    assert (out / "report.html").read_text() == "the previous report"


def test_unknown_org_and_cycle_are_errors_listing_the_known_ones(tmp_path):
    done = run_cli("report", str(SAMPLE / "cycle.yml"), "--out", str(tmp_path / "r"), "--org", "Atlantis")
    assert done.returncode == 1 and "Platform" in done.stderr and "Commerce" in done.stderr
    done = run_cli("report", str(SAMPLE / "cycle.yml"), "--out", str(tmp_path / "r"), "--cycle", "1999-H1")
    assert done.returncode == 1 and "2026-H1" in done.stderr
    assert not (tmp_path / "r").exists()


def test_org_filter_keeps_only_that_orgs_people_and_teams(tmp_path):
    prepared = prepare_results(SAMPLE / "cycle.yml", tmp_path, org="Platform")
    teams = pd.read_csv(SAMPLE / "teams.csv", dtype=str)
    platform = set(teams.loc[teams["org"] == "Platform", "team"])
    frame = prepared.normalized.frame
    assert set(frame["team"]) <= platform and len(frame)
    inside = set(people().query("team in @platform")["employee_id"])
    health = pd.read_csv(tmp_path / "tables" / "evidence_health.csv", dtype=str)
    assert set(health["employee_id"]) <= inside
    dora = pd.read_csv(tmp_path / "tables" / "team_dora.csv", dtype=str)
    assert set(dora["team"]) <= platform
    assert json.loads((tmp_path / "lineage.json").read_text())["org"] == "Platform"


def test_check_offline_rejects_remote_loads():
    for html in (
        '<script src="https://cdn.example/x.js"></script>',
        '<link rel="stylesheet" href="//cdn.example/x.css">',
        "<style>@import url(https://x/y.css)</style>",
        '<img src="http://x/y.png">',
    ):
        with pytest.raises(RuntimeError):
            check_offline(html)
    check_offline('<svg xmlns="http://www.w3.org/2000/svg"><text>ok</text></svg><a href="#Data-lineage">x</a>')


def test_suppressed_bias_cells_are_shown_as_suppressed_and_blind_mode_hides_the_audit():
    from calib.analyses.results import Results
    from calib.outputs.report.sections import ReportContext, bias_audit

    audit = pd.DataFrame(
        {
            "attribute": "gender",
            "outcome": "top_rating",
            "group": ["a", "b", "c"],
            "n": [40, 30, None],
            "rate": [0.4, 0.2, None],
            "impact_ratio": [1.0, 0.5, None],
            "four_fifths_flag": [False, True, None],
            "holm_p": [None, 0.01, None],
            "adjusted_or": [None, 0.4, None],
            "suppressed": [False, False, True],
            "note": ["reference group (highest rate)", "", ""],
        }
    )
    document = {"rating_scale": ["Low", "Mid", "High"], "cycle": "2026-H1", "min_group_size": 5}
    results = Results(document, pd.DataFrame(), {"bias_audit": audit})
    parts = bias_audit(ReportContext(results))
    table = next(p.table for p in parts if p.table is not None)
    hidden = table[table["group"] == "c"].iloc[0]
    assert hidden["people"] == hidden["rate"] == hidden["impact ratio"] == "suppressed"
    chart = next(p.chart for p in parts if p.chart is not None).to_dict()
    rows = [r for values in chart["datasets"].values() for r in values]
    assert [r["label"] for r in rows if r["group"] == "c"] == ["c (suppressed)"]
    assert all(r.get("shown_rate") is None for r in rows if r["group"] == "c")

    blind = bias_audit(ReportContext(results, blind=True))
    assert len(blind) == 1 and "hidden in blind mode" in blind[0].text and blind[0].chart is None


def test_charts_of_large_orgs_show_flagged_managers_first_and_say_so(open_report):
    import dataclasses

    from calib.outputs.report.prepare import report_context
    from calib.outputs.report.sections import manager_effects

    out, inputs = open_report
    ctx = dataclasses.replace(report_context(out, inputs / "cycle.yml"), max_rows=5)
    part = manager_effects(ctx)[0]
    assert "Showing 5 of" in part.text
    rows = [r for values in part.chart.to_dict()["datasets"].values() for r in values if "manager_id" in r]
    shown = {r["manager_id"] for r in rows}
    assert len(shown) == 5 and {"E0013", "E0116", "E0166"} <= shown  # every flagged manager is kept
