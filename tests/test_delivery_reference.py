"""Team DORA and SLO tables held to the figures calib gave before the delivery stage moved into the engine,
on every engine: DuckDB, PostgreSQL (a real throwaway server) and Spark (the shared local session).

`tests/data/delivery_reference/*.csv` were written by the pandas implementation (commit 9ce8a12)
for the sample org (per cycle and per month), the tiny hand-checked cycle and every scenario of
Apache DevLake's fixtures (as tests/test_devlake_conformance.py loads them). Floats are written
as their repr, so the comparison below is to 1e-12, not to a printed rounding. `warnings.json`
holds each case's validation warnings as DuckDB words them; every engine must give the same.
To rewrite them (only when a definition changes on purpose, with the change in the README):
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
WARNINGS = REFERENCE / "warnings.json"
TOLERANCE = 1e-12
ENGINES = ["duckdb", "postgres", "pyspark"]


def _tiny(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in TINY_FILES.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / "cycle.yml").write_text(TINY_CONFIG, encoding="utf-8")
    return folder / "cycle.yml"


def reference_tables(work: Path, engine: str | None = None) -> tuple[dict[str, pd.DataFrame], dict[str, list[str]]]:
    """Every table the reference holds, computed by the code as it is now on `engine` (default DuckDB),
    and each case's warnings: (name -> frame, case -> warning lines)."""
    from test_devlake_conformance import SCENARIOS, _load, devlake_folder

    tables: dict[str, pd.DataFrame] = {}
    warnings: dict[str, list[str]] = {}
    cases = {"sample": ROOT / "data_samples" / "cycle.yml", "tiny": _tiny(work / "tiny")}
    for case, path in cases.items():
        data = load_cycle(load_config(path).with_engine(engine))
        cycles = periods_from_cycles(data.config.cycles)
        months = monthly_periods(cycles[0].start, cycles[-1].end)
        tables[f"{case}__dora_cycles"] = team_dora(data, cycles)
        tables[f"{case}__dora_months"] = team_dora(data, months)
        for name, periods in (("cycles", cycles), ("months", months)):
            slos = team_slos(data.table("slos"), data["services"], periods, engine=data.engine)
            tables[f"{case}__slos_{name}"] = slos
        warnings[case] = _said(data.warnings, work)
        data.engine.close()
    folder = devlake_folder()
    results = json.loads((folder / "dashboard_results.json").read_text(encoding="utf-8"))["scenarios"]
    for key in SCENARIOS:
        loaded = _load(folder, key, results[key], work / key.replace("/", "__"), engine)
        assert loaded.data is not None and not loaded.errors, loaded.errors
        case = f"devlake__{key.replace('/', '__')}"
        tables[f"{case}__dora"] = team_dora(loaded.data, periods_from_cycles(loaded.data.config.cycles))
        warnings[case] = _said(loaded.data.warnings, work)
        loaded.data.engine.close()
    return tables, warnings


def _said(problems: list, work: Path) -> list[str]:
    """The warnings as a person reads them, without the folders of this run (temporary, or ../shared)."""
    return sorted(str(p).replace(str(work), "WORK").replace(str(ROOT.parent), "..") for p in problems)


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


def write_reference(tables: dict[str, pd.DataFrame], warnings: dict[str, list[str]]) -> None:
    """Each table as a CSV of exact cells (floats as repr, missing as empty); the warnings as JSON."""
    REFERENCE.mkdir(parents=True, exist_ok=True)
    for name, frame in tables.items():
        text = frame.astype(object).map(_cell)
        text.to_csv(REFERENCE / f"{name}.csv", index=False, lineterminator="\n")
    WARNINGS.write_text(json.dumps(warnings, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


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


@pytest.fixture(scope="module", params=ENGINES)
def computed(request, tmp_path_factory) -> tuple[str, dict[str, pd.DataFrame], dict[str, list[str]]]:
    """(engine, tables, warnings) of every case, computed once per engine."""
    engine = request.param
    url = None
    if engine == "postgres":
        url = request.getfixturevalue("postgres_server").create_database().replace("postgresql+psycopg://", "postgres://")
    elif engine == "pyspark":
        url = request.getfixturevalue("spark")
    return (engine, *reference_tables(tmp_path_factory.mktemp(f"reference-{engine}"), url))


def test_the_reference_covers_every_case(computed):
    _, tables, warnings = computed
    assert sorted(p.stem for p in REFERENCE.glob("*.csv")) == sorted(tables)
    assert sorted(json.loads(WARNINGS.read_text(encoding="utf-8"))) == sorted(warnings)


@pytest.mark.parametrize("name", sorted(p.stem for p in REFERENCE.glob("*.csv")))
def test_delivery_tables_equal_the_reference(computed, name):
    engine, tables, _ = computed
    expected = pd.read_csv(REFERENCE / f"{name}.csv", dtype=str, keep_default_na=False)
    assert _same(f"{name} on {engine}", expected, tables[name]) == []


def test_every_engine_gives_the_same_warnings(computed):
    engine, _, warnings = computed
    expected = json.loads(WARNINGS.read_text(encoding="utf-8"))
    assert sum(len(lines) for lines in expected.values()) > 600  # the sample's 605, and the others'
    for case, lines in expected.items():
        assert warnings[case] == lines, f"{case} on {engine}"


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as work:
        write_reference(*reference_tables(Path(work)))
    print(f"wrote {len(list(REFERENCE.glob('*.csv')))} tables and the warnings to {REFERENCE}")
