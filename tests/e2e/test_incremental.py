"""A daily run on a published warehouse: one new day file of orders, one source file gone.

The day after the shared demo run, a file with one order line (and one bad line) lands in
`orders/`, and the top-level feedback.csv is taken away. The run loads that file alone, keeps
every other file's rows, deletes feedback's, and the incremental staging models follow raw.
The bad line is half of the rows read from orders this run, far above the 1% default of
quality.max_quarantined_share.orders (a mostly bad file blocks the run): the fixture's
configuration allows half, so the run publishes with the line in quarantine.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from customer_tiers.orchestration.cli import main
from customer_tiers.orchestration.errors import EXIT_OK
from tests.conftest import query, write_csv

AMOUNT = Decimal("123.45")


@dataclass(frozen=True)
class DailyRun:
    warehouse: Path
    customer: str  # who ordered on the new day
    before: tuple[int, Decimal]  # their frequency and monetary before it
    counts: dict[str, int]  # raw rows of orders and feedback before it
    run_id: str
    day: date
    config: Path  # the fixture's configuration (a bad line of two passes the quarantine gate)


@pytest.fixture(scope="module")
def daily(demo_run: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> DailyRun:
    demo_sources, demo_warehouse = demo_run
    root = tmp_path_factory.mktemp("incremental")
    sources, warehouse = root / "sources", root / "warehouse.duckdb"
    config = root / "daily.yml"
    config.write_text("quality:\n  max_quarantined_share:\n    orders: 0.5\n", encoding="utf-8")
    shutil.copytree(demo_sources, sources)
    shutil.copyfile(demo_warehouse, warehouse)

    [(latest, customer)] = query(
        warehouse,
        "select max(order_date), arg_max(customer_id, order_date) from staging.stg_shop__orders",
    )
    [before] = query(
        warehouse,
        "select frequency, monetary from marts.customer_rfm where customer_id = ?",
        [customer],
    )
    day = latest + timedelta(days=1)
    write_csv(
        sources / "orders" / f"{day}.csv",
        ("order_id", "customer_id", "ordered_at", "amount"),
        [("DAY-1", customer, f"{day} 10:30", AMOUNT), ("DAY-2", customer, "not a day", 5)],
    )
    (sources / "feedback.csv").unlink()
    counts = {
        t: query(warehouse, f"select count(*) from raw.{t}")[0][0] for t in ("orders", "feedback")
    }
    assert main(["run", "--sources", str(sources), "--warehouse", str(warehouse),
                 "--as-of", str(day), "--config", str(config)]) == EXIT_OK  # fmt: skip
    [(run_id,)] = query(warehouse, "select max_by(run_id, loaded_at) from raw.load_audit")
    return DailyRun(warehouse, customer, before, counts, run_id, day, config)


def test_only_the_new_file_is_read(daily: DailyRun) -> None:
    audit = query(
        daily.warehouse,
        "select source, regexp_extract(file, '[^/]*$'), status, rows_read, rows_loaded, "
        "rows_quarantined from raw.load_audit where run_id = ? order by all",
        [daily.run_id],
    )
    assert audit == [
        ("customers", "customers.csv", "unchanged", 0, 0, 0),
        ("feedback", None, "absent", 0, 0, 0),
        ("orders", f"{daily.day}.csv", "loaded", 2, 1, 1),
        ("orders", "orders.csv", "unchanged", 0, 0, 0),
        ("products", "products.csv", "unchanged", 0, 0, 0),
        ("staff", "staff.csv", "unchanged", 0, 0, 0),
        ("surveys", "surveys.csv", "unchanged", 0, 0, 0),
    ]


def test_staging_follows_raw_added_and_removed_files(daily: DailyRun) -> None:
    warehouse, counts = daily.warehouse, daily.counts
    [(raw_orders, staged_orders, raw_feedback, staged_feedback)] = query(
        warehouse,
        "select (select count(*) from raw.orders), (select count(*) from "
        "staging.stg_shop__orders), (select count(*) from raw.feedback), "
        "(select count(*) from staging.stg_shop__feedback)",
    )
    assert raw_orders == staged_orders == counts["orders"] + 1
    assert counts["feedback"] > 0 and raw_feedback == staged_feedback == 0
    # the old rows were not staged again: one load (file, run) each
    assert query(
        warehouse,
        "select count(distinct (_source_file, _run_id)) from staging.stg_shop__orders",
    ) == [(2,)]


def test_the_new_order_counts_in_the_marts(daily: DailyRun) -> None:
    frequency, monetary = daily.before
    assert query(
        daily.warehouse,
        "select recency_days, frequency, monetary from marts.customer_rfm where customer_id = ?",
        [daily.customer],
    ) == [(0, frequency + 1, monetary + AMOUNT)]


def test_full_reload_loads_every_file_again_and_keeps_the_marts_and_history(
    daily: DailyRun,
) -> None:
    warehouse = daily.warehouse
    sources = warehouse.parent / "sources"
    marts_sql = "select * from marts.customer_rfm order by customer_id"
    history_sql = "select as_of, count(*) from marts.tier_history group by 1 order by 1"
    rfm_before, history_before = query(warehouse, marts_sql), query(warehouse, history_sql)
    assert len(history_before) == 2  # the demo run's date and the day after

    assert main(["run", "--sources", str(sources), "--warehouse", str(warehouse),
                 "--as-of", str(daily.day), "--config", str(daily.config),
                 "--full-reload"]) == EXIT_OK  # fmt: skip
    [(run_id,)] = query(warehouse, "select max_by(run_id, loaded_at) from raw.load_audit")
    statuses = query(
        warehouse,
        "select status, count(*) from raw.load_audit where run_id = ? group by 1 order by 1",
        [run_id],
    )
    assert statuses == [("absent", 1), ("loaded", 6)]  # feedback.csv is still gone
    # staging rebuilt from the reloaded raw: one load per file, all of this run
    assert query(
        warehouse,
        "select count(*), count(distinct _source_file), min(_run_id) = max(_run_id) "
        "from staging.stg_shop__orders",
    ) == [(daily.counts["orders"] + 1, 2, True)]
    assert query(warehouse, marts_sql) == rfm_before
    # --full-refresh never rebuilds the history marts (full_refresh: false)
    assert query(warehouse, history_sql) == history_before
