"""The command line as a user meets it: real processes, exit codes, no tracebacks."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def calib(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "calib.cli", *args], capture_output=True, text=True, cwd=ROOT, timeout=120
    )


def test_validate_prints_a_summary(tiny_cycle):
    run = calib("validate", str(tiny_cycle()))
    assert run.returncode == 0, run.stderr
    assert "Cycle 2026-H1" in run.stdout and "reviews" in run.stdout
    assert "Team delivery levels" in run.stdout and "low 1" in run.stdout
    assert "Warnings:" in run.stdout


def test_validate_lists_every_problem_without_a_traceback(tiny_cycle):
    reviews = "cycle,employee_id,reviewer_id,rating\n2026-H1,E3,E2,Great\n2026-H1,E3,E2,Meets\n2026-H1,E4,X9,Meets\n"
    run = calib("validate", str(tiny_cycle(files={"reviews.csv": reviews})))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr + run.stdout
    lines = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 3
    assert "error: reviews.csv, row 2, column rating: value 'Great': expected a rating on the scale" in run.stderr
    assert "reviews.csv, row 3, column cycle,employee_id" in run.stderr
    assert "reviews.csv, row 4, column reviewer_id: value 'X9'" in run.stderr


def test_missing_config_is_an_error_not_a_crash(tmp_path):
    run = calib("validate", str(tmp_path / "nope.yml"))
    assert run.returncode == 1 and "nope.yml" in run.stderr and "Traceback" not in run.stderr


def test_usage_error_exits_2():
    assert calib("frobnicate").returncode == 2


def test_impossible_sample_sizes_are_a_user_error(tmp_path):
    run = calib("generate-sample", "--out", str(tmp_path / "org"), "--people", "100", "--managers", "40")
    assert run.returncode == 1 and "internal error" not in run.stderr and "teams" in run.stderr
    assert not (tmp_path / "org").exists()


def test_a_people_file_saved_by_excel_on_windows_is_one_clear_error(tiny_cycle):
    from conftest import TINY_FILES

    people = TINY_FILES["people.csv"].replace("Cy Dev", "José Müller").encode("cp1252")
    run = calib("validate", str(tiny_cycle(files={"people.csv": people})))
    assert run.returncode == 1 and "Traceback" not in run.stderr + run.stdout
    errors = [line for line in run.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith("error: people.csv, row 4: expected UTF-8 text, but it looks like")
    assert "cp1252" in errors[0] and 'Save As > "CSV UTF-8 (Comma delimited)"' in errors[0]
