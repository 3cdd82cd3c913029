"""Delivery inputs in PostgreSQL: the sample org's tables on a real server give the files' figures.

The server is the throwaway one of tests/pg_server.py (Debian's binaries, a unix socket in a temp
folder); never mocked. The sample org's deployments, changes and incidents are loaded into it as
tables with their types, and a copy of the sample config names those tables instead of the files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
from conftest import ROOT

from calib.cli import main
from calib.delivery.dora import periods_from_cycles, team_dora
from calib.delivery.engine import connect
from calib.delivery.sources import load_cycle
from calib.errors import InputError
from calib.inputs.config import load_config

SAMPLE = ROOT / "data_samples"
EVENTS = ("deployments", "changes", "incidents", "slos")
TYPES = {"finished_at": "time", "created_at": "time", "started_at": "time", "resolved_at": "time", "window_end": "time"}
NUMBERS = ("target", "window_days", "good_events", "total_events")


def ibis_url(sqlalchemy_url: str) -> str:
    """postgresql+psycopg://postgres@/db?host=..&port=.. -> the Ibis URL of the same database."""
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgres://", 1)


@pytest.fixture(scope="module")
def lake(postgres_server) -> str:
    """A database holding the sample org's event tables, typed; its Ibis URL."""
    url = ibis_url(postgres_server.create_database())
    engine = connect(url)
    for name in EVENTS:
        frame = pd.read_csv(SAMPLE / f"{name}.csv", dtype=str)
        for column in frame.columns.intersection(list(TYPES)):
            frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
        for column in frame.columns.intersection(NUMBERS):
            frame[column] = frame[column].astype("float64")  # SLO targets in percent become ratios on the server
        engine.backend.create_table(name, frame)
    return url


