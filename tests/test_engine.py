"""The delivery engine: one set of expressions, exact medians on every engine, SQL for warehouses."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pytest
from conftest import ROOT
from test_cli import calib
from test_delivery_reference import REFERENCE, _same

from calib.delivery import expressions
from calib.delivery.dora import dora_query, periods_from_cycles, team_dora
from calib.delivery.engine import ROW, Engine, Flavor, connect, redact
from calib.delivery.slo import slo_query
from calib.delivery.sources import load_cycle
from calib.inputs.config import load_config

DIALECTS = ["duckdb", "postgres", "snowflake", "bigquery", "trino"]
WITHOUT_MEDIAN = {"bigquery", "trino"}  # Ibis has no Median rule for these: the window form
SCHEMAS = {
    "deployments": {
        ROW: "int64",
        "deployment_id": "string",
        "service": "string",
        "finished_at": "timestamp('UTC')",
        "result": "string",
        "environment": "string",
        "deployment_commit_id": "string",
    },
    "changes": {ROW: "int64", "change_id": "string", "deployment_id": "string", "created_at": "timestamp('UTC')"},
    "incidents": {
        ROW: "int64",
        "incident_id": "string",
        "service": "string",
        "started_at": "timestamp('UTC')",
        "resolved_at": "timestamp('UTC')",
        "caused_by_deployment_id": "string",
    },
    "services": {ROW: "int64", "service": "string", "team": "string"},
    "slos": {
        ROW: "int64",
        "service": "string",
        "slo_name": "string",
        "target": "float64",
        "window_days": "float64",
        "good_events": "float64",
        "total_events": "float64",
        "window_end": "timestamp",
    },
}


@pytest.fixture(scope="module")
def sample():
    return load_cycle(load_config(ROOT / "data_samples" / "cycle.yml"))


def test_the_window_median_is_the_ordinary_median():
    rng = np.random.default_rng(3)
    values = rng.exponential(5, 400)
    groups = rng.integers(0, 9, 400)
    values[::17] = np.nan
    frame = pd.DataFrame({"g": groups, "x": values})
    engine = connect()
    table = engine.frame(frame)
    expected = frame.groupby("g")["x"].median()
    for builtin in (True, False):
        got = engine.execute(expressions.median(table, "x", ["g"], "m", builtin=builtin), "median")
        got = got.set_index("g")["m"].sort_index()
        assert np.allclose(got.to_numpy(), expected.to_numpy(), rtol=0, atol=1e-12)


def test_the_window_form_gives_the_reference_figures_on_the_sample(sample):
    engine = Engine(sample.engine.backend, median="window")
    assert not engine.builtin_median
    computed = team_dora(sample, periods_from_cycles(sample.config.cycles), engine=engine)
    expected = pd.read_csv(REFERENCE / "sample__dora_cycles.csv", dtype=str, keep_default_na=False)
    assert _same("sample (window median)", expected, computed) == []


def test_duckdbs_own_functions_give_the_portable_figures_and_leave_other_engines_alone(sample):
    periods = periods_from_cycles(sample.config.cycles)
    tables = {name: sample.table(name) for name in ("deployments", "incidents", "changes")}
    tables["services"] = sample.engine.frame(sample["services"])
    teams = sorted(sample["services"]["team"].unique())
    assert sample.engine.flavor == Flavor(builtin_median=True, duckdb=True)
    run = [
        sample.engine.execute(dora_query(tables, teams, periods, flavor=flavor).order_by(["team", "period"]), "x")
        for flavor in (Flavor(duckdb=True), Flavor(duckdb=False))
    ]
    pd.testing.assert_frame_equal(run[0], run[1])
    assert run[0]["time_to_restore_hours"].notna().sum() > 5 and run[0]["deployments"].sum() > 100
    portable = ibis.to_sql(dora_query(tables, ["api", "web"], periods), dialect="duckdb").upper()
    assert "EPOCH_US" not in portable and "ARG_MIN(" not in portable
    fast = ibis.to_sql(dora_query(tables, ["api", "web"], periods, flavor=Flavor(duckdb=True)), dialect="duckdb")
    assert "EPOCH_US" in fast.upper() and "ARG_MIN(" in fast.upper()


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_delivery_queries_compile_for_each_engine(sample, dialect):
    tables = {name: ibis.table(schema, name=name) for name, schema in SCHEMAS.items()}
    periods = periods_from_cycles(sample.config.cycles)
    builtin = dialect not in WITHOUT_MEDIAN
    dora = dora_query(tables, ["api", "web"], periods, flavor=Flavor(builtin_median=builtin))
    slos = slo_query(tables["slos"], tables["services"], periods, builtin_median=builtin)
    for query in (dora, slos):
        sql = ibis.to_sql(query, dialect=dialect)
        assert "cicd" not in sql and len(sql) > 500
        if builtin:
            assert any(word in sql.upper() for word in ("QUANTILE_CONT", "PERCENTILE_CONT", "MEDIAN("))
        else:
            assert "ROW_NUMBER()" in sql.upper() and "PERCENTILE" not in sql.upper()


def test_trino_has_no_median_in_ibis_hence_the_window_form():
    with pytest.raises(Exception, match="Median"):
        ibis.to_sql(ibis.table({"x": "float64"}, name="t").x.median().as_table(), dialect="trino")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgres://calib:s3cret@db.example:5432/lake", "postgres://calib:***@db.example:5432/lake"),
        (
            "postgresql://db.example/lake?user=calib&password=s3cret",
            "postgresql://db.example/lake?user=calib&password=***",
        ),
        ("duckdb://", "duckdb://"),
        ("sc://spark.example:443/;token=s3cret;use_ssl=true", "sc://spark.example:443/;token=***;use_ssl=true"),
    ],
)
def test_connection_strings_are_shown_without_their_password(url, shown):
    assert redact(url) == shown


def test_a_long_query_tells_how_far_along_it_is(monkeypatch):
    import calib.delivery.engine as engine_module

    monkeypatch.setattr(engine_module, "PROGRESS_SECONDS", 0.005)
    told: list[str] = []
    engine = connect()
    engine.backend.raw_sql("CREATE TABLE numbers AS SELECT range AS x FROM range(20000000)")
    numbers = engine.backend.table("numbers")
    engine.progress = told.append
    engine.execute(numbers.group_by(key=numbers.x % 2_000_003).agg(n=numbers.x.count()), "grouping")
    watched = [line for line in told if "grouping ... " in line and line.endswith(("%", "running"))]
    assert watched and "grouping: 2,000,003 rows back in" in told[-1]  # then the result, once


@pytest.mark.parametrize("dialect", [*DIALECTS, "pyspark", "databricks"])
def test_the_time_warnings_compile_for_each_engine(dialect):
    from calib.delivery import checks
    from calib.delivery.event_times import late_changes, zone_counts

    text = {ROW: "int64", "change_id": "string", "deployment_id": "string", "created_at": "string"}
    checked = checks.with_types(ibis.table(text, name="changes"), "changes")
    counts, columns = zone_counts(checked)
    assert columns == ["created_at"]
    assert any(word in ibis.to_sql(counts, dialect=dialect).upper() for word in ("REGEXP", "RLIKE", " ~ "))
    late = late_changes(checks.canonical(checked), ibis.table(SCHEMAS["deployments"], name="deployments"), "prod")
    assert "_FINISHED" in ibis.to_sql(late, dialect=dialect).upper()
# -- naming the engine --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("how", "engine", "said"),
    [
        ("--engine", "sparky", "error: --engine: value 'sparky': expected duckdb (the default), pyspark"),
        ("config", "mysql://calib:s3cret@db/lake", "key engine: expected duckdb (the default), pyspark"),
        ("--engine", "sc://127.0.0.1:{port}/;token=s3cret", "no Spark Connect server answers at 127.0.0.1:{port}"),
        ("config", "postgresql://calib:s3cret@127.0.0.1:{port}/lake", "error: cycle.yml, key engine: value 'postgresql://calib:***@127.0.0.1:{port}/lake'"),
    ],
)
def test_a_bad_or_unreachable_engine_is_one_line_and_exit_1_without_its_secret(tiny_cycle, how, engine, said):
    from calib.bench.dashboard import free_port

    port = str(free_port())
    engine, said = engine.replace("{port}", port), said.replace("{port}", port)
    if how == "config":
        run = calib("validate", str(tiny_cycle(config=lambda text: text + f"engine: '{engine}'\n")))
    else:
        run = calib("validate", str(tiny_cycle()), "--engine", engine)
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 1 and len([line for line in lines if line.startswith("error: ")]) == 1, run.stderr
    assert said in run.stderr and "s3cret" not in run.stderr + run.stdout and "Traceback" not in run.stderr


def test_the_engine_named_runs_the_delivery_stage_and_lineage_names_it(tiny_cycle, tmp_path):
    from calib.outputs.report.prepare import prepare_results, report_context
    from calib.outputs.report.sections import engine_header

    database = tmp_path / "lake.duckdb"
    config = tiny_cycle(config=lambda text: text + f"engine: 'duckdb://{database}'\n")
    prepared = prepare_results(config, tmp_path / "out")
    assert prepared.normalized.data.engine.url == f"duckdb://{database}" and database.is_file()
    assert prepared.lineage["engine"] == f"duckdb (duckdb://{database})"
    header = engine_header(report_context(tmp_path / "out", config))[0].text
    assert f"computed on **duckdb (duckdb://{database})**" in header.replace("\\", "")
    by_option = prepare_results(config, tmp_path / "again", engine="duckdb")
    assert by_option.lineage["engine"] == "duckdb"
