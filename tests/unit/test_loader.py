"""Loading source files into schema `raw` with quarantine and load audit (ingest/loader.py).

Every expected value below is worked out by hand from the small inline file of its test.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from customer_tiers.ingest.encoding import CHUNK_SIZE
from customer_tiers.ingest.loader import (
    DEFAULT_PRIVACY,
    LoadResult,
    SourceError,
    find_source_file,
    load_source,
    write_load_audit,
)
from customer_tiers.ingest.privacy import Privacy
from customer_tiers.ingest.sources import CUSTOMERS, ORDERS, PRODUCTS, STAFF, SourceSpec
from customer_tiers.orchestration.config import ConfigError, load_config
from tests.conftest import write_csv

RUN_ID = "run-1"
LOADED_AT = datetime(2024, 6, 30, 12, 0, 0)


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def write(directory: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = directory / name
    path.write_bytes(text.encode(encoding))
    return path


def load(con: duckdb.DuckDBPyConnection, spec: SourceSpec, directory: Path) -> LoadResult:
    # clear personal data: these tests follow names through encodings and keys
    return load_source(con, spec, directory, RUN_ID, LOADED_AT, Privacy("keep"))


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.execute(sql).fetchall()


def column_names(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in rows(con, f"DESCRIBE {table}")]


def assert_balanced(result: LoadResult) -> None:
    assert result.rows_read == result.rows_loaded + result.rows_quarantined


# --- encodings ----------------------------------------------------------------------------------

CUSTOMERS_ZH = (
    "customer_id,name,city,signup_date\n"
    "C001,张伟,上海,2023-01-05\n"
    'C002,"李娜, 小李",北京,2023/02/10\n'
    "C003,王芳,深圳,20230315\n"
)
EXPECTED_ZH = [
    ("C001", "张伟", "上海", date(2023, 1, 5), 1),
    ("C002", "李娜, 小李", "北京", date(2023, 2, 10), 2),
    ("C003", "王芳", "深圳", date(2023, 3, 15), 3),
]


@pytest.mark.parametrize(
    ("codec", "detected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gb18030", "gb18030"), ("gbk", "gb18030")],
)
def test_encodings_load_identically(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, codec: str, detected: str
) -> None:
    write(tmp_path, "customers.csv", CUSTOMERS_ZH, codec)
    result = load(con, CUSTOMERS, tmp_path)
    assert result.encoding == detected
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 3, 0)
    got = rows(
        con,
        "SELECT customer_id, name, city, signup_date, _row_number FROM raw.customers ORDER BY 1",
    )
    assert got == EXPECTED_ZH
    # The header's first name is clean: no BOM glued to customer_id.
    assert column_names(con, "raw.customers")[0] == "customer_id"


def test_gb18030_copy_is_removed_after_loading(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    sources = tmp_path / "sources"
    sources.mkdir()
    path = write(sources, "customers.csv", CUSTOMERS_ZH, "gb18030")
    result = load(con, CUSTOMERS, sources)
    assert result.rows_loaded == 3
    assert rows(con, "SELECT DISTINCT _source_file FROM raw.customers") == [(str(path),)]
    assert list(scratch.iterdir()) == []


def test_gbk_file_straddling_chunk_boundary_loads(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # Row 1 pads the file so that the 2-byte GBK '张' of row 2 starts at the last byte of the
    # first 1 MiB chunk: 16 (header) + 3 + pad + 1 + 3 ("P1,") = CHUNK_SIZE - 1.
    pad = CHUNK_SIZE - 24
    data = b"product_id,name\n" + b"P0," + b"x" * pad + b"\n" + "P1,张伟\n".encode("gbk")
    assert data.index("张".encode("gbk")) == CHUNK_SIZE - 1
    (tmp_path / "products.csv").write_bytes(data)
    result = load(con, PRODUCTS, tmp_path)
    assert result.encoding == "gb18030"
    assert rows(con, "SELECT product_id, name, _row_number FROM raw.products OFFSET 1") == [
        ("P1", "张伟", 2)
    ]


# --- columns ------------------------------------------------------------------------------------


def test_missing_required_column_names_file_and_column(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    path = write(tmp_path, "orders.csv", "order_id,customer_id,amount\nO1,C1,10\n")
    with pytest.raises(SourceError) as err:
        load(con, ORDERS, tmp_path)
    assert str(path) in str(err.value)
    assert "ordered_at" in str(err.value)


def test_missing_optional_column_is_null_and_reported(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    write(tmp_path, "orders.csv", "order_id,customer_id,ordered_at,amount\nO1,C1,2024-01-02,9.5\n")
    result = load(con, ORDERS, tmp_path)
    assert result.missing_columns == ("product_id", "quantity", "cost", "channel", "store_id")
    assert rows(con, "SELECT product_id, quantity, cost, channel, store_id FROM raw.orders") == [
        (None, None, None, None, None)
    ]
    # The full contract is there, typed, whatever the file had.
    assert column_names(con, "raw.orders") == [*ORDERS.column_names, "_source_file",
                                               "_row_number", "_run_id"]  # fmt: skip
    types = dict((r[0], r[1]) for r in rows(con, "DESCRIBE raw.orders"))
    assert types["quantity"] == "DOUBLE" and types["cost"] == "DECIMAL(18,4)"


def test_extra_column_ignored_and_reported(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    write(
        tmp_path,
        "orders.csv",
        "order_id,customer_id,ordered_at,amount,Coupon Code,备注\nO1,C1,2024-01-02,5,X1,hi\n",
    )
    result = load(con, ORDERS, tmp_path)
    assert result.extra_columns == ("Coupon Code", "备注")
    assert "coupon_code" not in column_names(con, "raw.orders")
    # Quarantine keeps every file column, under lower snake case names.
    assert column_names(con, "quarantine.orders")[:6] == [
        "order_id", "customer_id", "ordered_at", "amount", "coupon_code", "备注",
    ]  # fmt: skip


def test_header_case_and_whitespace_tolerated(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    write(
        tmp_path, "orders.csv", " Order_ID ,CUSTOMER_ID,  Ordered_At,Amount \nO1,C1,2024-01-02,7\n"
    )
    result = load(con, ORDERS, tmp_path)
    assert result.extra_columns == ()
    assert rows(con, "SELECT order_id, customer_id, ordered_at, amount FROM raw.orders") == [
        ("O1", "C1", datetime(2024, 1, 2), Decimal("7.0000"))
    ]


def test_two_headers_for_one_contract_column_is_an_error(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    write(
        tmp_path,
        "orders.csv",
        "order_id,Order ID,customer_id,ordered_at,amount\n1,2,C,2024-01-02,1\n",
    )
    with pytest.raises(SourceError, match=r"orders\.csv: columns 'order_id' and 'Order ID' both"):
        load(con, ORDERS, tmp_path)


def test_values_are_trimmed_and_blank_is_null(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # Ideographic (U+3000) and no-break (U+00A0) spaces count as whitespace too.
    write(
        tmp_path,
        "orders.csv",
        "order_id,customer_id,ordered_at,amount,channel\n"
        "  O1 ,\u3000C1\u00a0, 2024-01-02 , 5 ,   \n",
    )
    load(con, ORDERS, tmp_path)
    assert rows(con, "SELECT order_id, customer_id, amount, channel FROM raw.orders") == [
        ("O1", "C1", Decimal("5.0000"), None)
    ]


# --- values and quarantine ---------------------------------------------------------------------


def test_unparseable_date_and_amount_are_quarantined(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    write(
        tmp_path,
        "orders.csv",
        "order_id,customer_id,ordered_at,amount\n"
        "O1,C1,2024-01-02,10.50\n"
        "O2,C2,2024-13-45,3\n"
        "O3,C3,2024-01-04,12.5abc\n"
        "O4,C4,yesterday,oops\n"
        "O5,C5,2024-01-05,-2\n",
    )
    result = load(con, ORDERS, tmp_path)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (5, 2, 3)
    assert_balanced(result)
    assert result.quarantine_reasons == {"unparseable ordered_at": 2, "unparseable amount": 1}
    assert rows(con, "SELECT order_id, _row_number FROM raw.orders") == [("O1", 1), ("O5", 5)]
    assert rows(
        con,
        "SELECT order_id, ordered_at, amount, _row_number, _reason, _reason_category, _run_id "
        "FROM quarantine.orders",
    ) == [
        ("O2", "2024-13-45", "3", 2, "ordered_at: cannot parse '2024-13-45' as timestamp",
         "unparseable ordered_at", RUN_ID),
        ("O3", "2024-01-04", "12.5abc", 3, "amount: cannot parse '12.5abc' as decimal",
         "unparseable amount", RUN_ID),
        ("O4", "yesterday", "oops", 4,
         "ordered_at: cannot parse 'yesterday' as timestamp; "
         "amount: cannot parse 'oops' as decimal",
         "unparseable ordered_at", RUN_ID),
    ]  # fmt: skip


@pytest.mark.parametrize("bad", ["NaN", "nan", "inf", "-Infinity", "+inf"])
def test_nan_and_infinite_amount_quarantined(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, bad: str
) -> None:
    write(
        tmp_path, "orders.csv",
        f"order_id,customer_id,ordered_at,amount\nO1,C1,2024-01-02,{bad}\nO2,C1,2024-01-02,1\n",
    )  # fmt: skip
    result = load(con, ORDERS, tmp_path)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
    assert rows(con, "SELECT _reason FROM quarantine.orders") == [
        (f"amount: cannot parse '{bad}' as decimal",)
    ]


def test_missing_required_value_quarantined(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    write(
        tmp_path,
        "orders.csv",
        'order_id,customer_id,ordered_at,amount\nO1,,2024-01-02,1\nO2,"  ",2024-01-02,\n',
    )
    result = load(con, ORDERS, tmp_path)
    assert result.rows_loaded == 0
    assert result.quarantine_reasons == {"missing customer_id": 2}
    assert rows(con, "SELECT _row_number, _reason FROM quarantine.orders") == [
        (1, "missing required value: customer_id"),
        (2, "missing required value: customer_id; missing required value: amount"),
    ]


def test_duplicate_key_keeps_first_and_quarantines_later(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    write(
        tmp_path,
        "customers.csv",
        "customer_id,name\nC1,Ann\nC2,Bob\nC1,Ann again\nC3,Cy\nC1,Ann third\nC2 ,Bob again\n",
    )
    result = load(con, CUSTOMERS, tmp_path)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (6, 3, 3)
    assert result.quarantine_reasons == {"duplicate customer_id": 3}
    assert rows(con, "SELECT customer_id, name, _row_number FROM raw.customers") == [
        ("C1", "Ann", 1), ("C2", "Bob", 2), ("C3", "Cy", 4),
    ]  # fmt: skip
    assert rows(con, "SELECT name, _row_number, _reason FROM quarantine.customers") == [
        ("Ann again", 3, "duplicate customer_id (first at row 1)"),
        ("Ann third", 5, "duplicate customer_id (first at row 1)"),
        ("Bob again", 6, "duplicate customer_id (first at row 2)"),  # key compared trimmed
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-07", datetime(2024, 3, 7)),
        ("2024/03/07", datetime(2024, 3, 7)),
        ("20240307", datetime(2024, 3, 7)),
        ("2024-03-07 08:09:10", datetime(2024, 3, 7, 8, 9, 10)),
        ("2024-03-07 08:09", datetime(2024, 3, 7, 8, 9)),
        ("2024-03-07T08:09:10", datetime(2024, 3, 7, 8, 9, 10)),
        ("2024-03-07T08:09:10.25", datetime(2024, 3, 7, 8, 9, 10, 250000)),
        ("2024-03-07T08:09:10.123456", datetime(2024, 3, 7, 8, 9, 10, 123456)),
        ("2024/03/07 08:09", datetime(2024, 3, 7, 8, 9)),
        ("2024/03/07 08:09:10", datetime(2024, 3, 7, 8, 9, 10)),
        ("2099-12-31", datetime(2099, 12, 31)),  # future dates are not errors
    ],
)
def test_accepted_timestamp_formats(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, text: str, expected: datetime
) -> None:
    write(tmp_path, "orders.csv", f"order_id,customer_id,ordered_at,amount\nO1,C1,{text},1\n")
    result = load(con, ORDERS, tmp_path)
    assert result.rows_loaded == 1, rows(con, "SELECT _reason FROM quarantine.orders")
    assert rows(con, "SELECT ordered_at FROM raw.orders") == [(expected,)]


@pytest.mark.parametrize(
    "text",
    ["2024-02-30", "07/03/2024", "24-03-07", "2024-03-07 08:09:10+08:00", "infinity", "2024-3"],
)
def test_rejected_timestamp_formats(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, text: str
) -> None:
    write(tmp_path, "orders.csv", f"order_id,customer_id,ordered_at,amount\nO1,C1,{text},1\n")
    assert load(con, ORDERS, tmp_path).rows_quarantined == 1


def test_date_column_formats(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    write(
        tmp_path,
        "customers.csv",
        "customer_id,birth_date\nC1,1990-05-06\nC2,1990/05/06\nC3,19900506\nC4,1990-05-06 00:00\n",
    )
    assert load(con, CUSTOMERS, tmp_path).rows_loaded == 4
    assert rows(con, "SELECT DISTINCT birth_date FROM raw.customers") == [(date(1990, 5, 6),)]


def test_numbers_with_currency_symbols(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    write(
        tmp_path,
        "orders.csv",
        "order_id,customer_id,ordered_at,amount,quantity\n"
        "O1,C1,2024-01-02,¥12.50,1\n"
        "O2,C1,2024-01-02,￥ 8,2\n"
        "O3,C1,2024-01-02,$3.25,1.5\n"
        "O4,C1,2024-01-02,-€4,1\n"
        "O5,C1,2024-01-02,£0.1,1\n"
        "O6,C1,2024-01-02,1e2,1\n",
    )
    result = load(con, ORDERS, tmp_path)
    assert result.rows_quarantined == 0
    assert rows(con, "SELECT amount, quantity FROM raw.orders") == [
        (Decimal("12.5000"), 1.0), (Decimal("8.0000"), 2.0), (Decimal("3.2500"), 1.5),
        (Decimal("-4.0000"), 1.0), (Decimal("0.1000"), 1.0), (Decimal("100.0000"), 1.0),
    ]  # fmt: skip


def test_integer_and_boolean_columns(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    write(
        tmp_path,
        "staff.csv",
        "staff_id,capacity,active\n"
        "S1,30,true\nS2,3.0,是\nS3,7,N\nS4,,\n"  # good: 30 / 3 / 7 / NULL
        "S5,3.5,yes\nS6,0x10,1\nS7,5,maybe\n",  # bad: fractional, hex, unknown word
    )
    result = load(con, STAFF, tmp_path)
    assert rows(con, "SELECT staff_id, capacity, active FROM raw.staff") == [
        ("S1", 30, True), ("S2", 3, True), ("S3", 7, False), ("S4", None, None),
    ]  # fmt: skip
    assert rows(con, "SELECT staff_id, _reason FROM quarantine.staff") == [
        ("S5", "capacity: cannot parse '3.5' as integer"),
        ("S6", "capacity: cannot parse '0x10' as integer"),
        ("S7", "active: cannot parse 'maybe' as boolean"),
    ]
    assert result.quarantine_reasons == {"unparseable capacity": 2, "unparseable active": 1}


def test_long_value_is_shortened_in_reason(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    write(tmp_path, "orders.csv", f"order_id,customer_id,ordered_at,amount\nO1,C1,{'9' * 80}x,1\n")
    load(con, ORDERS, tmp_path)
    reason = rows(con, "SELECT _reason FROM quarantine.orders")[0][0]
    assert reason == f"ordered_at: cannot parse '{'9' * 57}...' as timestamp"


# --- file shapes --------------------------------------------------------------------------------


def test_quoted_fields_and_row_numbers_after_multiline_field(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    write(
        tmp_path,
        "products.csv",
        "product_id,name,category\n"
        'P1,"Setting Powder, Translucent",makeup\n'
        'P2,"Lipstick ""Ruby Red""",makeup\n'
        'P3,"two\nlines, and ""quotes""",misc\n'
        "P4,plain,misc\n",
    )
    result = load(con, PRODUCTS, tmp_path)
    assert (result.rows_read, result.rows_loaded) == (4, 4)
    assert rows(con, "SELECT product_id, name, _row_number FROM raw.products") == [
        ("P1", "Setting Powder, Translucent", 1),
        ("P2", 'Lipstick "Ruby Red"', 2),
        ("P3", 'two\nlines, and "quotes"', 3),
        ("P4", "plain", 4),  # a data row number, not a line number
    ]


