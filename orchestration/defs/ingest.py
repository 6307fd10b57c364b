"""Ingest: one Dagster asset per source file, loaded into schema `raw` of the work warehouse."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from ingest.loader import LoadResult, load_source, write_load_audit
from ingest.sources import SOURCES
from orchestration.config import load_config
from orchestration.resources import SourcesResource, WarehouseResource


def raw_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", source])


def _metadata(result: LoadResult) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "status": result.status,
        "file": result.file or "(absent)",
        "encoding": result.encoding or "",
        "rows_read": result.rows_read,
        "rows_loaded": result.rows_loaded,
        "rows_quarantined": result.rows_quarantined,
        "dagster/row_count": result.rows_loaded,
    }
    if result.sha256:
        metadata["sha256"] = result.sha256
    if result.missing_columns:
        metadata["missing_columns"] = ", ".join(result.missing_columns)
    if result.extra_columns:
        metadata["extra_columns (ignored)"] = ", ".join(result.extra_columns)
    if result.quarantine_reasons:
        rows = "\n".join(f"| {reason} | {n:,} |" for reason, n in result.quarantine_reasons.items())
        metadata["quarantine"] = dg.MetadataValue.md(f"| reason | rows |\n|---|---|\n{rows}")
    return metadata


@dg.multi_asset(
    name="raw_sources",
    specs=[
        dg.AssetSpec(
            raw_key(spec.name),
            group_name="ingest",
            description=f"{spec.name}: {spec.grain}, loaded from {spec.name}.csv or "
            f"{spec.name}.parquet; rejected rows go to quarantine.{spec.name}.",
            kinds={"duckdb"},
            skippable=True,
        )
        for spec in SOURCES.values()
    ],
    can_subset=True,
)
def raw_sources(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    sources: SourcesResource,
) -> Iterator[dg.MaterializeResult]:
    """Start a fresh work copy of the warehouse and load every selected source into it."""
    run_id = context.run.run_id
    loaded_at = datetime.now(UTC)
    warehouse.start_build()
    selected = [s for s in SOURCES.values() if raw_key(s.name) in context.selected_asset_keys]
    results: list[LoadResult] = []
    privacy = load_config().privacy.settings()
    with warehouse.connect() as con:
        for spec in selected:
            context.log.info(f"loading {spec.name} from {sources.directory}")
            result = load_source(con, spec, sources.directory, run_id, loaded_at, privacy)
            context.log.info(
                f"{spec.name}: {result.rows_loaded:,} rows loaded, "
                f"{result.rows_quarantined:,} quarantined ({result.status})"
            )
            results.append(result)
        write_load_audit(con, results, run_id, loaded_at)
    for result in results:
        yield dg.MaterializeResult(asset_key=raw_key(result.source), metadata=_metadata(result))


defs = dg.Definitions(assets=[raw_sources])
