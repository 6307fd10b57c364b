"""Assign: every customer who is not churned gets an account manager (分户).

The tiers come from dbt (intermediate.int_customers_tiered), the managers from the staff
source; the balancing itself (assignment/balance.py) is a pure function. Each run stores its
assignment per analysis date in `assignments.account_assignment_history`, so the next run knows
the manager each customer has and keeps them there: rerunning a date replaces that date's rows
and reads the same earlier date again, so reruns give the same assignment.
"""

import dagster as dg
import duckdb
import pandas as pd

from assignment import assign_accounts
from orchestration.resources import WarehouseResource

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

# The manager a customer has: the previous analysis date's assignment, unless the customers file
# now names another manager than it did then (someone reassigned the customer by hand in the
# CRM); a customer seen for the first time, or left without a manager last time, has the file's.
_CUSTOMERS_SQL = f"""
with previous as (
    select *
    from {HISTORY_TABLE}
    where as_of = (select max(as_of) from {HISTORY_TABLE} where as_of < $as_of)
)
select
    tiered.customer_id,
    tiered.tier_rank,
    tiered.tier_weight::double as weight,
    tiered.priority_value::double as priority_value,
    case
        when previous.customer_id is null then tiered.profile_account_manager_id
        when tiered.profile_account_manager_id is distinct from previous.source_manager_id
            and tiered.profile_account_manager_id is not null
            then tiered.profile_account_manager_id
        else coalesce(previous.staff_id, tiered.profile_account_manager_id)
    end as current_staff_id,
    tiered.profile_account_manager_id as source_manager_id
from intermediate.int_customers_tiered as tiered
left join previous on tiered.customer_id = previous.customer_id
where tiered.lifecycle_stage <> 'churned'
order by tiered.customer_id
"""

_MANAGERS_SQL = """
select staff_id, capacity, is_active as active
from staging.stg_shop__staff
order by staff_id
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
        managers = con.execute(_MANAGERS_SQL).df()
        customers = con.execute(_CUSTOMERS_SQL, {"as_of": as_of}).df()
        if managers.empty:
            # Without a staff source nobody can be assigned; the marts then show the customers
            # file's managers as they are (customer_tiers) and an empty assignment.
            con.execute(f"delete from {HISTORY_TABLE} where as_of = $as_of", {"as_of": as_of})
            context.log.warning(
                "no staff source (or an empty one): account assignment skipped, customers keep "
                "the account_manager_id of the customers file"
            )
            return dg.MaterializeResult(metadata={"as_of": str(as_of), "skipped": "no staff"})
        result = assign_accounts(customers.drop(columns="source_manager_id"), managers)
        rows = result.assignments.merge(
            customers[["customer_id", "source_manager_id"]], on="customer_id", how="left"
        )
        _store(con, as_of, rows)

    reasons = rows["reason"].value_counts().sort_index()
    active = result.loads[result.loads["active"]]
    mean_load = float(active["weighted_load"].mean()) if len(active) else 0.0
    spread = (
        float((active["weighted_load"] - mean_load).abs().max() / mean_load) if mean_load else 0.0
    )
    unassigned = int(reasons.get("no_capacity", 0))
    if unassigned:
        context.log.warning(
            f"{unassigned} customers have no account manager: every active manager is at "
            "capacity (marts.account_assignment lists them with reason no_capacity)"
        )
    return dg.MaterializeResult(
        metadata={
            "as_of": str(as_of),
            "customers": len(rows),
            **{f"reason_{reason}": int(count) for reason, count in reasons.items()},
            "active_managers": len(active),
            "max_load_deviation_from_mean": dg.FloatMetadataValue(round(spread, 4)),
        }
    )


defs = dg.Definitions(assets=[account_assignment])
