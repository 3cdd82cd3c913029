"""Apache Spark as the delivery engine: a local session, or a cluster through Spark Connect.

The delivery queries reach Spark through Ibis's pyspark backend (`calib.delivery.engine` wraps
it); this module holds what Spark needs beyond that: starting the session (local mode, with Arrow
on, or Spark Connect after checking that the server answers), and reading CSV and Parquet files
in Spark itself, each row numbered as a person sees it without a window over the whole table.

Runs in UTC like every engine. pyspark is imported only when Spark is asked for.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from calib.errors import EngineError

CONNECT_PORT = 15002  # Spark Connect's default port
CONNECT_TIMEOUT_S = 10  # how long to wait for a Spark Connect server to answer before saying it cannot be reached
LOG_CONFIG = Path(__file__).with_name("spark-log4j2.properties")  # quiet: Spark errors reach calib as exceptions
# A local session: two cores' worth of tasks, a few shuffle partitions (small data sets, one machine),
# no web UI, a modest driver heap (Spark spills to disk past it; the events never go through pandas).
LOCAL_CONF = {
    "spark.master": "local[2]",
    "spark.app.name": "calib",
    "spark.driver.memory": "2g",
    "spark.sql.shuffle.partitions": "4",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.extraJavaOptions": f"-Duser.timezone=UTC -Dlog4j2.configurationFile=file:{LOG_CONFIG}",
}
# Set on every session, a reused or remote one too. Without Arrow, pandas 3 frames sent to Spark turn
# missing text into the string 'NaN' (silently wrong references and unreported empty cells).
SESSION_CONF = {
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",  # never a silent fall back to the row path
    "spark.sql.session.timeZone": "UTC",
}
JAVA_HINT = (
    "a Java runtime for Spark (java on PATH, or JAVA_HOME): install Debian's openjdk-17-jre-headless "
    "(`apt-get install -y openjdk-17-jre-headless`; .ci/run does this)"
)


def java() -> str | None:
    """The java Spark would start, or None."""
    return shutil.which("java")


def local_session() -> Any:
    """The Spark session of this process (local mode), started once with LOCAL_CONF and reused.

    Raises
    ------
    EngineError
        When there is no Java runtime to start Spark with (saying what to install).
    """
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is None:
        if java() is None:
            raise EngineError(f"pyspark needs {JAVA_HINT}")
        builder = SparkSession.builder
        for key, value in LOCAL_CONF.items():
            builder = builder.config(key, value)
        session = builder.getOrCreate()
    return configured(session)


def remote_session(url: str) -> Any:
    """A Spark Connect session to `url` (sc://host:port/;params), once its server answers.

    Raises
    ------
    EngineError
        When nothing answers at the host and port (the message names them, never the URL's token).
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "localhost", parts.port or CONNECT_PORT
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise EngineError(f"no Spark Connect server answers at {host}:{port} ({reason})") from None
    from pyspark.sql import SparkSession

    return configured(SparkSession.builder.remote(url).getOrCreate())


def configured(session: Any) -> Any:
    """`session` with SESSION_CONF set (a cluster may refuse a setting: it then keeps its own)."""
    for key, value in SESSION_CONF.items():
        try:
            session.conf.set(key, value)
        except Exception:  # Spark Connect to a managed cluster may forbid setting some keys
            continue
    return session


def as_view(frame: Any, name: str) -> None:
    """`frame` as the temporary view `name`, marked with its name.

    Spark's cache matches a query to cached data by its plan: without the mark, a file read again
    (changed since, in the same session) would be served from what an earlier read cached.
    """
    from pyspark.sql import functions as F

    frame.select("*", F.lit(name).alias("_read")).createOrReplaceTempView(name)


def read_csv(session: Any, path: str, separator: str, names: list[str], row: str) -> Any:
    """A CSV file read by Spark, every cell as text, with `row`: the row a person sees (the header is row 1).

    Quoted cells may hold line breaks and quotes are doubled, as DuckDB and pandas read them; a
    malformed row fails the read (FAILFAST), so that `calib.inputs.load` can name it. Rows are
    numbered without a window over the whole file: within each block Spark reads (by the
    position of the block in its file, and the order of rows inside the block).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.sql.types import StringType, StructField, StructType

    schema = StructType([StructField(name, StringType()) for name in names])
    options = {"header": True, "sep": separator, "quote": '"', "escape": '"', "multiLine": True, "mode": "FAILFAST"}
    frame = session.read.csv(path, schema=schema, encoding="UTF-8", **options)
    frame = frame.select(
        "*",
        F.col("_metadata.file_path").alias("_file"),
        F.col("_metadata.file_block_start").alias("_block"),
        F.monotonically_increasing_id().alias("_id"),
    )
    blocks = frame.groupBy("_file", "_block").agg(F.min("_id").alias("_first"), F.count("*").alias("_n"))
    earlier = F.sum("_n").over(Window.partitionBy("_file").orderBy("_block")) - F.col("_n")
    blocks = blocks.select("_file", "_block", "_first", earlier.alias("_before"))
    numbered = frame.join(F.broadcast(blocks), ["_file", "_block"])
    position = F.col("_before") + F.col("_id") - F.col("_first") + 2
    return numbered.select(*[F.col(f"`{name}`") for name in names], position.cast("long").alias(row))


def read_parquet(session: Any, path: str, row: str) -> Any:
    """Parquet files (a file, or a glob) read by Spark, with `row`: the row within its file, as DuckDB numbers it."""
    from pyspark.sql import functions as F

    frame = session.read.parquet(path)
    return frame.select("*", (F.col("_metadata.row_index") + 2).cast("long").alias(row))


def row_ids(frame: Any, row: str) -> Any:
    """A catalog table with `row`: a hash of the whole row (no window over the table, no second scan).

    A table has no row numbers; messages name a row by its id, and `row` only orders rows the
    same way on every run. Rows that are equal in every column get the same number.
    """
    from pyspark.sql import functions as F

    return frame.select("*", F.xxhash64(*[F.col(f"`{c}`") for c in frame.columns]).alias(row))
