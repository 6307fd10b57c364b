"""`tiers backfill` (issue 8 item 3): the dates of a range, and one backfill worked by hand.

Eight customers, orders from 2024-11 to 2025-03-25, two account managers; backfilled as of
the month ends 2025-01-31, 2025-02-28, 2025-03-31 (who counts as a customer as of a date:
a profile that signed up by then, or has no signup date, or anyone who ordered by then):
  a1  signed up 2024-06-01, orders 2024-12-05, 2025-01-10, 02-10, 03-10   all three dates
  a2  signed up 2024-06-01, orders 2024-11-20, 2025-01-05                 all three dates
  a3  signed up 2024-09-01, orders 2024-12-20, 2025-03-25                 all three dates
  a4  signed up 2024-10-01, orders 2025-01-15, 02-20                      all three dates
  a5  signed up 2024-11-01, no order (prospect)                           all three dates
  a6  signs up 2025-02-10, orders 02-15, 03-20                            from 02-28: new
  a7  no signup date, orders 2025-01-20, 03-05                            all three dates
  a8  signs up 2025-03-15, no order                                       from 03-31: new
So 6, 7 and 8 customers; the pairs (01-31, 02-28) and (02-28, 03-31) count 7 and 8 (nobody is
lost), a6 and a8 come from 'none'. 2025-03-31 is after the latest order (03-25): a note.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from customer_tiers.orchestration import backfill
from customer_tiers.orchestration.backfill import (
    BackfillOutcome,
    backfill_dates,
    format_backfill,
    run_backfill,
)
from customer_tiers.orchestration.errors import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE, UsageError
from customer_tiers.orchestration.pipeline import RunOutcome
from tests.conftest import query, write_csv

D = date.fromisoformat


# --- backfill_dates ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # every month end from start's month, then the end date itself (not a month end)
        ("2025-01-15", "2025-03-10", ["2025-01-31", "2025-02-28", "2025-03-10"]),
        # month ends 31, 28 (no leap), 31, 30; end on a month end is not repeated
        (
            "2025-01-01",
            "2025-04-30",
            ["2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30"],
        ),
        ("2024-02-01", "2024-03-31", ["2024-02-29", "2024-03-31"]),  # leap year
        ("2023-12-31", "2024-01-31", ["2023-12-31", "2024-01-31"]),  # start on a month end
        ("2024-11-30", "2025-01-02", ["2024-11-30", "2024-12-31", "2025-01-02"]),  # new year
        ("2025-06-05", "2025-06-20", ["2025-06-20"]),  # within one month: only end
        ("2025-06-20", "2025-06-20", ["2025-06-20"]),  # one day
        ("2025-06-30", "2025-06-30", ["2025-06-30"]),  # one day, a month end
        ("2025-01-31", "2025-02-27", ["2025-01-31", "2025-02-27"]),  # end a day before a month end
    ],
)
def test_month_dates(start: str, end: str, expected: list[str]) -> None:
    assert backfill_dates(D(start), D(end), "month") == [D(d) for d in expected]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("2025-01-01", "2025-01-20", ["2025-01-01", "2025-01-08", "2025-01-15", "2025-01-20"]),
        ("2025-01-01", "2025-01-22", ["2025-01-01", "2025-01-08", "2025-01-15", "2025-01-22"]),
        ("2024-02-22", "2024-03-07", ["2024-02-22", "2024-02-29", "2024-03-07"]),  # leap day
        ("2025-01-01", "2025-01-05", ["2025-01-01", "2025-01-05"]),
        ("2025-01-01", "2025-01-01", ["2025-01-01"]),  # one day
    ],
)
def test_week_dates(start: str, end: str, expected: list[str]) -> None:
    assert backfill_dates(D(start), D(end), "week") == [D(d) for d in expected]


@pytest.mark.parametrize("every", ["month", "week"])
def test_dates_are_increasing_inside_the_range_and_end_on_the_end(every: str) -> None:
    start = D("2023-01-17")
    for end in (D("2023-01-17"), D("2023-02-28"), D("2024-02-29"), D("2025-12-30")):
        dates = backfill_dates(start, end, every)  # type: ignore[arg-type]
        assert dates == sorted(set(dates))
        assert start <= dates[0] and dates[-1] == end


def test_start_after_end_or_an_unknown_step_is_an_error() -> None:
    with pytest.raises(ValueError, match="after"):
        backfill_dates(D("2025-03-01"), D("2025-02-28"), "month")
    with pytest.raises(ValueError, match="every"):
        backfill_dates(D("2025-01-01"), D("2025-02-28"), "day")  # type: ignore[arg-type]
    # run_backfill turns it into a usage error (exit 2) before anything runs
    with pytest.raises(UsageError, match="after"):
        run_backfill(Path("x"), Path("y"), D("2025-03-01"), D("2025-02-28"), "week")


# --- run_backfill without the pipeline ---------------------------------------------------------


def _fake_pipeline(
    monkeypatch: pytest.MonkeyPatch, codes: dict[date, int | Exception]
) -> list[date]:
    seen: list[date] = []

    def fake(
        sources: Path, warehouse: Path, as_of: date, config: Path | None, **_: object
    ) -> RunOutcome:
        seen.append(as_of)
        code = codes.get(as_of, EXIT_OK)
        if isinstance(code, Exception):
            raise code
        return RunOutcome(code, messages=[] if code == EXIT_OK else ["blocking check failed: x"])

    monkeypatch.setattr(backfill, "run_pipeline", fake)
    return seen


def test_stops_at_the_first_failing_date(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen = _fake_pipeline(monkeypatch, {D("2025-02-28"): EXIT_CHECK_FAILED})
    lines: list[str] = []
    outcome = run_backfill(
        tmp_path,
        tmp_path / "w.duckdb",
        D("2025-01-01"),
        D("2025-04-30"),
        "month",
        None,
        lines.append,
    )
    assert seen == [D("2025-01-31"), D("2025-02-28")]
    assert outcome.exit_code == EXIT_CHECK_FAILED
    assert outcome.exit_codes == {D("2025-01-31"): EXIT_OK, D("2025-02-28"): EXIT_CHECK_FAILED}
    assert outcome.published == [D("2025-01-31")]
    assert outcome.not_run == [D("2025-03-31"), D("2025-04-30")]
    assert lines[0].startswith("backfill of 4 dates")
    assert lines[1:] == [
        "[1/4] as of 2025-01-31 ...",
        "[1/4] as of 2025-01-31 ... ok (0 s)",
        "[2/4] as of 2025-02-28 ...",
        "[2/4] as of 2025-02-28 ... failed, exit 1 (0 s)",
    ]
    assert outcome.messages == [
        "as of 2025-02-28: blocking check failed: x",
        "backfill stopped at 2025-02-28; published: 2025-01-31",
        "not run: 2025-03-31, 2025-04-30",
    ]
    report = format_backfill(outcome)
    assert "2025-02-28  failed (exit 1)" in report and "2025-04-30  not run" in report


def test_an_unusable_date_is_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    locked = UsageError("another run is building w.duckdb")
    seen = _fake_pipeline(monkeypatch, {D("2025-01-01"): locked})
    outcome = run_backfill(
        tmp_path, tmp_path / "w.duckdb", D("2025-01-01"), D("2025-01-15"), "week", None, print
    )
    assert seen == [D("2025-01-01")]
    assert (outcome.exit_code, outcome.published) == (EXIT_USAGE, [])
    assert outcome.not_run == [D("2025-01-08"), D("2025-01-15")]
    assert outcome.messages[0] == "as of 2025-01-01: another run is building w.duckdb"
    assert "published: none" in outcome.messages[1]


def test_history_after_the_range_is_noted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute("create schema marts; create table marts.tier_history (as_of date, tier varchar)")
    con.execute("insert into marts.tier_history values ('2025-06-30', 'Gold')")
    con.close()
    _fake_pipeline(monkeypatch, {})
    lines: list[str] = []
    outcome = run_backfill(
        tmp_path, warehouse, D("2025-01-01"), D("2025-02-28"), "month", None, lines.append
    )
    assert outcome.exit_code == EXIT_OK and outcome.published == [D("2025-01-31"), D("2025-02-28")]
    [note] = outcome.notes
    assert "history after 2025-02-28 (2025-06-30)" in note
    assert "tiers run --as-of 2025-06-30" in note
    assert lines[0] == f"note: {note}"


# --- one backfill through the whole pipeline ---------------------------------------------------

MONTH_ENDS = [D("2025-01-31"), D("2025-02-28"), D("2025-03-31")]
ORDERS = {
    "a1": [("2024-12-05", 200), ("2025-01-10", 200), ("2025-02-10", 200), ("2025-03-10", 200)],
    "a2": [("2024-11-20", 100), ("2025-01-05", 100)],
    "a3": [("2024-12-20", 300), ("2025-03-25", 300)],
    "a4": [("2025-01-15", 50), ("2025-02-20", 50)],
    "a6": [("2025-02-15", 150), ("2025-03-20", 150)],
    "a7": [("2025-01-20", 80), ("2025-03-05", 80)],
}
CUSTOMERS = [
    ["a1", "2024-06-01", "M1"],
    ["a2", "2024-06-01", "M1"],
    ["a3", "2024-09-01", "M2"],
    ["a4", "2024-10-01", None],
    ["a5", "2024-11-01", "M2"],
    ["a6", "2025-02-10", None],
    ["a7", None, "M1"],
    ["a8", "2025-03-15", None],
]


def _write_sources(sources: Path) -> None:
    orders = [
        [f"{customer}-{day}", customer, f"{day} 10:00:00", "P1", 1, f"{amount}.00"]
        for customer, rows in ORDERS.items()
        for day, amount in rows
    ]
    header = ["order_id", "customer_id", "ordered_at", "product_id", "quantity", "amount"]
    write_csv(sources / "orders.csv", header, orders)
    write_csv(
        sources / "customers.csv", ["customer_id", "signup_date", "account_manager_id"], CUSTOMERS
    )
    write_csv(
        sources / "products.csv",
        ["product_id", "name", "category", "unit_cost"],
        [["P1", "面霜", "skincare", "10.00"]],
    )
    staff = [["M1", "经理一", "S1", 10, "true"], ["M2", "经理二", "S1", 10, "true"]]
    write_csv(sources / "staff.csv", ["staff_id", "name", "store_id", "capacity", "active"], staff)


def test_backfill_fills_history_oldest_first(tmp_path: Path) -> None:
    """Two month ends (each is a whole pipeline run; the suite stays under ten minutes): 01-31
    has a1-a5 and a7 (a6 signs up 02-10, a8 03-15): 6; 02-28 adds a6: 7."""
    sources, warehouse = tmp_path / "sources", tmp_path / "warehouse.duckdb"
    _write_sources(sources)
    dates = MONTH_ENDS[:2]
    lines: list[str] = []
    outcome = run_backfill(
        sources, warehouse, D("2025-01-01"), D("2025-02-28"), "month", None, lines.append
    )
    assert outcome.exit_code == EXIT_OK, outcome.messages
    assert outcome.dates == outcome.published == dates
    assert [line.split(" (")[0] for line in lines if line.endswith(" s)")] == [
        f"[{n}/2] as of {as_of} ... ok" for n, as_of in enumerate(dates, start=1)
    ]
    assert outcome.notes == []  # both dates are before the latest order (03-25)

    history = query(
        warehouse, "select as_of, count(*) from marts.tier_history group by 1 order by 1"
    )
    assert history == list(zip(dates, [6, 7], strict=True))
    assert query(warehouse, "select distinct as_of from marts.customer_tiers") == [(dates[-1],)]
    # the pair's counts add up to the customers of both dates together: 6 ∪ 7 = 7
    pairs = query(
        warehouse,
        "select from_as_of, to_as_of, sum(customers) from marts.tier_migration group by 1, 2",
    )
    assert pairs == [(*dates, 7)]
    # a6, new in month 2, comes from 'none'; nobody is lost
    [(a6_tier,)] = query(
        warehouse,
        "select tier from marts.tier_history where customer_id = 'a6' and as_of = ?",
        [dates[1]],
    )
    assert query(
        warehouse,
        "select to_tier, customers, movement from marts.tier_migration where from_tier = 'none'",
    ) == [(a6_tier, 1, "new")]
    assert query(warehouse, "select count(*) from marts.tier_migration where to_tier = 'none'") == [
        (0,)
    ]
    # each date's assignment starts from the date before: a4 (no manager in the customers file)
    # is placed on 01-31 and kept by that manager on 02-28; nobody's previous manager is lost
    assignments = query(
        warehouse,
        "select as_of, reason, previous_staff_id, staff_id "
        "from assignments.account_assignment_history where customer_id = 'a4' order by 1",
    )
    placed = assignments[0][3]
    assert assignments == [(dates[0], "new", None, placed), (dates[1], "kept", placed, placed)]
    assert query(
        warehouse,
        "select count(*) from assignments.account_assignment_history as later "
        "join assignments.account_assignment_history as earlier using (customer_id) "
        "where earlier.as_of = ? and later.as_of = ? "
        "and later.previous_staff_id is distinct from earlier.staff_id",
        dates,
    ) == [(0,)]
    assert "tier_history (2 dates)" in format_backfill(outcome)


def test_format_backfill_without_a_warehouse(tmp_path: Path) -> None:
    outcome = BackfillOutcome(tmp_path / "missing.duckdb", [D("2025-01-31")])
    assert "2025-01-31  not run" in format_backfill(outcome)
