"""One run's account assignment: the manager each customer has now, then the balancing.

Engine-neutral: the Dagster asset (orchestration/defs/assign.py) reads the same three inputs
on either engine with the portable SQL below (the tiered customers, the managers, the previous
analysis date's assignment), hands them over as pandas frames and has the engine store the rows
`assign_run` returns as that date's assignment history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa

from customer_tiers.assignment.balance import assign_accounts

# The assignment history, as stored per analysis date (DuckDB: a table of the warehouse,
# orchestration/engine.py; Spark: one Parquet file per date, orchestration/engine_spark.py).
HISTORY_SCHEMA = pa.schema(
    [
        ("as_of", pa.date32()),
        ("customer_id", pa.string()),
        ("staff_id", pa.string()),
        ("previous_staff_id", pa.string()),
        ("source_manager_id", pa.string()),
        ("reason", pa.string()),
    ]
)
HISTORY_COLUMNS = tuple(HISTORY_SCHEMA.names)

# Every customer who is not churned, with what the balancing needs; source_manager_id is the
# customers file's account_manager_id.
TIERED_SQL = """
select
    customer_id,
    tier_rank,
    cast(tier_weight as double) as weight,
    cast(priority_value as double) as priority_value,
    profile_account_manager_id as source_manager_id
from intermediate.int_customers_tiered
where lifecycle_stage <> 'churned'
order by customer_id
"""

MANAGERS_SQL = """
select staff_id, capacity, is_active as active
from staging.stg_shop__staff
order by staff_id
"""


def previous_assignment_sql(history_table: str, as_of: date) -> str:
    """The assignment of the latest analysis date before `as_of`: rerunning a date reads the
    same earlier date again, so reruns give the same assignment."""
    day = f"date '{as_of.isoformat()}'"
    return (
        f"select customer_id, staff_id, source_manager_id from {history_table} "
        f"where as_of = (select max(as_of) from {history_table} where as_of < {day})"
    )


def current_managers(customers: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """`customers` (TIERED_SQL's columns) with `current_staff_id`, the manager each has.

    That is the previous assignment (`previous`: customer_id, staff_id, source_manager_id),
    unless the customers file now names another manager than it did then (someone reassigned
    the customer by hand in the CRM); a customer seen for the first time, or left without a
    manager last time, has the file's.
    """
    prior = previous[["customer_id", "staff_id", "source_manager_id"]].rename(
        columns={"staff_id": "_prior_staff", "source_manager_id": "_prior_source"}
    )
    merged = customers.merge(
        prior, on="customer_id", how="left", indicator="_seen", validate="many_to_one"
    )
    profile = _text(merged["source_manager_id"])
    prior_staff = _text(merged["_prior_staff"])
    seen = merged["_seen"].eq("both").to_numpy()
    reassigned = (profile.notna() & profile.ne(_text(merged["_prior_source"]))).to_numpy()
    current = np.where(seen & ~reassigned, prior_staff.where(prior_staff.notna(), profile), profile)
    merged = merged.drop(columns=["_prior_staff", "_prior_source", "_seen"])
    merged.insert(
        merged.columns.get_loc("source_manager_id"),
        "current_staff_id",
        pd.Series(current, index=merged.index, dtype=object),
    )
    return merged


def _text(column: pd.Series) -> pd.Series:
    """Object dtype with None for missing values: pandas' string dtypes compare a missing
    value as missing, where the rules above need 'is distinct from'."""
    return column.astype(object).where(column.notna(), None)


@dataclass(frozen=True)
class RunAssignment:
    """`rows`: one per customer (HISTORY_COLUMNS but as_of); `loads`: one per manager."""

    rows: pd.DataFrame
    loads: pd.DataFrame

    def reasons(self) -> pd.Series:
        return self.rows["reason"].value_counts().sort_index()

    @property
    def unassigned(self) -> int:
        return int(self.reasons().get("no_capacity", 0))

    @property
    def active_managers(self) -> int:
        return int(self.loads["active"].sum())

    def max_load_deviation(self) -> float:
        """The largest distance of an active manager's weighted load from the mean, as a share
        of the mean (0 when nobody is active)."""
        active = self.loads[self.loads["active"]]
        mean_load = float(active["weighted_load"].mean()) if len(active) else 0.0
        if not mean_load:
            return 0.0
        return float((active["weighted_load"] - mean_load).abs().max() / mean_load)


def assign_run(
    customers: pd.DataFrame, managers: pd.DataFrame, previous: pd.DataFrame
) -> RunAssignment:
    """The run's assignment from TIERED_SQL's customers, MANAGERS_SQL's managers and the
    previous assignment (previous_assignment_sql; empty on a first run)."""
    current = current_managers(customers, previous)
    result = assign_accounts(current.drop(columns="source_manager_id"), managers)
    rows = result.assignments.merge(
        current[["customer_id", "source_manager_id"]], on="customer_id", how="left"
    )
    return RunAssignment(rows=rows, loads=result.loads)
