"""`tiers run --engine spark`: the whole pipeline, with the models built on Spark.

In this process and one Spark session (docs/spark.md):

1. ingest: the Dagster ingest asset and its blocking reconciliation checks load the new and
   changed source files into the work copy of the DuckDB warehouse (raw, quarantine, the load
   audit and `raw.loaded_files`), exactly as the DuckDB engine does;
2. land: the raw tables become Parquet-backed Spark tables;
3. the source suites run in Spark; a failed blocking expectation stops the run;
4. dbt builds on Spark in the DuckDB job's three parts, around two Python steps that read
   small per-customer tables from Spark through Arrow and write Spark tables dbt reads as
   sources: the CLV fits (orchestration/clv_fit.py, `predictions.*`) and the account
   assignment (assignment/runs.py, `assignments.account_assignment_history`, one Parquet file
   per analysis date kept across runs under TIERS_SPARK_DIR);
5. publish: the marts, Spark tables of schema `marts`, are exported as a Parquet copy for BI
   (written beside it and swapped in), then the DuckDB work copy replaces the published file.

A failure anywhere publishes nothing: the Parquet copy and the DuckDB file stay as they were
and the assignment history gets back the file this run replaced. The Spark tables of the
models themselves are rebuilt in place by dbt, so after a failed run they may be part new.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from customer_tiers.assignment.runs import (
    HISTORY_COLUMNS,
    HISTORY_SCHEMA,
    MANAGERS_SQL,
    TIERED_SQL,
    RunAssignment,
    assign_run,
    previous_assignment_sql,
)
from customer_tiers.orchestration.clv_backtest import BACKTEST_SQL, WINDOW_SQL, run_backtest
from customer_tiers.orchestration.clv_fit import (
    AS_OF_SQL,
    NO_CUSTOMERS,
    SUMMARY_SQL,
    ClvFit,
    fit_clv,
    summary_arrays,
)
from customer_tiers.orchestration.config import REPO_ROOT, dbt_environment, load_config
from customer_tiers.orchestration.errors import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    UsageError,
)
from customer_tiers.orchestration.pipeline import (
    dagster_instance,
    exclusive_build,
    job_outcome,
    prepare_run,
)
from customer_tiers.orchestration.spark_engine import (
    SparkEngineError,
    blocking_failures,
    export_marts,
    land_duckdb_tables,
    parse_dbt,
    register_parquet_table,
    require_spark,
    run_dbt,
    run_source_suites,
    spark_session,
    write_parquet_table,
)
from customer_tiers.orchestration.warehouse_file import WarehouseFileError, swap_guard

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from customer_tiers.orchestration.resources import WarehouseResource

# The DuckDB job's split of the build (orchestration/defs/transform.py): the models downstream
# of the fits' and the assignment's tables wait for them.
AFTER_PREDICTIONS = "source:predictions+"
AFTER_ASSIGNMENTS = "source:assignments+"
DBT_STEPS = (
    ("dbt_models", [], [AFTER_PREDICTIONS, AFTER_ASSIGNMENTS]),
    ("dbt_after_predictions", [AFTER_PREDICTIONS], [AFTER_ASSIGNMENTS]),
    ("dbt_after_assignments", [AFTER_ASSIGNMENTS], []),
)
HISTORY_TABLE = "assignments.account_assignment_history"
HISTORY_FOLDER = "account_assignment_history"  # under <TIERS_SPARK_DIR>/assignments/
HISTORY_DDL = ", ".join(
    f"{f.name} {'date' if f.type == pa.date32() else 'string'}" for f in HISTORY_SCHEMA
)


def default_marts_out(warehouse: Path) -> Path:
    """The Parquet copy of the marts beside the warehouse: var/warehouse.duckdb gives
    var/warehouse_marts/."""
    return warehouse.with_name(f"{warehouse.stem}_marts")


def resolve_spark_dir() -> Path:
    """TIERS_SPARK_DIR, else the project's var/spark (profiles.yml's default, which is relative
    to the dbt project folder). Exported absolute, so dbt-spark and the session started here
    agree whatever the working directory."""
    path = Path(os.environ.get("TIERS_SPARK_DIR") or REPO_ROOT / "var" / "spark").resolve()
    path.mkdir(parents=True, exist_ok=True)
    os.environ["TIERS_SPARK_DIR"] = str(path)
    return path


@dataclass
class SparkRunOutcome:
    exit_code: int
    warehouse: Path
    marts_out: Path
    spark_dir: Path
    run_id: str | None = None
    as_of: date | None = None
    messages: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    sources: list[tuple[str, int, int, int]] = field(default_factory=list)  # rows in raw,
    # loaded and quarantined this run
    clv: str = ""
    assignment: str = ""
    marts: dict[str, int] = field(default_factory=dict)  # rows per mart in the Parquet copy


class _Stopped(Exception):
    """A stage failed in an expected way (a check, dbt): exit with these messages."""

    def __init__(self, exit_code: int, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.exit_code = exit_code
        self.messages = messages


def _stderr(line: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {line}", file=sys.stderr, flush=True)


def run_on_spark(
    sources: Path,
    warehouse: Path,
    as_of: date | None = None,
    config: Path | None = None,
    *,
    marts_out: Path | None = None,
    dbt_exclude: str | None = None,
    full_reload: bool = False,
    log: Callable[[str], None] = _stderr,
) -> SparkRunOutcome:
    """The whole run on Spark; see the module docstring. Raises UsageError (exit 2) for bad
    usage, unreadable input and a missing Spark extra or Java."""
    try:
        require_spark()
    except SparkEngineError as err:
        raise UsageError(str(err)) from err
    sources, warehouse = prepare_run(sources, warehouse, config)
    run = _SparkRun(
        sources=sources,
        warehouse=warehouse,
        as_of=as_of,
        config=config,
        full_reload=full_reload,
        dbt_exclude=dbt_exclude.split() if dbt_exclude else [],
        log=log,
        outcome=SparkRunOutcome(
            EXIT_OK,
            warehouse,
            (marts_out or default_marts_out(warehouse)).resolve(),
            resolve_spark_dir(),
        ),
    )
    # dbt's progress lines go to stdout; keep stdout for the summary.
    with exclusive_build(warehouse), redirect_stdout(sys.stderr):
        return run.execute()


@dataclass
class _SparkRun:
    sources: Path
    warehouse: Path
    as_of: date | None
    config: Path | None
    full_reload: bool
    dbt_exclude: list[str]
    log: Callable[[str], None]
    outcome: SparkRunOutcome
    spark: SparkSession | None = None
    manifest: Any = None
    history: AssignmentHistory = field(init=False)
    _stage: str = ""

    def __post_init__(self) -> None:
        folder = self.outcome.spark_dir / "assignments" / HISTORY_FOLDER
        self.history = AssignmentHistory(folder)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Log the stage's start and end on stderr and keep its seconds for the summary."""
        self._stage = name
        self.log(f"{name}: started")
        started = time.perf_counter()
        try:
            yield
        except BaseException:
            self.log(f"{name}: failed after {time.perf_counter() - started:.1f} s")
            raise
        seconds = time.perf_counter() - started
        self.outcome.seconds[name] = round(seconds, 1)
        self.log(f"{name}: done in {seconds:.1f} s")

    def execute(self) -> SparkRunOutcome:
        outcome, history = self.outcome, self.history
        try:
            self._run(history)
            history.commit()
        except _Stopped as stop:
            history.rollback()
            outcome.exit_code = stop.exit_code
            outcome.messages += stop.messages
        except SparkEngineError as err:
            history.rollback()
            raise UsageError(str(err)) from err
        except WarehouseFileError as err:  # a writer on the published file: exit 2, as DuckDB's
            history.rollback()
            outcome.exit_code = EXIT_USAGE
            outcome.messages.append(str(err))
        except Exception as err:  # any other failure: report it, publish nothing
            history.rollback()
            self.log(traceback.format_exc())
            outcome.exit_code = EXIT_CHECK_FAILED
            outcome.messages.append(f"stage {self._stage} failed: {err}")
        except BaseException:  # interrupted: undo, then let it end the process
            history.rollback()
            raise
        finally:
            if self.spark is not None:
                self.spark.stop()
        if outcome.exit_code != EXIT_OK:
            outcome.messages.append(
                f"nothing was published; {outcome.warehouse} and {outcome.marts_out} are unchanged"
            )
        return outcome

    def _run(self, history: AssignmentHistory) -> None:
        warehouse = self._ingest()
        spark = self._start_spark()
        with self.stage("land"):
            landed = land_duckdb_tables(
                spark, warehouse.work_path, self.outcome.spark_dir / "sources", ("raw",)
            )
            self._record_sources({t.table: t.rows for t in landed}, warehouse)
        with self.stage("source_suites"):
            self._source_suites(spark, warehouse)
        with self.stage("dbt_parse"):
            self.manifest = parse_dbt(self._dbt_vars(), **self._dbt_paths())
        history.open(spark)
        self._dbt(*DBT_STEPS[0])
        with self.stage("clv_fit"):
            self._fit_clv(spark, warehouse)
        self._dbt(*DBT_STEPS[1])
        with self.stage("assignment"):
            self._assign(spark, history)
        self._dbt(*DBT_STEPS[2])
        with self.stage("action_effects"):
            self._action_effects(spark)
        warehouse.seal()
        # No process may write the published file from the swap of the Parquet copy to the
        # rename of the DuckDB file: a refusal between the two would leave them out of step.
        with swap_guard(warehouse.published_path):
            with self.stage("export"):
                export_marts(spark, self.outcome.marts_out)
                self.outcome.marts = _parquet_rows(self.outcome.marts_out)
            with self.stage("publish"):
                warehouse.swap()

    # --- stages ---------------------------------------------------------------------------

    def _ingest(self) -> WarehouseResource:
        """The DuckDB engine's ingest asset and reconciliation checks, as a Dagster job."""
        with self.stage("ingest"):
            result, warehouse = _execute_ingest(
                self.sources, self.warehouse, self.full_reload, self.as_of
            )
            ingested = job_outcome(result, self.warehouse)
            self.outcome.run_id = ingested.run_id
            self.outcome.warnings += ingested.warnings
            if ingested.exit_code != EXIT_OK:
                # execute() says what is unchanged, the Parquet copy included
                messages = [m for m in ingested.messages if not m.startswith("nothing was")]
                raise _Stopped(ingested.exit_code, messages)
        return warehouse

    def _start_spark(self) -> SparkSession:
        with self.stage("spark_start"):
            self.spark = spark_session()
        return self.spark

    def _record_sources(self, rows_in_raw: dict[str, int], warehouse: WarehouseResource) -> None:
        from customer_tiers.ingest.sources import SOURCES

        with warehouse.connect(read_only=True) as con:
            audit = {
                source: (int(loaded or 0), int(quarantined or 0))
                for source, loaded, quarantined in con.execute(
                    "select source, sum(rows_loaded), sum(rows_quarantined) "
                    "from raw.load_audit where run_id = ? group by source",
                    [self.outcome.run_id],
                ).fetchall()
            }
        self.outcome.sources = [
            (source, rows_in_raw.get(source, 0), *audit.get(source, (0, 0))) for source in SOURCES
        ]

    def _source_suites(self, spark: SparkSession, warehouse: WarehouseResource) -> None:
        """The suites in Spark; their results go where the DuckDB engine puts them
        (quality.validation_results of the warehouse, Data Docs beside it)."""
        from customer_tiers.expectations.data_docs import write_data_docs
        from customer_tiers.orchestration.defs.quality import (
            data_docs_dir,
            store_validation_results,
        )

        run_id = self.outcome.run_id or ""
        failed: list[str] = []
        for suite in run_source_suites(spark):
            store_validation_results(warehouse, suite, run_id)
            try:
                write_data_docs(data_docs_dir(warehouse), suite, run_id)
            except Exception as err:  # a report that cannot be written does not judge the data
                self.log(f"source_suites: Data Docs for {suite.source} not written: {err!r}")
            failed += blocking_failures(suite)
            self.outcome.warnings += [
                f"raw/{suite.source} expectations: {o.expectation} on {o.column}: {o.details}"
                for o in suite.failures("warning")
            ]
            self.log(f"source_suites: {suite.source} {'passed' if suite.success else 'FAILED'}")
        if failed:
            raise _Stopped(EXIT_CHECK_FAILED, [f"blocking check failed: {f}" for f in failed])

    def _dbt(self, name: str, select: list[str], exclude: list[str]) -> None:
        args = ["build", "--vars", self._dbt_vars()]
        if select:
            args += ["--select", *select]
        if exclude or self.dbt_exclude:
            args += ["--exclude", *exclude, *self.dbt_exclude]
        with self.stage(name):
            result = run_dbt(args, manifest=self.manifest, **self._dbt_paths())
        if not result.success:
            raise _Stopped(
                EXIT_CHECK_FAILED,
                [f"dbt build ({name}) failed: {f}" for f in result.failures]
                or [f"dbt build ({name}) failed"],
            )

    def _dbt_vars(self) -> str:
        # the date goes in the environment (as the DuckDB engine does), so the next day's
        # run finds dbt's partial-parse state valid
        os.environ.update(dbt_environment(self.as_of))
        return load_config(self.config).dbt_vars_json(None)

    def _dbt_paths(self) -> dict[str, Path]:
        spark_dir = self.outcome.spark_dir
        return {"target_path": spark_dir / "dbt_target", "log_path": spark_dir / "dbt_logs"}

    def _fit_clv(self, spark: SparkSession, warehouse: WarehouseResource) -> None:
        """The fits on the per-customer summary (collected through Arrow: a few numbers per
        customer, never the order lines), written as the Spark tables of `predictions`."""
        from customer_tiers.orchestration.defs.predict import holdout_plot_path, write_holdout_plot

        (as_of,) = spark.sql(AS_OF_SQL).collect()[0]
        self.outcome.as_of = as_of
        data = summary_arrays(spark.sql(SUMMARY_SQL).toArrow())
        customers = len(data["customer_id"])
        if customers == 0:
            raise _Stopped(EXIT_CHECK_FAILED, [NO_CUSTOMERS])
        self.log(f"clv_fit: backtesting and fitting the CLV models on {customers:,} customers")
        clv = load_config(self.config).clv
        window = spark.sql(WINDOW_SQL).toArrow().to_pylist()[0]
        backtest_data = summary_arrays(spark.sql(BACKTEST_SQL).toArrow())
        fit = fit_clv(data, as_of, clv, run_backtest(backtest_data, window, clv, clv.model))
        self.log(f"clv_fit: {fit.describe()}")
        self._write_predictions(spark, fit)
        if fit.holdout.num_rows:
            write_holdout_plot(holdout_plot_path(warehouse, as_of), fit.holdout)
        self.outcome.clv = _describe_fit(fit, customers)
        if not fit.fitted:
            where = "predictions/clv_model_params fit_converged"
            self.outcome.warnings.append(f"{where}: {fit.problem}")
        if fit.backtest.out_of_band:
            where = "predictions/clv_backtest backtest_within_band"
            if clv.backtest.blocking:
                raise _Stopped(
                    EXIT_CHECK_FAILED,
                    [f"blocking check failed: {where}: {fit.backtest.out_of_band}"],
                )
            self.outcome.warnings.append(f"{where}: {fit.backtest.out_of_band}")

    def _write_predictions(self, spark: SparkSession, fit: ClvFit) -> None:
        root = self.outcome.spark_dir / "sources"
        for table, data in (
            ("customer_clv", fit.predictions),
            ("clv_model_params", fit.params),
            ("clv_holdout", fit.holdout),
            ("clv_backtest", fit.backtest.table),
        ):
            write_parquet_table(spark, root, "predictions", table, data)

    def _assign(self, spark: SparkSession, history: AssignmentHistory) -> None:
        as_of = self.outcome.as_of
        assert as_of is not None, "the fits resolve the analysis date first"
        managers = _frame(spark, MANAGERS_SQL)
        if managers.empty:
            history.replace(spark, as_of, None)
            self.outcome.assignment = "skipped: no staff source (or an empty one)"
            self.log("assignment: no staff source: skipped, customers keep the customers file's")
            return
        run = assign_run(
            _frame(spark, TIERED_SQL),
            managers,
            _frame(spark, previous_assignment_sql(HISTORY_TABLE, as_of)),
        )
        history.replace(spark, as_of, run.rows)
        self.outcome.assignment = _describe_assignment(run)
        self.log(f"assignment: {self.outcome.assignment}")

    def _action_effects(self, spark: SparkSession) -> None:
        """marts.action_effects from the ledger dbt just extended, as the DuckDB asset does
        (orchestration/defs/experiments.py): one row per cohort member comes through Arrow."""
        from customer_tiers.experiments.effects import MEMBER_COLUMNS
        from customer_tiers.experiments.members import LEDGER_TABLE, effects_table, members_sql

        experiments = load_config(self.config).actions.experiments
        members = (
            spark.sql(members_sql(experiments.window_days)).toArrow().to_pandas(date_as_object=True)
            if spark.catalog.tableExists(LEDGER_TABLE)  # absent when --dbt-exclude left it out
            else pd.DataFrame(columns=list(MEMBER_COLUMNS))
        )
        effects = effects_table(
            members,
            holdout_share=experiments.holdout_share,
            window_days=experiments.window_days,
        )
        root = self.outcome.spark_dir / "sources"
        write_parquet_table(spark, root, "marts", "action_effects", effects)
        self.log(f"action_effects: {effects.num_rows:,} rows")


