"""Publish: the work copy replaces the published warehouse, once everything upstream passed."""

from typing import Any

import dagster as dg

from customer_tiers.orchestration.defs.experiments import EFFECTS_KEY
from customer_tiers.orchestration.defs.transform import MART_KEYS
from customer_tiers.orchestration.engine import Engine
from customer_tiers.orchestration.resources import WarehouseResource
from customer_tiers.orchestration.summary import RunSummary, read_summary


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> dg.MetadataValue:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return dg.MetadataValue.md("\n".join(lines))


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f}%"


def summary_metadata(summary: RunSummary) -> dict[str, Any]:
    """What a person reads in the Dagster UI: the run's headline figures as Markdown tables."""
    metadata: dict[str, Any] = {"as_of": summary.as_of or "", "customers": summary.customers}
    if summary.as_of_note:  # also the failed (warn) check raw/orders as_of_window
        metadata["as_of_warning"] = summary.as_of_note
    if summary.pareto:
        p = summary.pareto
        metadata["pareto"] = (
            f"the top {p.top_customers / p.customers * 100:.0f}% of customers "
            f"({p.top_customers:,} of {p.customers:,}) bring {_share(p.top_value_share)} of revenue"
        )
    metadata["rfm_segments"] = _table(("segment", "中文", "customers"), summary.segments)
    metadata["abc_classes_by_revenue"] = _table(
        ("class", "customers", "revenue share"),
        [(cls, n, _share(share)) for cls, n, share in summary.abc_classes],
    )
    metadata["tiers"] = _table(("tier", "中文", "customers"), summary.tiers)
    metadata["lifecycle_stages"] = _table(("stage", "中文", "customers"), summary.stages)
    if summary.clv_fitted_customers is not None:
        metadata["clv_fitted_customers"] = summary.clv_fitted_customers
    if summary.nps:
        period, responses, score, margin = summary.nps
        metadata["nps_latest_quarter"] = f"{period}: {score:+.1f} ± {margin:.1f} ({responses:,})"
    metadata["customers_without_manager"] = summary.unassigned
    return metadata


@dg.asset(
    key=["serve", "published_warehouse"],
    group_name="serve",
    deps=[*MART_KEYS, EFFECTS_KEY],
    kinds={"duckdb"},
    description="The warehouse file BI tools read (and, on Spark, the marts' Parquet copy). "
    "Replaced in one rename by the freshly built work copy, only after every blocking check and "
    "dbt test of the run passed.",
)
def published_warehouse(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, engine: Engine
) -> dg.MaterializeResult:
    # Everything that can fail happens before the swap: after it, the run has published.
    work = engine.seal(warehouse, context.log)
    summary = read_summary(work, context.run.run_id)
    size = work.stat().st_size
    path = engine.swap(warehouse)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "bytes": size,
            **summary_metadata(summary),
        }
    )


defs = dg.Definitions(assets=[published_warehouse])
