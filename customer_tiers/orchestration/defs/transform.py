"""dbt models as Dagster assets: staging, intermediate and marts, with dbt tests as checks."""

from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, dbt_assets
from dagster_dbt.asset_utils import (
    DAGSTER_DBT_EXCLUDE_METADATA_KEY,
    DAGSTER_DBT_SELECT_METADATA_KEY,
    DAGSTER_DBT_SELECTOR_METADATA_KEY,
    get_manifest_and_translator_from_dbt_assets,
    get_subset_selection_for_context,
)
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage

from customer_tiers.orchestration.dbt_invoke import (
    DbtInvocationError,
    DbtOutcome,
    event_message,
    stream_build,
)
from customer_tiers.orchestration.engine import Engine
from customer_tiers.orchestration.project import (
    build_args,
    dbt_project,
    ensure_manifest,
    parsed_manifest,
)
from customer_tiers.orchestration.resources import WarehouseResource

ensure_manifest()

LAYERED = frozenset({"intermediate", "marts"})  # dbt folders whose subfolders are domains


class TiersDbtTranslator(DagsterDbtTranslator):
    """Models keyed by schema and name (marts/customer_rfm), grouped by their domain: the folder
    under intermediate/ or marts/ (segmentation, clv, voice, tiers, ...), else the layer
    (staging, quality), so a domain's intermediate models and marts sit in one group, with the
    Python steps of the domain (defs/predict.py: clv; defs/assign.py: assignment).

    Sources keep the asset key of the ingest asset that loads them (meta.dagster.asset_key in
    _shop__sources.yml), so Dagster draws one lineage graph from file to mart.
    """

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return super().get_asset_key(dbt_resource_props)
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if len(fqn) > 3 and fqn[1] in LAYERED:
            return fqn[2]
        return fqn[1] if len(fqn) > 2 else "transform"


TRANSLATOR = TiersDbtTranslator()


class TransformConfig(dg.Config):
    """Run configuration of the dbt step."""

    as_of: str | None = None  # YYYY-MM-DD; None = the day of the latest order
    # Rebuild the incremental models (staging of the fact sources) from raw; the history marts
    # are never rebuilt (full_refresh: false in their config).
    full_refresh: bool = False
    # dbt nodes left out of the build besides the step's own exclusion, e.g. "test_type:data"
    # (`tiers run --dbt-exclude`, for tests and debugging: a production run builds everything)
    exclude: str | None = None


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
        dagster_dbt_translator=TRANSLATOR,
        name=name,
        **selection,
    )
    def _assets(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        engine: Engine,
        config: TransformConfig,
    ) -> Iterator[Any]:
        warehouse.ensure_build()
        as_of = date.fromisoformat(config.as_of) if config.as_of else None
        # the date reaches the models through the environment (AS_OF_ENV), not the vars, so
        # every analysis date shares one parse
        manifest = parsed_manifest(as_of, engine.dbt_target)
        selection = _with_exclusion(_selection(context), config.exclude)
        args = ["build", *build_args(name, engine.dbt_target), *selection]
        yield from _stream_build(
            context, args + (["--full-refresh"] if config.full_refresh else []), manifest
        )

    return _assets


def _selection(context: dg.AssetExecutionContext) -> list[str]:
    """The dbt selection of what this step materializes: the step's own select/exclude when it
    runs whole, else dagster-dbt's selection of the subset picked in the UI."""
    assets_def, tags = context.assets_def, context.op.tags
    whole = (
        assets_def.keys_by_output_name == assets_def.node_keys_by_output_name
        and assets_def.check_specs_by_output_name == assets_def.node_check_specs_by_output_name
    )
    if whole:
        flags = (
            ("--select", DAGSTER_DBT_SELECT_METADATA_KEY),
            ("--exclude", DAGSTER_DBT_EXCLUDE_METADATA_KEY),
            ("--selector", DAGSTER_DBT_SELECTOR_METADATA_KEY),
        )
        return [arg for flag, key in flags if tags.get(key) for arg in (flag, tags[key])]
    manifest, translator, _ = get_manifest_and_translator_from_dbt_assets([assets_def])
    args, indirect = get_subset_selection_for_context(
        context=context,
        manifest=manifest,
        select=tags.get(DAGSTER_DBT_SELECT_METADATA_KEY),
        exclude=tags.get(DAGSTER_DBT_EXCLUDE_METADATA_KEY),
        selector=tags.get(DAGSTER_DBT_SELECTOR_METADATA_KEY),
        dagster_dbt_translator=translator,
        current_dbt_indirect_selection_env=None,
    )
    return args + (["--indirect-selection", indirect] if indirect else [])


def _with_exclusion(selection: list[str], exclude: str | None) -> list[str]:
    """`selection` with `exclude`'s selectors added to its --exclude (one flag holds them)."""
    if not exclude:
        return selection
    if "--exclude" not in selection:
        return [*selection, "--exclude", *exclude.split()]
    at = selection.index("--exclude") + 2
    return [*selection[:at], *exclude.split(), *selection[at:]]


def _stream_build(
    context: dg.AssetExecutionContext, args: list[str], manifest: Any
) -> Iterator[Any]:
    """dbt in this process; each node result becomes the Dagster event dagster-dbt would make
    of it (a materialization, a check result), and a failed build fails the step naming every
    failed node. Node lines are debug detail (`tiers run -v`); one line sums the build up."""
    manifest_json, translator, _ = get_manifest_and_translator_from_dbt_assets([context.assets_def])
    done: list[DbtOutcome] = []
    for event in stream_build(args, manifest, on_done=done.append):
        context.log.debug(event_message(event))
        message = DbtCoreCliEventMessage(raw_event=event, event_history_metadata={})
        yield from message.to_default_asset_events(
            manifest=manifest_json, dagster_dbt_translator=translator, context=context
        )
    (outcome,) = done
    context.log.info(f"dbt build: {outcome.counts_line()}")
    if not outcome.success:
        raise DbtInvocationError("dbt build failed: " + "; ".join(outcome.failures))


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
)
