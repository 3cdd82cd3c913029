"""The one local Spark session the tests share (local[2], few shuffle partitions, no UI, a small heap).

Started once, by the first test that asks for `spark`; `calib.delivery.engine.connect("pyspark")`
and `--engine pyspark` then reuse it. Without Java the tests fail with what to install: CI
installs it (.ci/run); nothing is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from calib.delivery import spark as calib_spark

TEST_CONF = {"spark.sql.shuffle.partitions": "2", "spark.driver.memory": "1g"}  # small data, a shared machine


@pytest.fixture(scope="session")
def spark() -> Iterator[str]:
    """The engine URL of the shared local Spark session ("pyspark"), stopped after the last test."""
    if calib_spark.java() is None:
        pytest.fail(f"the Spark tests need {calib_spark.JAVA_HINT}", pytrace=False)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder
    for key, value in {**calib_spark.LOCAL_CONF, **TEST_CONF}.items():
        builder = builder.config(key, value)
    session = calib_spark.configured(builder.getOrCreate())
    yield "pyspark"
    session.stop()
