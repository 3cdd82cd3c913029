"""Alignment documents: sections and values on sample people, mid-cycle runs, escaping, the CLI."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import ROOT

from calib.delivery.sources import load_cycle
from calib.errors import ConfigError, UsageError
from calib.frame import normalize
from calib.inputs.config import CycleWindow, load_config
from calib.inputs.leveling import check_work_queries, load_leveling, safe_url, work_links
from calib.outputs.alignment.model import as_of_date, build_documents, project_of
from calib.outputs.alignment.render import render_html, render_markdown

SAMPLE = ROOT / "data_samples"
TODAY = dt.date(2026, 11, 22)
H1 = CycleWindow(id="2026-H1", start=dt.date(2026, 1, 1), end=dt.date(2026, 6, 30))
SECTIONS = [
    "# Performance alignment:",
    "## Reference links",
    "## Previous cycle",
    "## Finding your work",
    "## Criteria",
    "### Mastery",
    "### Impact",
    "### Autonomy",
    "### Collaboration",
    "## Expectations for 2026-H1",
    "## Team context: observability (the team's results, not a personal score)",
    "## Review summary",
]


@pytest.fixture(scope="module")
def sample():
    config = load_config(SAMPLE / "cycle.yml")
    return normalize(load_cycle(config)), load_leveling(config)


@pytest.fixture(scope="module")
def raw() -> dict[str, pd.DataFrame]:
    """The sample's CSVs read plainly, to check the documents against by hand."""
    names = ("people", "reviews", "criteria_scores", "evidence", "expectations")
    return {n: pd.read_csv(SAMPLE / f"{n}.csv", dtype=str, keep_default_na=False) for n in names}


def doc_for(sample, employee_id: str, **kwargs):
    normalized, leveling = sample
    return build_documents(normalized, [employee_id], leveling=leveling, today=TODAY, **kwargs)[0]


def headings(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("#")]


def section(markdown: str, start: str, end: str = "\n### ") -> str:
    tail = markdown[markdown.index(start) :]
    stop = tail.find(end, len(start))
    return tail if stop < 0 else tail[:stop]


def test_sections_in_order_with_hand_checked_values(sample, raw):
    doc = doc_for(sample, "E0025")
    md = render_markdown(doc)
    found = headings(md)
    positions = [next(i for i, h in enumerate(found) if h.startswith(s)) for s in SECTIONS]
    assert positions == sorted(positions)
    assert found[0] == "# Performance alignment: Adebayo Huang (E0025)"
    assert "| Level | L4 |" in md and "| Manager | Omar Fernandes (E0049) |" in md and "| Team | observability |" in md
    assert "| Cycle | 2026-H1 (2026-01-01 to 2026-06-30) |" in md and "| Generated | 2026-11-22 |" in md
    assert not doc.mid_cycle and doc.as_of == dt.date(2026, 6, 30) and "mid-cycle" not in md
    # reference links from the config
    assert "- [Review process](https://handbook.example.com/people/performance-reviews)" in md
    assert "- [Leveling framework](https://handbook.example.com/people/engineering-levels)" in md
    # previous cycle: the review and criteria scores of 2025-H2, as in the CSVs
    review = raw["reviews"].query("cycle == '2025-H2' and employee_id == 'E0025'").iloc[0]
    assert (review["rating"], review["calibrated_rating"]) == ("Meets", "Meets")
    assert "2025-H2: rated Meets, calibrated Meets." in md
    scores = raw["criteria_scores"].query("cycle == '2025-H2' and employee_id == 'E0025'")
    for criterion, score in zip(scores["criterion"], scores["score"], strict=True):
        assert f"| {criterion} | {float(score):g} |" in md
    assert "| Impact | 2.5 |" in md  # the planted invisible-work engineer's marked-down Impact
    # finding your work: the handle and the cycle start in the search strings
    assert raw["people"].set_index("employee_id").loc["E0025", "handle"] == "adebayo-huang"
    assert "https://github.com/search?q=is:pr+is:merged+author:adebayo-huang+merged:%3E=2026-01-01" in md
    assert "(https://kudos.example.com/search?to=adebayo-huang&from=2026-01-01&until=2026-06-30)" in md


