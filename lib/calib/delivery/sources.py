"""Every input of a cycle, read and checked; the delivery events where they lie, in the engine.

`load_cycle` is what `calib validate` runs: the small inputs (people, reviews, evidence, SLOs, ...)
through `calib.inputs.validate`, and deployments, changes and incidents as tables of the delivery
engine (`calib.delivery.engine`), typed and checked by queries (`calib.delivery.checks`); one
InputError lists every problem of both.

The engine is the config's `engine:` (or `--engine`): DuckDB in this process by default, PostgreSQL,
or Spark (a local session, or a cluster through Spark Connect). Where the events are read:
- a canonical CSV or Parquet file (or a folder or glob of Parquet files): by DuckDB or Spark, where
  it lies (on PostgreSQL: by `calib.inputs.load`, then sent to the server);
- a table in a database or a Spark catalog (`{connection: postgres://..., table: ...}`, or
  `{table: lake.deployments}` in the cycle's engine): where it lives, by that engine, which then
  runs the whole delivery stage; `${VAR}` in the connection string is taken from the environment,
  and the password never appears in messages or lineage;
- a vendor export (DevLake, Four Keys) or an Excel sheet: read and reshaped by `calib.inputs`
  (`load.read_table`, `adapters`), then handed to the engine as it is;
- a vendor table in a database (`{connection: ..., table: cicd_deployment_commits, format: devlake}`):
  the columns its adapter reads come into this process, are reshaped by the same adapter as the
  file export, and go back to the database as a temporary table.
A file DuckDB cannot read (not UTF-8, a malformed row) is read by `calib.inputs.load`, which names
the problem and its row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import operator
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import ibis
import ibis.expr.types as ir
import pandas as pd

from calib.delivery import checks, event_times
from calib.delivery.engine import ROW, Engine, connect, redact
from calib.errors import EngineError, InputError, Problem, WorkbenchError
from calib.inputs import adapters
from calib.inputs.config import CycleConfig, InputName, InputSpec
from calib.inputs.load import CSV_SUFFIXES, PARQUET_SUFFIXES, parquet_columns_once
from calib.inputs.validate import (
    EVENT_INPUTS,
    CycleData,
    Source,
    file_source,
    read_input,
    read_inputs,
    with_service,
)

# Past this many rows in an event table, medians from sorted windows (a sort spills to disk; an engine's
# own exact median holds a group's values in memory): DuckDB's is lean, Spark's keeps a boxed count per value.
SPILLED_MEDIAN_ROWS = {"duckdb": 50_000_000, "pyspark": 2_000_000}
REPLACED = "\ufffd"  # what Spark makes of bytes that are not UTF-8
VENDOR_ROW_IDS = ("id", "deploy_id", "change_id", "incident_id")  # a vendor table's own row id (DevLake, Four Keys)
KEYS: dict[InputName, str] = {  # what names a database row in messages
    "deployments": "deployment_id",
    "changes": "change_id",
    "incidents": "incident_id",
    "slos": "slo_name",
}
_VARIABLE = re.compile(r"\$\{(\w+)\}")


def load_cycle(
    config: CycleConfig,
    *,
    today: dt.date | None = None,
    engine: Engine | None = None,
    environ: Mapping[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> CycleData:
    """Read, type and check every input the config names.

    Parameters
    ----------
    config
        The cycle config.
    today
        The date events must not be after (a warning); default: the date today.
    engine
        Where the events are read and the delivery metrics computed; default: DuckDB in this
        process, or the database the config's event inputs name.
    environ
        Where `${VAR}` in a connection string is looked up; default: the process environment.
    progress
        Told each stage as it starts and ends (rows, seconds): the CLI shows it on a terminal.

    Raises
    ------
    InputError
        Listing every error in every input (warnings are kept on the result instead).
    """
    today = dt.date.today() if today is None else today
    if progress is not None:
        progress("reading people, reviews and the other small inputs ...")
    tables, sources, problems = read_inputs(config, skip=EVENT_INPUTS, today=today)
    try:
        engine = engine or _engine_for(config, os.environ if environ is None else environ)
    except WorkbenchError as exc:
        raise InputError([p for p in problems if p.severity == "error"] + list(getattr(exc, "problems", []))) from None
    engine.progress = engine.progress or progress
    made = len(engine.kept)  # tables kept before this load: a failed load drops only its own
    events: dict[InputName, ir.Table] = {}
    for name in EVENT_INPUTS:
        if name in config.inputs:
            table, source, found = _open_event(engine, config, name, today)
            problems += found
            if table is not None:
                events[name], sources[name] = table, source
    largest = max((sources[name].rows for name in events), default=0)
    if engine.median is None and largest > SPILLED_MEDIAN_ROWS.get(engine.name, largest):
        engine.median = "window"  # the engine's median keeps a group's values in memory; a sort spills to disk
    problems += _across(engine, config, events, tables)
    errors = [p for p in problems if p.severity == "error"]
    warnings = [p for p in problems if p.severity == "warning"]
    if errors:
        engine.close(keep=made)  # nothing will read them (on Spark: cached views, in memory)
        raise InputError(errors + warnings)
    ordered = {name: sources[name] for name in config.inputs if name in sources}
    return CycleData(config, tables, ordered, warnings, events=events, engine=engine)


def connection_url(text: str, environ: Mapping[str, str]) -> str:
    """A connection string with `${VAR}` taken from `environ`; an unset variable is an error (named, not shown)."""

    def value(match: re.Match) -> str:
        if match.group(1) not in environ:
            variable = match.group(1)
            raise InputError([Problem("config", None, "connection", None, f"the environment variable {variable}")])
        return environ[match.group(1)]

    return _VARIABLE.sub(value, text)


def _engine_for(config: CycleConfig, environ: Mapping[str, str]) -> Engine:
    """The config's engine; else the database the event inputs name (one, the same for all); else DuckDB."""
    named = {spec.connection for name, spec in config.inputs.items() if name in EVENT_INPUTS and spec.connection}
    shown = config.source.name if config.source is not None else "config"

    def problem(key: str, value: str, expected: str) -> InputError:
        return InputError([Problem(shown, None, key, value, expected, column_label="key")])

    if len(named) > 1:
        raise problem("connection", ", ".join(sorted(redact(c) for c in named)), "one database for every event input")
    if config.engine is not None and named and named != {config.engine}:
        where = redact(next(iter(named)))
        raise problem("engine", redact(config.engine), f"the database the event inputs name ({where}), or no engine")
    text = config.engine or next(iter(named), None)
    if text is None:
        return connect()
    url = connection_url(text, environ)
    key = "engine" if config.engine else "connection"
    try:
        return connect(url)
    except EngineError as exc:
        said = redact(str(exc).replace(url, redact(url)))
        raise problem(key, redact(text), f"an engine to run on ({said})") from None
    except Exception as exc:  # drivers raise their own kinds; the message may carry the URL
        said = redact(str(exc).replace(url, redact(url))).strip().splitlines()[0]
        raise problem(key, redact(text), f"a database to connect to ({said})") from None


