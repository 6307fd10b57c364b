"""Quality gate on the raw sources: Great Expectations suites and row reconciliation.

Both are blocking asset checks: when one fails, Dagster does not run the dbt models downstream,
so nothing is published. dbt's own tests appear as asset checks on the models (dagster-dbt).

Each suite's result is stored twice: rows in `quality.validation_results` (in the warehouse,
so published with it) and GE Data Docs HTML in `<warehouse dir>/reports/data_docs/` (beside
it, written for a failing run too; `index.html` shows the latest run, `runs/<run id>.html` any
run). The check's metadata holds the paths of the run's page and of the source's GE page.
"""

from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg

from customer_tiers.expectations.data_docs import write_data_docs
from customer_tiers.expectations.runner import SuiteOutcome, results_to_rows
from customer_tiers.ingest.sources import SOURCES
from customer_tiers.orchestration.config import load_config
from customer_tiers.orchestration.defs.ingest import raw_key
from customer_tiers.orchestration.engine import Engine
from customer_tiers.orchestration.gates import after_latest_order, quarantine_share
from customer_tiers.orchestration.resources import WarehouseResource

VALIDATION_RESULTS_DDL = """
create schema if not exists quality;
create table if not exists quality.validation_results (
    run_id varchar,
    source varchar,
    expectation varchar,
    "column" varchar,
    severity varchar,
    success boolean,
    unexpected_count bigint,
    unexpected_percent double,
    details varchar
);
"""

_COLUMNS = (
    "run_id",
    "source",
    "expectation",
    "column",
    "severity",
    "success",
    "unexpected_count",
    "unexpected_percent",
    "details",
)


def store_validation_results(
    warehouse: WarehouseResource, outcome: SuiteOutcome, run_id: str
) -> None:
    rows = results_to_rows(outcome, run_id)
    with warehouse.connect() as con:
        con.execute(VALIDATION_RESULTS_DDL)
        con.execute(
            "delete from quality.validation_results where run_id = ? and source = ?",
            [run_id, outcome.source],
        )
        placeholders = ", ".join("?" for _ in _COLUMNS)
        con.executemany(
            f"insert into quality.validation_results values ({placeholders})",
            [[row.get(col) for col in _COLUMNS] for row in rows],
        )


def data_docs_dir(warehouse: WarehouseResource) -> Path:
    """One site for every run, with the other reports."""
    return warehouse.reports_dir / "data_docs"


def _data_docs_metadata(
    context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, outcome: SuiteOutcome
) -> dict[str, Any]:
    """Write the Data Docs; a report that cannot be written is logged, it does not decide
    whether the data passes."""
    try:
        docs = write_data_docs(data_docs_dir(warehouse), outcome, context.run.run_id)
    except Exception as err:  # the verdict stands without its report
        context.log.warning(f"Data Docs for {outcome.source} not written: {err!r}")
        return {"data_docs_error": str(err)}
    return {
        "data_docs": dg.MetadataValue.path(str(docs.run_page)),
        "data_docs_source_page": dg.MetadataValue.path(str(docs.source_page)),
    }


def _cell(value: object) -> str:
    """A Markdown table cell: sample values may hold a pipe or a line break."""
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def _failures_markdown(outcome: SuiteOutcome) -> str:
    lines = ["| severity | expectation | column | unexpected | details |", "|---|---|---|---|---|"]
    for f in outcome.failures():
        cells = (f.severity, f.expectation, f.column, f.unexpected_count, f.details)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines)


def _expectations_check(source: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=raw_key(source),
        name="expectations",
        blocking=True,
        description=f"Great Expectations suite `{source}` (expectations/{source}.py): failed "
        "expectations of severity error block the run; warnings are reported.",
    )
    def _check(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource, engine: Engine
    ) -> dg.AssetCheckResult:
        outcome = engine.validate_source(warehouse, source)
        store_validation_results(warehouse, outcome, context.run.run_id)
        errors = outcome.failures("error")
        warnings = outcome.failures("warning")
        metadata: dict[str, Any] = {
            "expectations": len(outcome.outcomes),
            "failed_errors": len(errors),
            "failed_warnings": len(warnings),
            "seconds": round(outcome.elapsed_seconds, 2),
            **_data_docs_metadata(context, warehouse, outcome),
        }
        if errors or warnings:
            metadata["failures"] = dg.MetadataValue.md(_failures_markdown(outcome))
        return dg.AssetCheckResult(
            passed=outcome.success,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata=metadata,
            description="; ".join(f"{f.expectation} on {f.column}: {f.details}" for f in errors)
            or None,
        )

    return _check


