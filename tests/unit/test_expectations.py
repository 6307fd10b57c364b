"""The Great Expectations suites gate the raw tables with correct counts, and leave no trace.

The raw tables are created here with plain DDL from the source contract, so these tests do
not depend on the loader.
"""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa

from customer_tiers.expectations.runner import (
    ExpectationOutcome,
    SuiteOutcome,
    _engine_kwargs,
    results_to_rows,
    suite_for,
    validate_source,
)
from customer_tiers.ingest.sources import DUCKDB_TYPES, LINEAGE_COLUMNS, SOURCES

Row = dict[str, Any]

CLEAN: dict[str, list[Row]] = {
    "customers": [
        {"customer_id": "c1", "gender": "F", "birth_date": dt.date(1980, 5, 1)},
        {"customer_id": "c2", "gender": "M", "birth_date": None},
        {"customer_id": "c3", "gender": None, "birth_date": dt.date(1999, 1, 2)},
    ],
    "orders": [
        {"order_id": "o1", "customer_id": "c1", "ordered_at": dt.datetime(2024, 1, 5),
         "quantity": 2, "amount": 20},
        {"order_id": "o1", "customer_id": "c1", "ordered_at": dt.datetime(2024, 1, 5),
         "quantity": 1, "amount": 5},
        {"order_id": "o2", "customer_id": "c2", "ordered_at": dt.datetime(2024, 2, 1),
         "quantity": -1, "amount": -5},
    ],
    "products": [{"product_id": "p1", "unit_cost": 1.5}, {"product_id": "p2", "unit_cost": 0}],
    "staff": [{"staff_id": "s1", "capacity": 100}, {"staff_id": "s2", "capacity": 0}],
    "feedback": [
        {"feedback_id": "f1", "created_at": dt.datetime(2024, 3, 1), "rating": 5},
        {"feedback_id": "f2", "created_at": dt.datetime(2024, 3, 2), "rating": None},
    ],
    "surveys": [
        {"response_id": "r1", "responded_at": dt.datetime(2024, 4, 1), "nps_score": 10,
         "csat_score": 5, "repurchase_intent": 100, "recommend": "yes"},
        {"response_id": "r2", "responded_at": dt.datetime(2024, 4, 2), "nps_score": 0,
         "csat_score": 1, "repurchase_intent": 0, "recommend": "no"},
    ],
}  # fmt: skip


def create_raw_tables(db: Path, rows: dict[str, list[Row]]) -> None:
    """Create every raw table from the contract and insert `rows` (absent columns are NULL)."""
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS raw")
        for spec in SOURCES.values():
            columns = [*spec.columns, *LINEAGE_COLUMNS]
            ddl = ", ".join(f'"{c.name}" {DUCKDB_TYPES[c.type]}' for c in columns)
            con.execute(f"CREATE TABLE raw.{spec.name} ({ddl})")
            for number, row in enumerate(rows.get(spec.name, []), start=1):
                values = {"_source_file": f"{spec.name}.csv", "_row_number": number} | row
                names = ", ".join(f'"{n}"' for n in values)
                marks = ", ".join("?" for _ in values)
                con.execute(
                    f"INSERT INTO raw.{spec.name} ({names}) VALUES ({marks})", list(values.values())
                )


@pytest.fixture
def make_db(tmp_path: Path) -> Callable[..., Path]:
    def make(**changes: list[Row]) -> Path:
        db = tmp_path / "warehouse.duckdb"
        create_raw_tables(db, CLEAN | changes)
        return db

    return make


def only(outcome: SuiteOutcome, expectation: str, column: str | None) -> ExpectationOutcome:
    [found] = [o for o in outcome.outcomes if o.expectation == expectation and o.column == column]
    return found


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_clean_table_passes_every_expectation(make_db: Callable[..., Path], source: str) -> None:
    outcome = validate_source(make_db(), source)

    assert outcome.source == source
    assert outcome.success
    assert outcome.failures() == []
    # Every expectation was evaluated, none errored out into an empty result.
    assert len(outcome.outcomes) == len(suite_for(source).expectations)
    assert not [o for o in outcome.outcomes if o.details.startswith("could not be evaluated")]


