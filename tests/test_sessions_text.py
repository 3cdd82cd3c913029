"""Reasons, notes and authors: limits and control characters refused at entry; older logs shown and exported safely."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys

import openpyxl
import pytest
from conftest import ROOT

from calib.inputs.config import load_config
from calib.sessions import SessionError, open_session
from calib.sessions.changes import check_author, check_text
from calib.sessions.events import Draft
from calib.sessions.store import SessionStore

RAW = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # what a terminal could act on (line breaks and tabs aside)
OLD_AUTHOR = "Ev\x1b]0;pwned\x07il"  # sets the terminal's title where echoed raw
OLD_REASON = "see\x0bhere\x1b[2J"  # a vertical tab (XLSX refuses it) and a clear-screen sequence
LONG = "long " * 8000  # 40,000 characters: past Excel's 32,767


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x" * 4001, "the reason is 4,001 characters long: at most 4,000 (link a longer document instead)"),
        ("x" * 50_000_000, "the reason is 50,000,000 characters long: at most 4,000"),
        (
            "\x1b[31mred",
            "the reason holds the control character U+001B (ESC) at character 1: only line breaks and tabs",
        ),
        ("a\x0bb", "the reason holds the control character U+000B (VT) at character 2"),
        ("a\r\nb", "the reason holds the control character U+000D (CR) at character 2"),
        ("a\u009b31m", "the reason holds the control character U+009B (CSI) at character 2"),
        ("a\x00b", "the reason holds the control character U+0000 (NUL) at character 2"),
        ("bad \udcff byte", "the reason holds the control character U+DCFF at character 5"),
    ],
)
def test_reasons_beyond_the_limits_are_refused_in_one_line(text, message):
    with pytest.raises(SessionError) as refused:
        check_text(text, "the reason", required=True)
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)


def test_what_a_reason_and_an_author_may_hold():
    kept = 'two lines\n\tand a tab, Zoë ✓ "quoted" =1+1 <b>'
    assert check_text(kept, "the note", required=True) == kept
    assert check_text("x" * 4000, "the note", required=True) == "x" * 4000
    assert check_author("Zoë Ana-María O'Neil") == "Zoë Ana-María O'Neil"
    for author, message in (
        ("Ana\nBo", "the author (--by) holds the control character U+000A (LF) at character 4: a name is one line"),
        ("Ana\tBo", "U+0009 (TAB) at character 4"),
        ("\x1b]0;x\x07", "U+001B (ESC) at character 1"),
        ("A" * 201, "the author (--by) is 201 characters long: at most 200"),
    ):
        with pytest.raises(SessionError, match=re.escape(message)):
            check_author(author)


def test_the_session_refuses_them_before_writing(tiny_cycle, store_url):
    config = load_config(tiny_cycle())
    with open_session(config, "q3", store=store_url, by="Ana") as session:
        for attempt, message in (
            (lambda: session.set_rating("E3", "Exceeds", reason="r" * 50_000_000, by="Ana"), "50,000,000 characters"),
            (lambda: session.note("E3", "\x1b[2J", by="Ana"), "the note holds the control character U+001B"),
            (lambda: session.flag("E3", reason="a\x0bb", by="Ana"), "U+000B (VT)"),
            (lambda: session.lock(by="Fa\x1b[2J"), "the author (--by) holds"),
        ):
            with pytest.raises(SessionError, match=re.escape(message)):
                attempt()
        assert not session.exists
    with pytest.raises(
        SessionError, match=re.escape("the session name (--session) holds the control character U+001B")
    ):
        open_session(config, "q3\x1b[2J", store=store_url, by="Ana")


def calib(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "calib.cli", "session", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_an_older_log_prints_escaped_and_still_exports_to_xlsx(tiny_cycle, store_url, tmp_path):
    config_path = tiny_cycle()
    config = load_config(config_path)
    with open_session(config, "old", store=store_url, by="Ana") as session:
        session.set_rating("E3", "Far exceeds", reason="r", by="Ana")
    with SessionStore(store_url) as store:  # written as calib did before these rules: only NUL was refused
        record = store.find("2026-H1", "old")
        store.append(
            record,
            "E4",
            lambda snapshot: [
                Draft(
                    kind="rating",
                    author=OLD_AUTHOR,
                    employee_id="E4",
                    from_value="Meets",
                    to_value="Exceeds",
                    base_version=0,
                    version=1,
                    reason=OLD_REASON,
                ),
                Draft(kind="note", author=OLD_AUTHOR, employee_id="E4", reason=LONG),
            ],
        )
    common = ["--session", "old", "--store", store_url]
    printed = [
        calib("log", str(config_path), *common),
        calib("log", str(config_path), *common, "--format", "json"),
        calib("verify", str(config_path), *common),
        stale := calib(
            "set",
            str(config_path),
            *common,
            "--employee",
            "E4",
            "--rating",
            "Meets",
            "--reason",
            "r",
            "--by",
            "Bo",
            "--expect-version",
            "0",
        ),
    ]
    assert [run.returncode for run in printed] == [0, 0, 0, 1], [run.stderr for run in printed]
    for run in printed:
        assert not RAW.search(run.stdout + run.stderr), run.stdout[-500:] + run.stderr
    assert "\\x1b]0;pwned\\x07" in printed[0].stdout and "see\\x0bhere\\x1b[2J" in printed[0].stdout
    events = json.loads(printed[1].stdout)["events"]
    assert events[2]["author"] == OLD_AUTHOR and events[2]["reason"] == OLD_REASON  # JSON: verbatim, escaped
    assert stale.stderr.startswith("error: E4 was changed by Ev\\x1b]0;pwned\\x07il (version 1, ")

    xlsx = calib("export", str(config_path), *common, "--out", str(tmp_path / "out" / "old.xlsx"))
    assert xlsx.returncode == 0, xlsx.stderr
    notes = [line for line in xlsx.stdout.splitlines() if line.startswith("note: ")]
    assert notes == [
        f"note: {tmp_path / 'out' / 'old.xlsx'}: 3 cell(s) of the sheet log held control characters XLSX cannot "
        "store: written escaped (\\x0b); the CSV export keeps them as stored",
        f"note: {tmp_path / 'out' / 'old.xlsx'}: 1 cell(s) of the sheet log were longer than Excel's 32,767 "
        "characters: cut there, with a marker saying so; the CSV export keeps them whole",
    ]
    log = list(openpyxl.load_workbook(tmp_path / "out" / "old.xlsx")["log"].iter_rows(min_row=2, values_only=True))
    assert log[2][4] == "Ev\\x1b]0;pwned\\x07il" and log[2][11] == "see\\x0bhere\\x1b[2J"
    assert len(log[3][11]) == 32_767 and log[3][11].endswith(
        " [cut here: 40,000 characters, Excel keeps 32,767; the CSV export holds them all]"
    )
    assert calib("export", str(config_path), *common, "--out", str(tmp_path / "out" / "old.csv")).returncode == 0
    rows = list(csv.DictReader((tmp_path / "out" / "old-log.csv").open(encoding="utf-8", newline="")))
    assert rows[2]["reason"] == OLD_REASON and rows[3]["reason"] == LONG and rows[2]["author"] == OLD_AUTHOR