def _execute_ingest(
    sources: Path, warehouse: Path, full_reload: bool, as_of: date | None
) -> tuple[Any, Any]:
    """The ingest asset with the checks the DuckDB job runs on it, as a job of its own in this
    process: reconciliation, quarantined share and the analysis-date window (not the DuckDB
    expectation checks: the suites run in Spark)."""
    import dagster as dg

    from customer_tiers.orchestration.defs import ingest, quality
    from customer_tiers.orchestration.logging import compact_console
    from customer_tiers.orchestration.resources import SourcesResource, WarehouseResource

    ingest_checks = [
        check
        for check in quality.defs.asset_checks
        if all(key.name != "expectations" for key in check.check_keys)
    ]
    resource = WarehouseResource(path=str(warehouse))
    defs = dg.Definitions(
        assets=[ingest.raw_sources],
        asset_checks=ingest_checks,
        jobs=[
            dg.define_asset_job(
                "tiers_ingest",
                selection=dg.AssetSelection.all(),
                executor_def=dg.in_process_executor,
            )
        ],
        resources={"warehouse": resource, "sources": SourcesResource(path=str(sources))},
        loggers={"compact": compact_console},
    )
    result = defs.resolve_job_def("tiers_ingest").execute_in_process(
        run_config={
            "ops": {
                "raw_sources": {"config": {"full_reload": full_reload}},
                "raw__orders_as_of_window": {
                    "config": {"as_of": as_of.isoformat() if as_of else None}
                },
            }
        },
        instance=dagster_instance(),
        raise_on_error=False,
        tags={"customer_tiers/engine": "spark"},
    )
    return result, resource


