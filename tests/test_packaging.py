"""The environment is described once per tool, and the descriptions agree."""

from __future__ import annotations

import re
import tomllib

import yaml
from conftest import ROOT

CONDA_ONLY = {"python", "pip"}


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ ;\[]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_names_the_same_packages_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_name(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        declared |= {_name(r) for r in extra}
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())["dependencies"]
    named = set()
    for item in conda:
        if isinstance(item, dict):
            named |= {_name(r) for r in item.get("pip", [])}
        else:
            named.add(_name(item))
    assert named - CONDA_ONLY == declared


def test_every_declared_package_is_pinned_in_the_lock():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_name(r) for r in project["dependencies"]} | {
        _name(r) for extra in project["optional-dependencies"].values() for r in extra
    }
    pinned = {
        _name(line)
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.startswith(" ")
    }
    assert declared <= pinned


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    readme = (ROOT / "README.md").read_text()
    assert readme.index("make demo") < readme.index("make test") < 1500  # the first two commands
