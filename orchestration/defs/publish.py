"""Publish: the work copy replaces the published warehouse, once everything upstream passed."""

import dagster as dg

from orchestration.defs.transform import MART_KEYS
from orchestration.resources import WarehouseResource


@dg.asset(
    key=["serve", "published_warehouse"],
    group_name="serve",
    deps=MART_KEYS,
    kinds={"duckdb"},
    description="The warehouse file BI tools read. Replaced in one rename by the freshly built "
    "work copy, only after every blocking check and dbt test of the run passed.",
)
def published_warehouse(warehouse: WarehouseResource) -> dg.MaterializeResult:
    path = warehouse.publish()
    return dg.MaterializeResult(
        metadata={"path": dg.MetadataValue.path(str(path)), "bytes": path.stat().st_size}
    )


defs = dg.Definitions(assets=[published_warehouse])