def _open_event(
    engine: Engine, config: CycleConfig, name: InputName, today: dt.date
) -> tuple[ir.Table | None, Source | None, list[Problem]]:
    """One event input as a typed engine table, its lineage and its problems (its rows' in one query)."""
    spec = config.inputs[name]
    shown = config.shown(name)
    try:
        raw, source = _read(engine, config, name, spec, shown)
    except WorkbenchError as exc:
        return None, None, list(getattr(exc, "problems", []))
    problems = checks.missing_columns(raw.columns, name, shown)
    if problems:
        return None, None, problems
    checked = checks.with_types(raw, name, strip=_scanned_csv(source, spec), duckdb=engine.name == "duckdb")
    if _scanned_csv(source, spec):
        try:
            checked, source = _typed_once(engine, config, name, raw, checked, source)
        except WorkbenchError as exc:
            return None, None, list(getattr(exc, "problems", []))
    key = _key(config, name)
    found = checks.row_checks(name, checked.columns)
    found += checks.late_checks(checked, name, today, max(c.end for c in config.cycles))
    rows, found_problems = checks.counted_checks(engine, checked, found, shown, key=key)
    problems += found_problems
    if spec.format == "canonical":  # an adapter writes a vendor's times its own way
        problems += event_times.times_without_zones(engine, raw, checked, shown, key=key)
    if _scanned_csv(source, spec):
        if rows == 0:
            return None, None, [Problem(shown, None, None, None, "a header row and at least one data row")]
        source = dataclasses.replace(source, rows=rows)
    if name == "slos":  # as written, before percents become ratios
        problems += checks.low_slo_targets(engine, checked, shown)
    typed = checks.canonical(checked)
    problems += checks.duplicate_ids(engine, typed, name, shown, key=key)
    return typed, source, problems


