"""The engine: where dbt builds the models and where the Python steps read and write tables.

One Dagster job runs every stage (ingest, source checks, dbt builds, the fits, the assignment,
the effects, publish) whichever the engine; the assets ask the `engine` resource for what
differs. The DuckDB engine builds in the warehouse's work copy. The Spark engine
(orchestration/engine_spark.py) builds in Spark tables under TIERS_SPARK_DIR and, when it
publishes, copies the marts into the work copy too, so the published DuckDB file serves the
summary, `tiers export` and `tiers report` after either engine's run.

The sources are loaded into the DuckDB work copy by both engines (schemas raw, quarantine and
the load audit); the Spark engine lands them as Parquet-backed Spark tables after the load.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
import pandas as pd
import pyarrow as pa

from customer_tiers.assignment.runs import HISTORY_COLUMNS

if TYPE_CHECKING:
    from customer_tiers.expectations.runner import SuiteOutcome
    from customer_tiers.orchestration.resources import WarehouseResource

ASSIGNMENT_HISTORY = "assignments.account_assignment_history"
ENGINES = ("duckdb", "spark")  # `tiers run --engine`: definitions.engine_for makes each

_CREATE_HISTORY = f"""
create schema if not exists assignments;
create table if not exists {ASSIGNMENT_HISTORY} (
    as_of date not null,
    customer_id varchar not null,
    staff_id varchar,
    previous_staff_id varchar,
    source_manager_id varchar,
    reason varchar not null
)
"""


class Engine(dg.ConfigurableResource):
    """What the assets need of an engine; the DuckDB engine's behaviour is the default."""

    @property
    def name(self) -> str:
        return "duckdb"

    @property
    def dbt_target(self) -> str:
        """The target of dbt_project/profiles.yml that builds on this engine."""
        return "duckdb"

    def describe(self) -> str:
        return "DuckDB"

    def published_notes(self, warehouse: Path) -> list[str]:
        """Lines the run summary adds about what this engine published besides the file."""
        return []

    def check_available(self) -> None:
        """Raise UsageError, before any work, when the engine cannot run here."""

    def sources_loaded(self, warehouse: WarehouseResource, log: dg.DagsterLogManager) -> None:
        """The ingest has loaded the work copy's raw tables: make them readable here."""

    def validate_source(self, warehouse: WarehouseResource, source: str) -> SuiteOutcome:
        """The source's Great Expectations suite on its raw table in this engine."""
        from customer_tiers.expectations.runner import validate_source

        return validate_source(warehouse.work_path, source)

    def read_arrow(self, warehouse: WarehouseResource, sql: str) -> pa.Table:
        """A small query result (one row per customer at most), never a fact table."""
        with warehouse.connect(read_only=True) as con:
            return con.sql(sql).to_arrow_table()

    def table_exists(self, warehouse: WarehouseResource, qualified: str) -> bool:
        from customer_tiers.experiments.members import table_exists

        with warehouse.connect(read_only=True) as con:
            return table_exists(con, qualified)

    def write_table(
        self, warehouse: WarehouseResource, schema: str, table: str, data: pa.Table
    ) -> None:
        """`data`, computed in Python, as the table `schema.table` (replaced) that dbt reads as
        a source or BI tools read as a mart."""
        with warehouse.connect() as con:
            con.execute(f"create schema if not exists {schema}")
            con.register("incoming", data)
            try:
                con.execute(f"create or replace table {schema}.{table} as select * from incoming")
            finally:
                con.unregister("incoming")

    def store_assignment(
        self, warehouse: WarehouseResource, as_of: date, rows: pd.DataFrame | None
    ) -> None:
        """This run's assignment as `as_of`'s rows of the history (None: none; the date's
        earlier rows go). The history is kept in the warehouse, so a failed run, which
        publishes nothing, leaves it as it was."""
        with warehouse.connect() as con:
            con.execute(_CREATE_HISTORY)
            con.execute(f"delete from {ASSIGNMENT_HISTORY} where as_of = $as_of", {"as_of": as_of})
            if rows is None:
                return
            con.register("incoming", rows.assign(as_of=as_of)[list(HISTORY_COLUMNS)])
            try:
                con.execute(f"insert into {ASSIGNMENT_HISTORY} select * from incoming")
            finally:
                con.unregister("incoming")

    def ensure_assignment_history(self, warehouse: WarehouseResource) -> None:
        """The history table exists (empty before the first assignment)."""
        with warehouse.connect() as con:
            con.execute(_CREATE_HISTORY)

    def seal(self, warehouse: WarehouseResource, log: dg.DagsterLogManager) -> Path:
        """Everything the run built is in the work copy, ready to swap in."""
        return warehouse.seal()

    def swap(self, warehouse: WarehouseResource) -> Path:
        """Publish: the sealed work copy replaces the published file."""
        return warehouse.swap()

    def close(self, published: bool) -> None:
        """The run is over, published or not (the CLI calls this; DuckDB has nothing to
        release: an unpublished run's changes are in the work copy only)."""


class DuckDBEngine(Engine):
    """dbt builds in the warehouse's work copy; the Python steps read and write it."""
