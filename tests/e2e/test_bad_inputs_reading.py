"""Issue 16, items 2-4 and 9-12: how source files are found and read.

The same daily file twice, a Parquet timestamp with a time zone, personal columns under other
header spellings, files of a landing folder that were silently ignored, lines of spaces,
repeated headers and links. Listed in tests/data/bad_inputs/README.md ("Landing files and
reading"); the rules are in docs/contract.md. Most cases run `tiers check` or the loader on a
folder built in tmp_path (about a second each); one pipeline run shows the run's summary.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from customer_tiers.ingest.landing import SourceSync, sync_source
from customer_tiers.ingest.loader import load_source, write_load_audit
from customer_tiers.ingest.privacy import Privacy
from customer_tiers.ingest.sources import SOURCES
from customer_tiers.orchestration.cli import main
from customer_tiers.orchestration.errors import EXIT_OK
from customer_tiers.orchestration.pipeline import run_pipeline
from tests.conftest import query
from tests.e2e.test_bad_inputs import ORDERS_HEADER, ORDERS_OK, csv_bytes, report_block

LOADED_AT = datetime(2024, 6, 30, 12, 0, tzinfo=UTC)
ORDERS = SOURCES["orders"]
DAY = csv_bytes(ORDERS_HEADER, [["o1", "c1", "2024-01-05", "10"], ["o2", "c2", "2024-01-05", "5"]])


def sources_with(tmp_path: Path, files: dict[str, bytes]) -> Path:
    root = tmp_path / "sources"
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    root.mkdir(exist_ok=True)
    return root


def check(sources: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["check", "--sources", str(sources)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def sync(con: duckdb.DuckDBPyConnection, sources: Path, run_id: str = "r1") -> SourceSync:
    return sync_source(con, ORDERS, sources, run_id, LOADED_AT, Privacy("keep"))


# --- item 2: the same daily file twice -----------------------------------------------------------


def test_a_byte_identical_copy_is_not_loaded_again_and_check_names_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sources = sources_with(tmp_path, {"orders/export.csv": DAY, "orders/export (1).csv": DAY})
    code, out, _ = check(sources, capsys)
    block = report_block(out, "2 files in orders/")
    assert "  rows: 2 read, 2 loaded, 0 quarantined" in block
    sha = hashlib.sha256(DAY).hexdigest()[:12]
    assert (
        f"  not loaded: orders/export (1).csv: same content (sha256 {sha}) as orders/export.csv"
        in block
    )
    assert code == EXIT_OK
    assert out.splitlines()[-1].endswith(", 1 file(s) not loaded")


def test_duplicates_are_audited_and_the_copy_loads_once_the_original_rows_are_gone(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    sources = sources_with(tmp_path, {"orders.csv": DAY, "orders/copy.csv": DAY})
    first = sync(con, sources, "r1")
    write_load_audit(con, first.results, "r1", LOADED_AT)
    assert con.execute("select sum(amount), count(*) from raw.orders").fetchone() == (15, 2)
    assert con.execute(
        "select status, regexp_extract(file, '[^/]*/?[^/]*$'), note from raw.load_audit "
        "order by status"
    ).fetchall() == [
        ("duplicate", "orders/copy.csv", f"same content (sha256 {first.results[1].sha256[:12]}) "
         "as orders.csv"),
        ("loaded", "sources/orders.csv", None),
    ]  # fmt: skip
    # a second run: still one copy
    assert [n for n, _ in sync(con, sources, "r2").skipped] == ["orders/copy.csv"]
    assert con.execute("select count(*) from raw.orders").fetchone() == (2,)
    # the top-level export is removed, so its rows go: the landed copy now loads in its place
    (sources / "orders.csv").unlink()
    third = sync(con, sources, "r3")
    assert third.removed == ["orders.csv"] and third.skipped == []
    assert con.execute("select sum(amount), min(_source_file) like '%/orders/copy.csv' "
                       "from raw.orders").fetchone() == (15, True)  # fmt: skip


# --- item 3: a Parquet timestamp with a time zone ------------------------------------------------

_TZ_SCRIPT = """
import sys, datetime, duckdb
from customer_tiers.ingest.loader import load_source
from customer_tiers.ingest.sources import SOURCES
con = duckdb.connect()
load_source(con, SOURCES["orders"], sys.argv[1], "tz", datetime.datetime(2024, 1, 1))
print(con.execute("select order_id, strftime(ordered_at, '%Y-%m-%d %H:%M') from raw.orders "
                  "order by 1").fetchall())
