"""Team DORA and SLO tables held to the figures calib gave before the delivery stage moved into the engine.

`tests/data/delivery_reference/*.csv` were written by the pandas implementation (commit 9ce8a12)
for the sample org (per cycle and per month), the tiny hand-checked cycle and every scenario of
Apache DevLake's fixtures (as tests/test_devlake_conformance.py loads them). Floats are written
as their repr, so the comparison below is to 1e-12, not to a printed rounding. To rewrite them
(only when a definition changes on purpose, with the change in the README):
``python tests/test_delivery_reference.py``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import DATA, ROOT, TINY_CONFIG, TINY_FILES

from calib.delivery.dora import monthly_periods, periods_from_cycles, team_dora
from calib.delivery.slo import team_slos
from calib.delivery.sources import load_cycle
from calib.inputs.config import load_config

REFERENCE = DATA / "delivery_reference"
TOLERANCE = 1e-12


def _tiny(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in TINY_FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "cycle.yml").write_text(TINY_CONFIG, encoding="utf-8")
    return folder / "cycle.yml"


def reference_tables(work: Path) -> dict[str, pd.DataFrame]:
    """Every table the reference holds, computed by the code as it is now: name -> frame."""
    from test_devlake_conformance import SCENARIOS, _load, devlake_folder

    tables: dict[str, pd.DataFrame] = {}
    cases = {"sample": ROOT / "data_samples" / "cycle.yml", "tiny": _tiny(work / "tiny")}
    for case, path in cases.items():
        data = load_cycle(load_config(path))
        cycles = periods_from_cycles(data.config.cycles)
        months = monthly_periods(cycles[0].start, cycles[-1].end)
        tables[f"{case}__dora_cycles"] = team_dora(data, cycles)
        tables[f"{case}__dora_months"] = team_dora(data, months)
        tables[f"{case}__slos_cycles"] = team_slos(data["slos"], data["services"], cycles)
        tables[f"{case}__slos_months"] = team_slos(data["slos"], data["services"], months)
    folder = devlake_folder()
    results = json.loads((folder / "dashboard_results.json").read_text(encoding="utf-8"))["scenarios"]
    for key in SCENARIOS:
        loaded = _load(folder, key, results[key], work / key.replace("/", "__"))
        assert loaded.data is not None and not loaded.errors, loaded.errors
        tables[f"devlake__{key.replace('/', '__')}__dora"] = team_dora(
            loaded.data, periods_from_cycles(loaded.data.config.cycles)
        )
    return tables


def _cell(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, float | np.floating):
        return repr(float(value))
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    return str(value)


def write_reference(tables: dict[str, pd.DataFrame]) -> None:
    """Each table as a CSV of exact cells (floats as repr, missing as empty)."""
    REFERENCE.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        text = frame.astype(object).map(_cell)
        text.to_csv(REFERENCE / f"{name}.csv", index=False, lineterminator="\n")


def _same(name: str, expected: pd.DataFrame, actual: pd.DataFrame) -> list[str]:
    problems = []
    if list(actual.columns) != list(expected.columns):
        return [f"{name}: columns {list(actual.columns)} != {list(expected.columns)}"]
    if len(actual) != len(expected):
        return [f"{name}: {len(actual)} rows != {len(expected)}"]
    for column in expected.columns:
        for row, (want, got) in enumerate(zip(expected[column], actual[column].astype(object).map(_cell), strict=True)):
            if want == got:
                continue
            try:
                a, b = float(want), float(got)
            except ValueError:
                problems.append(f"{name} row {row} {column}: {got!r} != {want!r}")
                continue
            if not (math.isclose(a, b, rel_tol=TOLERANCE, abs_tol=TOLERANCE) or (math.isinf(a) and a == b)):
                problems.append(f"{name} row {row} {column}: {got!r} != {want!r}")
    return problems


@pytest.fixture(scope="module")
def computed(tmp_path_factory) -> dict[str, pd.DataFrame]:
    return reference_tables(tmp_path_factory.mktemp("reference"))


def test_the_reference_covers_every_case(computed):
    assert sorted(p.stem for p in REFERENCE.glob("*.csv")) == sorted(computed)


@pytest.mark.parametrize("name", sorted(p.stem for p in REFERENCE.glob("*.csv")))
def test_delivery_tables_equal_the_reference(computed, name):
    expected = pd.read_csv(REFERENCE / f"{name}.csv", dtype=str, keep_default_na=False)
    assert _same(name, expected, computed[name]) == []


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as work:
        write_reference(reference_tables(Path(work)))
    print(f"wrote {len(list(REFERENCE.glob('*.csv')))} tables to {REFERENCE}")
