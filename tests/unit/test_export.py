"""`tiers export`: every mart to Parquet or to spreadsheet-safe CSV, from a hand-built warehouse."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

import duckdb
import pytest

from customer_tiers.orchestration import export
from customer_tiers.orchestration.export import (
    ExportError,
    WarehouseNotFoundError,
    export_marts,
    format_summary,
)
from tests.conftest import query

MARTS = {"customer_tiers", "tier_history", "watchlist_empty"}
HISTORY_ROWS = 5000  # more than one DuckDB vector, so ordering across threads is exercised

TRICKY = 'line one\nsaid "hi", then left'
# customer_id, name, city, amount, signup_date, last_seen_at, note, score, active
CUSTOMER_TIERS = [
    ("C001", "张伟", "上海", "-12.50", "2024-01-31", "2024-02-01 09:30:00", "a-b", 0.25, True),
    ("C002", "Ann", "+1", "100.00", None, None, '=HYPERLINK("http://x","y")', None, False),
    ("C003", "-cmd", "北京", "0.00", "2023-12-01", "2024-01-01 00:00:00", TRICKY, -3.5, None),
    ("C004", "@SUM(A1)", "", "7.10", "2024-03-15", None, "\tlooks like a tab", 1.0, True),
    ("C005", "李娜", "广州", "-0.01", "2024-02-29", None, "\rcarriage", 2.0, False),
]


def _build_warehouse(path: Path) -> Path:
    con = duckdb.connect(str(path))
    try:
        con.execute("CREATE SCHEMA marts")
        con.execute(
            "CREATE TABLE marts.customer_tiers (customer_id VARCHAR, name VARCHAR, city VARCHAR, "
            "amount DECIMAL(12, 2), signup_date DATE, last_seen_at TIMESTAMP, note VARCHAR, "
            "score DOUBLE, active BOOLEAN)"
        )
        # Inserted out of order: the export must sort.
        for row in reversed(CUSTOMER_TIERS):
            con.execute("INSERT INTO marts.customer_tiers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
        con.execute(
            "CREATE TABLE marts.tier_history AS SELECT 'C' || lpad((i % 997)::VARCHAR, 4, '0') "
            "AS customer_id, DATE '2024-01-01' + (i // 997)::INTEGER AS as_of, "
            "['A', 'B', 'C'][i % 3 + 1] AS tier, "
            "['重点', '一般', '观察'][i % 3 + 1] AS tier_label_zh "
            f"FROM range({HISTORY_ROWS}) AS r(i) ORDER BY hash(i)"
        )
        con.execute("CREATE TABLE marts.watchlist_empty (customer_id VARCHAR, p_alive DOUBLE)")
        # Not marts: must not be exported.
        con.execute("CREATE SCHEMA quarantine")
        con.execute("CREATE TABLE quarantine.orders AS SELECT 1 AS order_id")
        con.execute("CREATE TABLE main.scratch AS SELECT 1 AS x")
    finally:
        con.close()
    return path


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    return _build_warehouse(tmp_path / "warehouse.duckdb")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _read_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def test_csv_has_bom_and_neutralises_formulas_but_not_numbers(
    warehouse: Path, tmp_path: Path
) -> None:
    summary = export_marts(warehouse, tmp_path / "out", "csv")

    path = tmp_path / "out" / "customer_tiers.csv"
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert raw.count(b"\xef\xbb\xbf") == 1
    assert _read_csv(path) == [
        [
            "customer_id",
            "name",
            "city",
            "amount",
            "signup_date",
            "last_seen_at",
            "note",
            "score",
            "active",
        ],
        [
            "C001",
            "张伟",
            "上海",
            "-12.50",
            "2024-01-31",
            "2024-02-01 09:30:00",
            "a-b",
            "0.25",
            "true",
        ],
        ["C002", "Ann", "'+1", "100.00", "", "", '\'=HYPERLINK("http://x","y")', "", "false"],
        ["C003", "'-cmd", "北京", "0.00", "2023-12-01", "2024-01-01 00:00:00", TRICKY, "-3.5", ""],
        ["C004", "'@SUM(A1)", "", "7.10", "2024-03-15", "", "'\tlooks like a tab", "1.0", "true"],
        ["C005", "李娜", "广州", "-0.01", "2024-02-29", "", "'\rcarriage", "2.0", "false"],
    ]
    # Negative numbers are written bare (Excel reads them as numbers); NULL is an empty field
    # and the empty string a quoted one, so the two stay apart.
    assert b",-12.50," in raw and b",-3.5," in raw
    assert b'"line one\nsaid ""hi"", then left"' in raw
    assert b',"",' in raw and b",,," in raw
    assert "上海".encode() in raw  # UTF-8, not GBK or escapes

    by_mart = {mart.mart: mart for mart in summary.marts}
    assert by_mart["customer_tiers"].rows == len(CUSTOMER_TIERS)
    assert by_mart["customer_tiers"].bytes == len(raw)
    assert by_mart["customer_tiers"].path == path


def test_csv_of_an_empty_mart_is_its_header(warehouse: Path, tmp_path: Path) -> None:
    export_marts(warehouse, tmp_path / "out", "csv")

    raw = (tmp_path / "out" / "watchlist_empty.csv").read_bytes()
    assert raw == b"\xef\xbb\xbfcustomer_id,p_alive\n"


def test_csv_rows_are_sorted_and_complete(warehouse: Path, tmp_path: Path) -> None:
    export_marts(warehouse, tmp_path / "out", "csv")

    header, *rows = _read_csv(tmp_path / "out" / "tier_history.csv")
    assert header == ["customer_id", "as_of", "tier", "tier_label_zh"]
    expected = query(
        warehouse,
        "SELECT customer_id, strftime(as_of, '%Y-%m-%d'), tier, tier_label_zh "
        "FROM marts.tier_history ORDER BY ALL",
    )
    assert [tuple(row) for row in rows] == expected
    assert len(rows) == HISTORY_ROWS
    assert {row[3] for row in rows} == {"重点", "一般", "观察"}


def test_parquet_reads_back_equal_to_the_marts_with_their_types(
    warehouse: Path, tmp_path: Path
) -> None:
    summary = export_marts(warehouse, tmp_path / "out", "parquet")

    con = duckdb.connect()
    try:
        for mart in MARTS:
            path = tmp_path / "out" / f"{mart}.parquet"
            parquet = f"read_parquet('{path}')"
            got = con.execute(f"SELECT * FROM {parquet}").fetchall()
            got_types = [
                (c[0], c[1]) for c in con.execute(f"DESCRIBE SELECT * FROM {parquet}").fetchall()
            ]
            expected = query(warehouse, f"SELECT * FROM marts.{mart} ORDER BY ALL")
            expected_types = [
                (c[0], c[1]) for c in query(warehouse, f"DESCRIBE SELECT * FROM marts.{mart}")
            ]
            assert got == expected, mart  # same values, in the sorted order
            assert got_types == expected_types, mart
    finally:
        con.close()
    # Parquet is typed data for BI tools: values are exported as they are, formulas included.
    rows = {mart.mart: mart.rows for mart in summary.marts}
    assert rows == {"customer_tiers": 5, "tier_history": HISTORY_ROWS, "watchlist_empty": 0}
    notes = query(warehouse, "SELECT note FROM marts.customer_tiers WHERE customer_id = 'C002'")
    assert notes == [('=HYPERLINK("http://x","y")',)]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_exports_every_mart_and_nothing_else_and_leaves_the_warehouse_untouched(
    warehouse: Path, tmp_path: Path, fmt: export.ExportFormat
) -> None:
    before = _sha256(warehouse)
    lines: list[str] = []

    summary = export_marts(warehouse, tmp_path / "exports" / "today", fmt, progress=lines.append)

    out = tmp_path / "exports" / "today"
    assert {p.name for p in out.iterdir()} == {f"{mart}.{fmt}" for mart in MARTS}
    assert {mart.mart for mart in summary.marts} == MARTS
    assert _sha256(warehouse) == before
    # Nothing next to the warehouse (no WAL, no spill folder) and no staging folder left over.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exports", "warehouse.duckdb"]
    assert [p.name for p in (tmp_path / "exports").iterdir()] == ["today"]
    assert lines[0] == f"exporting 3 marts from {warehouse} as {fmt} to {out}"
    assert any("marts.tier_history" in line for line in lines)

    text = format_summary(summary)
    assert f"Exported 3 marts from {warehouse} to {out}" in text
    assert f"tier_history.{fmt}" in text
    assert f"{HISTORY_ROWS:,} rows" in text


def test_exporting_twice_gives_byte_identical_csv(warehouse: Path, tmp_path: Path) -> None:
    export_marts(warehouse, tmp_path / "first", "csv")
    export_marts(warehouse, tmp_path / "second", "csv")

    for mart in MARTS:
        first = (tmp_path / "first" / f"{mart}.csv").read_bytes()
        assert first == (tmp_path / "second" / f"{mart}.csv").read_bytes(), mart


def test_reexport_overwrites_the_marts_and_keeps_other_files(
    warehouse: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "customer_tiers.csv").write_text("stale")
    (out / "notes.txt").write_text("mine")

    export_marts(warehouse, out, "csv")

    assert (out / "customer_tiers.csv").read_bytes().startswith(b"\xef\xbb\xbfcustomer_id,")
    assert (out / "notes.txt").read_text() == "mine"


def test_a_failed_export_leaves_the_earlier_files_as_they_were(
    warehouse: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    export_marts(warehouse, out, "csv")
    earlier = {p.name: p.read_bytes() for p in out.iterdir()}
    calls: list[Path] = []
    add_bom = export._add_bom

    def fail_on_second(body: Path, target: Path) -> None:
        calls.append(target)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        add_bom(body, target)

    monkeypatch.setattr(export, "_add_bom", fail_on_second)
    with pytest.raises(ExportError, match="No space left on device"):
        export_marts(warehouse, out, "csv")

    assert {p.name: p.read_bytes() for p in out.iterdir()} == earlier
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "warehouse.duckdb"]


def test_a_missing_warehouse_is_a_clear_error_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.duckdb"

    with pytest.raises(WarehouseNotFoundError, match=r"nowhere\.duckdb: no such file") as err:
        export_marts(missing, tmp_path / "out", "csv")

    assert isinstance(err.value, FileNotFoundError)
    assert isinstance(err.value, ExportError)
    assert not (tmp_path / "out").exists()


def test_the_work_copy_is_refused(warehouse: Path, tmp_path: Path) -> None:
    work_copy = tmp_path / "warehouse.duckdb.building"
    work_copy.write_bytes(warehouse.read_bytes())

    with pytest.raises(ExportError, match="work copy"):
        export_marts(work_copy, tmp_path / "out", "parquet")


def test_a_warehouse_without_marts_or_not_duckdb_is_a_clear_error(tmp_path: Path) -> None:
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    not_duckdb = tmp_path / "orders.duckdb"
    not_duckdb.write_text("order_id,amount\n1,2\n")

    with pytest.raises(ExportError, match="no tables in schema marts"):
        export_marts(empty, tmp_path / "out", "csv")
    with pytest.raises(ExportError, match=r"orders\.duckdb: not a readable DuckDB file"):
        export_marts(not_duckdb, tmp_path / "out", "csv")
    # No staging folder left behind by either failure.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.duckdb", "orders.duckdb", "out"]
    assert list((tmp_path / "out").iterdir()) == []