def _config(folder: Path, url: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for file in SAMPLE.iterdir():
        if file.name not in {f"{name}.csv" for name in EVENTS}:
            shutil.copy(file, folder / file.name)
    text = (SAMPLE / "cycle.yml").read_text(encoding="utf-8")
    for name in EVENTS:
        text = text.replace(f"  {name}: {name}.csv", f"  {name}: {{connection: '{url}', table: {name}}}")
    (folder / "cycle.yml").write_text(text, encoding="utf-8")
    return folder / "cycle.yml"


def test_analyze_on_postgres_tables_writes_the_team_dora_of_the_files(lake, tmp_path, capsys):
    config = _config(tmp_path / "cycle", lake)
    assert main(["analyze", str(SAMPLE / "cycle.yml"), "--out", str(tmp_path / "files")]) == 0
    assert main(["analyze", str(config), "--out", str(tmp_path / "postgres")]) == 0
    for table in ("team_dora.csv", "team_slos.csv"):
        files = (tmp_path / "files" / "tables" / table).read_text(encoding="utf-8")
        assert (tmp_path / "postgres" / "tables" / table).read_text(encoding="utf-8") == files
    findings = json.loads((tmp_path / "postgres" / "findings.json").read_text(encoding="utf-8"))
    schema = json.loads((ROOT / "lib" / "calib" / "analyses" / "findings.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(findings, schema)
    lineage = findings["inputs"]["deployments"]
    assert (lineage["table"], lineage["sha256"], lineage["connection"]) == ("deployments", None, lake)


def test_postgres_inputs_are_checked_on_the_server_and_named_by_id(lake, tmp_path, postgres_server):
    engine = connect(lake)
    bad = pd.DataFrame(
        {
            "incident_id": ["INC-X", "INC-X"],
            "service": ["nowhere", "nowhere"],
            "started_at": pd.to_datetime(["2026-02-01T10:00:00Z", "2026-02-01T11:00:00Z"], utc=True),
            "resolved_at": pd.to_datetime(["2026-02-01T09:00:00Z", None], utc=True),
            "caused_by_deployment_id": [None, "D-NOWHERE"],
        }
    )
    engine.backend.create_table("bad_incidents", bad)
    config = _config(tmp_path / "cycle", lake.replace("postgres://", "postgres://postgres:pw@", 1).replace("@@", "@"))
    text = config.read_text(encoding="utf-8").replace("table: incidents", "table: bad_incidents")
    config.write_text(text, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        load_cycle(load_config(config))
    errors = [p for p in caught.value.problems if p.severity == "error"]
    said = {(p.file, p.key, p.column, p.expected) for p in errors}
    assert ("table bad_incidents", "incident_id INC-X", "resolved_at", "a time on or after started_at") in said
    assert {(p.file, p.column, p.expected) for p in errors} >= {
        ("table bad_incidents", "incident_id", "an incident_id used only once")
    }
    warnings = {str(p) for p in caught.value.problems if p.severity == "warning"}
    assert (
        "warning: table bad_incidents, incident_id INC-X, column caused_by_deployment_id: value 'D-NOWHERE': "
        "expected a deployment_id in table deployments"
    ) in warnings  # a check across tables names the row by its id too
    assert all("pw" not in str(p) for p in caught.value.problems)
    sources = load_cycle(load_config(_config(tmp_path / "ok", lake))).sources
    assert (sources["deployments"].engine, sources["deployments"].table) == ("postgres", "deployments")
    assert sources["deployments"].rows == len(pd.read_csv(SAMPLE / "deployments.csv"))


DEVLAKE = ROOT.parent / "shared" / "external" / "devlake" / "dora_e2e" / "change_lead_time"  # ../shared


def _devlake_cycle(folder: Path, deployments: str, changes: str) -> Path:
    """A cycle over DevLake's change_lead_time tables (projects are teams), events as given."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "people.csv").write_text(
        "employee_id,name,manager_id,team,discipline,level\nP1,Pat Lead,,project1,engineering,L5\n"
        "P2,Sam Dev,P1,project1,engineering,L3\n",
        encoding="utf-8",
    )
    (folder / "reviews.csv").write_text("cycle,employee_id,reviewer_id,rating\n2023,P2,P1,Meets\n", encoding="utf-8")
    (folder / "cycle.yml").write_text(
        "cycle: '2023'\ncycles:\n  - {id: '2023', start: 2023-01-01, end: 2023-12-31}\n"
        "rating_scale: [Below, Meets, Above]\ninputs:\n  people: people.csv\n  reviews: reviews.csv\n"
        f"  services: {{path: '{DEVLAKE / 'project_mapping.csv'}'}}\n"
        f"  deployments: {deployments}\n  changes: {changes}\n"
        "columns:\n  services: {row_id: service, project_name: team}\n",
        encoding="utf-8",
    )
    return folder / "cycle.yml"


def test_devlakes_own_tables_in_the_database_give_the_figures_of_their_exports(postgres_server, tmp_path):
    """DevLake's domain tables (typed, as DevLake keeps them) named in the config with `format: devlake`."""
    if not DEVLAKE.is_dir():
        pytest.fail(f"DevLake's test tables are missing: expected {DEVLAKE} (shared/ beside the repository)")
    url = ibis_url(postgres_server.create_database())
    engine = connect(url)
    for table in ("cicd_deployment_commits", "project_pr_metrics"):
        frame = pd.read_csv(DEVLAKE / f"{table}.csv", dtype=str, keep_default_na=False).replace("", None)
        for column in [c for c in frame.columns if c.endswith("_date")]:
            frame[column] = pd.to_datetime(frame[column], utc=True, format="mixed")
        engine.backend.create_table(table, frame)
    files = _devlake_cycle(
        tmp_path / "files",
        f"{{path: '{DEVLAKE / 'cicd_deployment_commits.csv'}', format: devlake}}",
        f"{{path: '{DEVLAKE / 'project_pr_metrics.csv'}', format: devlake}}",
    )
    tables = _devlake_cycle(
        tmp_path / "tables",
        f"{{connection: '{url}', table: cicd_deployment_commits, format: devlake}}",
        f"{{connection: '{url}', table: project_pr_metrics, format: devlake}}",
    )
    from_files, from_tables = (load_cycle(load_config(path)) for path in (files, tables))
    source = from_tables.sources["deployments"]
    assert (source.engine, source.table, source.format) == ("postgres", "cicd_deployment_commits", "devlake")
    expected, got = (team_dora(data, periods_from_cycles(data.config.cycles)) for data in (from_files, from_tables))
    assert expected["deployments"].sum() > 0 and expected["lead_time_n"].sum() > 0
    pd.testing.assert_frame_equal(got, expected)


def test_percent_targets_become_the_ratios_a_person_wrote_on_the_server_too(lake):
    from decimal import Decimal

    from calib.delivery.checks import canonical

    targets = sorted({round(1 + i * 0.0099, places) for i in range(10_000) for places in (1, 2, 3, 4)} - {1.0})
    frame = pd.DataFrame({"_row": range(len(targets)), "slo_name": "x", "target": targets})
    for engine in (connect(lake), connect()):
        got = engine.execute(canonical(engine.backend.create_table(f"targets_{engine.name}", frame, temp=True)), "x")
        expected = [float(Decimal(repr(t)) / 100) for t in got["_row"].map(dict(enumerate(targets)))]
        assert got["target"].tolist() == expected, engine.name  # 99.9 -> 0.999, never 0.9990000000000001


def test_times_without_a_zone_and_changes_after_their_deployment_are_said_on_the_server_too(lake, tmp_path):
    engine = connect(lake)
    odd = pd.DataFrame(  # text, as a table loaded from a CSV export holds it; D0000001 finished 2025-07-01T09:55:58Z
        {
            "change_id": ["X1", "X2", "X3"],
            "deployment_id": ["D0000001", "D0000001", "D0000001"],
            "created_at": ["2025-07-01T08:55:58Z", "2025-07-01T10:55:58+00:00", "2025-07-01 07:55:58"],
        }
    )
    engine.backend.create_table("odd_changes", odd)
    config = _config(tmp_path / "cycle", lake)
    config.write_text(config.read_text(encoding="utf-8").replace("table: changes", "table: odd_changes"))
    data = load_cycle(load_config(config))
    said = sorted(str(p) for p in data.warnings if p.column == "created_at")
    assert said == [
        "warning: table odd_changes, change_id X2, column created_at: value '2025-07-01T10:55:58+00:00': expected "
        "a time before its deployment D0000001 finished in production (2025-07-01T09:55:58+00:00): 1 change like "
        "this is left out of lead time",
        "warning: table odd_changes, change_id X3, column created_at: value '2025-07-01 07:55:58': expected a time "
        "zone, as the 2 other values in this column have (Z, +02:00, ...): 1 value without one was read as UTC",
    ]
    assert data.engine.name == "postgres"
