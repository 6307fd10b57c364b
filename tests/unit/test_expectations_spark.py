"""The suites gate the raw Spark tables with the same outcomes as the DuckDB runner.

One local Spark session for the module (in-memory catalog, warehouse in a tmp folder). The raw
tables are written from the source contract with the types the DuckDB loader gives them, and
the same rows go into a DuckDB file for the comparison with `validate_source`. Each table is
validated once (`spark_outcome`), so the JVM and GE's start-up are paid once, not per test.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pytest

from customer_tiers.expectations.runner import SuiteOutcome, suite_for, validate_source
from customer_tiers.expectations.spark_runner import validate_spark_table
from customer_tiers.ingest.sources import DUCKDB_TYPES, LINEAGE_COLUMNS, SOURCES, Column
from tests.conftest import java_17_missing

if (why := java_17_missing()) is not None:
    pytest.skip(why, allow_module_level=True)
pytest.importorskip("pyspark", reason="Spark tests need pyspark: pip install -e '.[spark]'")

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from pyspark.sql.types import DataType

Row = dict[str, Any]

CLEAN: dict[str, list[Row]] = {
    "customers": [
        {"customer_id": "c1", "gender": "F", "birth_date": dt.date(1980, 5, 1)},
        {"customer_id": "c2", "gender": "M", "birth_date": None},
        {"customer_id": "c3", "gender": None, "birth_date": dt.date(1999, 1, 2),
         "signup_date": dt.date(2020, 1, 1), "account_manager_id": "s1"},
    ],
    "orders": [
        {"order_id": "o1", "customer_id": "c1", "ordered_at": dt.datetime(2024, 1, 5, 9, 30),
         "product_id": "p1", "quantity": 2, "amount": 20, "cost": 12.5, "channel": "web"},
        {"order_id": "o1", "customer_id": "c1", "ordered_at": dt.datetime(2024, 1, 5, 9, 30),
         "quantity": 1, "amount": 5},
        {"order_id": "o2", "customer_id": "c2", "ordered_at": dt.datetime(2024, 2, 1),
         "quantity": -1, "amount": -5},
    ],
}  # fmt: skip

# Broken on purpose, each row worked out by hand in the tests below.
DIRTY: dict[str, list[Row]] = {
    "customers": [
        *CLEAN["customers"],
        {"customer_id": "c1", "gender": "female"},  # key c1 twice; gender outside the set
        {"customer_id": None, "birth_date": dt.date(1850, 1, 1)},  # no key; born too early
    ],
    "orders": [
        *CLEAN["orders"],
        {"order_id": "o3", "customer_id": None, "ordered_at": None, "amount": -1},
        {"order_id": "o4", "customer_id": "c3", "ordered_at": dt.datetime(2101, 1, 1)},
        {"order_id": "o5", "customer_id": "c3", "ordered_at": dt.datetime(2024, 5, 1),
         "quantity": 20_000, "amount": -2},
    ],
}  # fmt: skip

# Where each variant's rows are written: the clean ones at the default `raw.<source>`.
TABLES = {"clean": "raw.{source}", "dirty": "raw.{source}_dirty"}
ROWS = {"clean": CLEAN, "dirty": DIRTY}


def full_rows(source: str, rows: list[Row]) -> list[Row]:
    """Every contract and lineage column of each row, as the loader would fill it."""
    spec = SOURCES[source]
    columns = [*spec.columns, *LINEAGE_COLUMNS]
    filled = []
    for number, row in enumerate(rows, start=1):
        values = {c.name: None for c in columns}
        values |= {"_source_file": f"{source}.csv", "_row_number": number, "_run_id": "run-1"}
        filled.append(values | row)
    return filled


def spark_type(column: Column) -> DataType:
    """The Spark type matching the DuckDB raw type (DUCKDB_TYPES) of a contract column."""
    from pyspark.sql import types as T

    return {
        "varchar": T.StringType(),
        "date": T.DateType(),
        # DuckDB's TIMESTAMP has no time zone, and Spark reads its Parquet as TIMESTAMP_NTZ.
        "timestamp": T.TimestampNTZType(),
        "decimal": T.DecimalType(18, 4),
        "double": T.DoubleType(),
        "integer": T.IntegerType(),
        "boolean": T.BooleanType(),
    }[column.type]


def spark_value(column: Column, value: Any) -> Any:
    if value is None:
        return None
    if column.type == "decimal":
        return Decimal(str(value))
    if column.type == "double":
        return float(value)
    return value


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkSession]:
    from pyspark.sql import SparkSession

    env = pytest.MonkeyPatch()
    env.setenv("SPARK_LOCAL_IP", "127.0.0.1")  # read when the JVM starts
    warehouse = tmp_path_factory.mktemp("spark") / "warehouse"
    session = (
        SparkSession.builder.master("local[1]")
        .appName("test_expectations_spark")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.warehouse.dir", str(warehouse))
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    try:
        session.sql("CREATE DATABASE IF NOT EXISTS raw")
        for variant, table in TABLES.items():
            for source, rows in ROWS[variant].items():
                write_spark_table(session, source, rows, table.format(source=source))
        yield session
    finally:
        session.stop()
        env.undo()


def write_spark_table(spark: SparkSession, source: str, rows: list[Row], table: str) -> None:
    from pyspark.sql import types as T

    spec = SOURCES[source]
    columns = [*spec.columns, *LINEAGE_COLUMNS]
    schema = T.StructType([T.StructField(c.name, spark_type(c), nullable=True) for c in columns])
    data = [tuple(spark_value(c, row[c.name]) for c in columns) for row in full_rows(source, rows)]
    df = spark.createDataFrame(data, schema=schema)
    df.write.format("parquet").mode("overwrite").saveAsTable(table)


@pytest.fixture(scope="module")
def spark_outcome(spark: SparkSession) -> Callable[[str, str], SuiteOutcome]:
    """`(source, variant) -> outcome`, each validated once, with toPandas calls recorded."""
    from pyspark.sql import DataFrame

    done: dict[tuple[str, str], SuiteOutcome] = {}
    to_pandas_calls: list[str] = []

    def validate(source: str, variant: str) -> SuiteOutcome:
        if (source, variant) not in done:
            table = None if variant == "clean" else TABLES[variant].format(source=source)
            with pytest.MonkeyPatch.context() as mp:
                for cls in {DataFrame, type(spark.range(1))}:
                    original = cls.toPandas

                    def recorded(self: Any, _original: Any = original) -> Any:
                        to_pandas_calls.append(source)
                        return _original(self)

                    mp.setattr(cls, "toPandas", recorded)
                done[source, variant] = validate_spark_table(spark, source, table=table)
            assert to_pandas_calls == [], "GE pulled data into pandas instead of Spark"
        return done[source, variant]

    return validate


def duckdb_outcome(tmp_path: Path, source: str, rows: list[Row]) -> SuiteOutcome:
    """`validate_source` on `rows` loaded into `raw.<source>` of a new DuckDB file."""
    db = tmp_path / f"{source}.duckdb"
    spec = SOURCES[source]
    columns = [*spec.columns, *LINEAGE_COLUMNS]
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE SCHEMA raw")
        ddl = ", ".join(f'"{c.name}" {DUCKDB_TYPES[c.type]}' for c in columns)
        con.execute(f"CREATE TABLE raw.{source} ({ddl})")
        marks = ", ".join("?" for _ in columns)
        con.executemany(
            f"INSERT INTO raw.{source} VALUES ({marks})",
            [[row[c.name] for c in columns] for row in full_rows(source, rows)],
        )
    return validate_source(db, source)


def comparable(outcome: SuiteOutcome) -> list[tuple[Any, ...]]:
    return sorted(
        (o.expectation, o.column or "", o.severity, o.success, o.unexpected_count)
        for o in outcome.outcomes
    )


def percents(outcome: SuiteOutcome) -> list[float]:
    ordered = sorted(
        ((o.expectation, o.column or "", o.severity), o.unexpected_percent or 0.0)
        for o in outcome.outcomes
    )
    return [percent for _, percent in ordered]


def failed(outcome: SuiteOutcome) -> dict[tuple[str, str | None], int | None]:
    return {(o.expectation, o.column): o.unexpected_count for o in outcome.failures()}


@pytest.mark.parametrize("source", ["orders", "customers"])
def test_clean_table_passes_every_expectation(
    spark_outcome: Callable[[str, str], SuiteOutcome], source: str
) -> None:
    outcome = spark_outcome(source, "clean")

    assert outcome.source == source
    assert outcome.success
    assert [o for o in outcome.outcomes if not o.success] == []
    assert len(outcome.outcomes) == len(suite_for(source).expectations)
    assert not [o for o in outcome.outcomes if o.details.startswith("could not be evaluated")]
    # Metrics really were computed: the returns among the clean orders are counted.
    if source == "orders":
        [amount] = [o for o in outcome.outcomes if o.column == "amount" and o.unexpected_count]
        assert (amount.expectation, amount.unexpected_count) == (
            "expect_column_values_to_be_between",
            1,
        )


def test_duplicate_key_and_null_key_fail_on_customers(
    spark_outcome: Callable[[str, str], SuiteOutcome],
) -> None:
    outcome = spark_outcome("customers", "dirty")

    assert not outcome.success
    assert failed(outcome) == {
        # Of 4 non-null keys, the two rows sharing "c1" are unexpected.
        ("expect_column_values_to_be_unique", "customer_id"): 2,
        # The fifth row has no key.
        ("expect_column_values_to_not_be_null", "customer_id"): 1,
        # Warnings: "female" among the 3 non-null genders; born in 1850.
        ("expect_column_values_to_be_in_set", "gender"): 1,
        ("expect_column_values_to_be_between", "birth_date"): 1,
    }
    severities = {o.column: o.severity for o in outcome.failures("error")}
    assert severities == {"customer_id": "error"}
    [unique] = [o for o in outcome.failures() if o.expectation.endswith("unique")]
    assert unique.unexpected_percent == pytest.approx(100 * 2 / 4)


def test_null_required_values_fail_on_orders(
    spark_outcome: Callable[[str, str], SuiteOutcome],
) -> None:
    outcome = spark_outcome("orders", "dirty")

    assert not outcome.success
    assert {k: v for k, v in failed(outcome).items() if "not_be_null" in k[0]} == {
        ("expect_column_values_to_not_be_null", "customer_id"): 1,  # o3
        ("expect_column_values_to_not_be_null", "ordered_at"): 1,  # o3
        ("expect_column_values_to_not_be_null", "amount"): 1,  # o4
    }
    assert {o.severity for o in outcome.failures() if "not_be_null" in o.expectation} == {"error"}
    # The warnings: quantity 20,000 (o5); 3 of the 5 amounts negative. (o4's 2101 passes the
    # suite: far-future dates are judged by the loader against the other dates.)
    assert {k: v for k, v in failed(outcome).items() if "between" in k[0]} == {
        ("expect_column_values_to_be_between", "quantity"): 1,
        ("expect_column_values_to_be_between", "amount"): 3,
    }
    [amount_null] = [
        o for o in outcome.failures() if o.column == "amount" and "not_be_null" in o.expectation
    ]
    assert amount_null.unexpected_percent == pytest.approx(100 * 1 / 6)


@pytest.mark.parametrize("variant", ["clean", "dirty"])
@pytest.mark.parametrize("source", ["orders", "customers"])
def test_outcomes_equal_the_duckdb_runners(
    spark_outcome: Callable[[str, str], SuiteOutcome],
    tmp_path: Path,
    source: str,
    variant: str,
) -> None:
    on_spark = spark_outcome(source, variant)
    on_duckdb = duckdb_outcome(tmp_path, source, ROWS[variant][source])

    assert comparable(on_spark) == comparable(on_duckdb)
    assert on_spark.success == on_duckdb.success
    assert percents(on_spark) == pytest.approx(percents(on_duckdb))
