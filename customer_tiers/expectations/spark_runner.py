"""Run a source's Great Expectations suite against its raw Spark table.

Why: with the Spark engine the raw sources are Spark tables (Parquet in the Hive catalog,
`raw.<source>`) rather than tables of the DuckDB file, and they must pass the same gate: the
suite of `suite_for(source)`, with outcomes built by the DuckDB runner's own `suite_outcome`
(expectations/runner.py), so the two engines' outcomes compare one to one.

Design: GE's Spark datasource with the table as a dataframe asset, so every metric is computed
by Spark over the table: the aggregates of a validation are bundled into one `agg` job, the
uniqueness check is a count per key over a window, and the example values are a `limit`-ed
filter. Only a row of counts and at most `_SAMPLE` example values per expectation come back
to Python; the table itself is never collected or turned into pandas.

The datasource does not persist the dataframe (GE's default `persist=True` would cache the whole
table before the first metric). On Parquet each of GE's jobs reads only the columns it needs,
and caching every column costs more than those reads: on a 3M-row `raw.orders` (local[2]) the
suite took 3-5 s without persisting and 11-13 s with it (17-18 Spark jobs either way). GE
reaches its session through `SparkSession.builder.getOrCreate()`, i.e. the caller's active
session; it only uses it for query expectations, which our suites do not have: the metrics
run on the dataframe, read here with the session passed in.

pyspark is an optional dependency (the `spark` extra): it is imported for type checking only,
so this module imports without it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from customer_tiers.expectations.runner import (
    RESULT_FORMAT,
    SuiteOutcome,
    offline_context,
    suite_for,
    suite_outcome,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

RAW_DATABASE = "raw"


def validate_spark_table(
    spark: SparkSession, source: str, *, table: str | None = None
) -> SuiteOutcome:
    """Validate the Spark table `raw.<source>` (or `table`) against the source's suite."""
    suite = suite_for(source)
    started = time.perf_counter()
    df = spark.table(table or f"{RAW_DATABASE}.{source}")
    datasource = offline_context().data_sources.add_spark(name="spark", persist=False)
    asset = datasource.add_dataframe_asset(name=source)
    batch_definition = asset.add_batch_definition_whole_dataframe("whole_dataframe")
    batch = batch_definition.get_batch(batch_parameters={"dataframe": df})
    result = batch.validate(suite, result_format=RESULT_FORMAT)
    return suite_outcome(source, result, started)
