"""Experiments: the measured effect of every experiment's action, `marts.action_effects`.

After the dbt build that appends this run's rows to `marts.action_ledger`, the cohorts whose
measurement window has ended are compared, treated against held-out customers
(customer_tiers/experiments), in either engine. SQL joins the ledger to the
orders of each window and hands Python one row per cohort member, never the order lines.
The table is rebuilt whole on every run: the ledger is the history, the effects follow from it.
"""

from typing import Any

import dagster as dg
import pandas as pd
import pyarrow as pa

from customer_tiers.experiments.effects import MEMBER_COLUMNS
from customer_tiers.experiments.members import LEDGER_TABLE, effects_table, members_sql
from customer_tiers.orchestration.config import load_config
from customer_tiers.orchestration.engine import Engine
from customer_tiers.orchestration.resources import WarehouseResource

LEDGER_KEY = dg.AssetKey(["marts", "action_ledger"])
ORDERS_KEY = dg.AssetKey(["staging", "stg_shop__orders"])
EFFECTS_KEY = dg.AssetKey(["marts", "action_effects"])


def compute_effects(engine: Engine, warehouse: WarehouseResource) -> pa.Table:
    """This run's action_effects from the ledger and orders the engine holds."""
    experiments = load_config().actions.experiments
    # a build without the ledger (dbt nodes left out) measures nothing
    members = (
        engine.read_arrow(warehouse, members_sql(experiments.window_days)).to_pandas(
            date_as_object=True
        )
        if engine.table_exists(warehouse, LEDGER_TABLE)
        else pd.DataFrame(columns=list(MEMBER_COLUMNS))
    )
    return effects_table(
        members, holdout_share=experiments.holdout_share, window_days=experiments.window_days
    )


def describe(effects: pa.Table) -> str:
    """One log line: how many cohorts were measured and which split looks wrong."""
    rows = effects.to_pylist()
    cohorts = sum(1 for row in rows if row["scope"] == "cohort")
    flagged = [
        f"{row['experiment_id']} {row['as_of'] or 'pooled'}" for row in rows if row["srm_flag"]
    ]
    line = f"{cohorts} cohorts measured in {len(rows) - cohorts} experiments"
    if flagged:
        line += "; sample ratio mismatch (split far from the planned hold-out): " + ", ".join(
            flagged
        )
    return line


@dg.asset(
    key=EFFECTS_KEY,
    deps=[LEDGER_KEY, ORDERS_KEY],
    group_name="tiers",
    kinds={"python", "duckdb"},
    description=(
        "Effect of each experiment's action per cohort and pooled: purchase rates of treated and "
        "held-out customers, lift with Newcombe's interval, p-value, revenue lift with Welch's "
        "interval, sample ratio check, minimum detectable lift."
    ),
)
def action_effects(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, engine: Engine
) -> dg.MaterializeResult:
    effects = compute_effects(engine, warehouse)
    engine.write_table(warehouse, "marts", "action_effects", effects)
    line = describe(effects)
    if any(row["srm_flag"] for row in effects.to_pylist()):
        context.log.warning(line)
    else:
        context.log.info(line)
    metadata: dict[str, Any] = {"dagster/row_count": effects.num_rows}
    return dg.MaterializeResult(metadata=metadata)


defs = dg.Definitions(assets=[action_effects])
