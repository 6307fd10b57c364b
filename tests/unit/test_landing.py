"""Incremental loading (ingest/landing.py): each file once, again only when it changed.

Every count below is worked out by hand from the small inline files of its test.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from customer_tiers.ingest import landing
from customer_tiers.ingest.encoding import SourceError
from customer_tiers.ingest.landing import LOADED_FILES_TABLE, is_partial, landing_files, sync_source
from customer_tiers.ingest.privacy import Privacy
from customer_tiers.ingest.sources import CUSTOMERS, FEEDBACK, ORDERS, SourceSpec

LOADED_AT = datetime(2026, 7, 1, 6, 0)
KEEP = Privacy("keep")
ORDERS_HEADER = "order_id,customer_id,ordered_at,amount\n"


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def sync(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    sources: Path,
    run_id: str,
    privacy: Privacy = KEEP,
    full_reload: bool = False,
):
    return sync_source(con, spec, sources, run_id, LOADED_AT, privacy, full_reload=full_reload)


def order_ids(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    rows = con.execute(
        "select order_id, _run_id from raw.orders order by order_id, _row_number"
    ).fetchall()
    return [(order_id, run_id) for order_id, run_id in rows]


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    root = tmp_path / "sources"
    write(root / "orders.csv", ORDERS_HEADER + "O1,C1,2026-06-01,10\nO2,C2,2026-06-02,20\n")
    write(root / "orders" / "2026-06-30.csv", ORDERS_HEADER + "O3,C1,2026-06-30,30\n")
    return root


def test_first_run_loads_every_file_and_the_second_skips_them(
    con: duckdb.DuckDBPyConnection, sources: Path
) -> None:
    first = sync(con, ORDERS, sources, "run-1")
    assert [(Path(r.file).name, r.status, r.rows_loaded) for r in first.results] == [
        ("orders.csv", "loaded", 2),
        ("2026-06-30.csv", "loaded", 1),
    ]
    assert first.rows_in_table == 3

    second = sync(con, ORDERS, sources, "run-2")
    assert [r.status for r in second.results] == ["unchanged", "unchanged"]
    assert second.status == "unchanged" and second.rows_in_table == 3
    # the rows are the first run's, untouched
    assert order_ids(con) == [("O1", "run-1"), ("O2", "run-1"), ("O3", "run-1")]
    tracked = con.execute(
        f"select name, bytes, rows_loaded from {LOADED_FILES_TABLE} order by name"
    ).fetchall()
    assert tracked == [
        ("orders.csv", (sources / "orders.csv").stat().st_size, 2),
        ("orders/2026-06-30.csv", (sources / "orders/2026-06-30.csv").stat().st_size, 1),
    ]


def test_a_new_day_file_is_appended_alone(con: duckdb.DuckDBPyConnection, sources: Path) -> None:
    sync(con, ORDERS, sources, "run-1")
    write(sources / "orders" / "2026-07-01.csv", ORDERS_HEADER + "O4,C3,2026-07-01,40\n")
    result = sync(con, ORDERS, sources, "run-2")
    assert [(Path(r.file).name, r.status) for r in result.results] == [
        ("orders.csv", "unchanged"),
        ("2026-06-30.csv", "unchanged"),
        ("2026-07-01.csv", "loaded"),
    ]
    assert order_ids(con) == [("O1", "run-1"), ("O2", "run-1"), ("O3", "run-1"), ("O4", "run-2")]


def test_a_changed_file_replaces_its_rows_and_its_quarantine(
    con: duckdb.DuckDBPyConnection, sources: Path
) -> None:
    day = sources / "orders" / "2026-06-30.csv"
    write(day, ORDERS_HEADER + "O3,C1,2026-06-30,30\nO9,C9,not a date,5\n")
    sync(con, ORDERS, sources, "run-1")
    assert con.execute("select count(*) from quarantine.orders").fetchone() == (1,)

    # corrected export of the same day: same name, other content
    write(day, ORDERS_HEADER + "O3,C1,2026-06-30,30\nO9,C9,2026-06-30,5\n")
    result = sync(con, ORDERS, sources, "run-2")
    assert [r.status for r in result.results] == ["unchanged", "loaded"]
    assert order_ids(con) == [("O1", "run-1"), ("O2", "run-1"), ("O3", "run-2"), ("O9", "run-2")]
    assert con.execute("select count(*) from quarantine.orders").fetchone() == (0,)


def test_same_size_other_content_is_a_change(con: duckdb.DuckDBPyConnection, sources: Path) -> None:
    sync(con, ORDERS, sources, "run-1")
    write(sources / "orders" / "2026-06-30.csv", ORDERS_HEADER + "O3,C1,2026-06-30,31\n")
    result = sync(con, ORDERS, sources, "run-2")
    assert [r.status for r in result.results] == ["unchanged", "loaded"]
    assert con.execute("select amount from raw.orders where order_id = 'O3'").fetchone()[0] == 31


def settle(*paths: Path, hours: float = 1) -> None:
    """Date the files an hour back, as files that were written well before a run."""
    for path in paths:
        stamp = path.stat().st_mtime - hours * 3600
        os.utime(path, (stamp, stamp))


def refuse_to_read(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(path: Path) -> None:
        raise AssertionError(f"{path} was read")

    monkeypatch.setattr(landing, "inspect_file", fail)


def test_a_settled_file_with_its_recorded_size_and_time_is_not_read_again(
    con: duckdb.DuckDBPyConnection, sources: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    top, day = sources / "orders.csv", sources / "orders" / "2026-06-30.csv"
    settle(top, day)
    sync(con, ORDERS, sources, "run-1")
    recorded = con.execute(f"select name, mtime_ns from {LOADED_FILES_TABLE} order by name")
    assert recorded.fetchall() == [
        ("orders.csv", top.stat().st_mtime_ns),
        ("orders/2026-06-30.csv", day.stat().st_mtime_ns),
    ]
    refuse_to_read(monkeypatch)
    result = sync(con, ORDERS, sources, "run-2")
    assert [r.status for r in result.results] == ["unchanged", "unchanged"]


def test_a_fresh_time_stamp_is_not_trusted_so_a_quick_same_size_rewrite_is_seen(
    con: duckdb.DuckDBPyConnection, sources: Path
) -> None:
    sync(con, ORDERS, sources, "run-1")  # files written just now: within the clock's grain
    assert con.execute(f"select count(mtime_ns) from {LOADED_FILES_TABLE}").fetchone() == (0,)
    day = sources / "orders" / "2026-06-30.csv"
    stamp = day.stat().st_mtime_ns
    write(day, ORDERS_HEADER + "O3,C1,2026-06-30,31\n")
    os.utime(day, ns=(stamp, stamp))  # same size and, to the clock, the same time stamp
    result = sync(con, ORDERS, sources, "run-2")
    assert [r.status for r in result.results] == ["unchanged", "loaded"]


def test_a_touched_file_with_the_same_content_is_checksummed_once_then_trusted(
    con: duckdb.DuckDBPyConnection, sources: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = sources / "orders" / "2026-06-30.csv"
    settle(sources / "orders.csv", day, hours=2)
    sync(con, ORDERS, sources, "run-1")
    settle(day, hours=-1)  # touched: an hour later, content the same
    result = sync(con, ORDERS, sources, "run-2")
    assert [r.status for r in result.results] == ["unchanged", "unchanged"]
    assert con.execute(
        f"select mtime_ns from {LOADED_FILES_TABLE} where name = 'orders/2026-06-30.csv'"
    ).fetchone() == (day.stat().st_mtime_ns,)
    refuse_to_read(monkeypatch)
    assert [r.status for r in sync(con, ORDERS, sources, "run-3").results] == [
        "unchanged",
        "unchanged",
    ]


def test_a_file_list_without_time_stamps_gets_the_column(
    con: duckdb.DuckDBPyConnection, sources: Path
) -> None:
    sync(con, ORDERS, sources, "run-1")
    con.execute(f"alter table {LOADED_FILES_TABLE} drop column mtime_ns")  # an older warehouse
    result = sync(con, ORDERS, sources, "run-2")
    assert [r.status for r in result.results] == ["unchanged", "unchanged"]  # by checksum


def test_removed_files_top_level_rows_go_landed_rows_stay(
    con: duckdb.DuckDBPyConnection, sources: Path
) -> None:
    sync(con, ORDERS, sources, "run-1")
    (sources / "orders" / "2026-06-30.csv").unlink()  # archived after loading
    result = sync(con, ORDERS, sources, "run-2")
    assert result.kept == ["orders/2026-06-30.csv"] and result.removed == []
    assert result.rows_in_table == 3

    (sources / "orders.csv").unlink()  # the full export is gone: its rows go
    result = sync(con, ORDERS, sources, "run-3")
    assert result.removed == ["orders.csv"]
    assert order_ids(con) == [("O3", "run-1")]


def test_partial_and_hidden_files_are_not_loaded(
    con: duckdb.DuckDBPyConnection, sources: Path
) -> None:
    for name in ("2026-07-01.csv.part", ".2026-07-02.csv", "~2026-07-03.csv", "notes.txt"):
        write(sources / "orders" / name, ORDERS_HEADER + "X,C1,2026-07-01,1\n")
    assert [p.name for p in landing_files(sources, ORDERS)] == ["2026-06-30.csv"]
    assert is_partial(Path("a.csv.tmp")) and not is_partial(Path("a.csv"))
    sync(con, ORDERS, sources, "run-1")
    assert [o for o, _ in order_ids(con)] == ["O1", "O2", "O3"]


def test_a_key_loaded_from_another_file_is_quarantined_naming_that_file(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    header = "feedback_id,customer_id,created_at,rating\n"
    first = write(tmp_path / "feedback" / "a.csv", header + "F1,C1,2026-06-01,5\n")
    write(tmp_path / "feedback" / "b.csv", header + "F1,C1,2026-06-01,5\nF2,C2,2026-06-02,1\n")
    result = sync(con, FEEDBACK, tmp_path, "run-1")
    b = result.results[1]
    assert (b.rows_read, b.rows_loaded, b.rows_quarantined) == (2, 1, 1)
    assert con.execute("select _reason from quarantine.feedback").fetchone() == (
        f"duplicate feedback_id (already loaded from {first})",
    )
    # reloading the changed file itself is not a duplicate of its own earlier rows
    write(tmp_path / "feedback" / "a.csv", header + "F1,C1,2026-06-01,4\n")
    again = sync(con, FEEDBACK, tmp_path, "run-2")
    assert [r.rows_loaded for r in again.results if r.status == "loaded"] == [1]


def test_other_settings_or_full_reload_load_everything_again(
    con: duckdb.DuckDBPyConnection, sources: Path
) -> None:
    sync(con, ORDERS, sources, "run-1")
    result = sync(con, ORDERS, sources, "run-2", privacy=Privacy("mask"))
    assert [r.status for r in result.results] == ["loaded", "loaded"]
    result = sync(con, ORDERS, sources, "run-3", privacy=Privacy("mask"), full_reload=True)
    assert [r.status for r in result.results] == ["loaded", "loaded"]
    assert order_ids(con) == [("O1", "run-3"), ("O2", "run-3"), ("O3", "run-3")]


def test_a_warehouse_from_before_file_tracking_starts_over(
    con: duckdb.DuckDBPyConnection, sources: Path
) -> None:
    sync(con, ORDERS, sources, "run-1")
    con.execute(f"drop table {LOADED_FILES_TABLE}")  # as written by an older version
    result = sync(con, ORDERS, sources, "run-2")
    assert [r.status for r in result.results] == ["loaded", "loaded"]
    assert result.rows_in_table == 3  # not 6


def test_orders_are_required_as_a_file_or_in_the_folder(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    with pytest.raises(SourceError, match=r"orders.csv or orders.parquet \(or files in orders/\)"):
        sync(con, ORDERS, tmp_path, "run-1")
    write(tmp_path / "orders" / "d1.csv", ORDERS_HEADER + "O1,C1,2026-06-01,10\n")
    assert sync(con, ORDERS, tmp_path, "run-2").rows_in_table == 1


def test_a_profile_source_is_replaced_when_changed_and_skipped_when_not(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write(tmp_path / "customers.csv", "customer_id,city\nC1,杭州\nC2,上海\n")
    assert sync(con, CUSTOMERS, tmp_path, "run-1").rows_in_table == 2
    assert [r.status for r in sync(con, CUSTOMERS, tmp_path, "run-2").results] == ["unchanged"]
    write(path, "customer_id,city\nC1,杭州\n")
    assert sync(con, CUSTOMERS, tmp_path, "run-3").rows_in_table == 1
    path.unlink()
    result = sync(con, CUSTOMERS, tmp_path, "run-4")
    assert result.status == "absent" and result.rows_in_table == 0


def test_a_file_with_a_new_column_widens_the_quarantine(
    con: duckdb.DuckDBPyConnection, sources: Path
) -> None:
    sync(con, ORDERS, sources, "run-1")
    write(
        sources / "orders" / "2026-07-01.csv",
        "order_id,customer_id,ordered_at,amount,coupon\nO5,C1,yesterday,5,SPRING\n",
    )
    sync(con, ORDERS, sources, "run-2")
    assert con.execute("select order_id, coupon, _reason from quarantine.orders").fetchall() == [
        ("O5", "SPRING", "ordered_at: cannot parse 'yesterday' as timestamp")
    ]


def test_totals_add_up_the_files_read_this_run(
    con: duckdb.DuckDBPyConnection, sources: Path
) -> None:
    sync(con, ORDERS, sources, "run-1")
    write(
        sources / "orders" / "2026-07-01.csv",
        "order_id,customer_id,ordered_at,amount,coupon\nO4,C1,2026-07-01,5,X\nO5,,2026-07-01,1,\n",
    )
    write(sources / "orders" / "2026-07-02.csv", ORDERS_HEADER + "O6,C2,someday,2\n")
    totals = sync(con, ORDERS, sources, "run-2").totals()
    assert (totals.status, totals.rows_read, totals.rows_loaded, totals.rows_quarantined) == (
        "loaded", 3, 1, 2,
    )  # fmt: skip
    assert totals.quarantine_reasons == {"missing customer_id": 1, "unparseable ordered_at": 1}
    assert totals.extra_columns == ("coupon",)
    assert "product_id" in totals.missing_columns and "coupon" not in totals.missing_columns