def _reconciliation_check(source: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=raw_key(source),
        name="reconciliation",
        blocking=True,
        description="Every row read this run is either loaded or quarantined (rows_read = "
        "rows_loaded + rows_quarantined over this run's raw.load_audit rows), and raw holds "
        "exactly the rows of the files it lists in raw.loaded_files.",
    )
    def _check(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> dg.AssetCheckResult:
        with warehouse.connect(read_only=True) as con:
            audit = con.execute(
                "select count(*), sum(rows_read), sum(rows_loaded), sum(rows_quarantined) "
                "from raw.load_audit where run_id = ? and source = ?",
                [context.run.run_id, source],
            ).fetchone()
            in_table, listed = con.execute(
                f"select (select count(*) from raw.{source}), "
                "(select coalesce(sum(rows_loaded), 0) from raw.loaded_files where source = ?)",
                [source],
            ).fetchone()
        if not audit or not audit[0]:
            return dg.AssetCheckResult(
                passed=False, description=f"{source} has no load audit row for this run"
            )
        _, read, loaded, quarantined = audit
        balanced = read == loaded + quarantined
        description = None
        if not balanced:
            description = f"rows read {read:,} != loaded {loaded:,} + quarantined {quarantined:,}"
        elif in_table != listed:
            description = (
                f"raw.{source} has {in_table:,} rows but its files in raw.loaded_files "
                f"loaded {listed:,}"
            )
        return dg.AssetCheckResult(
            passed=description is None,
            description=description,
            metadata={
                "rows_read": read,
                "rows_loaded": loaded,
                "rows_quarantined": quarantined,
                "rows_in_table": in_table,
            },
        )

    return _check


def _quarantine_share_check(source: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=raw_key(source),
        name="quarantine_share",
        blocking=True,
        description="The share of the rows read this run that went to quarantine is at most "
        f"quality.max_quarantined_share.{source} (docs/contract.md, quarantine policy).",
    )
    def _check(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> dg.AssetCheckResult:
        with warehouse.connect(read_only=True) as con:
            read, quarantined = con.execute(
                "select coalesce(sum(rows_read), 0), coalesce(sum(rows_quarantined), 0) "
                "from raw.load_audit where run_id = ? and source = ? and status = 'loaded'",
                [context.run.run_id, source],
            ).fetchone()
        gate = quarantine_share(load_config(), source, int(read), int(quarantined))
        return dg.AssetCheckResult(
            passed=not gate.blocks,
            description=gate.describe() if gate.quarantined else None,
            metadata={
                "rows_read": gate.read,
                "rows_quarantined": gate.quarantined,
                "quarantined_share": gate.share if gate.share is not None else 0.0,
                "max_quarantined_share": gate.threshold,
            },
        )

    return _check


class AsOfConfig(dg.Config):
    """The run's analysis date (YYYY-MM-DD); None = the day of the latest order."""

    as_of: str | None = None


@dg.asset_check(
    asset=raw_key("orders"),
    name="as_of_window",
    blocking=True,
    description="The analysis date (--as-of) is at most time.max_days_after_latest_order days "
    "after the latest order; a warning, or blocking when time.block is true.",
)
def as_of_window(
    context: dg.AssetCheckExecutionContext, config: AsOfConfig, warehouse: WarehouseResource
) -> dg.AssetCheckResult:
    settings = load_config().time
    with warehouse.connect(read_only=True) as con:
        (latest,) = con.execute("select max(cast(ordered_at as date)) from raw.orders").fetchone()
    as_of = date.fromisoformat(config.as_of) if config.as_of else latest
    note = None
    if as_of is not None:
        note = after_latest_order([as_of], latest, settings.max_days_after_latest_order)
    metadata: dict[str, Any] = {
        "as_of": str(as_of or ""),
        "latest_order": str(latest or ""),
        "max_days_after_latest_order": settings.max_days_after_latest_order,
    }
    if as_of is not None and latest is not None:
        metadata["days_after_latest_order"] = (as_of - latest).days
    return dg.AssetCheckResult(
        passed=note is None,
        severity=dg.AssetCheckSeverity.ERROR if settings.block else dg.AssetCheckSeverity.WARN,
        description=note,
        metadata=metadata,
    )


defs = dg.Definitions(
    asset_checks=[
        check
        for source in SOURCES
        for check in (
            _expectations_check(source),
            _reconciliation_check(source),
            _quarantine_share_check(source),
        )
    ]
    + [as_of_window]
)
