"""Where the delivery queries run: DuckDB in-process by default, PostgreSQL, or Apache Spark.

An `Engine` wraps one Ibis backend. The delivery metrics (`calib.delivery.expressions`) are Ibis
expressions over tables of that backend: DuckDB and Spark read CSV and Parquet files where they lie
(a file, a folder or a glob of Parquet files), PostgreSQL and Spark serve tables where they live
(e.g. Apache DevLake's own database, a Spark catalog), and a pandas frame becomes an in-memory
table. Only aggregates come back into Python. Every table carries `_row`, the row a person sees
(the header is row 1), or, in a database table, a number that orders its rows the same way on every
run (messages then name the row's id).

Sessions run in UTC: a day is a UTC calendar day on every engine.
"""

from __future__ import annotations

import csv
import re
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import ibis
import pandas as pd
from ibis.backends import BaseBackend

from calib.delivery import spark
from calib.errors import EngineError
from calib.inputs.config import ENGINES_EXPECTED, engine_kind
from calib.inputs.load import csv_header

ROW = "_row"  # the row a person sees, on every table the engine hands out
DEFAULT_URL = "duckdb://"
PROGRESS_SECONDS = 1.0  # how often a running query's progress is told
DUCKDB_MEMORY_LIMIT = "1GB"  # what DuckDB may hold in memory before it spills to disk (the process holds more)
PARQUET_SUFFIXES = (".parquet", ".pq")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
# Engines whose Ibis compiler has an exact median (PERCENTILE_CONT / MEDIAN); others get the
# window form of `calib.delivery.expressions.median` (Trino, BigQuery and Athena have none).
BUILTIN_MEDIAN = {"duckdb", "postgres", "snowflake", "clickhouse", "databricks", "pyspark", "datafusion"}
READS_FILES = {"duckdb", "pyspark"}  # engines that read CSV and Parquet files themselves
_PASSWORD = re.compile(r"(?P<head>://[^:/@\s]+):(?P<password>[^@\s]*)@")


def redact(url: str) -> str:
    """A connection string without its password or token ('postgres://me:***@host/db'), for messages and lineage."""
    shown = _PASSWORD.sub(r"\g<head>:***@", url)
    return re.sub(r"(?i)((?:password|token)=)[^&;\s]*", r"\1***", shown)


@dataclass(frozen=True)
class Flavor:
    """What a query may use beyond the SQL Ibis compiles for every engine.

    builtin_median: the engine's own exact median (else the form built from windows).
    duckdb: DuckDB's `epoch_us` and `arg_min` instead of Ibis' portable forms (a time zone-aware
    DATE_DIFF and an ordered FIRST), which cost DuckDB calendar arithmetic and a sort key per row.
    """

    builtin_median: bool = True
    duckdb: bool = False


PORTABLE = Flavor()  # SQL Ibis compiles for any engine with an exact median


