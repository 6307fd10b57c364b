"""The blocking reconciliation check (orchestration/defs/quality.py) fails on each of its branches.

A real run cannot produce an unbalanced audit row (the loader raises first), so each case runs
the check in a Dagster run of its own after a stand-in for the `raw/orders` asset that writes a
crafted state into the work copy: `raw.load_audit` rows for this run (through the loader's own
`write_load_audit`), `raw.orders` and `raw.loaded_files`.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from customer_tiers.ingest.loader import LoadResult, write_load_audit
from customer_tiers.orchestration.defs.quality import _reconciliation_check
from customer_tiers.orchestration.resources import WarehouseResource

Craft = Callable[[duckdb.DuckDBPyConnection, str], None]


def _audit(read: int, loaded: int, quarantined: int, file: str = "orders.csv") -> LoadResult:
    return LoadResult(
        source="orders",
        file=file,
        sha256="0" * 64,
        bytes=100,
        encoding="utf-8",
        rows_read=read,
        rows_loaded=loaded,
        rows_quarantined=quarantined,
        missing_columns=(),
        extra_columns=(),
    )


def _tables(con: duckdb.DuckDBPyConnection, rows_in_table: int, listed: list[int]) -> None:
    """raw.orders with `rows_in_table` rows; raw.loaded_files with one file per `listed` count."""
    con.execute("create schema if not exists raw")
    con.execute(
        "create table raw.orders as select range as order_id from range(?)", [rows_in_table]
    )
    con.execute("create table raw.loaded_files (source varchar, name varchar, rows_loaded bigint)")
    con.executemany(
        "insert into raw.loaded_files values ('orders', ?, ?)",
        [[f"orders/{n}.csv", rows] for n, rows in enumerate(listed)],
    )


def _evaluate(tmp_path: Path, craft: Craft) -> dg.AssetCheckEvaluation:
    """Run the orders reconciliation check after `craft(connection, run_id)` built the state."""
    warehouse = WarehouseResource(path=str(tmp_path / "warehouse.duckdb"))

    @dg.asset(key=["raw", "orders"])
    def orders_stand_in(context: dg.AssetExecutionContext) -> None:
        with warehouse.connect() as con:
            craft(con, context.run.run_id)

    result = dg.materialize(
        [orders_stand_in, _reconciliation_check("orders")],
        resources={"warehouse": warehouse},
        raise_on_error=False,
    )
    [evaluation] = result.get_asset_check_evaluations()
    assert evaluation.check_name == "reconciliation"
    return evaluation


def test_balanced_run_passes(tmp_path: Path) -> None:
    """Two files this run: 10 = 7 + 3 and 5 = 5 + 0; the table holds the 12 loaded rows, which
    is what its two listed files loaded (7 + 5). An unbalanced row of an earlier run is not
    this run's business."""

    def craft(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
        now = datetime(2025, 1, 1, tzinfo=UTC)
        write_load_audit(con, [_audit(9, 1, 1)], "an-earlier-run", now)
        write_load_audit(con, [_audit(10, 7, 3), _audit(5, 5, 0, "orders/b.csv")], run_id, now)
        _tables(con, rows_in_table=12, listed=[7, 5])

    evaluation = _evaluate(tmp_path, craft)
    assert evaluation.passed
    metadata = {key: value.value for key, value in evaluation.metadata.items()}
    assert metadata == {
        "rows_read": 15,
        "rows_loaded": 12,
        "rows_quarantined": 3,
        "rows_in_table": 12,
    }


def test_no_audit_row_for_this_run_fails(tmp_path: Path) -> None:
    """Branch 1: the source was never audited in this run (only an earlier run's row exists)."""

    def craft(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
        write_load_audit(con, [_audit(4, 4, 0)], "an-earlier-run", datetime(2025, 1, 1, tzinfo=UTC))
        _tables(con, rows_in_table=4, listed=[4])

    evaluation = _evaluate(tmp_path, craft)
    assert not evaluation.passed
    assert evaluation.description == "orders has no load audit row for this run"


@pytest.mark.parametrize(
    ("audits", "expected"),
    [
        # a row went missing: 10 read, 7 loaded + 2 quarantined = 9
        ([(10, 7, 2)], "rows read 10 != loaded 7 + quarantined 2"),
        # counted twice: 1,000 read, 1,000 loaded and 1 quarantined; summed over two files
        ([(600, 600, 0), (400, 400, 1)], "rows read 1,000 != loaded 1,000 + quarantined 1"),
    ],
)
def test_unbalanced_audit_fails(
    tmp_path: Path, audits: list[tuple[int, int, int]], expected: str
) -> None:
    """Branch 2: rows read != loaded + quarantined over this run's audit rows, even though the
    table agrees with its listed files."""

    def craft(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
        results = [_audit(*counts, file=f"orders/{n}.csv") for n, counts in enumerate(audits)]
        write_load_audit(con, results, run_id, datetime(2025, 1, 1, tzinfo=UTC))
        loaded = [counts[1] for counts in audits]
        _tables(con, rows_in_table=sum(loaded), listed=loaded)

    evaluation = _evaluate(tmp_path, craft)
    assert not evaluation.passed
    assert evaluation.description == expected


@pytest.mark.parametrize(
    ("rows_in_table", "listed", "expected"),
    [
        # a file's rows deleted behind the loader's back
        (3, [4], "raw.orders has 3 rows but its files in raw.loaded_files loaded 4"),
        # rows of a file no longer listed are still in the table (counted twice downstream)
        (
            1_204,
            [4, 1_000],
            "raw.orders has 1,204 rows but its files in raw.loaded_files loaded 1,004",
        ),
    ],
)
def test_table_not_matching_its_listed_files_fails(
    tmp_path: Path, rows_in_table: int, listed: list[int], expected: str
) -> None:
    """Branch 3: this run's audit balances (4 = 4 + 0), but raw.orders does not hold exactly
    the rows its files in raw.loaded_files loaded."""

    def craft(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
        write_load_audit(con, [_audit(4, 4, 0)], run_id, datetime(2025, 1, 1, tzinfo=UTC))
        _tables(con, rows_in_table=rows_in_table, listed=listed)

    evaluation = _evaluate(tmp_path, craft)
    assert not evaluation.passed
    assert evaluation.description == expected