def test_criterion_sections_carry_descriptions_examples_and_growth(sample, raw):
    md = render_markdown(doc_for(sample, "E0025"))
    framework = yaml.safe_load((SAMPLE / "leveling.yml").read_text())["criteria"]
    mastery = section(md, "### Mastery")
    assert " ".join(framework["Mastery"]["description"].split()) in mastery
    assert f"**At L4.** {framework['Mastery']['levels']['L4']}" in mastery
    assert "#### Growth toward L5\n" + framework["Mastery"]["levels"]["L5"] in mastery
    assert "#### Room for improvement at L4" in mastery and "#### Overview" in mastery
    assert "2025-H2 score: 3.5." in mastery
    evidence = raw["evidence"]
    mine = evidence[(evidence["employee_id"] == "E0025") & (evidence["date"] >= "2026-01-01")]
    for criterion in framework:
        tagged = mine[mine["criterion"] == criterion]
        text = section(md, f"### {criterion}")
        assert text.count("\n- 2026-") == len(tagged) > 0
        for row in tagged.itertuples():
            shown = (
                f"[{row.title}]({row.url})"
                if row.url
                else f"{row.title} ({row.category}, {row.kind.replace('_', ' ')}) (no link)"
            )
            assert f"- {row.date}: {shown}" in text
    # grouped by project: links under git.example.com/<team>/monorepo/pull/... form their own project
    impact = section(md, "### Impact")
    assert "**observability/monorepo**" in impact
    untagged = mine[mine["criterion"] == ""]
    assert section(md, "### Examples not yet tagged").count("\n- 2026-") == len(untagged)


def test_a_person_with_no_evidence_for_a_criterion(sample, raw):
    evidence = raw["evidence"]
    mine = evidence[(evidence["employee_id"] == "E0225") & (evidence["date"] >= "2026-01-01")]
    assert (mine["criterion"] == "Collaboration").sum() == 0 and (mine["criterion"] == "Autonomy").sum() == 3
    doc = doc_for(sample, "E0225")
    md, html = render_markdown(doc), render_html(doc)
    collaboration = section(md, "### Collaboration")
    assert "No examples yet for Collaboration: add them to the evidence log" in collaboration
    assert "0 example(s) so far: too few to show this criterion at L4." in collaboration
    assert "No examples yet for Autonomy" not in md
    assert "No examples yet for Collaboration" in html
    assert [c.examples for c in doc.criteria if c.name == "Collaboration"] == [0]


def test_top_of_the_ladder_first_cycle_and_new_joiners(sample):
    md = render_markdown(doc_for(sample, "E0010"))  # a director at L8, the top of the ladder
    assert "#### Growth toward the next level\nL8 is the top of the ladder" in md
    first = render_markdown(doc_for(sample, "E0025", cycle="2025-H2"))
    assert "No previous cycle: 2025-H2 is the first cycle in the config." in first
    assert "| Cycle | 2025-H2 (2025-07-01 to 2025-12-31) |" in first and "2026-01" not in section(first, "### Mastery")
    joiner = render_markdown(doc_for(sample, "E0280"))  # hired 2026-01-02
    assert "No review of this person in 2025-H2." in joiner


def test_expectations_and_team_context(sample, raw):
    normalized, _ = sample
    md = render_markdown(doc_for(sample, "E0025"))
    expected = raw["expectations"].query("cycle == '2026-H1' and employee_id == 'E0025'")
    assert len(expected) >= 2
    for row in expected.itertuples():
        assert f"- **{row.expectation}** (status: {row.status})" in md
        for step in row.key_steps.split("; "):
            assert f"  - {step}" in md
    team = normalized.team_dora.query("team == 'observability' and period == '2026-H1'").iloc[0]
    context = section(md, "## Team context", "\n## ")
    assert f"- Delivery (dora-2023): overall {team['delivery_level']}" in context
    assert f"- Deployment frequency: {team['deployment_frequency_level']} (" in context
    slo = normalized.team_slos.query("team == 'observability' and period == '2026-H1'").iloc[0]
    assert f"SLO windows met ({slo['slo_met_share']:.0%})" in context
    assert "## Person context" not in md  # the sample has no telemetry


def test_mid_cycle_run_shows_what_exists_so_far(tmp_path):
    for path in SAMPLE.iterdir():
        if path.is_file():
            shutil.copy(path, tmp_path / path.name)
    evidence = pd.read_csv(SAMPLE / "evidence.csv", dtype=str, keep_default_na=False)
    evidence[evidence["date"] <= "2026-03-15"].to_csv(tmp_path / "evidence.csv", index=False)
    config = load_config(tmp_path / "cycle.yml")
    doc = build_documents(normalize(load_cycle(config)), ["E0025"], leveling=load_leveling(config), today=TODAY)[0]
    latest = dt.date.fromisoformat(evidence.loc[evidence["date"] <= "2026-03-15", "date"].max())
    assert doc.mid_cycle and doc.as_of == latest
    md = render_markdown(doc)
    assert f"| Status | mid-cycle draft, as of {latest}: what exists so far |" in md
    assert f"Mid-cycle draft, as of {latest}" in render_html(doc)
    shown = re.findall(r"^- (2026-\d\d-\d\d):", md, flags=re.M)
    kept = evidence[(evidence["employee_id"] == "E0025") & evidence["date"].between("2026-01-01", "2026-03-15")]
    assert sorted(shown) == sorted(kept["date"]) and max(shown) <= "2026-03-15"
    run = cli("alignment", str(tmp_path / "cycle.yml"), "--employee", "E0025", "--out", str(tmp_path / "out"))
    assert run.returncode == 0, run.stderr
    assert f"mid-cycle, as of {latest}" in run.stdout
    assert "mid-cycle draft" in (tmp_path / "out" / "E0025.md").read_text()