"""


def test_a_parquet_timestamp_with_a_zone_is_its_wall_clock_time_whatever_the_machine_zone(
    tmp_path: Path,
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sources = sources_with(tmp_path, {})
    shanghai = pa.timestamp("us", tz="Asia/Shanghai")
    # 01:30 on 5 January in Shanghai is 17:30 on 4 January in UTC
    instant = int(datetime(2024, 1, 4, 17, 30, tzinfo=UTC).timestamp() * 1_000_000)
    table = pa.table(
        {
            "order_id": ["o1", "o2"],
            "customer_id": ["c1", "c1"],
            "ordered_at": pa.array([instant, instant + 23 * 3_600_000_000], shanghai),
            "amount": [10.0, 5.0],
        }
    )
    pq.write_table(table, sources / "orders.parquet")
    outputs = set()
    for zone in ("UTC", "Asia/Shanghai", "America/Los_Angeles"):
        env = {**os.environ, "TZ": zone}
        done = subprocess.run(
            [sys.executable, "-c", _TZ_SCRIPT, str(sources)],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        outputs.add(done.stdout.strip())
    assert outputs == {"[('o1', '2024-01-05 01:30'), ('o2', '2024-01-06 00:30')]"}


# --- item 4: personal columns under other header spellings ---------------------------------------


def test_personal_columns_spelled_otherwise_are_matched_and_masked_in_raw_and_quarantine(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    content = csv_bytes(
        ["customer_id", "birth_date", "Mobile No.", "E-mail", "Contact Tel", "Customer Name"],
        [
            ["c1", "1990-01-02", "13307078516", "li.lei@example.com", "02112345678", "李雷"],
            ["c2", "not a date", "13900001111", "han.mei@example.com", "02187654321", "韩梅梅"],
        ],
    )
    sources = sources_with(tmp_path, {"customers.csv": content})
    result = load_source(con, SOURCES["customers"], sources, "pii", LOADED_AT)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 1)
    assert con.execute("select phone, email, name from raw.customers").fetchall() == [
        ("*******8516", "l***@example.com", "李*")
    ]
    assert con.execute(
        "select phone, email, name, contact_tel from quarantine.customers"
    ).fetchall() == [("*******1111", "h***@example.com", "韩**", "*******4321")]
    clear = ("13307078516", "13900001111", "li.lei", "han.mei", "02112345678", "02187654321",
             "李雷", "韩梅梅")  # fmt: skip
    for table in ("raw.customers", "quarantine.customers"):
        text = str(con.execute(f"select * from {table}").fetchall())
        assert not [c for c in clear if c in text], (table, text)
    assert result.extra_columns == ("Contact Tel",)


# --- item 9: files of a landing folder that were silently ignored -------------------------------


def test_nested_gzip_and_spaced_files_load_and_a_text_file_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def day(order: str) -> bytes:
        return csv_bytes(ORDERS_HEADER, [[order, "c1", "2024-01-06", "10"]])

    sources = sources_with(
        tmp_path,
        {
            "orders/day1.csv": day("o1"),
            "orders/2026/07/01.csv": day("o2"),
            "orders/day2.csv.gz": gzip.compress(day("o3"), mtime=0),
            "orders/day3.txt": day("o4"),
            "orders/day4.csv ": day("o5"),
            "orders/day5.csv.part": day("o6"),
            "orders/.DS_Store": b"\x00\x01",
        },
    )
    code, out, _ = check(sources, capsys)
    assert report_block(out, "4 files in orders/")[:3] == [
        "4 files in orders/: loaded",
        "  encoding: utf-8",
        "  rows: 4 read, 4 loaded, 0 quarantined",
    ]
    assert [line for line in out.splitlines() if "not loaded:" in line] == [
        "  not loaded: orders/day3.txt: not a .csv, .csv.gz or .parquet file",
        "  not loaded: orders/day5.csv.part: still being written (a partial or temporary name); "
        "loaded once renamed",
    ]
    assert code == EXIT_OK


def test_a_landing_folder_with_only_unreadable_names_says_why_orders_are_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sources = sources_with(tmp_path, {"orders/day3.txt": ORDERS_OK})
    code, out, _ = check(sources, capsys)
    assert report_block(out, "orders") == [
        "orders: error",
        f"  orders.csv or orders.parquet (or files in orders/) is required in {sources.resolve()}"
        "; orders/day3.txt is not loaded: not a .csv, .csv.gz or .parquet file",
    ]
    assert code == 2


def test_a_corrupt_gzip_file_is_unusable_input_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sources = sources_with(tmp_path, {"orders/day.csv.gz": gzip.compress(DAY)[:30]})
    code, out, _ = check(sources, capsys)
    [message] = report_block(out, "1 file in orders/")[1:]
    assert message.startswith(f"  {sources.resolve()}/orders/day.csv.gz: cannot read the file: ")
    assert code == 2


# --- item 10: lines of spaces -------------------------------------------------------------------


@pytest.mark.parametrize(
    "tail",
    [b"   \n", b"\t\n", b" \t \r\n", b"    "],
    ids=["spaces", "tab", "spaces-tab-crlf", "spaces-without-newline"],
)
def test_a_trailing_line_of_spaces_is_skipped_like_an_empty_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], tail: bytes
) -> None:
    sources = sources_with(tmp_path, {"orders.csv": DAY + tail})
    code, out, _ = check(sources, capsys)
    assert report_block(out, "orders.csv")[:3] == [
        "orders.csv: loaded",
        "  encoding: utf-8",
        "  rows: 2 read, 2 loaded, 0 quarantined",
    ]
    assert code == EXIT_OK


def test_lines_of_spaces_are_skipped_but_quoted_spaces_and_empty_values_are_kept(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    content = (
        b"feedback_id,created_at,text\n"
        b"f1,2024-01-05,plain\n"
        b"   \n"  # skipped, as an empty line is
        b'f2,2024-01-06,"first line\n'
        b"   \n"  # inside a quoted field: kept byte for byte
        b'last line"\n'
        b"\n"
        b",,\n"  # empty values, not an empty line: quarantined as before
        b"\t\n"
    )
    sources = sources_with(tmp_path, {"feedback.csv": content})
    result = load_source(con, SOURCES["feedback"], sources, "ws", LOADED_AT)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 2, 1)
    assert con.execute("select feedback_id, text from raw.feedback order by 1").fetchall() == [
        ("f1", "plain"),
        ("f2", "first line\n   \nlast line"),
    ]
    assert con.execute("select _row_number, _reason from quarantine.feedback").fetchall() == [
        (3, "missing required value: feedback_id; missing required value: created_at")
    ]


# --- item 11: repeated headers ------------------------------------------------------------------


@pytest.mark.parametrize("second", ["amount", "Amount"])
def test_a_repeated_contract_header_is_unusable_input_in_the_users_own_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], second: str
) -> None:
    content = f"order_id,customer_id,ordered_at,amount,{second}\no1,c1,2024-01-05,10,20\n"
    sources = sources_with(tmp_path, {"orders.csv": content.encode()})
    code, out, err = check(sources, capsys)
    message = (
        f"  {sources.resolve()}/orders.csv: columns 'amount' and '{second}' both match contract "
        "column 'amount'; keep one (header columns 4 and 5)"
    )
    assert report_block(out, "orders.csv") == ["orders.csv: error", message]
    assert "amount_1" not in out + err and "Amount_1" not in out + err
    assert code == 2


def test_a_repeated_extra_header_is_listed_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    content = b"order_id,customer_id,ordered_at,amount,note,Note\no1,c1,2024-01-05,10,a,b\n"
    sources = sources_with(tmp_path, {"orders.csv": content})
    code, out, _ = check(sources, capsys)
    assert "  extra columns (ignored): note, Note" in report_block(out, "orders.csv")
    assert code == EXIT_OK


# --- item 12: links ------------------------------------------------------------------------------


def test_a_broken_link_is_named_as_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sources = sources_with(tmp_path, {})
    (sources / "orders.csv").symlink_to(tmp_path / "gone" / "orders.csv")
    code, out, err = check(sources, capsys)
    message = (
        f"  {sources.resolve()}/orders.csv is a broken link to {tmp_path}/gone/orders.csv "
        "(no such file)"
    )
    assert report_block(out, "orders") == ["orders: error", message]
    assert f"error: {message.strip()}" in err.splitlines()
    assert code == 2


def test_a_link_out_of_the_sources_folder_is_refused_unread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = tmp_path / "elsewhere" / "passwd"
    secret.parent.mkdir()
    secret.write_text("root:x:0:0:secret-first-line\n")
    sources = sources_with(tmp_path, {"orders.csv": ORDERS_OK})
    (sources / "customers.csv").symlink_to(secret)
    (sources / "orders" / "day").mkdir(parents=True)
    (sources / "orders" / "day" / "2.csv").symlink_to(secret)
    code, out, err = check(sources, capsys)
    assert "secret-first-line" not in out + err
    assert report_block(out, "customers") == [
        "customers: error",
        f"  {sources.resolve()}/customers.csv is a link to {secret}, outside the sources folder "
        f"{sources.resolve()}; links are followed only within it: copy the file into the folder "
        "instead",
    ]
    assert f"{sources.resolve()}/orders/day/2.csv is a link to {secret}, outside" in out
    assert code == 2


def test_a_link_within_the_sources_folder_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sources = sources_with(tmp_path, {"exports/orders-2024.csv": DAY})
    (sources / "orders.csv").symlink_to(sources / "exports" / "orders-2024.csv")
    code, out, _ = check(sources, capsys)
    assert "  rows: 2 read, 2 loaded, 0 quarantined" in report_block(out, "orders.csv")
    assert code == EXIT_OK


# --- the run: its summary names the files it did not load ---------------------------------------


def test_a_run_loads_a_duplicated_day_once_and_says_so_in_its_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from customer_tiers.orchestration.summary import format_summary, read_summary

    orders = csv_bytes(
        ORDERS_HEADER,
        [["o1", "c1", "2024-01-05", "10"], ["o2", "c1", "2024-02-05", "20"],
         ["o3", "c2", "2024-03-05", "30"]],
    )  # fmt: skip
    sources = sources_with(
        tmp_path,
        {"orders/export.csv": orders, "orders/export (1).csv": orders, "orders/notes.txt": b"x"},
    )
    warehouse = tmp_path / "warehouse.duckdb"
    outcome = run_pipeline(sources, warehouse, as_of=datetime(2024, 3, 31).date())
    assert outcome.exit_code == EXIT_OK, outcome.messages
    assert query(warehouse, "select sum(monetary) from marts.customer_rfm") == [(60,)]
    text = format_summary(read_summary(warehouse, str(outcome.run_id)))
    sha = hashlib.sha256(orders).hexdigest()[:12]
    files = f"{sources}/orders"
    assert "\n".join(text.split("Files not loaded (raw.load_audit)\n")[1].splitlines()[:2]) == (
        f"  orders     warning: {files}/export (1).csv: same content (sha256 {sha}) as "
        f"orders/export.csv\n"
        f"  orders     warning: {files}/notes.txt: not a .csv, .csv.gz or .parquet file"
    )
    assert re.search(r"\n  orders +3 read +3 loaded +0 quarantined", text), text
    _, err = capsys.readouterr()
    assert f"orders: orders/export (1).csv not loaded: same content (sha256 {sha})" in err
