"""Notebook conventions: stripped outputs, one typed `parameters` cell, an in-sync jupytext pair."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import jupytext
import papermill
import pytest
from conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
EXPECTED = {"cycle_report.ipynb", "calibration_dashboard.ipynb", "team_explorer.ipynb"}


def test_the_three_notebooks_exist():
    assert EXPECTED <= {p.name for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path: Path):
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        assert not cell.get("outputs") and not cell.get("execution_count"), path.name
        assert "ExecuteTime" not in cell.get("metadata", {})
    assert "widgets" not in notebook["metadata"], "widget state is committed"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_one_parameters_cell_after_the_title_with_typed_commented_literals(path: Path):
    cells = json.loads(path.read_text())["cells"]
    tagged = [i for i, c in enumerate(cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one parameters cell"
    assert cells[0]["cell_type"] == "markdown" and tagged[0] == 1, "the title, then the parameters"
    source = "".join(cells[1]["source"])
    for statement in ast.parse(source).body:
        assert isinstance(statement, ast.AnnAssign), f"typed: {ast.unparse(statement)}"
        ast.literal_eval(statement.value)  # a literal, so papermill can override it
    for line in source.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            assert "#" in line, f"a help comment on: {line}"
    inspected = papermill.inspect_notebook(str(path))
    assert inspected and all(p["help"] for p in inspected.values())


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_paired_script_matches(path: Path):
    script = path.with_suffix(".py")
    assert script.is_file(), f"{script.name}: the jupytext py:percent pair"
    from_script = jupytext.read(script)
    from_notebook = jupytext.read(path)
    assert [c.source for c in from_script.cells] == [c.source for c in from_notebook.cells]
