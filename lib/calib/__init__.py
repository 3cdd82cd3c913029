"""Calibration workbench for engineering performance reviews.

The front door for notebooks: the few calls an analyst types in JupyterLab.

>>> import calib
>>> config = calib.open_cycle("data_samples/cycle.yml")   # the cycle's YAML, checked
>>> data = calib.validate(config)                          # every input read and checked (InputError lists all)
>>> normalized = calib.normalize(data)                     # one row per person per cycle, team DORA and SLOs
>>> analysis = calib.analyze(normalized)                   # findings and tables
>>> calib.charts.caterpillar_chart(analysis.tables["manager_effects"])   # an altair chart

The data flow, one subpackage per stage (each says what it owns):
inputs -> delivery -> frame (and scope) -> analyses -> outputs / apps, with `privacy` (suppression
and the one blind-mode redaction layer), `files` (atomic, formula-safe writing) and `errors`
beneath them all; `synth` and `bench` sit beside and are never imported by runtime code.
Names here load lazily, so `import calib` stays instant.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from calib.analyses.runner import Analysis
    from calib.frame import Normalized
    from calib.inputs.config import CycleConfig
    from calib.inputs.validate import CycleData

_LAZY = {  # name -> (module, attribute or None for the module itself)
    "charts": ("calib.outputs.charts", None),
    "load_results": ("calib.analyses.results", "load_results"),
    "redaction": ("calib.privacy", "redaction"),
    "WorkbenchError": ("calib.errors", "WorkbenchError"),
    "InputError": ("calib.errors", "InputError"),
    "ConfigError": ("calib.errors", "ConfigError"),
}

__all__ = ["analyze", "normalize", "open_cycle", "validate", *_LAZY]


def open_cycle(path: str | Path) -> CycleConfig:
    """Load a cycle's YAML config (paths in it are relative to the file); raises ConfigError."""
    from calib.inputs.config import load_config

    return load_config(path)


def validate(config: CycleConfig | str | Path) -> CycleData:
    """Read and check every input of a cycle; raises InputError listing every problem."""
    from calib.delivery.sources import load_cycle

    return load_cycle(config if not isinstance(config, str | Path) else open_cycle(config))


def normalize(data: CycleData) -> Normalized:
    """The calibration frame (one row per person per cycle) with team DORA and SLO context."""
    from calib.frame import normalize as _normalize

    return _normalize(data)


def analyze(normalized: Normalized) -> Analysis:
    """Run every analysis once: findings, tables and the methods they used."""
    from calib.analyses.runner import run_analyses

    return run_analyses(normalized)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        module, attribute = _LAZY[name]
        found = import_module(module)
        return found if attribute is None else getattr(found, attribute)
    raise AttributeError(f"module 'calib' has no attribute {name!r}")
