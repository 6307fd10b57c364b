"""The Dagster code location: every domain's definitions plus the shared resources.

The engine is a resource (orchestration/engine.py): `definitions_for` binds the one a run asks
for; `defs`, which `dagster dev` loads, takes TIERS_ENGINE (duckdb unless set to spark).
"""

import os

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
from customer_tiers.orchestration.engine import DuckDBEngine, Engine
from customer_tiers.orchestration.engine_spark import SparkEngine
from customer_tiers.orchestration.logging import compact_console
from customer_tiers.orchestration.resources import SourcesResource, WarehouseResource


def engine_for(name: str, **options: str) -> Engine:
    """The engine resource of `tiers run --engine NAME` (duckdb or spark)."""
    if name == "spark":
        return SparkEngine(**options)
    if options:
        raise ValueError(f"options {sorted(options)} are options of the Spark engine")
    return DuckDBEngine()


def definitions_for(engine: Engine) -> dg.Definitions:
    return dg.Definitions.merge(
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
                "engine": engine,
            },
            # DuckDB takes one writer process at a time, and a Spark run's session lives in
            # its process, so steps run one after another in the run's own process.
            executor=dg.in_process_executor,
            loggers={"compact": compact_console},
        ),
    )


defs = definitions_for(engine_for(os.environ.get("TIERS_ENGINE", "duckdb")))