def _typed_once(
    engine: Engine, config: CycleConfig, name: InputName, raw: ir.Table, checked: ir.Table, source: Source
) -> tuple[ir.Table, Source]:
    """A scanned CSV file's text typed once into a temporary table (not by every query).

    Parsing the whole file is what finds a malformed row or bytes that are not UTF-8 anywhere in
    it: then `calib.inputs.load` reads the file instead, and names the problem and its row.
    Spark reads bytes that are not UTF-8 as U+FFFD without a word: there a query looks for it.
    """
    shown = config.shown(name)
    try:
        if engine.name == "pyspark":
            text = [raw[c].contains(REPLACED) for c in raw.columns if raw[c].type().is_string()]
            replaced = functools.reduce(operator.or_, text, ibis.literal(False))
            if engine.execute(raw.filter(replaced).limit(1), f"bytes that are not UTF-8 in {shown}").shape[0]:
                raise ValueError(f"{shown}: bytes that are not UTF-8")
        kept = engine.cache(checked, session=True)
    except Exception:  # the engine's message names no column and shows raw bytes: the careful reader names the row
        frame = read_input(config, name, config.input_path(name), shown)
        kept = checks.with_types(engine.frame(frame), name)
        engine.tell(f"{shown} read by calib.inputs.load: {engine.name} could not parse it")
        source = dataclasses.replace(source, engine=None)  # lineage: read by pandas, not by the engine
    return kept, source  # counted with its checks


def _key(config: CycleConfig, name: InputName) -> str | None:
    """The id column naming a row in messages, for a database table (which has no row numbers)."""
    return KEYS[name] if config.inputs[name].table else None


def _scanned_csv(source: Source, spec: InputSpec) -> bool:
    """Whether DuckDB read this input as a CSV file (whose cells it did not trim)."""
    return bool(
        spec.format == "canonical" and not spec.sheet and source.path is not None
        and source.path.suffix.lower() in CSV_SUFFIXES
    )  # fmt: skip


def _read(engine: Engine, config: CycleConfig, name: InputName, spec: InputSpec, shown: str) -> tuple[ir.Table, Source]:
    if spec.table is not None:
        try:
            table = engine.read_table(spec.table)
        except Exception:
            raise InputError([Problem(shown, None, None, None, "a table of that name in the database")]) from None
        if spec.format != "canonical":
            return _vendor_table(engine, config, name, table.drop(ROW) if ROW in table.columns else table, shown)
        table = _renamed(table, config.columns.get(name, {}), spec.service)
        if ROW not in table.columns:  # Spark numbers a table's rows by a hash (engine.read_table): no global window
            order = [c for c in (*checks.SLO_KEY, "_")[: 3 if name == "slos" else 0] if c in table.columns]
            table = table.mutate(**{ROW: ibis.row_number().over(order_by=order or [KEYS[name]]) + 2})
        rows = int(engine.execute(table.count().as_table(), f"rows of {shown}").iloc[0, 0])
        at = engine.log[-1]["at"]
        source = Source(name, None, None, None, rows, "canonical", engine.name, engine.url, spec.table, at)
        return table, source
    path = config.input_path(name)
    suffix = path.suffix.lower()
    direct = spec.format == "canonical" and engine.reads_files and not spec.sheet
    if direct and (suffix in CSV_SUFFIXES or suffix in PARQUET_SUFFIXES or path.is_dir() or "*" in path.name):
        text = suffix in CSV_SUFFIXES  # parsed whole, counted and checked by `_typed_once`
        table = _scanned(engine, path, shown, config.columns.get(name, {}), spec.service, probe=not text)
        if table is not None:
            if text:
                return table, _lineage(name, path, 0, spec.format, engine)
            rows = int(engine.execute(table.count().as_table(), f"rows of {shown}").iloc[0, 0])
            if rows == 0:
                raise InputError([Problem(shown, None, None, None, "a header row and at least one data row")])
            return table, _lineage(name, path, rows, spec.format, engine)
    frame = read_input(config, name, path, shown)
    return engine.frame(frame), _lineage(name, path, len(frame), spec.format, None)  # read by pandas, then sent


