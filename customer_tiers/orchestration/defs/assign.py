"""Assign: every customer who is not churned gets an account manager (分户).

The tiers come from dbt (intermediate.int_customers_tiered), the managers from the staff
source; the current managers and the balancing (assignment/runs.py, balance.py) are pure
functions. Each run stores its assignment per analysis date in the engine's
`assignments.account_assignment_history`, so the next run knows the manager each customer has
and keeps them there: rerunning a date replaces that date's rows and reads the same earlier
date again, so reruns give the same assignment.
"""

import dagster as dg
import pandas as pd

from customer_tiers.assignment.runs import (
    MANAGERS_SQL,
    TIERED_SQL,
    assign_run,
    previous_assignment_sql,
)
from customer_tiers.orchestration.clv_fit import AS_OF_SQL
from customer_tiers.orchestration.engine import ASSIGNMENT_HISTORY, Engine
from customer_tiers.orchestration.resources import WarehouseResource

TIERED_KEY = dg.AssetKey(["intermediate", "int_customers_tiered"])
STAFF_KEY = dg.AssetKey(["staging", "stg_shop__staff"])
ASSIGNMENT_KEY = dg.AssetKey(["assignments", "account_assignment"])


@dg.asset(
    key=ASSIGNMENT_KEY,
    deps=[TIERED_KEY, STAFF_KEY],
    group_name="assignment",
    kinds={"python", "duckdb"},
    description=(
        "Account manager of every customer who is not churned: within capacity, balanced by "
        "tier weight, stable across runs."
    ),
)
def account_assignment(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, engine: Engine
) -> dg.MaterializeResult:
    def frame(sql: str) -> pd.DataFrame:
        return engine.read_arrow(warehouse, sql).to_pandas()

    engine.ensure_assignment_history(warehouse)
    [as_of] = engine.read_arrow(warehouse, AS_OF_SQL).column(0).to_pylist()
    managers = frame(MANAGERS_SQL)
    if managers.empty:
        # Without a staff source nobody can be assigned; the marts then show the customers
        # file's managers as they are (customer_tiers) and an empty assignment.
        engine.store_assignment(warehouse, as_of, None)
        context.log.warning(
            "no staff source (or an empty one): account assignment skipped, customers keep "
            "the account_manager_id of the customers file"
        )
        return dg.MaterializeResult(metadata={"as_of": str(as_of), "skipped": "no staff"})
    previous = frame(previous_assignment_sql(ASSIGNMENT_HISTORY, as_of))
    run = assign_run(frame(TIERED_SQL), managers, previous)
    engine.store_assignment(warehouse, as_of, run.rows)

    reasons = run.reasons()
    if run.unassigned:
        context.log.warning(
            f"{run.unassigned} customers have no account manager: every active manager is at "
            "capacity (marts.account_assignment lists them with reason no_capacity)"
        )
    return dg.MaterializeResult(
        metadata={
            "as_of": str(as_of),
            "customers": len(run.rows),
            **{f"reason_{reason}": int(count) for reason, count in reasons.items()},
            "active_managers": run.active_managers,
            "max_load_deviation_from_mean": dg.FloatMetadataValue(
                round(run.max_load_deviation(), 4)
            ),
        }
    )


defs = dg.Definitions(assets=[account_assignment])