def test_as_of_rules():
    dates = pd.DataFrame({"date": pd.to_datetime(["2026-02-01", "2026-04-10"])})
    assert as_of_date(dates, H1, TODAY) == dt.date(2026, 4, 10)  # the log stops mid-cycle
    later = pd.DataFrame({"date": pd.to_datetime(["2026-08-01"])})
    assert as_of_date(later, H1, TODAY) == H1.end  # the log runs past the cycle: it is over
    before = pd.DataFrame({"date": pd.to_datetime(["2025-12-01"])})
    assert as_of_date(before, H1, dt.date(2026, 3, 3)) == dt.date(2026, 3, 3)  # nothing yet: today
    assert as_of_date(None, H1, dt.date(2025, 5, 1)) == H1.start and as_of_date(None, H1, TODAY) == H1.end


# -- a tiny cycle: escaping, telemetry, templates, no framework --------------------------------

TINY_LEVELING = """\
name: Tiny framework
criteria:
  Craft:
    description: Quality of the work.
    levels: {L3: Works alone in one area., L4: The team's expert in one area., L5: Sets direction.}
  Impact:
    description: Results, not activity.
    levels: {L3: Moves a team goal., L4: Moves the team's key results.}
"""
TINY_KEYS = """\
leveling_framework: leveling.yml
links: {process: "https://handbook.example/process"}
work_queries:
  merged_prs: "https://github.com/search?q=author:{handle}+merged:>={start}"
  by_name: "https://kudos.example/?who={name}&id={employee_id}&c={cycle}&to={end}"
"""
EVIL_PEOPLE = """\
employee_id,name,handle,manager_id,team,discipline,level
E1,Ada Top,ada,,lead,engineering,L6
E2,Bo Manager,bo,E1,api,engineering,L5
E3,<script>alert('n')</script> O'Dev,cy dev,E2,api,engineering,L3
E4,Di Dev,,E2,api,product,L4
E5,Ed Dev,ed,E2,api,engineering,L2
E6,Fa Lead,fa,E1,lead,design,L5
E7,Gu Lead,gu,E1,lead,data,L4
"""
EVIL_EVIDENCE = """\
employee_id,date,category,criterion,kind,title,url,project
E3,2026-02-01,delivery,Craft,pr,<script>alert(1)</script> [x](javascript:alert(2)),javascript:alert(1),
E3,2026-02-03,delivery,craft ,pr,Ship the API,https://github.com/acme/api/pull/7,
E3,2026-02-05,delivery,Impact,launch,Launch v2,https://launch.example/x,Apollo
E3,2026-02-06,influence,,talk,[Guild] Talk on caching,,
E3,2026-02-07,reliability,Impact,incident,Pager,https://tickets.example/browse/OPS-12,
E4,2026-03-03,influence,Craft,mentoring,Mentored Ed,,
"""
TELEMETRY = """\
cycle,employee_id,metric,value
2026-H1,E3,pr_count,12
2026-H1,E3,lines_of_code,90000
2026-H1,E3,deployment_frequency,4
2026-H1,E3,review_latency_hours,5.5
2026-H1,E4,pr_count,3
"""


@pytest.fixture
def tiny(tiny_cycle):
    def make(keys: str = TINY_KEYS, leveling: str | None = TINY_LEVELING, inputs: str = "", **files):
        contents = {"people.csv": EVIL_PEOPLE, "evidence.csv": EVIL_EVIDENCE, **files}
        if leveling is not None:
            contents["leveling.yml"] = leveling
        path = tiny_cycle(files=contents, config=lambda text: text.replace("inputs:\n", "inputs:\n" + inputs) + keys)
        if leveling is None:
            (path.parent / "leveling.yml").unlink(missing_ok=True)
        config = load_config(path)
        return config, normalize(load_cycle(config))

    return make


