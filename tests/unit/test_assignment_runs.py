"""One run's assignment (assignment/runs.py): the manager each customer has now, the previous
date's assignment, and the rows stored, on hand-worked cases. Both engines call these."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest

from customer_tiers.assignment.runs import (
    TIERED_SQL,
    assign_run,
    current_managers,
    previous_assignment_sql,
)

CUSTOMER_COLUMNS = ["customer_id", "tier_rank", "weight", "priority_value", "source_manager_id"]


def customers_frame(rows: list[tuple[str, str | None]], dtype: str) -> pd.DataFrame:
    """TIERED_SQL's columns; (customer_id, the customers file's manager)."""
    return pd.DataFrame(
        {
            "customer_id": pd.Series([r[0] for r in rows], dtype=dtype),
            "tier_rank": [0] * len(rows),
            "weight": [1.0] * len(rows),
            "priority_value": [10.0] * len(rows),
            "source_manager_id": pd.Series([r[1] for r in rows], dtype=dtype),
        }
    )


def previous_frame(rows: list[tuple[str, str | None, str | None]], dtype: str) -> pd.DataFrame:
    """(customer_id, assigned staff_id, the file's manager at that run)."""
    return pd.DataFrame(
        {
            name: pd.Series([r[i] for r in rows], dtype=dtype)
            for i, name in enumerate(["customer_id", "staff_id", "source_manager_id"])
        }
    )


# DuckDB's .df() gives pandas' string dtype, Arrow's to_pandas() may give objects
@pytest.mark.parametrize("dtype", [object, "str"])
def test_current_manager_of_each_case(dtype: str) -> None:
    customers = customers_frame(
        [
            ("c1", "E1"),  # first seen: the file's manager
            ("c2", None),  # first seen, none in the file: none
            ("c3", "E1"),  # file unchanged since the last run: the assigned manager stays
            ("c4", "E3"),  # file changed (reassigned by hand in the CRM): the file's
            ("c5", "E1"),  # nobody had room last time: the file's
            ("c6", None),  # file's manager cleared: the assigned one stays
            ("c7", "E4"),  # file names a manager where it named none: the file's
            ("c8", None),  # neither named one: the assigned one stays
        ],
        dtype,
    )
    previous = previous_frame(
        [
            ("c3", "E2", "E1"),
            ("c4", "E2", "E1"),
            ("c5", None, "E1"),
            ("c6", "E2", "E1"),
            ("c7", "E2", None),
            ("c8", "E2", None),
            ("gone", "E1", "E1"),  # churned since, or no longer a customer: ignored
        ],
        dtype,
    )
    current = current_managers(customers, previous)
    assert list(current.columns) == [*CUSTOMER_COLUMNS[:4], "current_staff_id", CUSTOMER_COLUMNS[4]]
    assert dict(zip(current["customer_id"], current["current_staff_id"], strict=True)) == {
        "c1": "E1",
        "c2": None,
        "c3": "E2",
        "c4": "E3",
        "c5": "E1",
        "c6": "E2",
        "c7": "E4",
        "c8": "E2",
    }
    assert current["customer_id"].tolist() == customers["customer_id"].tolist()


def test_first_run_has_the_files_managers() -> None:
    customers = customers_frame([("c1", "E1"), ("c2", None)], object)
    current = current_managers(customers, previous_frame([], object))
    assert current["current_staff_id"].tolist() == ["E1", None]


def test_the_run_assigns_and_keeps_the_files_manager_for_the_history() -> None:
    customers = customers_frame([("c1", "E1"), ("c2", "E1"), ("c3", "E3"), ("c4", None)], object)
    customers["tier_rank"] = [0, 1, 1, 1]
    managers = pd.DataFrame(
        {"staff_id": ["E1", "E2", "E3"], "capacity": [1, 5, 5], "active": [True, True, False]}
    )
    run = assign_run(customers, managers, previous_frame([], object))
    rows = run.rows.set_index("customer_id")
    assert list(run.rows.columns) == [
        "customer_id",
        "staff_id",
        "previous_staff_id",
        "reason",
        "source_manager_id",
    ]
    assert rows["staff_id"].to_dict() == {"c1": "E1", "c2": "E2", "c3": "E2", "c4": "E2"}
    assert rows["reason"].to_dict() == {
        "c1": "kept",  # the best customer keeps E1, whose one place it fills
        "c2": "rebalanced",  # E1 is full
        "c3": "manager_inactive",
        "c4": "new",
    }
    assert rows["previous_staff_id"].to_dict() == {"c1": "E1", "c2": "E1", "c3": "E3", "c4": None}
    assert rows["source_manager_id"].to_dict() == {"c1": "E1", "c2": "E1", "c3": "E3", "c4": None}
    assert run.reasons().to_dict() == {"kept": 1, "manager_inactive": 1, "new": 1, "rebalanced": 1}
    assert (run.unassigned, run.active_managers) == (0, 2)
    # loads 1 and 3 around a mean of 2
    assert run.max_load_deviation() == pytest.approx(0.5)


def test_previous_assignment_is_the_latest_date_before_as_of() -> None:
    con = duckdb.connect()
    con.execute(
        "create table history as select * from (values "
        "(date '2026-01-31', 'c1', 'E1', 'E1'), (date '2026-02-28', 'c1', 'E2', 'E1'), "
        "(date '2026-03-31', 'c1', 'E3', 'E1')) as t(as_of, customer_id, staff_id, "
        "source_manager_id)"
    )

    def staff(as_of: date) -> list[str]:
        sql = previous_assignment_sql("history", as_of)
        return [row[1] for row in con.execute(sql).fetchall()]

    assert staff(date(2026, 3, 31)) == ["E2"]  # a rerun of a date reads the date before
    assert staff(date(2026, 4, 30)) == ["E3"]
    assert staff(date(2026, 1, 31)) == []


def test_tiered_sql_leaves_churned_customers_out() -> None:
    con = duckdb.connect()
    con.execute("create schema intermediate")
    con.execute(
        "create table intermediate.int_customers_tiered as select * from (values "
        "('c2', 1, 1.5::decimal(2, 1), 3.0, 'E1', 'loyal'), "
        "('c1', 0, 3.0::decimal(2, 1), null, null, 'new'), "
        "('c3', 2, 1.0::decimal(2, 1), 1.0, 'E2', 'churned')) as t(customer_id, tier_rank, "
        "tier_weight, priority_value, profile_account_manager_id, lifecycle_stage)"
    )
    rows = con.execute(TIERED_SQL).fetchall()
    assert rows == [("c1", 0, 3.0, None, None), ("c2", 1, 1.5, 3.0, "E1")]
