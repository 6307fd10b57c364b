"""Experiments: the measured effect of every experiment's action, `marts.action_effects`.

After the dbt build that appends this run's rows to `marts.action_ledger`, the cohorts whose
measurement window has ended are compared, treated against held-out customers
(customer_tiers/experiments, which the Spark engine runs too). SQL joins the ledger to the
orders of each window and hands Python one row per cohort member, never the order lines.
The table is rebuilt whole on every run: the ledger is the history, the effects follow from it.
"""

from typing import Any

import dagster as dg
import duckdb
import pandas as pd
import pyarrow as pa

from customer_tiers.experiments.effects import MEMBER_COLUMNS
from customer_tiers.experiments.members import effects_table, ledger_exists, members_sql
from customer_tiers.orchestration.config import load_config
from customer_tiers.orchestration.resources import WarehouseResource

LEDGER_KEY = dg.AssetKey(["marts", "action_ledger"])
ORDERS_KEY = dg.AssetKey(["staging", "stg_shop__orders"])
EFFECTS_KEY = dg.AssetKey(["marts", "action_effects"])


def compute_effects(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """This run's action_effects from the ledger and orders of the warehouse `con` opens."""
    experiments = load_config().actions.experiments
    if not ledger_exists(con):  # a build without the ledger (dbt nodes left out) measures nothing
        return effects_table(
            pd.DataFrame(columns=list(MEMBER_COLUMNS)),
            holdout_share=experiments.holdout_share,
            window_days=experiments.window_days,
        )
    members = con.sql(members_sql(experiments.window_days)).to_arrow_table()
    return effects_table(
        members.to_pandas(date_as_object=True),
        holdout_share=experiments.holdout_share,
        window_days=experiments.window_days,
    )


def write_effects(con: duckdb.DuckDBPyConnection, effects: pa.Table) -> None:
    con.register("incoming_effects", effects)
    try:
        con.execute("create schema if not exists marts")
        con.execute(
            "create or replace table marts.action_effects as select * from incoming_effects"
        )
    finally:
        con.unregister("incoming_effects")


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
    group_name="marts",
    kinds={"python", "duckdb"},
    description=(
        "Effect of each experiment's action per cohort and pooled: purchase rates of treated and "
        "held-out customers, lift with Newcombe's interval, p-value, revenue lift with Welch's "
        "interval, sample ratio check, minimum detectable lift."
    ),
)
def action_effects(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        effects = compute_effects(con)
        write_effects(con, effects)
    line = describe(effects)
    if any(row["srm_flag"] for row in effects.to_pylist()):
        context.log.warning(line)
    else:
        context.log.info(line)
    metadata: dict[str, Any] = {"dagster/row_count": effects.num_rows}
    return dg.MaterializeResult(metadata=metadata)


defs = dg.Definitions(assets=[action_effects])
