"""The command line as a user meets it: real processes, exit codes, no tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

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


# -- issue 17: the command alone, its version, and inputs a careless user gives -----------------------


def test_calib_alone_prints_the_help_and_version_prints_the_version():
    alone = calib()
    assert alone.returncode == 0 and alone.stderr == ""
    assert alone.stdout.startswith("usage: calib ") and "validate" in alone.stdout and "--version" in alone.stdout
    version = calib("--version")
    assert (version.returncode, version.stdout) == (0, "calib 0.1.0\n")


def test_a_config_path_that_is_a_folder_or_a_typo_is_one_line_and_exit_1(tiny_cycle):
    config = tiny_cycle()
    folder = calib("validate", str(config.parent))
    assert (folder.returncode, folder.stderr.splitlines()[0]) == (
        1,
        f"error: {config.parent}: expected a cycle config file (YAML), but it is a folder (did you mean {config}?)",
    )  # was exit 3, "internal error (IsADirectoryError ...)"
    typo = calib("validate", str(config.parent / "cylce.yml"))
    assert (typo.returncode, typo.stderr.splitlines()[0]) == (
        1,
        f"error: {config.parent / 'cylce.yml'}: expected a cycle config file (YAML), but there is no such file "
        f"(did you mean {config}?)",
    )


def test_an_output_folder_that_is_a_file_is_one_line_and_exit_1(tiny_cycle, tmp_path):
    taken = tmp_path / "taken.txt"
    taken.write_text("mine")
    run = calib("analyze", str(tiny_cycle()), "--out", str(taken / "analysis"))
    assert (run.returncode, run.stderr) == (1, f"error: {taken / 'analysis'}: Not a directory\n")  # was exit 3
    assert taken.read_text() == "mine"


def _peak_rss_mb(*args: str) -> tuple[int, str]:
    """Run calib; its exit code and stderr, and its own peak resident memory (from wait4, not the suite's)."""
    with tempfile.TemporaryFile() as err:
        child = subprocess.Popen(
            [sys.executable, "-m", "calib.cli", *args], stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT
        )
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return child.returncode, err.read().decode(), usage.ru_maxrss // 1024


def test_a_file_with_no_line_break_fails_at_once_in_bounded_memory(tiny_cycle):
    config = tiny_cycle()
    *_, baseline = _peak_rss_mb("validate", str(config))  # every input read and checked
    with (config.parent / "evidence.csv").open("wb") as file:  # 160 MB, no line break: once 1.6 GB and 18 s
        for _ in range(160):
            file.write(b"x" * (1 << 20))
    code, stderr, peak = _peak_rss_mb("validate", str(config))
    assert code == 1 and stderr.splitlines()[0] == (
        "error: evidence.csv, row 1: expected rows of at most 2 MiB, but this one runs on past 2 MiB without a "
        "line break (is it a CSV file?)"
    )
    assert peak < baseline + 64, (peak, baseline)  # read 2 MiB at a time, never the file