def test_every_input_string_is_escaped_and_only_http_links_are_links(tiny):
    config, normalized = tiny()
    doc = build_documents(normalized, ["E3"], leveling=load_leveling(config), today=TODAY)[0]
    html, md = render_html(doc), render_markdown(doc)
    assert "<script" not in html.lower() and "<script" not in md.lower()
    assert "&lt;script&gt;alert(&#39;n&#39;)&lt;/script&gt; O&#39;Dev" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "javascript:" not in re.sub(r"\s+", "", " ".join(re.findall(r'href="([^"]*)"', html))).lower()
    assert all(h.startswith(("https://", "http://")) for h in re.findall(r'href="([^"]*)"', html))
    assert not re.search(r"(?<!\\)\]\(javascript", md) and "(javascript:alert(1))" not in md
    assert "&lt;script&gt;alert(1)&lt;/script&gt; \\[x\\](javascript:alert(2))" in md  # shown, inert
    assert "# Performance alignment: &lt;script&gt;alert('n')&lt;/script&gt; O'Dev (E3)" in md
    assert "script-src" not in html and "default-src 'none'" in html  # a CSP as a second line of defence
    assert not re.search(r"<(link|img|iframe|object)\b|src=|@import|url\(", html)


def test_projects_tags_and_templates_on_the_tiny_cycle(tiny):
    config, normalized = tiny()
    doc = build_documents(normalized, ["E3"], leveling=load_leveling(config), today=TODAY)[0]
    craft, impact = doc.criteria
    assert [p for p, _ in craft.projects] == ["acme/api", "No project"]  # tags match ignoring case and spaces
    assert [p for p, _ in impact.projects] == ["Apollo", "OPS"]  # the project column wins; a tracker key
    assert [e.title for e in doc.untagged] == ["[Guild] Talk on caching"]
    assert craft.current == "Works alone in one area." and craft.growth == "The team's expert in one area."
    assert impact.next_level == "L4" and impact.growth == "Moves the team's key results."
    links = {link.label: link for link in doc.work}
    assert links["Merged pull requests"].url == "https://github.com/search?q=author:cy%20dev+merged:>=2026-01-01"
    assert links["By name"].url == (
        "https://kudos.example/?who=%3Cscript%3Ealert%28%27n%27%29%3C%2Fscript%3E%20O%27Dev&id=E3&c=2026-H1&to=2026-06-30"
    )
    no_handle = build_documents(normalized, ["E4"], leveling=load_leveling(config), today=TODAY)[0]
    assert {link.label: link.note for link in no_handle.work}["Merged pull requests"] == (
        "needs a handle for this person in people"
    )
    assert "- Merged pull requests (needs a handle for this person in people)" in render_markdown(no_handle)


@pytest.mark.parametrize(
    ("url", "title", "project"),
    [
        ("https://github.com/acme/api/pull/7", "x", "acme/api"),
        ("https://gitlab.example/group/repo/-/merge_requests/3", "x", "group/repo"),
        ("https://jira.example/browse/PAY-42", "x", "PAY"),
        ("https://docs.example.com/observability/postmortem-1", "x", "observability"),
        (None, "[Checkout] Retry payments", "Checkout"),
        ("javascript:alert(1)", "Postmortem: outage", "No project"),
    ],
)
def test_project_rule(url, title, project):
    assert project_of(url, title) == project


def test_safe_url_keeps_only_http_addresses():
    assert safe_url("https://a.example/x?y=1") == "https://a.example/x?y=1"
    for bad in (
        "javascript:alert(1)",
        " JaVaScRiPt:alert(1)",
        "data:text/html,x",
        "/relative",
        "https://",
        None,
        3,
        "https://a.example/x y",
        "vbscript:x",
    ):
        assert safe_url(bad) is None


def test_telemetry_only_as_policy_allowed_context(tiny):
    config, normalized = tiny(inputs="  telemetry: telemetry.csv\n", **{"telemetry.csv": TELEMETRY})
    doc = build_documents(normalized, ["E3"], leveling=load_leveling(config), today=TODAY)[0]
    assert doc.person_context == (("pr_count", 12.0), ("review_latency_hours", 5.5))  # by name, never by value
    md = render_markdown(doc)
    assert "## Person context (context, not a score)" in md and "lines\\_of\\_code" not in md
    assert "lines_of_code" not in render_html(doc) and "deployment_frequency" not in md
    assert "Context, not a score." in render_html(doc)