def test_duplicate_key_fails_uniqueness_with_both_rows_counted(
    make_db: Callable[..., Path],
) -> None:
    customers = [*CLEAN["customers"], {"customer_id": "c1", "gender": "F"}]

    outcome = validate_source(make_db(customers=customers), "customers")

    assert not outcome.success
    unique = only(outcome, "expect_column_values_to_be_unique", "customer_id")
    assert (unique.success, unique.severity) == (False, "error")
    # Both rows that share "c1" are unexpected, out of 4 non-null keys.
    assert unique.unexpected_count == 2
    assert unique.unexpected_percent == pytest.approx(50.0)
    assert outcome.failures() == [unique]


def test_null_required_values_fail_with_their_counts(make_db: Callable[..., Path]) -> None:
    orders = [
        *CLEAN["orders"],
        {"order_id": "o3", "customer_id": "c3", "ordered_at": None, "amount": 1},
        {"order_id": "o4", "customer_id": "c3", "ordered_at": dt.datetime(2024, 5, 1)},
        {"order_id": "o5", "customer_id": "c3", "ordered_at": dt.datetime(2024, 5, 1)},
    ]

    outcome = validate_source(make_db(orders=orders), "orders")

    assert not outcome.success
    failed = {(o.expectation, o.column): o for o in outcome.failures("error")}
    assert set(failed) == {
        ("expect_column_values_to_not_be_null", "ordered_at"),
        ("expect_column_values_to_not_be_null", "amount"),
    }
    assert failed["expect_column_values_to_not_be_null", "ordered_at"].unexpected_count == 1
    amount = failed["expect_column_values_to_not_be_null", "amount"]
    assert amount.unexpected_count == 2
    assert amount.unexpected_percent == pytest.approx(100 * 2 / 6)


def test_nps_score_out_of_scale_fails(make_db: Callable[..., Path]) -> None:
    surveys = [
        *CLEAN["surveys"],
        {"response_id": "r3", "responded_at": dt.datetime(2024, 4, 3), "nps_score": 11},
    ]

    outcome = validate_source(make_db(surveys=surveys), "surveys")

    assert not outcome.success
    [nps] = outcome.failures()
    assert (nps.expectation, nps.column, nps.severity) == (
        "expect_column_values_to_be_between",
        "nps_score",
        "error",
    )
    assert nps.unexpected_count == 1
    assert "'11'" in nps.details


def test_warning_failures_are_reported_but_do_not_block(make_db: Callable[..., Path]) -> None:
    customers = [*CLEAN["customers"], {"customer_id": "c4", "gender": "female"}]
    orders = [  # three of five lines are returns
        *CLEAN["orders"],
        {"order_id": "o3", "customer_id": "c3", "ordered_at": dt.datetime(2031, 1, 1),
         "amount": -1},
        {"order_id": "o4", "customer_id": "c3", "ordered_at": dt.datetime(2024, 6, 1),
         "amount": -2},
    ]  # fmt: skip
    db = make_db(customers=customers, orders=orders)

    customers_outcome = validate_source(db, "customers")
    orders_outcome = validate_source(db, "orders")

    assert customers_outcome.success
    assert customers_outcome.failures("error") == []
    [gender] = customers_outcome.failures("warning")
    assert (gender.expectation, gender.column, gender.unexpected_count) == (
        "expect_column_values_to_be_in_set",
        "gender",
        1,
    )
    # An order after the analysis date is not a failure of any kind.
    assert orders_outcome.success
    [returns] = orders_outcome.failures()
    assert (returns.column, returns.severity, returns.unexpected_count) == ("amount", "warning", 3)


