"""The demo responses generator (ingest/demo_responses.py) on a hand-made warehouse.

The warehouse holds only what the generator reads: `marts.action_ledger` (an older cohort, the
latest one of COHORT customers in one experiment with half of them held out, and callbacks
without an experiment) and `staging.stg_shop__orders` (three purchase lines and a return).
With half held out both groups have 10,000 customers, so a buyer share has a binomial standard
error of at most sqrt(0.35 x 0.65 / 10,000) = 0.0048: the tolerance of 4 standard errors
(0.019) is met by a correct generator for any seed but 1 in 16,000 per check, while a planted
lift of 0.15 ignored or doubled is 0.15 off, 31 standard errors.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from customer_tiers.experiments.effects import MEMBER_COLUMNS, action_effects
from customer_tiers.ingest.demo_responses import ResponsesError, write_demo_responses
from customer_tiers.orchestration.cli import main
from customer_tiers.orchestration.errors import EXIT_USAGE

AS_OF = date(2026, 6, 30)
COHORT = 20_000
POOL = [  # product_id, quantity, amount, cost, channel, store_id
    ("P1", 1.0, 100.0, 40.0, "store", "S01"),
    ("P2", 2.0, 259.9, None, "online", None),
    ("P3", 1.0, 88.0, 30.5, "wechat", "S02"),
]


def _warehouse(path: Path, *, later_order: bool = False, experiments: bool = True) -> Path:
    con = duckdb.connect(str(path))
    con.execute("create schema marts")
    con.execute("create schema staging")
    con.execute(
        "create table marts.action_ledger (customer_id varchar, action varchar, "
        "experiment_id varchar, holdout boolean, as_of date)"
    )
    if experiments:
        con.execute(
            "insert into marts.action_ledger select 'C' || lpad(i::varchar, 6, '0'), "
            "'win_back', 'win_back-v1', i % 2 = 0, ? from range(?) as t(i)",
            [AS_OF, COHORT],
        )
        con.execute(  # an older cohort: not the latest, never drawn
            "insert into marts.action_ledger values ('OLD1', 'win_back', 'win_back-v1', false, ?)",
            [AS_OF - timedelta(days=30)],
        )
    con.execute(  # a later date without an experiment: not a cohort
        "insert into marts.action_ledger values ('CB1', 'callback', null, false, ?)",
        [AS_OF + timedelta(days=1)],
    )
    con.execute(
        "create table staging.stg_shop__orders (order_id varchar, customer_id varchar, "
        "ordered_at timestamp, order_date date, product_id varchar, quantity double, "
        "amount decimal(18, 4), cost decimal(18, 4), channel varchar, store_id varchar)"
    )
    for i, line in enumerate([*POOL, ("P1", -1.0, -100.0, -40.0, "store", "S01")]):
        day = AS_OF + timedelta(days=1) if later_order and i == 0 else AS_OF - timedelta(days=i)
        con.execute(
            "insert into staging.stg_shop__orders values (?, 'X1', ?, ?, ?, ?, ?, ?, ?, ?)",
            [f"O{i}", datetime.combine(day, datetime.min.time()), day, *line],
        )
    con.close()
    return path


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _ledger(warehouse: Path) -> dict[str, bool]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "select customer_id, holdout from marts.action_ledger where as_of = ?", [AS_OF]
        ).fetchall()
    finally:
        con.close()
    return dict(rows)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _warehouse(tmp_path_factory.mktemp("responses") / "warehouse.duckdb")


def test_buyer_shares_are_the_planted_rates(warehouse: Path, tmp_path: Path) -> None:
    written = write_demo_responses(warehouse, tmp_path, lift=0.15, base_rate=0.2, seed=3)
    [count] = written.cohorts
    assert (count.experiment_id, count.n_treatment, count.n_control) == (
        "win_back-v1",
        10_000,
        10_000,
    )
    assert abs(count.buyers_treatment / count.n_treatment - 0.35) < 4 * (0.35 * 0.65 / 1e4) ** 0.5
    assert abs(count.buyers_control / count.n_control - 0.20) < 4 * (0.20 * 0.80 / 1e4) ** 0.5
    assert written.path == tmp_path / "orders" / "demo-responses_2026-07-01_2026-07-30.csv"
    assert written.run_next == date(2026, 7, 30)
    lines = _read(written.path)
    assert len(lines) == written.order_lines
    # the summary's buyers are the file's: one order per buyer, cohort members only
    holdout = _ledger(warehouse)
    buyers = {line["customer_id"] for line in lines}
    assert buyers <= set(holdout)
    assert sum(1 for c in buyers if not holdout[c]) == count.buyers_treatment
    assert sum(1 for c in buyers if holdout[c]) == count.buyers_control
    assert len({line["order_id"] for line in lines}) == len(buyers)


def test_lines_are_valid_orders_inside_the_window(warehouse: Path, tmp_path: Path) -> None:
    lines = _read(write_demo_responses(warehouse, tmp_path, lift=0.1, seed=5).path)
    pool = {
        (p, format(q, "g"), f"{a:.2f}", "" if c is None else f"{c:.2f}") for p, q, a, c, *_ in POOL
    }
    places = {("store", "S01"), ("online", ""), ("wechat", "S02")}
    orders: dict[str, set[tuple[str, str, str, str]]] = {}
    for line in lines:
        placed = datetime.fromisoformat(line["ordered_at"])
        assert AS_OF < placed.date() <= AS_OF + timedelta(days=30)
        assert 9 <= placed.hour < 22
        assert (line["product_id"], line["quantity"], line["amount"], line["cost"]) in pool
        assert (line["channel"], line["store_id"]) in places  # never the return line
        key = (line["customer_id"], line["ordered_at"], line["channel"], line["store_id"])
        orders.setdefault(line["order_id"], set()).add(key)
    # every line of an order: one customer, time, channel and store; ids numbered by time
    assert all(len(keys) == 1 for keys in orders.values())
    assert [line["ordered_at"] for line in lines] == sorted(line["ordered_at"] for line in lines)
    assert set(Counter(line["order_id"] for line in lines).values()) == {1, 2, 3}


def test_same_seed_same_bytes(warehouse: Path, tmp_path: Path) -> None:
    first = write_demo_responses(warehouse, tmp_path / "a", lift=0.15, seed=9).path.read_bytes()
    again = write_demo_responses(warehouse, tmp_path / "b", lift=0.15, seed=9).path.read_bytes()
    other = write_demo_responses(warehouse, tmp_path / "c", lift=0.15, seed=10).path.read_bytes()
    assert first == again
    assert first != other


@pytest.mark.parametrize("lift", [0.15, 0.0])
def test_effects_interval_contains_the_planted_lift(
    warehouse: Path, tmp_path: Path, lift: float
) -> None:
    """The statistics the pipeline runs (experiments/effects.py) on the generated purchases."""
    lines = _read(write_demo_responses(warehouse, tmp_path, lift=lift, seed=1).path)
    buyers = {line["customer_id"] for line in lines}
    members = pd.DataFrame(
        [
            ("win_back-v1", "win_back", AS_OF, c, held, c in buyers, 0.0)
            for c, held in _ledger(warehouse).items()
        ],
        columns=list(MEMBER_COLUMNS),
    )
    [cohort] = (
        action_effects(members, holdout_share=0.5, window_days=30)
        .query("scope == 'cohort'")
        .itertuples()
    )
    assert cohort.lift_ci_low <= lift <= cohort.lift_ci_high
    assert cohort.lift_ci_high - cohort.lift_ci_low < 0.03  # 10,000 a side: 1.96 x 0.0062 = +-0.012


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"experiments": False}, "has no experiment cohort"),
        ({"later_order": True}, "1 order lines after the cohort's as_of 2026-06-30"),
    ],
)
def test_refused_warehouses(tmp_path: Path, kwargs: dict[str, bool], message: str) -> None:
    warehouse = _warehouse(tmp_path / "w.duckdb", **kwargs)
    with pytest.raises(ResponsesError, match=message):
        write_demo_responses(warehouse, tmp_path / "sources", lift=0.1)
    assert not (tmp_path / "sources").exists()


def test_refused_rates(warehouse: Path, tmp_path: Path) -> None:
    with pytest.raises(ResponsesError, match=r"must be within 0\.\.1"):
        write_demo_responses(warehouse, tmp_path, lift=0.9, base_rate=0.2)


def test_cli_exit_2_in_one_line(
    warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    (tmp_path / "sources").mkdir()
    argv = ["demo-responses", "--sources", str(tmp_path / "sources"), "--lift", "0.1"]
    assert main([*argv, "--warehouse", str(empty)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "has no marts.action_ledger" in err
    (tmp_path / "sources" / "orders").write_text("not a folder", encoding="utf-8")
    assert main([*argv, "--warehouse", str(warehouse)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: cannot write ")
