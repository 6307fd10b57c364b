"""Ingest: one Dagster asset per source file, loaded into schema `raw` of the work warehouse."""

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg

from customer_tiers.ingest.landing import SourceSync, sync_source
from customer_tiers.ingest.loader import write_load_audit
from customer_tiers.ingest.sources import SOURCES, SourceSpec
from customer_tiers.orchestration.config import load_config
from customer_tiers.orchestration.engine import Engine
from customer_tiers.orchestration.resources import SourcesResource, WarehouseResource


def raw_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", source])


class IngestConfig(dg.Config):
    """`full_reload`: load every file again, even those loaded before unchanged."""

    full_reload: bool = False


def _description(spec: SourceSpec) -> str:
    files = f"{spec.name}.csv or {spec.name}.parquet"
    if spec.landing:
        files += f" and the files dropped into {spec.name}/ (each loaded once)"
    return f"{spec.name}: {spec.grain}, loaded from {files}; rejected rows go to quarantine."


def _metadata(sync: SourceSync) -> dict[str, Any]:
    totals = sync.totals()
    metadata: dict[str, Any] = {
        "status": sync.status,
        "files_loaded": len(sync.loaded),
        "files_unchanged": len(sync.unchanged),
        "rows_read": totals.rows_read,
        "rows_loaded": totals.rows_loaded,
        "rows_quarantined": totals.rows_quarantined,
        "dagster/row_count": sync.rows_in_table,
    }
    if sync.removed:
        metadata["files_removed (rows deleted)"] = ", ".join(sync.removed)
    if sync.kept:
        metadata["files_no_longer_in_folder (rows kept)"] = len(sync.kept)
    if sync.skipped:
        metadata["files_not_loaded"] = "\n".join(f"{name}: {why}" for name, why in sync.skipped)
    files = [r for r in sync.results if r.file]
    if files:
        rows = "\n".join(
            f"| {Path(r.file).name} | {r.status} | {r.encoding or ''} | {r.rows_read:,} | "
            f"{r.rows_loaded:,} | {r.rows_quarantined:,} | {r.sha256[:12] if r.sha256 else ''} |"
            for r in files[:50]
        )
        more = f"\n\n{len(files) - 50:,} more files" if len(files) > 50 else ""
        metadata["files"] = dg.MetadataValue.md(
            "| file | status | encoding | read | loaded | quarantined | sha256 |\n"
            f"|---|---|---|---|---|---|---|\n{rows}{more}"
        )
    if totals.missing_columns:
        metadata["missing_columns"] = ", ".join(totals.missing_columns)
    if totals.extra_columns:
        metadata["extra_columns (ignored)"] = ", ".join(totals.extra_columns)
    if totals.quarantine_reasons:
        rows = "\n".join(f"| {reason} | {n:,} |" for reason, n in totals.quarantine_reasons.items())
        metadata["quarantine"] = dg.MetadataValue.md(f"| reason | rows |\n|---|---|\n{rows}")
    return metadata


@dg.multi_asset(
    name="raw_sources",
    specs=[
        dg.AssetSpec(
            raw_key(spec.name),
            group_name="ingest",
            description=_description(spec),
            kinds={"duckdb"},
            skippable=True,
        )
        for spec in SOURCES.values()
    ],
    can_subset=True,
)
def raw_sources(
    context: dg.AssetExecutionContext,
    config: IngestConfig,
    warehouse: WarehouseResource,
    sources: SourcesResource,
    engine: Engine,
) -> Iterator[dg.MaterializeResult]:
    """Start a fresh work copy of the warehouse and bring every selected source up to date:
    new and changed files are loaded, files loaded before unchanged are skipped. Then the
    engine makes the raw tables readable where it builds (Spark lands them)."""
    run_id = context.run.run_id
    loaded_at = datetime.now(UTC)
    warehouse.start_build()
    selected = [s for s in SOURCES.values() if raw_key(s.name) in context.selected_asset_keys]
    syncs: list[SourceSync] = []
    privacy = load_config().privacy.settings()
    with warehouse.connect() as con:
        for spec in selected:
            sync = sync_source(
                con, spec, sources.directory, run_id, loaded_at, privacy,
                full_reload=config.full_reload, progress=context.log.info,
            )  # fmt: skip
            totals = sync.totals()
            context.log.info(
                f"{spec.name}: {len(sync.loaded)} file(s) loaded "
                f"({totals.rows_loaded:,} rows, {totals.rows_quarantined:,} quarantined), "
                f"{len(sync.unchanged)} unchanged; {sync.rows_in_table:,} rows in raw.{spec.name}"
            )
            for name, why in sync.skipped:
                context.log.warning(f"{spec.name}: {name} not loaded: {why}")
            syncs.append(sync)
        write_load_audit(con, [r for sync in syncs for r in sync.results], run_id, loaded_at)
    engine.sources_loaded(warehouse, context.log)
    for sync in syncs:
        yield dg.MaterializeResult(asset_key=raw_key(sync.source), metadata=_metadata(sync))


defs = dg.Definitions(assets=[raw_sources])
