"""The Spark engine of the one pipeline (`tiers run --engine spark`, docs/spark.md).

After the ingest has loaded the DuckDB work copy, the raw tables land as Parquet-backed Spark
tables; the source suites, the three dbt builds (target `spark`, dbt-spark's session method on
the session started here) and the Python steps' reads and writes run in Spark. The account
assignment history is one Parquet file per analysis date kept across runs under
TIERS_SPARK_DIR (AssignmentHistory).

Publishing writes the marts as a Parquet folder for BI tools (built beside it, swapped in) and
copies them, with the dbt quality tables and the analysis date, into the DuckDB work copy that
is then swapped in: the summary, `tiers export` and `tiers report` read that file as they do
after a DuckDB run. A failed run publishes neither; the Spark tables of the models themselves
are rebuilt in place by dbt, so after a failed run they may be part new.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import pandas as pd
import pyarrow as pa

from customer_tiers.assignment.runs import HISTORY_COLUMNS, HISTORY_SCHEMA
from customer_tiers.orchestration.config import REPO_ROOT
from customer_tiers.orchestration.engine import ASSIGNMENT_HISTORY, Engine
from customer_tiers.orchestration.warehouse_file import swap_guard

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from customer_tiers.expectations.runner import SuiteOutcome
    from customer_tiers.orchestration.resources import WarehouseResource

HISTORY_FOLDER = "account_assignment_history"  # under <TIERS_SPARK_DIR>/assignments/
HISTORY_DDL = ", ".join(
    f"{f.name} {'date' if f.type == pa.date32() else 'string'}" for f in HISTORY_SCHEMA
)
# Besides the marts, what the published DuckDB file needs from a Spark build: dbt's quality
# models (the summary's unresolved references) and the resolved analysis date.
COPIED_TABLES = ("intermediate.int_as_of_resolved",)


def default_marts_out(warehouse: Path) -> Path:
    """The Parquet copy of the marts beside the warehouse: var/warehouse.duckdb gives
    var/warehouse_marts/."""
    return warehouse.with_name(f"{warehouse.stem}_marts")


def resolve_spark_dir(spark_dir: str = "") -> Path:
    """`spark_dir`, else TIERS_SPARK_DIR, else the project's var/spark (profiles.yml's default,
    relative to the dbt project folder). Exported absolute, so dbt-spark and the session
    started here agree whatever the working directory."""
    chosen = spark_dir or os.environ.get("TIERS_SPARK_DIR") or str(REPO_ROOT / "var" / "spark")
    path = Path(chosen).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    os.environ["TIERS_SPARK_DIR"] = str(path)
    return path


class SparkEngine(Engine):
    """Spark at `master` (spark://host:port of a standalone cluster, local[N]; when empty,
    TIERS_SPARK_MASTER, else local[*]: profiles.yml)."""

    master: str = ""
    spark_dir: str = ""  # TIERS_SPARK_DIR when empty
    marts_out: str = ""  # beside the published warehouse when empty

    @property
    def name(self) -> str:
        return "spark"

    @property
    def dbt_target(self) -> str:
        return "spark"

    def describe(self) -> str:
        master = self.master or os.environ.get("TIERS_SPARK_MASTER") or "local[*]"
        return f"Spark ({master})"

    def published_notes(self, warehouse: Path) -> list[str]:
        marts_out = self._marts_folder(warehouse)
        return [
            f"Engine: {self.describe()}; the marts are also a Parquet copy in {marts_out}/<mart>/",
            f"Spark tables: under {self.spark_folder()} (TIERS_SPARK_DIR)",
        ]

    def check_available(self) -> None:
        from customer_tiers.orchestration.errors import UsageError
        from customer_tiers.orchestration.spark_engine import SparkEngineError, require_spark

        try:
            require_spark()
        except SparkEngineError as err:
            raise UsageError(str(err)) from err

    def session(self) -> SparkSession:
        """The process's Spark session, started on first use (about 20 s of JVM and metastore
        start-up, paid once per process: dbt-spark reuses it)."""
        from customer_tiers.orchestration.spark_engine import spark_session

        self.spark_folder()
        return spark_session(self.master)

    def spark_folder(self) -> Path:
        return resolve_spark_dir(self.spark_dir)

    def marts_folder(self, warehouse: WarehouseResource) -> Path:
        return self._marts_folder(warehouse.published_path)

    def _marts_folder(self, published: Path) -> Path:
        if self.marts_out:
            return Path(self.marts_out).expanduser().resolve()
        return default_marts_out(published)

    def history(self) -> AssignmentHistory:
        return AssignmentHistory(self.spark_folder() / "assignments" / HISTORY_FOLDER)

    def sources_loaded(self, warehouse: WarehouseResource, log: dg.DagsterLogManager) -> None:
        from customer_tiers.orchestration.spark_engine import land_duckdb_tables

        log.info(f"starting {self.describe()}")
        spark = self.session()
        landed = land_duckdb_tables(
            spark, warehouse.work_path, self.spark_folder() / "sources", ("raw",)
        )
        log.info(f"{len(landed)} raw tables landed in Spark ({sum(t.rows for t in landed):,} rows)")

    def validate_source(self, warehouse: WarehouseResource, source: str) -> SuiteOutcome:
        from customer_tiers.expectations.spark_runner import validate_spark_table

        return validate_spark_table(self.session(), source)

    def read_arrow(self, warehouse: WarehouseResource, sql: str) -> pa.Table:
        return self.session().sql(sql).toArrow()

    def table_exists(self, warehouse: WarehouseResource, qualified: str) -> bool:
        return bool(self.session().catalog.tableExists(qualified))

    def write_table(
        self, warehouse: WarehouseResource, schema: str, table: str, data: pa.Table
    ) -> None:
        from customer_tiers.orchestration.spark_engine import write_parquet_table

        root = self.spark_folder() / "sources"
        write_parquet_table(self.session(), root, schema, table, data)

    def ensure_assignment_history(self, warehouse: WarehouseResource) -> None:
        self.history().open(self.session())

    def store_assignment(
        self, warehouse: WarehouseResource, as_of: date, rows: pd.DataFrame | None
    ) -> None:
        self.history().replace(self.session(), as_of, rows)

    def seal(self, warehouse: WarehouseResource, log: dg.DagsterLogManager) -> Path:
        """The marts written as the Parquet copy's next version, and copied with what the
        summary reads into the work copy, which is then sealed."""
        from customer_tiers.orchestration.spark_engine import write_marts

        spark, building = self.session(), _building(self.marts_folder(warehouse))
        marts = write_marts(spark, building)
        log.info(f"{len(marts)} marts written as Parquet in {building}")
        with warehouse.connect() as con:
            con.execute("drop schema if exists marts cascade")  # a mart dropped from dbt goes
            con.execute("create schema marts")
            for mart in marts:
                con.execute(
                    f"create table marts.{mart} as "
                    f"select * from read_parquet('{building / mart}/*.parquet')"
                )
            for qualified in _spark_tables(spark, "quality") + list(COPIED_TABLES):
                con.execute(f"create schema if not exists {qualified.split('.')[0]}")
                con.register("incoming", spark.table(qualified).toArrow())
                try:
                    con.execute(f"create or replace table {qualified} as select * from incoming")
                finally:
                    con.unregister("incoming")
        return warehouse.seal()

    def swap(self, warehouse: WarehouseResource) -> Path:
        """The Parquet copy and the DuckDB file swapped in together: no process may write the
        published file between the two, so a refusal cannot leave them out of step."""
        from customer_tiers.orchestration.spark_engine import swap_in

        marts_out = self.marts_folder(warehouse)
        with swap_guard(warehouse.published_path):
            swap_in(_building(marts_out), marts_out)
            published = warehouse.swap()
        self.history().commit()
        return published

    def close(self, published: bool) -> None:
        """Undo an unpublished run's assignment history now (the next run would), and stop
        the session."""
        from customer_tiers.orchestration.spark_engine import stop_session

        if not published:
            self.history().rollback()
        stop_session()


def _building(marts_out: Path) -> Path:
    return marts_out.with_name(marts_out.name + ".building")


def _spark_tables(spark: SparkSession, schema: str) -> list[str]:
    if not spark.catalog.databaseExists(schema):
        return []
    listed = spark.sql(f"show tables in `{schema}`").collect()
    return [f"{schema}.{row.tableName}" for row in listed if not row.isTemporary]


class AssignmentHistory:
    """`assignments.account_assignment_history` on Spark: one Parquet file per analysis date in
    one folder kept across runs, so the next run knows the manager each customer has.

    A run replaces its date's file. Until the run has published, the file it replaced stays
    beside it under a hidden name (Spark reads no file whose name starts with a dot); a run
    that fails or is killed is undone when the next one opens the history, so a rerun of the
    date reads the same history again.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, as_of: date) -> Path:
        return self.folder / f"{as_of.isoformat()}.parquet"

    def _aside(self, as_of: date) -> Path:
        return self.folder / f".{as_of.isoformat()}.parquet.replaced"

    def _absent(self, as_of: date) -> Path:
        return self.folder / f".{as_of.isoformat()}.parquet.absent"

    def open(self, spark: SparkSession) -> None:
        """Undo what an unpublished run left, and register the table."""
        from customer_tiers.orchestration.spark_engine import register_parquet_table

        self.folder.mkdir(parents=True, exist_ok=True)
        self.rollback()
        schema, table = ASSIGNMENT_HISTORY.split(".")
        register_parquet_table(spark, schema, table, self.folder, HISTORY_DDL)

    def replace(self, spark: SparkSession, as_of: date, rows: pd.DataFrame | None) -> None:
        """This run's assignment for `as_of` (None: none, the date's file goes)."""
        target = self.path(as_of)
        staged = self._aside(as_of).exists() or self._absent(as_of).exists()
        if not staged:
            if target.exists():
                target.replace(self._aside(as_of))
            else:
                self._absent(as_of).touch()
        target.unlink(missing_ok=True)
        if rows is not None:
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(
                rows.assign(as_of=as_of)[list(HISTORY_COLUMNS)],
                schema=HISTORY_SCHEMA,
                preserve_index=False,
            )
            partial = self.folder / f".{target.name}.tmp"
            pq.write_table(table, partial)
            partial.replace(target)
        spark.catalog.refreshTable(ASSIGNMENT_HISTORY)

    def staged(self) -> list[date]:
        """The dates a run replaced and has not published yet."""
        markers = [*self.folder.glob(".*.parquet.replaced"), *self.folder.glob(".*.parquet.absent")]
        return sorted({date.fromisoformat(path.name[1:11]) for path in markers})

    def commit(self) -> None:
        """The run published: its files stay, the replaced ones go."""
        for as_of in self.staged():
            self._aside(as_of).unlink(missing_ok=True)
            self._absent(as_of).unlink(missing_ok=True)

    def rollback(self) -> None:
        """Put back what an unpublished run replaced."""
        for as_of in self.staged():
            if self._aside(as_of).exists():
                self._aside(as_of).replace(self.path(as_of))
            elif self._absent(as_of).exists():
                self.path(as_of).unlink(missing_ok=True)
            self._absent(as_of).unlink(missing_ok=True)
        for partial in self.folder.glob(".*.tmp"):
            partial.unlink()
