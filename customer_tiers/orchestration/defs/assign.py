"""Assign: every customer who is not churned gets an account manager (分户).

The tiers come from dbt (intermediate.int_customers_tiered), the managers from the staff
source; the current managers and the balancing (assignment/runs.py, balance.py) are pure
functions, which the Spark engine runs too (orchestration/spark_run.py). Each run stores its
assignment per analysis date in `assignments.account_assignment_history`, so the next run knows
the manager each customer has and keeps them there: rerunning a date replaces that date's rows
and reads the same earlier date again, so reruns give the same assignment.
"""

import dagster as dg
import duckdb
import pandas as pd

from customer_tiers.assignment.runs import (
    MANAGERS_SQL,
    TIERED_SQL,
    assign_run,
    previous_assignment_sql,
)
from customer_tiers.orchestration.resources import WarehouseResource

TIERED_KEY = dg.AssetKey(["intermediate", "int_customers_tiered"])
STAFF_KEY = dg.AssetKey(["staging", "stg_shop__staff"])
ASSIGNMENT_KEY = dg.AssetKey(["assignments", "account_assignment"])
HISTORY_TABLE = "assignments.account_assignment_history"

_CREATE_HISTORY = f"""
create schema if not exists assignments;
create table if not exists {HISTORY_TABLE} (
    as_of date not null,
    customer_id varchar not null,
    staff_id varchar,
    previous_staff_id varchar,
    source_manager_id varchar,
    reason varchar not null
)
"""


def _store(con: duckdb.DuckDBPyConnection, as_of: object, rows: pd.DataFrame) -> None:
    con.execute(f"delete from {HISTORY_TABLE} where as_of = $as_of", {"as_of": as_of})
    con.register("incoming", rows)
    try:
        con.execute(
            f"insert into {HISTORY_TABLE} "
            "select $as_of, customer_id, staff_id, previous_staff_id, source_manager_id, reason "
            "from incoming",
            {"as_of": as_of},
        )
    finally:
        con.unregister("incoming")


@dg.asset(
    key=ASSIGNMENT_KEY,
    deps=[TIERED_KEY, STAFF_KEY],
    group_name="assignments",
    kinds={"python", "duckdb"},
    description=(
        "Account manager of every customer who is not churned: within capacity, balanced by "
        "tier weight, stable across runs."
    ),
)
def account_assignment(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    with warehouse.connect() as con:
        con.execute(_CREATE_HISTORY)
        (as_of,) = con.execute("select as_of from intermediate.int_as_of_resolved").fetchone()
        managers = con.execute(MANAGERS_SQL).df()
        if managers.empty:
            # Without a staff source nobody can be assigned; the marts then show the customers
            # file's managers as they are (customer_tiers) and an empty assignment.
            con.execute(f"delete from {HISTORY_TABLE} where as_of = $as_of", {"as_of": as_of})
            context.log.warning(
                "no staff source (or an empty one): account assignment skipped, customers keep "
                "the account_manager_id of the customers file"
            )
            return dg.MaterializeResult(metadata={"as_of": str(as_of), "skipped": "no staff"})
        customers = con.execute(TIERED_SQL).df()
        previous = con.execute(previous_assignment_sql(HISTORY_TABLE, as_of)).df()
        run = assign_run(customers, managers, previous)
        _store(con, as_of, run.rows)

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