def test_missing_contract_column_blocks(tmp_path: Path) -> None:
    db = tmp_path / "warehouse.duckdb"
    create_raw_tables(db, CLEAN)
    with duckdb.connect(str(db)) as con:
        con.execute("ALTER TABLE raw.staff DROP COLUMN capacity")
        con.execute("ALTER TABLE raw.staff ADD COLUMN note VARCHAR")

    outcome = validate_source(db, "staff")

    assert not outcome.success
    by_severity = {o.severity: o for o in outcome.failures() if "match_set" in o.expectation}
    assert "missing ['capacity']" in by_severity["error"].details
    assert "unexpected ['note']" in by_severity["warning"].details


@pytest.mark.parametrize("source", ["customers", "products", "staff", "feedback", "surveys"])
def test_empty_optional_table_passes(make_db: Callable[..., Path], source: str) -> None:
    outcome = validate_source(make_db(**{source: []}), source)

    assert outcome.success
    assert outcome.failures() == []


def test_optional_column_left_empty_passes(make_db: Callable[..., Path]) -> None:
    staff = [{"staff_id": "s1", "capacity": None}, {"staff_id": "s2", "capacity": None}]

    outcome = validate_source(make_db(staff=staff), "staff")

    capacity = only(outcome, "expect_column_values_to_be_between", "capacity")
    assert outcome.success
    assert (capacity.success, capacity.details) == (True, "no values to check")


def test_empty_orders_table_blocks(make_db: Callable[..., Path]) -> None:
    outcome = validate_source(make_db(orders=[]), "orders")

    assert not outcome.success
    [row_count] = outcome.failures()
    assert row_count.expectation == "expect_table_row_count_to_be_between"


def test_file_is_writable_by_another_process_right_after(make_db: Callable[..., Path]) -> None:
    db = make_db()

    validate_source(db, "orders")

    script = (
        "import duckdb, sys\n"
        "con = duckdb.connect(sys.argv[1])\n"
        "con.execute('CREATE TABLE raw.probe AS SELECT 1 AS x')\n"
        "con.close()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(db)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_runs_offline_and_quietly(
    make_db: Callable[..., Path],
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("validation tried to reach the network")

    db = make_db()
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)

    outcome = validate_source(db, "customers")

    assert outcome.success
    captured = capfd.readouterr()
    assert "Calculating Metrics" not in captured.out + captured.err


def test_engine_keeps_a_result_after_its_connection_is_returned(
    make_db: Callable[..., Path],
) -> None:
    # The root cause of GE's empty metrics: GE fetches after leaving `engine.connect()`,
    # whose rollback replaced the DuckDB connection's pending result.
    db = make_db()
    engine = sa.create_engine(f"duckdb:///{db}", **_engine_kwargs(db, "raw"))
    try:
        with engine.connect() as connection:
            result = connection.execute(sa.text("SELECT count(*) FROM orders"))
        assert result.fetchall() == [(3,)]
    finally:
        engine.dispose()


def test_every_expectation_is_tagged_error_or_warning() -> None:
    for source in SOURCES:
        suite = suite_for(source)
        assert suite.name == source
        severities = {e.meta["severity"] for e in suite.expectations if e.meta}
        assert len([e for e in suite.expectations if e.meta]) == len(suite.expectations)
        assert severities <= {"error", "warning"}


def test_results_to_rows_has_one_row_per_expectation(make_db: Callable[..., Path]) -> None:
    outcome = validate_source(make_db(), "staff")

    rows = results_to_rows(outcome, "run-1")

    assert len(rows) == len(outcome.outcomes)
    assert {r["source"] for r in rows} == {"staff"}
    assert {r["run_id"] for r in rows} == {"run-1"}
    assert set(rows[0]) == {
        "source",
        "run_id",
        "expectation",
        "column",
        "severity",
        "success",
        "unexpected_count",
        "unexpected_percent",
        "details",
    }