def test_quoted_field_after_the_sniffer_sample(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # No quotes in the first 30,000 rows: DuckDB's sniffer alone would pick "no quote" and then
    # fail on the quoted comma at the end.
    body = "".join(f"P{i},n{i},c\n" for i in range(30_000))
    write(tmp_path, "products.csv", f'product_id,name,category\n{body}P_last,"a, b",c\n')
    result = load(con, PRODUCTS, tmp_path)
    assert result.rows_loaded == 30_001
    assert rows(con, "SELECT name, _row_number FROM raw.products WHERE product_id = 'P_last'") == [
        ("a, b", 30_001)
    ]


def test_row_numbers_follow_file_order_even_if_insertion_order_is_off(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    body = "".join(f"P{i},n{i}\n" for i in range(1, 5001))
    write(tmp_path, "products.csv", f"product_id,name\n{body}")
    con.execute("SET preserve_insertion_order = false")
    load(con, PRODUCTS, tmp_path)
    assert rows(
        con, "SELECT count(*) FROM raw.products WHERE product_id <> 'P' || _row_number"
    ) == [(0,)]
    assert rows(con, "SELECT current_setting('preserve_insertion_order')") == [(False,)]


def test_hash_and_title_lines_are_not_skipped(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # The sniffer would treat '#' lines as comments and drop them silently.
    write(tmp_path, "products.csv", "product_id,name\n#1,first\nP2,second\n#3,third\n")
    assert load(con, PRODUCTS, tmp_path).rows_loaded == 3
    assert rows(con, "SELECT product_id FROM raw.products") == [("#1",), ("P2",), ("#3",)]


def test_semicolon_delimiter_is_sniffed(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    write(tmp_path, "orders.csv", "order_id;customer_id;ordered_at;amount\nO1;C1;2024-01-02;1.5\n")
    load(con, ORDERS, tmp_path)
    assert rows(con, "SELECT order_id, amount FROM raw.orders") == [("O1", Decimal("1.5000"))]


def test_ragged_rows_name_the_line(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "orders.csv",
        "order_id,customer_id,ordered_at,amount\nO1,C1,2024-01-02,1\nO2,C1,2024-01-02,1,extra\n",
    )
    with pytest.raises(SourceError) as err:
        load(con, ORDERS, tmp_path)
    assert str(path) in str(err.value) and "Line: 3" in str(err.value)


def test_header_only_loads_zero_rows(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    write(tmp_path, "orders.csv", "order_id,customer_id,ordered_at,amount\n")
    result = load(con, ORDERS, tmp_path)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (0, 0, 0)
    assert result.status == "loaded"
    assert rows(con, "SELECT count(*) FROM raw.orders") == [(0,)]


@pytest.mark.parametrize("content", [b"", b"\n\n  \r\n", b"\xef\xbb\xbf"])
def test_empty_file_is_an_error(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, content: bytes
) -> None:
    (tmp_path / "orders.csv").write_bytes(content)
    with pytest.raises(SourceError, match=r"orders\.csv.*empty"):
        load(con, ORDERS, tmp_path)


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00",  # PNG header
        bytes(range(128, 256)) * 8,  # high bytes, no NUL: neither UTF-8 nor GB18030
    ],
)
def test_not_a_csv_is_an_error(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, content: bytes
) -> None:
    (tmp_path / "orders.csv").write_bytes(content)
    with pytest.raises(SourceError, match=r"orders\.csv"):
        load(con, ORDERS, tmp_path)


def test_text_that_is_not_a_table_is_an_error(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # One column: the header names none of the required columns.
    write(tmp_path, "orders.csv", "Dear customer\nthank you for your order.\n")
    with pytest.raises(
        SourceError,
        match=r"orders\.csv: missing required column\(s\) order_id, customer_id, ordered_at, "
        r"amount \(header read as: Dear customer\)",
    ):
        load(con, ORDERS, tmp_path)
    # A delimiter in the header but not in the rows: DuckDB's sniffer gives up splitting, and
    # re-reading with the header's delimiter names the first line that does not fit.
    write(tmp_path, "orders.csv", "Dear customer,\nthank you for your order.\n")
    with pytest.raises(
        SourceError, match=r"orders\.csv: missing required column.*delimiter ','.*Line: 2"
    ):
        load(con, ORDERS, tmp_path)


# --- Parquet ------------------------------------------------------------------------------------


def test_parquet_input(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = tmp_path / "orders.parquet"
    con.execute(
        f"""COPY (SELECT * FROM (VALUES
              (101, 'C1', TIMESTAMP '2024-01-02 03:04:05', 12.5::DOUBLE, '2'),
              (102, 'C2', TIMESTAMP '2024-01-03 00:00:00', 'NaN'::DOUBLE, '1'),
              (103, ' ', TIMESTAMP '2024-01-04 00:00:00', 1.0::DOUBLE, 'x')
            ) t("Order_ID", customer_id, ordered_at, amount, quantity))
            TO '{path}' (FORMAT parquet)"""
    )
    result = load(con, ORDERS, tmp_path)
    assert (result.encoding, result.rows_read, result.rows_loaded) == (None, 3, 1)
    assert rows(
        con, "SELECT order_id, customer_id, ordered_at, amount, quantity FROM raw.orders"
    ) == [("101", "C1", datetime(2024, 1, 2, 3, 4, 5), Decimal("12.5000"), 2.0)]
    assert rows(con, "SELECT order_id, _row_number, _reason FROM quarantine.orders") == [
        ("102", 2, "amount: cannot parse 'nan' as decimal"),
        ("103", 3, "missing required value: customer_id; quantity: cannot parse 'x' as double"),
    ]


def test_corrupt_parquet_is_an_error(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    (tmp_path / "orders.parquet").write_bytes(b"PAR1 this is not really parquet PAR1")
    with pytest.raises(SourceError, match=r"orders\.parquet.*cannot read"):
        load(con, ORDERS, tmp_path)


# --- finding files ------------------------------------------------------------------------------


def test_absent_optional_file_gives_empty_typed_tables(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    result = load(con, STAFF, tmp_path)
    assert result.status == "absent" and result.file is None and result.rows_read == 0
    assert rows(con, "SELECT column_name, column_type FROM (DESCRIBE raw.staff)") == [
        ("staff_id", "VARCHAR"), ("name", "VARCHAR"), ("store_id", "VARCHAR"),
        ("capacity", "INTEGER"), ("active", "BOOLEAN"), ("_source_file", "VARCHAR"),
        ("_row_number", "INTEGER"), ("_run_id", "VARCHAR"),
    ]  # fmt: skip
    assert rows(con, "SELECT count(*) FROM raw.staff") == [(0,)]
    assert "_reason" in column_names(con, "quarantine.staff")


def test_absent_orders_is_an_error(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match=r"orders\.csv or orders\.parquet is required in "):
        load(con, ORDERS, tmp_path)


def test_find_source_file_ignores_case_and_rejects_ambiguity(tmp_path: Path) -> None:
    assert find_source_file(tmp_path, ORDERS) is None
    upper = write(tmp_path, "ORDERS.CSV", "x\n")
    write(tmp_path, "orders_old.csv", "x\n")
    assert find_source_file(tmp_path, ORDERS) == upper
    write(tmp_path, "orders.parquet", "x\n")
    with pytest.raises(SourceError, match="ambiguous"):
        find_source_file(tmp_path, ORDERS)


def test_reload_replaces_tables(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    write(tmp_path, "orders.csv", "order_id,customer_id,ordered_at,amount\nO1,C1,2024-01-02,x\n")
    load(con, ORDERS, tmp_path)
    write(tmp_path, "orders.csv", "order_id,customer_id,ordered_at,amount\nO2,C1,2024-01-02,1\n")
    load(con, ORDERS, tmp_path)
    assert rows(con, "SELECT order_id FROM raw.orders") == [("O2",)]
    assert rows(con, "SELECT count(*) FROM quarantine.orders") == [(0,)]


# --- load audit ---------------------------------------------------------------------------------


def test_load_audit_rows_appended(con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    text = "order_id,customer_id,ordered_at,amount,note\nO1,C1,2024-01-02,1,a\nO2,C2,bad,2,b\n"
    path = write(tmp_path, "orders.csv", text)
    results = [load(con, ORDERS, tmp_path), load(con, STAFF, tmp_path)]
    write_load_audit(con, results, RUN_ID, LOADED_AT)
    write_load_audit(con, results[:1], "run-2", datetime(2024, 7, 1, 4, 0, tzinfo=UTC))

    audit = rows(
        con,
        "SELECT run_id, source, file, sha256, bytes, encoding, rows_read, rows_loaded, "
        "rows_quarantined, missing_columns, extra_columns, status, loaded_at, quarantine_reasons "
        "FROM raw.load_audit ORDER BY run_id, source",
    )
    sha = hashlib.sha256(text.encode()).hexdigest()
    orders_row = (
        "orders", str(path), sha, len(text.encode()), "utf-8", 2, 1, 1,
        ["product_id", "quantity", "cost", "channel", "store_id"], ["note"], "loaded",
    )  # fmt: skip
    assert audit == [
        (RUN_ID, *orders_row, LOADED_AT, {"unparseable ordered_at": 1}),
        (RUN_ID, "staff", None, None, None, None, 0, 0, 0, [], [], "absent", LOADED_AT, {}),
        ("run-2", *orders_row, datetime(2024, 7, 1, 4, 0), {"unparseable ordered_at": 1}),
    ]


# --- personal data ---------------------------------------------------------------------------


def _load_customers(tmp_path: Path, privacy: Privacy) -> duckdb.DuckDBPyConnection:
    write_csv(
        tmp_path / "src" / "customers.csv",
        ["customer_id", "name", "phone", "email", "birth_date"],
        [
            ["c1", "张三", "138-1234-5678", " Alice@Example.com", "1990-01-01"],
            ["c2", "Bob", None, "bob", "not a date"],  # quarantined: the bad birth_date
        ],
    )
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    load_source(con, CUSTOMERS, tmp_path / "src", "run-1", datetime(2025, 1, 1), privacy)
    return con


def test_personal_data_is_masked_by_default_in_raw_and_quarantine(tmp_path: Path) -> None:
    con = _load_customers(tmp_path, DEFAULT_PRIVACY)
    assert con.execute("select name, phone, email from raw.customers").fetchall() == [
        ("张*", "*********5678", "A***@Example.com"),  # the loader trims values first
    ]
    # the rejected row keeps its other original text, the personal columns protected
    assert con.execute(
        "select name, phone, email, birth_date from quarantine.customers"
    ).fetchall() == [("B**", None, "***", "not a date")]


def test_personal_data_hashed_with_the_salt_after_normalising(tmp_path: Path) -> None:
    con = _load_customers(tmp_path, Privacy("hash", "s3cret"))
    [(name, phone, email)] = con.execute("select name, phone, email from raw.customers").fetchall()
    assert name == hashlib.sha256("s3cret:张三".encode()).hexdigest()
    assert phone == hashlib.sha256(b"s3cret:13812345678").hexdigest()  # digits only
    assert email == hashlib.sha256(b"s3cret:alice@example.com").hexdigest()  # trimmed, lower
    [(q_name,)] = con.execute("select name from quarantine.customers").fetchall()
    assert q_name == hashlib.sha256(b"s3cret:Bob").hexdigest()


def test_personal_data_kept_only_when_asked(tmp_path: Path) -> None:
    con = _load_customers(tmp_path, Privacy("keep"))
    assert con.execute("select name, phone from raw.customers").fetchall() == [
        ("张三", "138-1234-5678")
    ]


def test_hash_mode_without_a_salt_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("TIERS_PII_SALT", raising=False)
    config = tmp_path / "tiers.yml"
    config.write_text("privacy:\n  personal_data: hash\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="TIERS_PII_SALT is not set"):
        load_config(config).privacy.settings()
    monkeypatch.setenv("TIERS_PII_SALT", "pepper")
    assert load_config(config).privacy.settings() == Privacy("hash", "pepper")
