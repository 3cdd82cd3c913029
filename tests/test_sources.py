"""Delivery inputs where they lie: files scanned by DuckDB, database tables, checks run as queries."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import TINY_FILES

from calib.delivery.dora import periods_from_cycles, team_dora
from calib.delivery.sources import load_cycle
from calib.errors import ConfigError, InputError, render_problems
from calib.inputs.config import load_config

DEPLOYMENTS = TINY_FILES["deployments.csv"]


def _dora(data) -> pd.DataFrame:
    return team_dora(data, periods_from_cycles(data.config.cycles))


def _parquet(csv_text: str, path, **types) -> None:
    from io import StringIO

    frame = pd.read_csv(StringIO(csv_text), dtype=str)
    for column, kind in types.items():
        frame[column] = pd.to_datetime(frame[column], utc=True) if kind == "time" else frame[column].astype(kind)
    frame.to_parquet(path, index=False)


def test_parquet_events_are_read_where_they_lie_and_give_the_same_figures(tiny_cycle):
    from_csv = load_cycle(load_config(tiny_cycle()))
    path = tiny_cycle()
    _parquet(DEPLOYMENTS, path.parent / "deployments.parquet", finished_at="time", lead_time_hours="float64")
    data = load_cycle(load_config(tiny_cycle(config=lambda t: t.replace("deployments.csv", "deployments.parquet"))))
    source = data.sources["deployments"]
    assert (source.engine, source.rows, source.path.name) == ("duckdb", 5, "deployments.parquet")
    assert len(source.sha256) == 64
    pd.testing.assert_frame_equal(_dora(data), _dora(from_csv))


def test_a_folder_of_parquet_files_is_one_input(tiny_cycle):
    path = tiny_cycle()
    folder = path.parent / "deployments"
    folder.mkdir()
    header, *rows = DEPLOYMENTS.splitlines()
    _parquet("\n".join([header, *rows[:2]]) + "\n", folder / "part-0.parquet", finished_at="time")
    _parquet("\n".join([header, *rows[2:]]) + "\n", folder / "part-1.parquet", finished_at="time")
    data = load_cycle(load_config(tiny_cycle(config=lambda t: t.replace("deployments.csv", "deployments"))))
    assert data.sources["deployments"].rows == 5
    assert _dora(data).set_index("period").loc["2026-H1", "deployments"] == 3


def test_problems_found_by_a_query_are_listed_up_to_a_cap_and_counted(tiny_cycle):
    rows = "".join(f"X{i},api-svc,not a time,SUCCESS,production,1\n" for i in range(30))
    with pytest.raises(InputError) as caught:
        load_cycle(load_config(tiny_cycle(files={"deployments.csv": DEPLOYMENTS + rows})))
    problems = [p for p in caught.value.problems if p.column == "finished_at"]
    assert [p.row for p in problems] == list(range(7, 27))  # the first 20, by row
    assert problems[-1].more == 10 and problems[0].value == "not a time"
    lines = render_problems(caught.value.problems)
    assert "error: deployments.csv, column finished_at: ... and 10 more rows like these" in lines


def test_checks_across_tables_run_in_the_engine(tiny_cycle):
    incidents = TINY_FILES["incidents.csv"] + "I2,api-svc,2026-03-01T00:00:00Z,,D404,sev3\n"
    deployments = DEPLOYMENTS + "D9,lost-svc,2026-02-01T00:00:00Z,SUCCESS,production,1\n"
    with pytest.raises(InputError) as caught:
        load_cycle(load_config(tiny_cycle(files={"incidents.csv": incidents, "deployments.csv": deployments})))
    said = {(p.severity, p.file, p.row, p.column, p.value) for p in caught.value.problems}
    assert ("error", "incidents.csv", 4, "incident_id", "I2") in said  # repeats row 3
    assert ("warning", "incidents.csv", 4, "caused_by_deployment_id", "D404") in said
    assert ("warning", "deployments.csv", None, "service", "lost-svc") in said


def test_a_database_table_is_an_input_and_its_password_is_never_shown(tiny_cycle, tmp_path):
    database = tmp_path / "lake.duckdb"
    path = tiny_cycle()
    with duckdb.connect(str(database)) as con:
        con.execute(f"CREATE TABLE cicd AS SELECT * FROM read_csv('{path.parent / 'deployments.csv'}')")
    spec = "{connection: 'duckdb://${LAKE}', table: cicd}"
    config = load_config(tiny_cycle(config=lambda t: t.replace("deployments.csv", spec)))
    data = load_cycle(config, environ={"LAKE": str(database)})
    source = data.sources["deployments"]
    assert (source.table, source.rows, source.sha256, source.engine) == ("cicd", 5, None, "duckdb")
    assert source.connection == "duckdb://" + str(database)
    pd.testing.assert_frame_equal(_dora(data), _dora(load_cycle(load_config(tiny_cycle()))))
    with pytest.raises(InputError) as caught:
        load_cycle(config, environ={})
    assert [p.expected for p in caught.value.problems] == ["the environment variable LAKE"]


def test_a_database_url_is_shown_without_its_password(tiny_cycle):
    spec = "{connection: 'postgres://calib:s3cret@127.0.0.1:1/lake', table: cicd}"
    config = load_config(tiny_cycle(config=lambda t: t.replace("deployments.csv", spec)))
    with pytest.raises(InputError) as caught:
        load_cycle(config)
    text = "\n".join(str(p) for p in caught.value.problems)
    assert "s3cret" not in text and "postgres://calib:***@127.0.0.1:1/lake" in text


@pytest.mark.parametrize(
    ("spec", "key"),
    [
        ("{connection: 'duckdb://', table: t}", "inputs.people.connection"),
        ("{connection: 'duckdb://'}", "inputs.people"),
    ],
)
def test_only_event_inputs_may_be_tables(tiny_cycle, spec, key):
    with pytest.raises(ConfigError) as caught:
        load_config(tiny_cycle(config=lambda t: t.replace("people: people.csv", f"people: {spec}")))
    assert key in [p.column for p in caught.value.problems]


def test_progress_is_shown_on_a_terminal_and_not_when_piped_or_quiet(tiny_cycle, capsys, monkeypatch):
    import sys

    from calib.cli import main

    path = str(tiny_cycle())
    assert main(["validate", path]) == 0
    assert capsys.readouterr().err == ""  # not a terminal
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["validate", path]) == 0
    shown = capsys.readouterr().err
    assert "duckdb: checks of deployments.csv" in shown and " s] " in shown and "rows back in" in shown
    assert main(["--quiet", "validate", path]) == 0
    assert capsys.readouterr().err == ""


def test_large_event_tables_take_the_spilling_median_and_the_same_figures(tiny_cycle, monkeypatch):
    from calib.delivery import sources

    expected = _dora(load_cycle(load_config(tiny_cycle())))
    monkeypatch.setitem(sources.SPILLED_MEDIAN_ROWS, "duckdb", 3)  # the tiny deployments (5 rows) count as large
    data = load_cycle(load_config(tiny_cycle()))
    assert data.engine.median == "window"
    pd.testing.assert_frame_equal(_dora(data), expected)


def test_spaces_and_tabs_around_csv_cells_are_trimmed_as_the_careful_reader_does(tiny_cycle):
    from_csv = load_cycle(load_config(tiny_cycle()))
    padded = "\n".join(
        ",".join(f"\t{cell} " if i % 2 else f" {cell}\t" for cell in line.split(","))
        if i else line
        for i, line in enumerate(DEPLOYMENTS.splitlines())
    )  # fmt: skip
    padded += "\n\t\t,api-svc,2026-01-20T09:00:00Z,SUCCESS,production,1\n"  # an id of tabs only: empty
    with pytest.raises(InputError) as caught:
        load_cycle(load_config(tiny_cycle(files={"deployments.csv": padded})))
    assert [(p.row, p.column) for p in caught.value.problems if p.severity == "error"] == [(7, "deployment_id")]
    data = load_cycle(load_config(tiny_cycle(files={"deployments.csv": padded.rsplit("\n\t\t", 1)[0] + "\n"})))
    assert data.sources["deployments"].engine == "duckdb"
    pd.testing.assert_frame_equal(_dora(data), _dora(from_csv))


def test_the_report_tells_its_stages_as_they_start(tiny_cycle, tmp_path):
    from calib.outputs.report.prepare import prepare_results

    told: list[str] = []
    out = tmp_path / "out"
    out.mkdir()
    prepare_results(tiny_cycle(), out, progress=told.append)
    assert told[0].startswith("reading people") and told[-1] == "analyses ..."
    assert any("checks of deployments.csv" in stage for stage in told)


@pytest.mark.parametrize(
    ("last_row", "expected"),
    [
        (b"D9,api-svc,2026-01-20T09:00:00Z,SUCC\xc9S,production,1\n", "expected UTF-8 text"),  # cp1252, far down
        (b"D9,api-svc,2026-01-20T09:00:00Z,SUCCESS,production,1,extra\n", "row 1007"),  # one cell too many
    ],
)
def test_a_bad_row_far_down_a_scanned_csv_is_named_by_the_careful_reader(tiny_cycle, last_row, expected):
    rows = "".join(f"X{i},api-svc,2026-01-{5 + i % 20:02d}T10:00:00Z,SUCCESS,production,1\n" for i in range(1000))
    content = (DEPLOYMENTS + rows).encode() + last_row
    with pytest.raises(InputError) as caught:
        load_cycle(load_config(tiny_cycle(files={"deployments.csv": content})))
    said = "\n".join(render_problems(caught.value.problems))
    assert "deployments.csv" in said and expected in said and "Traceback" not in said


SLO_ROWS = """service,slo_name,target,window_days,good_events,total_events,window_end
api-svc,availability,99.9,30,999,1000,2026-01-31
api-svc,availability,99.9,30,999,1000,2026-01-31
api-svc,latency,0,30,5,10,2026-01-31
api-svc,lat2,150,30,5,10,2026-01-31
api-svc,lat3,0.99,0,5,10,2026-01-31
api-svc,lat4,0.99,2.5,5,10,2026-01-31
api-svc,lat5,0.99,30,-1,10,2026-01-31
api-svc,lat6,0.99,30,11,10,2026-01-31
api-svc,lat7,0.99,30,5,-3,2026-01-31
api-svc,lat8,abc,30,5,10,2026-01-31
api-svc,lat9,0.99,30,5,10,not a date
api-svc,,0.99,30,5,10,2026-01-31
nowhere,lat10,1.5,30,5,10,2031-01-31
api-svc,lat11,0.99,30,5,10,03/31/2026
"""


def test_slo_rows_are_checked_in_the_engine_in_the_words_of_the_other_inputs(tiny_cycle):
    with pytest.raises(InputError) as caught:
        load_cycle(load_config(tiny_cycle(files={"slos.csv": SLO_ROWS})), today=dt.date(2026, 7, 15))
    said = {str(p) for p in caught.value.problems if p.file == "slos.csv"}
    assert said == {  # as calib.inputs.validate said them when SLO rows were read by pandas
        "error: slos.csv, row 11, column target: value 'abc': expected a number",
        "error: slos.csv, row 7, column window_days: value '2.5': expected a whole number",
        "error: slos.csv, row 12, column window_end: value 'not a date': expected a date like 2026-03-31",
        "error: slos.csv, row 3, column service,slo_name,window_end: value 'api-svc': "
        "expected each (service, slo_name, window_end) once; this repeats an earlier row",
        "error: slos.csv, row 9, column good_events: value '11.0': expected good_events no larger than total_events",
        "error: slos.csv, row 10, column good_events: value '5.0': expected good_events no larger than total_events",
        "error: slos.csv, row 13, column slo_name: expected a value (this column may not be empty)",
        "error: slos.csv, row 4, column target: value '0.0': expected a target in (0, 1] as a ratio, "
        "or in (0, 100] as a percent",
        "error: slos.csv, row 5, column target: value '150.0': expected a target in (0, 1] as a ratio, "
        "or in (0, 100] as a percent",
        "error: slos.csv, row 6, column window_days: value '0.0': expected a number above 0",
        "error: slos.csv, row 8, column good_events: value '-1.0': expected a number of at least 0",
        "error: slos.csv, row 10, column total_events: value '-3.0': expected a number of at least 0",
        "warning: slos.csv, row 14, column target: value '1.5': expected an SLO target of 50% or more "
        "(1.5 is read as 1.5%: did you mean 0.985 or 98.5?)",
        "warning: slos.csv, column service: value 'nowhere': expected a service listed in services.csv; "
        "it counts for no team",
        "warning: slos.csv, row 14, column window_end: value '2031-01-31': expected a date no later than today "
        "(2026-07-15): an SLO window in the future is a typo or a wrong clock",
    }


def test_times_as_spreadsheets_write_them_read_as_the_careful_reader_reads_them(tiny_cycle):
    us = DEPLOYMENTS.replace("2026-01-05T10:00:00Z", "01/05/2026 10:00").replace("2026-01-14T09:00:00Z", "1/14/2026")
    from_iso, from_us = (
        load_cycle(load_config(tiny_cycle(files={"deployments.csv": text}))) for text in (DEPLOYMENTS, us)
    )
    assert from_us.sources["deployments"].engine == "duckdb"
    finished = from_us["deployments"]["finished_at"]
    assert finished.loc[2] == pd.Timestamp("2026-01-05T10:00:00Z") and finished.loc[6] == pd.Timestamp(
        "2026-01-14", tz="UTC"
    )
    pd.testing.assert_frame_equal(
        _dora(from_us).drop(columns=["lead_time_hours"]), _dora(from_iso).drop(columns=["lead_time_hours"])
    )


# -- issue 17: the engine's readers say what the careful reader says ------------------------------------

TWICE = "\n".join(
    [DEPLOYMENTS.splitlines()[0] + ",service", *[row + ",other-svc" for row in DEPLOYMENTS.splitlines()[1:]]]
)


def _errors(path) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_cycle(load_config(path))
    return [str(p) for p in caught.value.problems if p.severity == "error"]


def test_a_column_named_twice_is_an_error_where_duckdb_reads_the_file_too(tiny_cycle):
    said = "row 1, column service: expected each column once in the header, but columns 2 and 7 are both named service"
    assert _errors(tiny_cycle(files={"deployments.csv": TWICE + "\n"})) == [f"error: deployments.csv, {said}"]
    path = tiny_cycle()
    frame = pd.read_csv(StringIO(TWICE), dtype=str, header=None, skiprows=1)
    table = pa.table([pa.array(frame[i]) for i in frame.columns], names=TWICE.splitlines()[0].split(","))
    pq.write_table(table, path.parent / "deployments.parquet")  # DuckDB read the second as service_1
    (path.parent / "parts").mkdir()
    pq.write_table(table, path.parent / "parts" / "part-0.parquet")
    parquet = tiny_cycle(config=lambda t: t.replace("deployments.csv", "deployments.parquet"))
    assert _errors(parquet) == [f"error: deployments.parquet, {said}"]
    folder = tiny_cycle(config=lambda t: t.replace("deployments.csv", "parts"))
    assert _errors(folder) == [f"error: parts (part-0.parquet), {said}"]


def test_times_without_a_zone_are_found_whatever_reads_the_events(tiny_cycle):
    mixed = DEPLOYMENTS.replace("2026-01-07T09:00:00Z", "2026-01-07T09:00:00")
    path = tiny_cycle()
    pd.read_csv(StringIO(mixed), dtype=str).to_excel(path.parent / "deployments.xlsx", index=False)
    pd.read_csv(StringIO(mixed), dtype=str).to_parquet(path.parent / "deployments.parquet", index=False)
    said = (
        "row 4, column finished_at: value '2026-01-07T09:00:00': expected a time zone, as the 4 other values in this "
        "column have (Z, +02:00, ...): 1 value without one was read as UTC"
    )
    for name in ("deployments.xlsx", "deployments.parquet"):  # in memory from pandas; scanned by DuckDB
        data = load_cycle(load_config(tiny_cycle(config=lambda t, n=name: t.replace("deployments.csv", n))))
        assert [str(p) for p in data.warnings if "time zone" in p.expected] == [f"warning: {name}, {said}"]
