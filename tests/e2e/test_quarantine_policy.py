"""Issue 16, quarantine policy and time: one rule for bad rows, a threshold per source, and a
warning (or a block) for an analysis date long after the data.

* A row whose value is out of range or not in the domain goes to quarantine with its reason,
  like an unparseable one; an event dated far after the other dates too, so it cannot move the
  default analysis date (loader-level tests, in-memory DuckDB).
* A source blocks only when its quarantined share is above quality.max_quarantined_share
  (`tiers check`, then real runs: under the threshold it publishes, above it exit 1 and the
  published file is byte-equal).
* --as-of more than time.max_days_after_latest_order days after the latest order is a warning
  in the summary and the run's Dagster results, or blocks with time.block.

The cases are listed in tests/data/bad_inputs/README.md ("Quarantine policy and time").
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from customer_tiers.ingest.landing import sync_source
from customer_tiers.ingest.loader import DEFAULT_PRIVACY, load_source
from customer_tiers.ingest.sources import SOURCES
from customer_tiers.orchestration.cli import main
from customer_tiers.orchestration.errors import EXIT_CHECK_FAILED, EXIT_OK
from customer_tiers.orchestration.gates import after_latest_order
from customer_tiers.orchestration.pipeline import run_pipeline
from customer_tiers.orchestration.summary import format_summary, read_summary
from tests.conftest import query

LOADED_AT = datetime(2024, 6, 30, 12, 0, tzinfo=UTC)
ORDERS_HEADER = ["order_id", "customer_id", "ordered_at", "amount"]
SURVEYS_HEADER = ["response_id", "customer_id", "responded_at", "nps_score", "csat_score"]


def csv_bytes(header: Sequence[str], rows: Sequence[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def load(con: duckdb.DuckDBPyConnection, folder: Path, source: str, content: bytes) -> None:
    folder.mkdir(exist_ok=True)
    (folder / f"{source}.csv").write_bytes(content)
    result = load_source(con, SOURCES[source], folder, "policy", LOADED_AT)
    assert result.rows_read == result.rows_loaded + result.rows_quarantined


def quarantined(con: duckdb.DuckDBPyConnection, source: str) -> list[tuple[int, str, str]]:
    return con.execute(
        f"SELECT _row_number, _reason_category, _reason FROM quarantine.{source} ORDER BY 1"
    ).fetchall()


# --- one rule: out of range and not in the domain go to quarantine -----------------------------


def test_out_of_range_and_not_in_domain_values_are_quarantined_with_their_reason(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    surveys = csv_bytes(
        [
            "response_id",
            "responded_at",
            "nps_score",
            "csat_score",
            "repurchase_intent",
            "recommend",
        ],
        [
            ["r1", "2024-01-05", "11", "3", "50", "yes"],
            ["r2", "2024-01-05", "10", "0", "50", "Maybe"],  # case does not matter
            ["r3", "2024-01-05", "0", "5", "100.5", "no"],
            ["r4", "2024-01-05", "9", "1", "0", "sure"],
            ["r5", "2024-01-05", "-1", "4", "", ""],
        ],
    )
    load(con, tmp_path, "surveys", surveys)
    assert quarantined(con, "surveys") == [
        (1, "out-of-range nps_score", "nps_score: '11' is above the maximum 10"),
        (2, "out-of-range csat_score", "csat_score: '0' is below the minimum 1"),
        (
            3,
            "out-of-range repurchase_intent",
            "repurchase_intent: '100.5' is above the maximum 100",
        ),
        (4, "not-in-domain recommend", "recommend: 'sure' is not one of yes, maybe, no"),
        (5, "out-of-range nps_score", "nps_score: '-1' is below the minimum 0"),
    ]
    assert con.execute("SELECT count(*) FROM raw.surveys").fetchall() == [(0,)]

    load(
        con,
        tmp_path,
        "feedback",
        b"feedback_id,created_at,rating\nf1,2024-01-05,6\nf2,2024-01-05,5\n",
    )
    assert quarantined(con, "feedback") == [
        (1, "out-of-range rating", "rating: '6' is above the maximum 5")
    ]
    load(con, tmp_path, "staff", b"staff_id,capacity\ns1,-1\ns2,0\n")
    assert quarantined(con, "staff") == [
        (1, "out-of-range capacity", "capacity: '-1' is below the minimum 0")
    ]


def test_a_far_future_order_is_quarantined_and_an_old_one_kept(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """Order days 2023-12-20 .. 2024-06-30, then 2025-06-30 (exactly 365 days later: no gap)
    and 2025-07-01: the main body, ending 2025-07-01. 2150 is after it; 1995-05-05 is a run
    of its own before it, kept (only before 1990 is out of range)."""
    days = [date(2023, 12, 20) + timedelta(days=7 * i) for i in range(28)]  # to 2024-06-26
    rows = [[f"o{i}", "c1", d.isoformat(), "10"] for i, d in enumerate(days, 1)]
    rows += [
        ["late1", "c1", "2024-06-30", "10"],
        ["typo", "c1", "2150-01-01", "10"],
        ["next-year", "c1", "2025-07-01", "10"],
        ["year-after", "c1", "2025-06-30", "10"],
        ["old", "c1", "1995-05-05", "10"],
        ["ancient", "c1", "1989-12-31", "10"],
    ]
    load(con, tmp_path, "orders", csv_bytes(ORDERS_HEADER, rows))
    body = "(their main body ends 2025-07-01)"
    assert quarantined(con, "orders") == [
        (30, "far-future ordered_at", f"ordered_at: '2150-01-01' is more than 365 days after "
         f"the other dates {body}"),
        (34, "out-of-range ordered_at", "ordered_at: '1989-12-31' is before 1990-01-01"),
    ]  # fmt: skip
    # 2025-06-30 joined the main body (365 days is no gap), so 2025-07-01 is within it too
    assert con.execute("SELECT max(ordered_at)::date FROM raw.orders").fetchall() == [
        (date(2025, 7, 1),)
    ]
    assert con.execute("SELECT min(ordered_at)::date FROM raw.orders").fetchall() == [
        (date(1995, 5, 5),)
    ]


def test_a_far_future_date_in_a_landed_file_is_judged_against_the_orders_loaded_before(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """A day's file alone has one day: its typo is found against raw.orders' main body."""
    sources = tmp_path / "sources"
    (sources / "orders").mkdir(parents=True)
    history = [[f"o{i}", "c1", f"2024-0{1 + i % 6}-1{i % 9}", "10"] for i in range(30)]
    (sources / "orders.csv").write_bytes(csv_bytes(ORDERS_HEADER, history))
    (sources / "orders" / "day.csv").write_bytes(
        csv_bytes(ORDERS_HEADER, [["d1", "c1", "2150-07-01", "10"]])
    )
    sync = sync_source(con, SOURCES["orders"], sources, "policy", LOADED_AT, DEFAULT_PRIVACY)
    assert [(r.rows_read, r.rows_quarantined) for r in sync.loaded] == [(30, 0), (1, 1)]
    assert quarantined(con, "orders") == [
        (1, "far-future ordered_at", "ordered_at: '2150-07-01' is more than 365 days after "
         "the other dates (their main body ends 2024-06-18)"),
    ]  # fmt: skip


# --- the share gate in `tiers check` ----------------------------------------------------------

GOOD_ORDERS = [[f"o{i}", f"c{i % 7}", f"2024-0{1 + i % 6}-{10 + i % 18}", "10"] for i in range(7)]
THREE_BAD_OF_TEN = csv_bytes(
    ORDERS_HEADER,
    [*GOOD_ORDERS, ["b1", "c1", "soon", "10"], ["b2", "c1", "2024-01-05", "ten"],
     ["b3", "", "2024-01-05", "10"]],
)  # fmt: skip


def check(tmp_path: Path, files: dict[str, bytes], capsys: pytest.CaptureFixture[str]) -> tuple:
    sources = tmp_path / "sources"
    sources.mkdir(exist_ok=True)
    for name, content in files.items():
        (sources / name).write_bytes(content)
    code = main(["check", "--sources", str(sources)])
    return code, capsys.readouterr().out.splitlines()


def test_three_bad_orders_of_ten_block_tiers_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = check(tmp_path, {"orders.csv": THREE_BAD_OF_TEN}, capsys)
    assert code == EXIT_CHECK_FAILED
    assert (
        "  quarantined share: 3 of 10 rows (30.00%) quarantined, above the threshold 1.00%: blocks"
    ) in out
    assert out[-1].startswith(
        "verdict: BLOCKED by a quarantined share above its threshold in orders.csv (exit 1)"
    )


def test_the_threshold_is_configurable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "tiers.yml"
    config.write_text("quality:\n  max_quarantined_share:\n    orders: 0.3\n", encoding="utf-8")
    monkeypatch.setenv("TIERS_CONFIG", str(config))
    code, out = check(tmp_path, {"orders.csv": THREE_BAD_OF_TEN}, capsys)
    assert code == EXIT_OK  # 30% is not above 30%
    assert (
        "  quarantined share: 3 of 10 rows (30.00%) quarantined, within the threshold 30.00%" in out
    )
    assert out[-1].startswith("verdict: OK (exit 0)")


def test_one_nps_11_among_forty_answers_is_quarantined_not_blocking(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = [[f"r{i}", "c1", "2024-01-05", str(i % 11), "4"] for i in range(39)]
    answers.append(["r-bad", "c1", "2024-01-05", "11", "4"])
    files = {
        "orders.csv": csv_bytes(ORDERS_HEADER, GOOD_ORDERS),
        "surveys.csv": csv_bytes(SURVEYS_HEADER, answers),
    }
    code, out = check(tmp_path, files, capsys)
    assert code == EXIT_OK
    assert (
        "  quarantined share: 1 of 40 rows (2.50%) quarantined, within the threshold 5.00%" in out
    )
    assert "    data row 40: nps_score: '11' is above the maximum 10" in out


# --- real runs: publish under the threshold, block above it; the as-of warning -----------------

LATEST_ORDER = date(2024, 6, 28)
AS_OF = LATEST_ORDER + timedelta(days=30)


def run_orders(bad: int) -> bytes:
    """200 good order lines of 20 customers up to LATEST_ORDER, and `bad` unparseable ones."""
    rows = [
        [f"o{i}", f"c{i % 20}", (LATEST_ORDER - timedelta(days=(i * 7) % 360)).isoformat(), "25"]
        for i in range(200)
    ]
    rows += [[f"bad{i}", "c1", "2024-02-30", "25"] for i in range(bad)]
    return csv_bytes(ORDERS_HEADER, rows)


def run_surveys() -> bytes:
    answers = [[f"r{i}", f"c{i % 20}", "2024-05-05", str(i % 11), "4"] for i in range(40)]
    return csv_bytes(SURVEYS_HEADER, [*answers, ["r-bad", "c1", "2024-05-05", "11", "4"]])


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str, list[str]]:
    """One run as of 30 days after the latest order, 1 of 201 orders (0.50%) and 1 of 41
    survey answers (2.44%) bad: both under the defaults (1%, 5%)."""
    root = tmp_path_factory.mktemp("quarantine-policy")
    sources = root / "sources"
    sources.mkdir()
    (sources / "orders.csv").write_bytes(run_orders(bad=1))
    (sources / "surveys.csv").write_bytes(run_surveys())
    warehouse = root / "warehouse.duckdb"
    outcome = run_pipeline(sources, warehouse, AS_OF)
    assert outcome.exit_code == EXIT_OK, outcome.messages
    assert outcome.run_id
    summary = format_summary(read_summary(warehouse, outcome.run_id))
    return sources, warehouse, summary, outcome.warnings


def test_a_source_under_its_threshold_publishes_with_its_bad_rows_in_quarantine(
    published: tuple[Path, Path, str, list[str]],
) -> None:
    _, warehouse, summary, _ = published
    assert query(warehouse, "SELECT _row_number, _reason FROM quarantine.orders") == [
        (201, "ordered_at: cannot parse '2024-02-30' as timestamp")
    ]
    assert query(warehouse, "SELECT _row_number, _reason FROM quarantine.surveys") == [
        (41, "nps_score: '11' is above the maximum 10")
    ]
    assert query(warehouse, "SELECT count(*) FROM marts.customer_rfm") == [(20,)]
    lines = summary.splitlines()
    assert any(
        line.split()
        == [
            "orders",
            "201",
            "read",
            "200",
            "loaded",
            "1",
            "quarantined",
            "(0.50%,",
            "max",
            "1.00%)",
        ]
        for line in lines
    ), summary
    assert any(
        line.split()
        == ["surveys", "41", "read", "40", "loaded", "1", "quarantined", "(2.44%,", "max", "5.00%)"]
        for line in lines
    ), summary


def test_an_as_of_long_after_the_latest_order_is_a_warning_in_the_summary_and_in_dagster(
    published: tuple[Path, Path, str, list[str]],
) -> None:
    _, _, summary, warnings = published
    note = (
        f"the analysis date {AS_OF} is 30 days after the latest order ({LATEST_ORDER}), more "
        "than time.max_days_after_latest_order (7); the days since count as days without "
        "purchases, so customers drift towards at_risk, dormant and churned: if the export "
        f"just ends earlier, run with --as-of {LATEST_ORDER} instead"
    )
    assert summary.splitlines()[:2] == [f"Analysis as of {AS_OF}", f"warning: {note}"]
    # the failed (warn) asset check raw/orders as_of_window, as job_outcome collects it
    assert f"raw/orders as_of_window: {note}" in warnings


def test_a_source_over_its_threshold_blocks_and_publishes_nothing(
    published: tuple[Path, Path, str, list[str]], tmp_path: Path
) -> None:
    _, warehouse, _, _ = published
    before = warehouse.read_bytes()
    sources = tmp_path / "sources"
    sources.mkdir()
    (sources / "orders.csv").write_bytes(run_orders(bad=3))  # 3 of 203: 1.48%
    outcome = run_pipeline(sources, warehouse, LATEST_ORDER)
    assert outcome.exit_code == EXIT_CHECK_FAILED
    assert any(
        "3 of 203 rows (1.48%) quarantined, above the threshold 1.00%: blocks" in m
        for m in outcome.messages
    ), outcome.messages
    assert outcome.messages[-1] == f"nothing was published; {warehouse} is unchanged"
    assert warehouse.read_bytes() == before


def test_the_as_of_check_blocks_when_configured(
    published: tuple[Path, Path, str, list[str]], tmp_path: Path
) -> None:
    sources, warehouse, _, _ = published
    before = warehouse.read_bytes()
    config = tmp_path / "tiers.yml"
    config.write_text("time:\n  max_days_after_latest_order: 29\n  block: true\n", "utf-8")
    outcome = run_pipeline(sources, warehouse, AS_OF, config)
    assert outcome.exit_code == EXIT_CHECK_FAILED
    assert any(
        f"the analysis date {AS_OF} is 30 days after the latest order ({LATEST_ORDER}), more "
        "than time.max_days_after_latest_order (29)" in m
        for m in outcome.messages
    ), outcome.messages
    assert warehouse.read_bytes() == before


def test_the_as_of_window_is_inclusive() -> None:
    """7 days after the latest order is within a window of 7; 8 is not."""
    assert after_latest_order([LATEST_ORDER + timedelta(days=7)], LATEST_ORDER, 7) is None
    note = after_latest_order([LATEST_ORDER + timedelta(days=8)], LATEST_ORDER, 7)
    assert note and note.startswith("the analysis date 2024-07-06 is 8 days after")