@dataclass
class Engine:
    """One Ibis backend and what the delivery stage asks of it."""

    backend: BaseBackend
    url: str = DEFAULT_URL
    log: list[dict[str, Any]] = field(default_factory=list)  # one entry per query: what, when, how long
    temporary: list[str] = field(default_factory=list)  # tables `cache` made, dropped by `release`
    kept: list[str] = field(default_factory=list)  # tables kept for the whole session, dropped by `close`

    @property
    def name(self) -> str:
        """The backend's name: duckdb, postgres, ..."""
        return self.backend.name

    median: Literal["builtin", "window", None] = None  # None: the engine's own where Ibis has one
    progress: Callable[[str], None] | None = None  # told what runs and how long it took (a terminal shows it)
    started: float = field(default_factory=time.perf_counter)

    @property
    def builtin_median(self) -> bool:
        """Whether medians use the engine's own exact median (else the window form)."""
        return self.median == "builtin" if self.median else self.name in BUILTIN_MEDIAN

    @property
    def flavor(self) -> Flavor:
        """What the delivery queries may use on this engine beyond portable SQL."""
        return Flavor(builtin_median=self.builtin_median, duckdb=self.name == "duckdb")

    @property
    def described(self) -> str:
        """The engine for lineage and the report: 'duckdb', 'pyspark', 'pyspark (sc://host:15002)' (no password)."""
        return self.name if self.url in (DEFAULT_URL, self.name) else f"{self.name} ({self.url})"

    @property
    def reads_files(self) -> bool:
        """Whether the engine reads CSV and Parquet files itself (else calib.inputs.load reads them)."""
        return self.name in READS_FILES

    def frame(self, frame: pd.DataFrame) -> ibis.Table:
        """A pandas frame (indexed by source row) as an in-memory table with `_row`."""
        table = frame.reset_index(names=ROW)
        table[ROW] = table[ROW].astype("int64")
        empty = [c for c in table.columns if table[c].dtype == object and table[c].isna().all()]
        table[empty] = table[empty].astype("str")  # typed as text: PostgreSQL refuses columns typed null
        return ibis.memtable(table)

    def execute(self, expr: ibis.Expr, what: str) -> pd.DataFrame:
        """Run an expression; the query is logged with its time (lineage: engine, when, how long)."""
        started = time.perf_counter()
        at = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
        self.tell(f"{what} ...")
        with self._watching(what):
            result = self.backend.execute(expr)
        seconds = time.perf_counter() - started
        self.log.append({"query": what, "engine": self.name, "at": at, "seconds": seconds, "rows": len(result)})
        self.tell(f"{what}: {len(result):,} rows back in {seconds:.1f} s")
        return result

    def tell(self, stage: str) -> None:
        """Report a stage, with the time since the engine started, to `progress` (if any)."""
        if self.progress is not None:
            self.progress(f"[{time.perf_counter() - self.started:6.1f} s] {self.name}: {stage}")

    def cache(self, expr: ibis.Table, *, session: bool = False) -> ibis.Table:
        """A result the engine keeps in a temporary table, because several queries read it.

        Dropped by `release`, or, with `session`, only when the connection closes.
        """
        name = f"calib_{uuid.uuid4().hex}"
        started = time.perf_counter()
        with self._watching("keeping an intermediate result"):
            if self.name == "pyspark":  # Spark has no temporary tables: a temporary view, cached (eagerly)
                table = self.backend.create_view(name, expr)
                self.backend.raw_sql(f"CACHE TABLE `{name}`")
            else:
                table = self.backend.create_table(name, expr, temp=True)
        seconds = time.perf_counter() - started
        self.log.append({"query": "kept for the next queries", "engine": self.name, "seconds": seconds, "rows": None})
        self.tell(f"kept an intermediate result in {seconds:.1f} s")
        (self.kept if session else self.temporary).append(name)
        return table

    @contextmanager
    def _watching(self, what: str) -> Iterator[None]:
        """While a query runs, tell each second how far along it is (DuckDB's own estimate, when it has one)."""
        if self.progress is None or self.name != "duckdb":
            yield
            return
        connection = self.backend.con
        connection.execute("SET enable_progress_bar = true")  # tracked, not printed:
        connection.execute("SET enable_progress_bar_print = false")
        stop = threading.Event()

        def watch() -> None:
            while not stop.wait(PROGRESS_SECONDS):
                done = connection.query_progress()  # -1 when unknown; 0 throughout for some plans
                self.tell(f"{what} ... {done:.0f}%" if done > 0 else f"{what} ... running")

        watcher = threading.Thread(target=watch, name="calib-query-progress", daemon=True)
        watcher.start()
        try:
            yield
        finally:
            stop.set()
            watcher.join()

    def release(self) -> None:
        """Drop the temporary tables `cache` made (Spark: uncache and drop the views)."""
        while self.temporary:
            self._drop(self.temporary.pop())

    def close(self, *, keep: int = 0) -> None:
        """Drop every table this engine made, those kept for the session too (a shared Spark session lives on).

        `keep`: leave the first `keep` of the kept tables (those made before a load that failed).
        """
        self.release()
        while len(self.kept) > keep:
            self._drop(self.kept.pop())

    def _drop(self, name: str) -> None:
        if self.name == "pyspark":
            self.backend.raw_sql(f"UNCACHE TABLE IF EXISTS `{name}`")
            self.backend.raw_sql(f"DROP VIEW IF EXISTS `{name}`")
        else:
            self.backend.drop_table(name, force=True)

    def read_files(self, path: Path) -> ibis.Table:
        """A CSV or Parquet file, a folder of Parquet files or a glob of them, as a table with `_row`."""
        text = str(path)
        if path.is_dir():
            text = str(path / "*.parquet")
        parquet = text.lower().endswith(PARQUET_SUFFIXES) or text.endswith("*.parquet") or path.is_dir()
        if parquet and self.name == "pyspark":
            return self._spark_view(spark.read_parquet(self.backend._session, text, ROW))
        if parquet:
            table = self.backend.read_parquet(text, file_row_number=True)
            return table.rename({ROW: "file_row_number"}).mutate(**{ROW: ibis._[ROW] + 2})
        # The header as calib.inputs.load reads it, given to DuckDB: its sniffer, left alone, takes a
        # short file's odd row for the header. row_number() OVER () as written: DuckDB numbers a CSV's
        # rows in file order while streaming (Ibis' own adds a frame clause: a blocking window).
        separator, header = csv_header(path, str(path))  # InputError: calib.inputs.load then names it
        names = next(csv.reader([header], delimiter=separator))
        if self.name == "pyspark":
            return self._spark_view(spark.read_csv(self.backend._session, text, separator, names, ROW))
        columns = ", ".join(f"{_sql_text(name)}: 'VARCHAR'" for name in names)
        view = f"calib_csv_{uuid.uuid4().hex}"
        self.backend.raw_sql(
            f'CREATE TEMP VIEW "{view}" AS SELECT *, row_number() OVER () + 1 AS {ROW} FROM read_csv('
            f"{_sql_text(text)}, header = true, delim = {_sql_text(separator)}, columns = {{{columns}}})"
        )
        return self.backend.table(view)

    def read_table(self, name: str) -> ibis.Table:
        """A table of the database or catalog (`schema.table`, `catalog.schema.table`), where it lives."""
        if self.name == "pyspark":  # numbered by a hash of each row: no window over the whole table
            frame = self.backend._session.table(".".join(f"`{part}`" for part in name.split(".")))
            return self._spark_view(spark.row_ids(frame, ROW))
        *where, table = name.split(".")
        database = tuple(where) if len(where) > 1 else where[0] if where else None
        return self.backend.table(table, database=database)

    def _spark_view(self, frame: Any) -> ibis.Table:
        """A Spark DataFrame as a temporary view the queries read (dropped with the session tables)."""
        view = f"calib_read_{uuid.uuid4().hex}"
        spark.as_view(frame, view)
        self.kept.append(view)
        return self.backend.table(view)


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect(url: str | None = None, *, memory_limit: str | None = None, threads: int | None = None) -> Engine:
    """An engine: DuckDB in this process by default, else the database or Spark `url` names.

    Parameters
    ----------
    url
        "duckdb" (or an Ibis DuckDB URL, "duckdb:///lake.duckdb"), "postgres://user@host/db",
        "pyspark" (this process's local Spark session, started once: `calib.delivery.spark`) or
        "sc://host:15002" (Spark Connect to a cluster); None for DuckDB in memory.
    memory_limit, threads
        DuckDB's limits (e.g. "2GB"); past the memory limit DuckDB spills to a temporary folder.

    Raises
    ------
    EngineError
        When `url` names no engine calib runs on, or Spark cannot be started or reached.
    """
    url = url or DEFAULT_URL
    kind = engine_kind(url)
    if kind is None:
        scheme = url.split("://", 1)[0] if "://" in url else url
        raise EngineError(f"engine {scheme!r}: expected {ENGINES_EXPECTED}")
    if kind in ("pyspark", "sc"):
        session = spark.local_session() if kind == "pyspark" else spark.remote_session(url)
        return Engine(ibis.pyspark.connect(session), redact(url))
    backend = ibis.connect(url if "://" in url else f"{url}://")
    if backend.name == "duckdb":
        backend.raw_sql("SET TimeZone = 'UTC'")
        # Bounded memory: past the limit DuckDB spills to a temporary folder of its own.
        spill = Path(tempfile.gettempdir()) / f"calib-duckdb-{uuid.uuid4().hex[:12]}"
        backend.raw_sql(f"SET temp_directory = '{spill}'")
        backend.raw_sql(f"SET memory_limit = '{memory_limit or DUCKDB_MEMORY_LIMIT}'")
        backend.raw_sql("SET preserve_insertion_order = true")  # CSV rows keep their order: row numbers
        if threads:
            backend.raw_sql(f"SET threads = {int(threads)}")
    elif backend.name == "postgres":
        backend.raw_sql("SET TIME ZONE 'UTC'")
    return Engine(backend, redact(url))
