"""dbt models as Dagster assets: staging, intermediate and marts, with dbt tests as checks."""

import os
from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, dbt_assets

from customer_tiers.orchestration.config import dbt_environment, load_config
from customer_tiers.orchestration.project import TiersDbtCliResource, dbt_project, ensure_manifest
from customer_tiers.orchestration.resources import WarehouseResource

ensure_manifest()


class TiersDbtTranslator(DagsterDbtTranslator):
    """Models keyed by schema and name (marts/customer_rfm), grouped by their folder.

    Sources keep the asset key of the ingest asset that loads them (meta.dagster.asset_key in
    _shop__sources.yml), so Dagster draws one lineage graph from file to mart.
    """

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "transform"


class TransformConfig(dg.Config):
    """Run configuration of the dbt step."""

    as_of: str | None = None  # YYYY-MM-DD; None = the day of the latest order
    # Rebuild the incremental models (staging of the fact sources) from raw; the history marts
    # are never rebuilt (full_refresh: false in their config).
    full_refresh: bool = False


# The project is built in three dbt invocations around two Python assets that write tables dbt
# reads as sources: the model fits (orchestration/defs/predict.py) and the account assignment
# (orchestration/defs/assign.py), which needs the tiers the second invocation builds.
AFTER_PREDICTIONS = "source:predictions+"
AFTER_ASSIGNMENTS = "source:assignments+"


def _dbt_build_assets(name: str, **selection: str) -> dg.AssetsDefinition:
    """A `dbt build` of part of the project, as Dagster assets with dbt tests as checks."""

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        dagster_dbt_translator=TiersDbtTranslator(),
        name=name,
        **selection,
    )
    def _assets(
        context: dg.AssetExecutionContext,
        dbt: TiersDbtCliResource,
        warehouse: WarehouseResource,
        config: TransformConfig,
    ) -> Iterator[Any]:
        warehouse.ensure_build()
        as_of = date.fromisoformat(config.as_of) if config.as_of else None
        # dbt inherits this process's environment; the date goes there (AS_OF_ENV), not in
        # the vars, so each day's invocations keep dbt's partial parse.
        os.environ.update(dbt_environment(as_of))
        dbt_vars = load_config().dbt_vars_json(None)
        args = ["build", "--vars", dbt_vars] + (["--full-refresh"] if config.full_refresh else [])
        yield from dbt.cli(args, context=context).stream()

    return _assets


dbt_models = _dbt_build_assets("dbt_models", exclude=f"{AFTER_PREDICTIONS} {AFTER_ASSIGNMENTS}")
dbt_models_after_predictions = _dbt_build_assets(
    "dbt_models_after_predictions", select=AFTER_PREDICTIONS, exclude=AFTER_ASSIGNMENTS
)
dbt_models_after_assignments = _dbt_build_assets(
    "dbt_models_after_assignments", select=AFTER_ASSIGNMENTS
)

MART_KEYS: list[dg.AssetKey] = sorted(
    (
        key
        for assets in (dbt_models, dbt_models_after_predictions, dbt_models_after_assignments)
        for key in assets.keys
        if key.path[0] == "marts"
    ),
    key=lambda k: k.to_user_string(),
)

defs = dg.Definitions(
    assets=[dbt_models, dbt_models_after_predictions, dbt_models_after_assignments],
    resources={"dbt": TiersDbtCliResource(project_dir=dbt_project)},
)