def _frame(spark: SparkSession, sql: str) -> pd.DataFrame:
    """A small query result (one row per customer at most) as pandas, through Arrow."""
    return spark.sql(sql).toArrow().to_pandas()


def _parquet_rows(folder: Path) -> dict[str, int]:
    """Rows of each mart of the Parquet copy, from the files' footers."""
    import pyarrow.parquet as pq

    return {
        mart.name: sum(pq.read_metadata(part).num_rows for part in mart.glob("*.parquet"))
        for mart in sorted(folder.iterdir())
        if mart.is_dir()
    }


def _describe_fit(fit: ClvFit, customers: int) -> str:
    if fit.fitted:
        return f"{fit.model} ({fit.choice}) fitted on {customers:,} customers"
    return f"not fitted ({fit.problem}); predicted columns empty"


def _describe_assignment(run: RunAssignment) -> str:
    reasons = ", ".join(f"{reason} {count:,}" for reason, count in run.reasons().items())
    return (
        f"{len(run.rows):,} customers ({reasons}) on {run.active_managers} active managers; "
        f"{run.unassigned:,} without a manager"
    )


class AssignmentHistory:
    """`assignments.account_assignment_history` on Spark: one Parquet file per analysis date in
    one folder kept across runs, so the next run knows the manager each customer has.

    A run replaces its date's file. Until the run has published, the file it replaced stays
    beside it under a hidden name (Spark reads no file whose name starts with a dot), so a
    failed run puts it back and a rerun of the date reads the same history again; a run killed
    half-way is undone the same way when the next one opens the history.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._staged: list[date] = []

    def path(self, as_of: date) -> Path:
        return self.folder / f"{as_of.isoformat()}.parquet"

    def _aside(self, as_of: date) -> Path:
        return self.folder / f".{as_of.isoformat()}.parquet.replaced"

    def _absent(self, as_of: date) -> Path:
        return self.folder / f".{as_of.isoformat()}.parquet.absent"

    def open(self, spark: SparkSession) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._undo(_dates_of(self.folder.glob(".*.parquet.replaced")))
        self._undo(_dates_of(self.folder.glob(".*.parquet.absent")))
        schema, table = HISTORY_TABLE.split(".")
        register_parquet_table(spark, schema, table, self.folder, HISTORY_DDL)

    def replace(self, spark: SparkSession, as_of: date, rows: pd.DataFrame | None) -> None:
        """This run's assignment for `as_of` (None: none, the date's file goes)."""
        target = self.path(as_of)
        if as_of not in self._staged:
            if target.exists():
                target.replace(self._aside(as_of))
            else:
                self._absent(as_of).touch()
            self._staged.append(as_of)
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
        spark.catalog.refreshTable(HISTORY_TABLE)

    def commit(self) -> None:
        for as_of in self._staged:
            self._aside(as_of).unlink(missing_ok=True)
            self._absent(as_of).unlink(missing_ok=True)
        self._staged = []

    def rollback(self) -> None:
        self._undo(self._staged)
        self._staged = []

    def _undo(self, dates: list[date]) -> None:
        for as_of in dates:
            if self._aside(as_of).exists():
                self._aside(as_of).replace(self.path(as_of))
            elif self._absent(as_of).exists():
                self.path(as_of).unlink(missing_ok=True)
            self._absent(as_of).unlink(missing_ok=True)
        for partial in self.folder.glob(".*.tmp"):
            partial.unlink()


def _dates_of(paths: Iterator[Path]) -> list[date]:
    return [date.fromisoformat(path.name[1:11]) for path in paths]


def format_spark_summary(outcome: SparkRunOutcome) -> str:
    """What `tiers run --engine spark` prints on stdout."""
    lines = [f"Engine: Spark; run {outcome.run_id}; as of {outcome.as_of}", "", "Sources"]
    lines += [
        f"  {source:<10} {rows:>12,} rows in raw ({loaded:,} loaded, {quarantined:,} "
        "quarantined this run)"
        for source, rows, loaded, quarantined in outcome.sources
    ]
    lines += ["", f"CLV models: {outcome.clv}", f"Account assignment: {outcome.assignment}", ""]
    lines.append(f"Marts: Parquet copy in {outcome.marts_out}/<mart>/")
    lines += [f"  {mart:<24} {rows:>12,} rows" for mart, rows in outcome.marts.items()]
    stages = ", ".join(f"{name} {seconds:.1f}" for name, seconds in outcome.seconds.items())
    total = sum(outcome.seconds.values())
    lines += [
        "",
        f"Stages (s): {stages}; total {total:.1f}",
        f"Spark tables: schema marts in {outcome.spark_dir / 'warehouse'} (TIERS_SPARK_DIR)",
        f"Loaded sources: {outcome.warehouse} (schemas raw, quarantine, quality)",
    ]
    lines += [f"warning: {warning}" for warning in outcome.warnings]
    return "\n".join(lines)