def test_bad_templates_links_and_frameworks_are_config_errors(tiny):
    config, _ = tiny(keys=TINY_KEYS.replace("{start}", "{started}"))
    with pytest.raises(ConfigError) as caught:
        check_work_queries(config)
    assert "work_queries.merged_prs" in str(caught.value) and "{started} is not one" in str(caught.value)
    config, normalized = tiny(keys=TINY_KEYS.replace('"https://handbook.example/process"', '"javascript:alert(1)"'))
    with pytest.raises(ConfigError, match="links.process"):
        build_documents(normalized, ["E3"], today=TODAY)
    config, _ = tiny(leveling=None)
    with pytest.raises(ConfigError, match="leveling.yml"):
        load_leveling(config)
    config, _ = tiny(leveling=TINY_LEVELING.replace("L5: Sets direction.", "L9: Beyond."))
    with pytest.raises(ConfigError, match=r"criteria.Craft.levels.*L9"):
        load_leveling(config)


def test_without_a_framework_the_criteria_come_from_the_inputs(tiny):
    config, normalized = tiny(keys="")
    assert load_leveling(config) is None
    doc = build_documents(normalized, ["E3"], today=TODAY)[0]
    assert [c.name for c in doc.criteria] == ["Craft", "Impact"]  # from the evidence tags (no criteria_scores)
    md = render_markdown(doc)
    assert "No leveling framework configured" in md and "No reference links configured" in md
    assert "No search links configured" in md and "## Expectations" not in md


def test_unknown_people_are_usage_errors_naming_the_id(sample):
    normalized, leveling = sample
    with pytest.raises(UsageError, match="E9999"):
        build_documents(normalized, ["E9999"], leveling=leveling)
    with pytest.raises(UsageError, match="no cycle '2031-H1'"):
        build_documents(normalized, ["E0025"], cycle="2031-H1")


def test_work_links_encode_values():
    config = load_config(SAMPLE / "cycle.yml")
    person = {"employee_id": "E1", "name": "Kenji O'Brien", "handle": "kenji obrien&x=1"}
    links = work_links(config, person, H1)
    assert links[0].url.startswith("https://github.com/search?q=is:pr+is:merged+author:kenji%20obrien%26x%3D1+")


# -- the command line -----------------------------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "calib.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=300
    )


def test_cli_writes_one_markdown_and_one_html_per_direct_report(tmp_path):
    out = tmp_path / "docs"
    run = cli("alignment", "data_samples/cycle.yml", "--manager", "E0049", "--out", str(out))
    assert run.returncode == 0, run.stderr
    reports = sorted(pd.read_csv(SAMPLE / "people.csv").query("manager_id == 'E0049'")["employee_id"])
    assert len(reports) == 9
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{i}.md" for i in reports] + [f"{i}.html" for i in reports]
    )
    assert "Wrote 9 alignment document(s) for the E0049 team, 2026-H1 (end of cycle)" in run.stdout
    html = (out / "E0025.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html and "Adebayo Huang" in html


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--employee", "E9999"], "no person with employee_id 'E9999' in people.csv"),
        (["--manager", "E9998"], "no person with employee_id 'E9998'"),
        (["--manager", "E0025"], "E0025 has no direct reports"),
        (["--employee", "E0025", "--cycle", "2031-H1"], "no cycle '2031-H1'"),
    ],
)
def test_cli_bad_ids_exit_1_with_a_clear_message_and_no_traceback(tmp_path, args, message):
    run = cli("alignment", "data_samples/cycle.yml", *args, "--out", str(tmp_path / "out"))
    assert run.returncode == 1
    assert message in run.stderr and "Traceback" not in run.stderr + run.stdout
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_bench_alignment_reports_its_timing():
    from calib.bench.alignment import run

    lines = run()
    assert "12 direct reports" in lines[0] and re.search(r"24 files\): \d+\.\d\d s", lines[1])
    assert re.search(r"imports included: \d+\.\d\d s$", lines[2])


def test_light_threshold_is_the_evidence_modules():
    from calib.analyses import evidence
    from calib.outputs.alignment import render as alignment_render

    assert alignment_render.LIGHT_MIN_EXAMPLES == evidence.LIGHT_MIN_EXAMPLES


def test_sample_leveling_framework_covers_every_criterion_and_level():
    config = load_config(SAMPLE / "cycle.yml")
    leveling = load_leveling(config)
    assert [c.name for c in leveling.criteria] == ["Mastery", "Impact", "Autonomy", "Collaboration"]
    scored = set(pd.read_csv(SAMPLE / "criteria_scores.csv")["criterion"])
    assert scored == {c.name for c in leveling.criteria}
    for criterion in leveling.criteria:
        assert criterion.description and list(criterion.levels) == config.levels
        assert all(0 < len(text) < 200 for text in criterion.levels.values())
    assert Path(config.base_dir / config.leveling_framework).name == "leveling.yml"
