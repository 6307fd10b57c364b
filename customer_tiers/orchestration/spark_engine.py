"""Spark for the Spark engine (orchestration/engine_spark.py): the session, tables over Parquet,
the marts' Parquet copy.

dbt runs in this process with the `spark` target (dbt-spark's session method), so it reuses
the session started here: a session costs about 20 s of JVM and metastore start-up, paid once
per run. Only one process may use the Derby metastore under TIERS_SPARK_DIR at a time.

Needs the `spark` extra (`pip install .[spark]`) and Java 17.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import jinja2
import pyarrow as pa
import yaml

from customer_tiers.orchestration.config import DBT_PROJECT_DIR

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

PROFILE = "customer_tiers"
SPARK_TARGET = "spark"
# What dbt reads as sources: the loaded files, the model fits and the account assignment.
SOURCE_SCHEMAS = ("raw", "predictions", "assignments")
MART_SCHEMA = "marts"
DRIVER_JAVA_OPTIONS = "spark.driver.extraJavaOptions"
LOG4J2 = Path(__file__).with_name("spark_log4j2.properties")


class SparkEngineError(RuntimeError):
    """The Spark engine cannot run: what is missing and how to get it."""


def java_available() -> bool:
    return shutil.which("java") is not None or bool(os.environ.get("JAVA_HOME"))


def session_parameters(profiles_dir: Path = DBT_PROJECT_DIR) -> dict[str, str]:
    """The Spark settings of the `spark` dbt target (profiles.yml, env_var() resolved): one
    place for them, used both by dbt-spark and by the session this module starts first."""
    profile = yaml.safe_load((profiles_dir / "profiles.yml").read_text(encoding="utf-8"))
    target = profile[PROFILE]["outputs"][SPARK_TARGET]
    env = jinja2.Environment(autoescape=False, undefined=jinja2.StrictUndefined)
    env.globals["env_var"] = _env_var
    return {
        key: env.from_string(str(value)).render()
        for key, value in target.get("server_side_parameters", {}).items()
    }


def _env_var(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None:
        raise SparkEngineError(f"profiles.yml (spark target) needs the environment variable {name}")
    return value


def require_spark() -> None:
    """Fail early, before any work, when the extra or Java is missing."""
    if any(importlib.util.find_spec(name) is None for name in ("pyspark", "dbt.adapters.spark")):
        raise SparkEngineError(
            "the Spark engine needs the spark extra (pyspark, dbt-spark): "
            "pip install -c requirements.lock '.[spark]'"
        )
    if not java_available():
        raise SparkEngineError("the Spark engine needs Java 17 (java on PATH or JAVA_HOME)")


def spark_session(master: str = "") -> SparkSession:
    """The session dbt-spark will reuse (it calls getOrCreate with the same settings); `master`
    (else TIERS_SPARK_MASTER, else local[*]) is exported so that both read the same."""
    require_spark()
    from pyspark.sql import SparkSession

    if master:
        os.environ["TIERS_SPARK_MASTER"] = master

    # Spark binds its driver to the machine's address unless told otherwise; local runs
    # should not depend on the host name resolving.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    parameters = session_parameters()
    # Spark's log: errors only (its default profile prints a banner and warnings per run)
    options = parameters.get(DRIVER_JAVA_OPTIONS, "")
    parameters[DRIVER_JAVA_OPTIONS] = f"{options} -Dlog4j2.configurationFile={LOG4J2}".strip()
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in parameters.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


def stop_session() -> None:
    """Stop this process's Spark session, if one was started."""
    if importlib.util.find_spec("pyspark") is None:
        return
    from pyspark.sql import SparkSession

    session = SparkSession.getActiveSession()
    if session is not None:
        session.stop()


@dataclass
class LandedTable:
    schema: str
    table: str
    rows: int
    location: str


def land_duckdb_tables(
    spark: SparkSession,
    warehouse: Path,
    parquet_dir: Path,
    schemas: Sequence[str] = SOURCE_SCHEMAS,
) -> list[LandedTable]:
    """Every base table of `schemas` in the DuckDB file becomes a Parquet folder under
    `parquet_dir/<schema>/<table>/` and a Spark table over it (replacing an earlier one).

    DuckDB writes the Parquet (a streaming COPY, so memory stays bounded); Spark only records
    the location. Timestamps are written as microseconds, which both engines read alike."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' and table_schema in "
            f"({', '.join('?' for _ in schemas)}) order by 1, 2",
            list(schemas),
        ).fetchall()
        landed = []
        for schema, table in tables:
            folder = parquet_dir / schema / table
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            con.execute(
                f'copy "{schema}"."{table}" to \'{folder / "part-0.parquet"}\' (format parquet)'
            )
            (rows,) = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone() or (0,)
            landed.append(LandedTable(schema, table, int(rows), str(folder)))
    finally:
        con.close()
    for item in landed:
        register_parquet_table(spark, item.schema, item.table, Path(item.location))
    return landed


def register_parquet_table(
    spark: SparkSession, schema: str, table: str, location: Path, columns: str | None = None
) -> None:
    """A Spark table over the Parquet folder `location`, replacing an earlier table of the name
    (only the catalog entry: a table with a location is external, its files stay). `columns`
    is the DDL column list, needed when the folder may hold no file yet."""
    spark.sql(f"create database if not exists `{schema}`")
    spark.sql(f"drop table if exists `{schema}`.`{table}`")
    listed = f"({columns}) " if columns else ""
    spark.sql(f"create table `{schema}`.`{table}` {listed}using parquet location '{location}'")


def write_parquet_table(
    spark: SparkSession, parquet_dir: Path, schema: str, table: str, data: pa.Table
) -> LandedTable:
    """`data` (computed in Python, e.g. the model fits) as `parquet_dir/<schema>/<table>/`
    and a Spark table over it, as land_duckdb_tables does for DuckDB's tables."""
    import pyarrow.parquet as pq

    folder = parquet_dir / schema / table
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    pq.write_table(data, folder / "part-0.parquet")
    register_parquet_table(spark, schema, table, folder)
    return LandedTable(schema, table, data.num_rows, str(folder))


def write_marts(spark: SparkSession, folder: Path, schema: str = MART_SCHEMA) -> list[str]:
    """Every table of `schema` as `folder/<table>/` Parquet (the folder made anew), for BI
    tools; swap_in puts it in place. Returns the tables' names."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    # `show tables` also lists the session's temporary views (dbt-spark's incremental models
    # leave `<model>__dbt_tmp` behind), which are no marts
    listed = spark.sql(f"show tables in `{schema}`").collect()
    tables = sorted(row.tableName for row in listed if not row.isTemporary)
    try:
        for table in tables:
            spark.table(f"`{schema}`.`{table}`").write.parquet(str(folder / table))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # the published set stays as it was
        raise
    return tables


def swap_in(building: Path, out_dir: Path) -> None:
    """`building` becomes `out_dir` with two renames: a reader finds the old set or the new
    one, never a mix (between the two renames, for an instant, none)."""
    previous = out_dir.with_name(out_dir.name + ".previous")
    shutil.rmtree(previous, ignore_errors=True)
    if out_dir.exists():
        out_dir.rename(previous)
    building.rename(out_dir)
    shutil.rmtree(previous, ignore_errors=True)
