"""The Spark engine: the same dbt project built in Spark instead of DuckDB (docs/spark.md).

The sources land as Spark tables over Parquet, the source suites run in Spark, dbt builds
every model with the `spark` target (dbt-spark's session method: Spark runs in this process),
and the marts are exported as a Parquet folder for BI tools, swapped in whole.

dbt runs in process (dbtRunner), not as a subprocess as dagster-dbt runs it: a Spark session
costs about 20 s of JVM and metastore start-up, and dbt-spark's session method reuses the
session this module starts, so a run pays it once. Only one process may use the Derby
metastore under TIERS_SPARK_DIR at a time.

Needs the `spark` extra (`pip install .[spark]`) and Java 17.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import jinja2
import pyarrow as pa
import yaml

from customer_tiers.orchestration.config import DBT_PROJECT_DIR
from customer_tiers.orchestration.dbt_invoke import QUIET_FLAGS, DbtOutcome, outcome_of

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from customer_tiers.expectations.runner import SuiteOutcome

PROFILE = "customer_tiers"
SPARK_TARGET = "spark"
# What dbt reads as sources: the loaded files, the model fits and the account assignment.
SOURCE_SCHEMAS = ("raw", "predictions", "assignments")
MART_SCHEMA = "marts"


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
    import importlib.util

    if any(importlib.util.find_spec(name) is None for name in ("pyspark", "dbt.adapters.spark")):
        raise SparkEngineError(
            "the Spark engine needs the spark extra (pyspark, dbt-spark): "
            "pip install -c requirements.lock '.[spark]'"
        )
    if not java_available():
        raise SparkEngineError("the Spark engine needs Java 17 (java on PATH or JAVA_HOME)")


def spark_session() -> SparkSession:
    """The session dbt-spark will reuse (it calls getOrCreate with the same settings)."""
    require_spark()
    from pyspark.sql import SparkSession

    # Spark binds its driver to the machine's address unless told otherwise; local runs
    # should not depend on the host name resolving.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.enableHiveSupport()
    for key, value in session_parameters().items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


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


def _dbt_command(args: Sequence[str], target_path: Path, log_path: Path) -> list[str]:
    return [
        *args,
        "--target", SPARK_TARGET,
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(target_path),
        "--log-path", str(log_path),
        *QUIET_FLAGS,
    ]  # fmt: skip


def parse_dbt(dbt_vars: str, *, target_path: Path, log_path: Path) -> Any:
    """The project's manifest with these vars: a run that invokes dbt several times parses
    once and hands the manifest to each invocation (run_dbt's `manifest`)."""
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(_dbt_command(["parse", "--vars", dbt_vars], target_path, log_path))
    if not result.success or result.result is None:
        raise RuntimeError(f"dbt parse failed: {result.exception}")
    return result.result


def run_dbt(
    args: Sequence[str], *, target_path: Path, log_path: Path, manifest: Any = None
) -> DbtOutcome:
    """`dbt <args> --target spark` in this process, on the session already started; with
    `manifest` (parse_dbt's, same vars) dbt does not parse the project again."""
    from dbt.cli.main import dbtRunner

    started = time.perf_counter()
    try:
        result = dbtRunner(manifest=manifest).invoke(_dbt_command(args, target_path, log_path))
    except Exception as err:  # dbt reports its own failures in the result; this is anything else
        result = err
    return outcome_of(result, time.perf_counter() - started)


def export_marts(spark: SparkSession, out_dir: Path, schema: str = MART_SCHEMA) -> list[str]:
    """Every table of `schema` as `out_dir/<table>/` Parquet, for BI tools. Written next to
    `out_dir` first and swapped in with two renames: a reader finds the old set or the new
    one, never a mix (between the two renames, for an instant, none)."""
    building = out_dir.with_name(out_dir.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    # `show tables` also lists the session's temporary views (dbt-spark's incremental models
    # leave `<model>__dbt_tmp` behind), which are no marts
    listed = spark.sql(f"show tables in `{schema}`").collect()
    tables = sorted(row.tableName for row in listed if not row.isTemporary)
    try:
        for table in tables:
            spark.table(f"`{schema}`.`{table}`").write.parquet(str(building / table))
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)  # the previous set stays as it was
        raise
    previous = out_dir.with_name(out_dir.name + ".previous")
    shutil.rmtree(previous, ignore_errors=True)
    if out_dir.exists():
        out_dir.rename(previous)
    building.rename(out_dir)
    shutil.rmtree(previous, ignore_errors=True)
    return tables


def run_source_suites(spark: SparkSession) -> list[SuiteOutcome]:
    """Each source's Great Expectations suite on its Spark table `raw.<source>`."""
    from customer_tiers.expectations.spark_runner import validate_spark_table
    from customer_tiers.ingest.sources import SOURCES

    return [validate_spark_table(spark, source) for source in SOURCES]


def blocking_failures(suite: SuiteOutcome) -> list[str]:
    """The failed expectations of severity error, one line each."""
    return [
        f"{suite.source}: {o.expectation} {o.column or ''} {o.details}".strip()
        for o in suite.failures("error")
    ]


# --- Building a DuckDB run's sources on Spark --------------------------------------------------


@dataclass
class SparkBuild:
    landed: list[LandedTable] = field(default_factory=list)
    source_checks: dict[str, bool] = field(default_factory=dict)
    failed_checks: list[str] = field(default_factory=list)
    dbt: DbtOutcome | None = None
    marts: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return not self.failed_checks and self.dbt is not None and self.dbt.success


def build_on_spark(
    warehouse: Path,
    spark_dir: Path,
    marts_out: Path,
    dbt_vars: str,
    dbt_exclude: str | None = None,
) -> SparkBuild:
    """Land the sources of a DuckDB warehouse (`tiers run`'s: the loaded files, the fits and
    the assignment) as Spark tables, run the source suites in Spark, `dbt build` every model
    and test on Spark, and export the marts to `marts_out`. Stops before dbt when a blocking
    source check fails, and exports nothing when dbt fails: `marts_out` keeps its last set."""
    outcome = SparkBuild()
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        outcome.seconds[stage] = round(now - clock, 2)
        clock = now

    spark = spark_session()
    lap("spark_start")
    outcome.landed = land_duckdb_tables(spark, warehouse, spark_dir / "sources")
    lap("land")
    for suite in run_source_suites(spark):
        outcome.source_checks[suite.source] = suite.success
        outcome.failed_checks += blocking_failures(suite)
    lap("source_checks")
    if outcome.failed_checks:
        return outcome
    exclude = ["--exclude", dbt_exclude] if dbt_exclude else []
    outcome.dbt = run_dbt(
        ["build", "--vars", dbt_vars, *exclude],
        target_path=spark_dir / "dbt_target",
        log_path=spark_dir / "dbt_logs",
    )
    lap("dbt_build")
    if outcome.dbt.success:
        outcome.marts = export_marts(spark, marts_out)
        lap("export")
    return outcome


def main(argv: Sequence[str] | None = None) -> int:
    """python -m orchestration.spark_engine --warehouse W --spark-dir D --marts-out M [--as-of]"""
    import argparse
    import json
    from dataclasses import asdict
    from datetime import date

    from customer_tiers.orchestration.config import load_config

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--warehouse", type=Path, required=True, help="a warehouse of tiers run")
    parser.add_argument("--spark-dir", type=Path, required=True, help="metastore and tables")
    parser.add_argument("--marts-out", type=Path, required=True, help="Parquet copy of the marts")
    parser.add_argument("--as-of", type=date.fromisoformat, default=None)
    parser.add_argument("--dbt-exclude", help="dbt selector of nodes to leave out of the build")
    args = parser.parse_args(argv)
    if not args.warehouse.is_file():
        parser.error(f"--warehouse {args.warehouse}: no such file")
    args.spark_dir.mkdir(parents=True, exist_ok=True)
    os.environ["TIERS_SPARK_DIR"] = str(args.spark_dir.resolve())
    dbt_vars = load_config().dbt_vars_json(args.as_of)
    try:
        outcome = build_on_spark(
            args.warehouse, args.spark_dir, args.marts_out, dbt_vars, args.dbt_exclude
        )
    except SparkEngineError as exc:
        print(f"error: {exc}", flush=True)
        return 2
    print(json.dumps({**asdict(outcome), "success": outcome.success}, default=str), flush=True)
    return 0 if outcome.success else 1


if __name__ == "__main__":
    raise SystemExit(main())
