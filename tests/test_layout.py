"""The package's shape: import contracts hold (and can fail), modules stay small, the front door works."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
MAX_LINES = 520  # "about 500": a module past this has outgrown one purpose


def lint_imports(package_parent: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=package_parent,
        env={"PYTHONPATH": str(package_parent), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )


def test_import_contracts_are_kept():
    done = lint_imports(ROOT / "lib")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout or "broken" not in done.stdout.lower()


def test_the_contracts_catch_a_cycle_and_an_upward_import(tmp_path):
    shutil.copytree(ROOT / "lib" / "calib", tmp_path / "calib", ignore=shutil.ignore_patterns("__pycache__"))
    with (tmp_path / "calib" / "outputs" / "report" / "prepare.py").open("a") as out:
        out.write("\nfrom calib.outputs.report import build  # a cycle with build\n")
    with (tmp_path / "calib" / "frame.py").open("a") as out:
        out.write("\nimport calib.apps.serve  # upward\n")
    with (tmp_path / "calib" / "analyses" / "runner.py").open("a") as out:
        out.write("\nimport calib.synth.org  # runtime code importing the generator\n")
    done = lint_imports(tmp_path)
    assert done.returncode != 0
    assert "calib.frame -> calib.apps.serve" in done.stdout
    assert ".prepare -> .build" in done.stdout
    assert "calib.analyses.runner -> calib.synth.org" in done.stdout


def test_no_module_outgrows_one_purpose():
    sizes = {p.relative_to(ROOT / "lib"): len(p.read_text().splitlines()) for p in (ROOT / "lib").rglob("*.py")}
    assert not {str(p): n for p, n in sizes.items() if n > MAX_LINES}


def test_every_subpackage_says_what_it_owns():
    for init in (ROOT / "lib" / "calib").rglob("__init__.py"):
        text = init.read_text()
        assert text.startswith('"""') and len(text.split('"""')[1].strip()) > 40, init


def test_the_front_door_runs_a_cycle_end_to_end():
    code = (
        "import sys, calib\n"
        "assert 'calib.analyses' not in sys.modules and 'pandas' not in sys.modules  # import calib is instant\n"
        "config = calib.open_cycle('data_samples/cycle.yml')\n"
        "analysis = calib.analyze(calib.normalize(calib.validate(config)))\n"
        "chart = calib.charts.caterpillar_chart(analysis.tables['manager_effects'])\n"
        "print(len(analysis.findings), type(chart).__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    count, kind = done.stdout.split()
    assert int(count) > 0 and kind in {"Chart", "LayerChart", "VConcatChart", "HConcatChart"}
