"""What the effects are computed from, the same for both engines.

`members_sql` (portable SQL, DuckDB and Spark) joins the action ledger to the order lines in
each cohort's window (as_of, as_of + window_days], for the cohorts whose window has ended by the
run's analysis date: one row per cohort member with `purchased` and `revenue` aggregated in the
warehouse, so Python never reads the order lines. `effects_table` turns the effects into the
Arrow table both engines write as `marts.action_effects`.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from customer_tiers.experiments.effects import EFFECT_COLUMNS, action_effects

LEDGER_TABLE = "marts.action_ledger"
ORDERS_TABLE = "staging.stg_shop__orders"
AS_OF_TABLE = "intermediate.int_as_of_resolved"


def ledger_exists(con: Any) -> bool:
    """Whether the DuckDB warehouse `con` opens has the ledger (absent before the first run,
    or when a build left it out)."""
    return table_exists(con, LEDGER_TABLE)


def table_exists(con: Any, qualified: str) -> bool:
    """Whether the DuckDB database `con` opens has the table `schema.table`."""
    schema, table = qualified.split(".")
    [(found,)] = con.execute(
        "select count(*) from information_schema.tables "
        "where table_catalog = current_database() and table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()
    return bool(found)


EFFECTS_SCHEMA = pa.schema(
    [
        ("experiment_id", pa.string()),
        ("action", pa.string()),
        ("scope", pa.string()),
        ("as_of", pa.date32()),
        ("cohorts", pa.int64()),
        ("first_as_of", pa.date32()),
        ("last_as_of", pa.date32()),
        ("window_days", pa.int32()),
        ("planned_holdout_share", pa.float64()),
        ("n_treatment", pa.int64()),
        ("n_control", pa.int64()),
        ("buyers_treatment", pa.int64()),
        ("buyers_control", pa.int64()),
        *((name, pa.float64()) for name in EFFECT_COLUMNS[13:24]),
        ("srm_p_value", pa.float64()),
        ("srm_flag", pa.bool_()),
        ("min_detectable_lift", pa.float64()),
    ]
)
assert tuple(EFFECTS_SCHEMA.names) == EFFECT_COLUMNS


def members_sql(window_days: int) -> str:
    """Cohort members of the experiments whose window ended on or before the run's as_of.

    A purchase is an order line of non-negative amount (an order is a purchase unless every
    line is a return); revenue is the net amount of the window's lines, returns included."""
    days = int(window_days)
    return f"""
select
    ledger.experiment_id,
    ledger.action,
    ledger.as_of,
    ledger.customer_id,
    ledger.holdout,
    coalesce(max(case when orders.amount >= 0 then 1 else 0 end), 0) = 1 as purchased,
    cast(coalesce(sum(orders.amount), 0) as double) as revenue
from {LEDGER_TABLE} as ledger
cross join {AS_OF_TABLE} as run
left join {ORDERS_TABLE} as orders
    on orders.customer_id = ledger.customer_id
    and orders.order_date > ledger.as_of
    and orders.order_date <= date_add(ledger.as_of, {days})
where ledger.experiment_id is not null
    and date_add(ledger.as_of, {days}) <= run.as_of
group by ledger.experiment_id, ledger.action, ledger.as_of, ledger.customer_id, ledger.holdout
order by ledger.experiment_id, ledger.action, ledger.as_of, ledger.customer_id
"""


def effects_table(members: pd.DataFrame, *, holdout_share: float, window_days: int) -> pa.Table:
    """`marts.action_effects` from the members query's result (EFFECTS_SCHEMA, also empty)."""
    effects = action_effects(members, holdout_share=holdout_share, window_days=window_days)
    for column in ("as_of", "first_as_of", "last_as_of"):  # a date, whatever the engine gave
        effects[column] = [None if pd.isna(d) else pd.Timestamp(d).date() for d in effects[column]]
    effects = effects.astype(object).where(effects.notna(), None)
    return pa.Table.from_pylist(effects.to_dict("records"), schema=EFFECTS_SCHEMA)