def _vendor_table(
    engine: Engine, config: CycleConfig, name: InputName, table: ir.Table, shown: str
) -> tuple[ir.Table, Source]:
    """A DevLake or Four Keys table in the database, reshaped by the adapter of its file export.

    Only the columns the adapter reads come into this process (in the order of the table's own
    row id, so that "the first row of a deployment" means the same on every run); the reshaped
    rows go back to the database as a temporary table, where the checks and metrics run.
    """
    spec = config.inputs[name]
    renamed = _renamed(table, config.columns.get(name, {}), None)
    wanted = [
        c for c in dict.fromkeys([*adapters.expected_columns(spec.format, name), "service"]) if c in renamed.columns
    ]
    if not wanted:  # the adapter names every column it needs
        adapters.adapt(pd.DataFrame(columns=list(renamed.columns)), spec.format, name, shown)
    order = [c for c in VENDOR_ROW_IDS if c in renamed.columns] or wanted
    frame = engine.execute(renamed.select(*wanted).order_by(order[:1]), f"rows of {shown}")
    frame.index = pd.RangeIndex(2, len(frame) + 2)  # as a file's rows; messages name the row's id
    if spec.service is not None:
        frame = with_service(frame, spec.service)
    adapted = adapters.adapt(frame, spec.format, name, shown)
    at = engine.log[-1]["at"]
    source = Source(name, None, None, None, len(frame), spec.format, engine.name, engine.url, spec.table, at)
    return engine.frame(adapted), source


def _scanned(
    engine: Engine, path: Path, shown: str, rename: Mapping[str, str], service: str | None, *, probe: bool
) -> ir.Table | None:
    """A file DuckDB reads where it lies; None when it cannot (calib.inputs.load then names the problem).

    `probe`: read its first row now (a CSV file is read whole later, which finds more).
    """
    if not path.exists() and "*" not in path.name:
        raise InputError([Problem(shown, None, None, None, "an existing file")])
    parquet_columns_once(path, shown)  # DuckDB would read a column named twice as name_1
    try:
        table = engine.read_files(path)
        table = _renamed(table, rename, service)
        if probe:
            engine.execute(table.limit(1), f"first row of {shown}")
    except Exception:  # not UTF-8, a malformed row, an unreadable file: let the careful reader say which
        return None
    return table


def _renamed(table: ir.Table, rename: Mapping[str, str], service: str | None) -> ir.Table:
    """Headers stripped and renamed by the config; the config's service on rows naming none."""
    clean = {c: c.replace("\ufeff", "").strip() for c in table.columns}
    names = {k.replace("\ufeff", "").strip(): v for k, v in rename.items()}
    mapping = {names.get(new, new): old for old, new in clean.items() if old != ROW}
    kept = [ROW] if ROW in table.columns else []
    table = table.select(*kept, **{new: table[old] for new, old in mapping.items()})
    if service is not None:
        given = table.service.cast("string").strip().nullif("") if "service" in table.columns else None
        table = table.mutate(service=given.coalesce(service) if given is not None else ibis.literal(service))
    return table


def _lineage(name: InputName, path: Path, rows: int, fmt: str, engine: Engine | None) -> Source:
    """A file's lineage; `engine` read it (None: calib.inputs.load did)."""
    reader = engine.name if engine is not None else None
    if path.is_file():
        return file_source(name, path, rows, fmt, reader)
    files = sorted(path.glob("*.parquet")) if path.is_dir() else sorted(path.parent.glob(path.name))
    digest = hashlib.sha256()
    for file in files:
        digest.update(file_source(name, file, 0, fmt).sha256.encode())
    return Source(name, path, sum(f.stat().st_size for f in files), digest.hexdigest(), rows, fmt, reader)


def _across(
    engine: Engine,
    config: CycleConfig,
    events: dict[InputName, ir.Table],
    tables: dict[InputName, pd.DataFrame],
) -> list[Problem]:
    """Checks between the event tables and the others: references to deployments, services no team owns."""
    problems = []
    if "deployments" in events:
        deployments = events["deployments"]
        known = [deployments.deployment_id]
        what = "a deployment_id"
        if "deployment_commit_id" in deployments.columns:  # a change may name one row of a deployment
            known.append(deployments.deployment_commit_id)
            what = "a deployment_id or deployment_commit_id"
        for name, column in (("changes", "deployment_id"), ("incidents", "caused_by_deployment_id")):
            if name in events:
                expected = f"{what} in {config.shown('deployments')}"
                shown = config.shown(name)
                problems += checks.unknown_references(
                    engine, events[name], column, known, shown, expected, key=_key(config, name)
                )
    if {"changes", "deployments"} <= set(events):
        environment, shown = config.dora.production_environment, config.shown("changes")
        problems += event_times.changes_after_deployment(
            engine, events["changes"], events["deployments"], environment, shown, key=_key(config, "changes")
        )
    if "services" in tables:
        services = engine.frame(tables["services"][["service"]])
        named = [(config.shown(name), events[name]) for name in ("deployments", "incidents", "slos") if name in events]
        problems += checks.unowned_services(engine, named, services, config.shown("services"))
    return problems
