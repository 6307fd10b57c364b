"""The Dagster code location: every domain's definitions plus the shared resources."""

import dagster as dg

from customer_tiers.orchestration.defs import (
    assign,
    automation,
    experiments,
    ingest,
    predict,
    publish,
    quality,
    sensors,
    transform,
)
from customer_tiers.orchestration.logging import compact_console
from customer_tiers.orchestration.resources import SourcesResource, WarehouseResource

defs = dg.Definitions.merge(
    ingest.defs,
    quality.defs,
    transform.defs,
    predict.defs,
    assign.defs,
    experiments.defs,
    publish.defs,
    automation.defs,
    sensors.defs,
    dg.Definitions(
        resources={
            "warehouse": WarehouseResource(path=dg.EnvVar("TIERS_WAREHOUSE")),
            "sources": SourcesResource(path=dg.EnvVar("TIERS_SOURCES")),
        },
        # DuckDB takes one writer process at a time, so steps run one after another in the
        # run's own process.
        executor=dg.in_process_executor,
        loggers={"compact": compact_console},
    ),
)
