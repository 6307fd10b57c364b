"""Demo responses: the orders that follow an action plan, with a planted effect of the contact.

`write_demo_responses` reads a published warehouse's latest experiment cohort (the rows of
`marts.action_ledger` with an experiment, at its latest as_of) and writes the orders of the
measurement window (as_of, as_of + window_days] as one file in the orders landing folder,
`<sources>/orders/demo-responses_<first day>_<last day>.csv`. Each cohort member buys once in
the window with probability `base_rate` when held out and `base_rate + lift` when contacted, so
the next run at as_of + window_days measures the planted lift in `marts.action_effects`
(docs/experiments.md). Customers outside the cohort get no orders in the window.

Order lines are copies of purchase lines already in the warehouse (`staging.stg_shop__orders`:
product, quantity, amount, cost, channel, store), drawn alike for both groups, so the revenue
lift is about `lift` x the mean value of a generated order. Every draw comes from numpy's
Generator seeded with `seed`; nothing reads the clock: the same warehouse, lift, base rate and
seed give a byte-identical file.
"""

from __future__ import annotations

import contextlib
import csv
import os
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Final

import duckdb
import numpy as np
import pandas as pd

from customer_tiers.experiments.members import LEDGER_TABLE, ORDERS_TABLE, ledger_exists

__all__ = ["CohortCount", "DemoResponses", "ResponsesError", "write_demo_responses"]

ORDER_COLUMNS: Final = (
    "order_id",
    "customer_id",
    "ordered_at",
    "product_id",
    "quantity",
    "amount",
    "cost",
    "channel",
    "store_id",
)
_LINES_P: Final = (0.6, 0.3, 0.1)  # 1, 2 or 3 lines per generated order
_OPEN_S: Final = 9 * 3600  # orders are placed between 09:00 and 22:00
_CLOSE_S: Final = 22 * 3600


class ResponsesError(Exception):
    """The warehouse cannot give a cohort to respond to, or the file cannot be written."""


@dataclass(frozen=True)
class CohortCount:
    """One experiment action of the cohort: customers and generated buyers per group."""

    experiment_id: str
    action: str
    n_treatment: int
    n_control: int
    buyers_treatment: int
    buyers_control: int


@dataclass(frozen=True)
class DemoResponses:
    """What `write_demo_responses` wrote, and the analysis date that measures it."""

    path: Path
    as_of: date
    window_days: int
    lift: float
    base_rate: float
    seed: int
    cohorts: tuple[CohortCount, ...]
    order_lines: int

    @property
    def run_next(self) -> date:
        """The first as_of whose run measures this cohort: its window has ended."""
        return self.as_of + timedelta(days=self.window_days)


def write_demo_responses(
    warehouse: Path,
    sources: Path,
    *,
    lift: float,
    base_rate: float = 0.2,
    seed: int = 42,
    window_days: int = 30,
) -> DemoResponses:
    """Write the window's orders of the latest ledger cohort of `warehouse` into `sources`."""
    if not 0 <= base_rate <= 1 or not 0 <= base_rate + lift <= 1:
        raise ResponsesError(
            f"base rate {base_rate} and base rate + lift {base_rate + lift} must be within 0..1"
        )
    if seed < 0:
        raise ResponsesError(f"seed must be non-negative, got {seed}")
    if window_days < 1:
        raise ResponsesError(f"window_days must be at least 1, got {window_days}")
    rng = np.random.default_rng(seed)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        as_of, cohort = _latest_cohort(con, warehouse)
        _check_window_empty(con, as_of)
        pool_size = _purchase_line_count(con)
        rate = np.where(cohort["holdout"].to_numpy(bool), base_rate, base_rate + lift)
        cohort["bought"] = rng.random(len(cohort)) < rate
        buyers = cohort.loc[cohort["bought"], "customer_id"]
        draws = _draw_orders(rng, len(buyers), pool_size, window_days)
        picked = _purchase_lines_at(con, draws.picks)
    finally:
        con.close()
    lines = _order_lines(draws, buyers, picked, as_of)
    last = as_of + timedelta(days=window_days)
    path = Path(sources) / "orders" / f"demo-responses_{as_of + timedelta(days=1)}_{last}.csv"
    _write_csv(path, lines)
    return DemoResponses(
        path=path,
        as_of=as_of,
        window_days=window_days,
        lift=lift,
        base_rate=base_rate,
        seed=seed,
        cohorts=_counts(cohort),
        order_lines=len(lines),
    )


def _latest_cohort(con: duckdb.DuckDBPyConnection, warehouse: Path) -> tuple[date, pd.DataFrame]:
    """(as_of, one row per cohort member sorted by experiment, action and customer)."""
    if not ledger_exists(con):
        raise ResponsesError(f"{warehouse} has no {LEDGER_TABLE}: run `tiers run` on it first")
    cohort = con.execute(
        f"""
        select experiment_id, action, customer_id, holdout, as_of
        from {LEDGER_TABLE}
        where experiment_id is not null
            and as_of = (select max(as_of) from {LEDGER_TABLE} where experiment_id is not null)
        order by experiment_id, action, customer_id
        """
    ).df()
    if cohort.empty:
        raise ResponsesError(
            f"{warehouse} has no experiment cohort in {LEDGER_TABLE} (no win-back, reactivation "
            "or detractor follow-up in any run): nothing to respond to"
        )
    # One main action per customer and as_of (customer_actions), so a customer draws once.
    as_of = pd.Timestamp(cohort["as_of"].iloc[0]).date()
    return as_of, cohort.drop(columns="as_of").drop_duplicates("customer_id")


def _check_window_empty(con: duckdb.DuckDBPyConnection, as_of: date) -> None:
    """Orders already dated after as_of would mix with the planted ones: refuse them."""
    [(later, first)] = con.execute(
        f"select count(*), min(order_date) from {ORDERS_TABLE} where order_date > ?", [as_of]
    ).fetchall()
    if later:
        raise ResponsesError(
            f"the warehouse has {later} order lines after the cohort's as_of {as_of} (from "
            f"{first}); their purchases would mix with the planted ones: run `tiers run` as of "
            "the latest order first"
        )


# The purchase lines the generated orders copy products, prices and places from, in a fixed
# order; only the drawn ones leave DuckDB.
_PURCHASE_LINES = f"""
    select
        product_id, quantity, amount, cost, channel, store_id,
        row_number() over (
            order by ordered_at, order_id, product_id, amount, quantity, cost, channel, store_id
        ) - 1 as line_index
    from {ORDERS_TABLE}
    where product_id is not null and amount > 0 and coalesce(quantity, 1) > 0
"""


def _purchase_line_count(con: duckdb.DuckDBPyConnection) -> int:
    [(count,)] = con.execute(f"select count(*) from ({_PURCHASE_LINES})").fetchall()
    if count == 0:
        raise ResponsesError(f"{ORDERS_TABLE} has no purchase line to copy products from")
    return int(count)


def _purchase_lines_at(con: duckdb.DuckDBPyConnection, picks: np.ndarray) -> pd.DataFrame:
    """The purchase lines at positions `picks` of the fixed order, one row per pick."""
    wanted = sorted({int(i) for i in picks})
    found = con.execute(
        f"select * from ({_PURCHASE_LINES}) where line_index in (select unnest(?))", [wanted]
    ).df()
    return found.set_index("line_index").loc[picks].reset_index(drop=True)


@dataclass(frozen=True)
class _Draws:
    """The random part of the generated orders: per order its day, second and line count, and
    per line (in order of placement) the purchase line it copies."""

    day: np.ndarray
    second: np.ndarray
    count: np.ndarray
    picks: np.ndarray


def _draw_orders(rng: np.random.Generator, n: int, pool_size: int, window: int) -> _Draws:
    day = rng.integers(1, window + 1, n)
    second = rng.integers(_OPEN_S, _CLOSE_S, n)
    count = rng.choice(len(_LINES_P), size=n, p=_LINES_P) + 1
    picks = rng.integers(0, pool_size, int(count.sum()))
    return _Draws(day, second, count, picks)


def _order_lines(
    draws: _Draws, buyers: pd.Series, lines: pd.DataFrame, as_of: date
) -> pd.DataFrame:
    """One order per buyer, on a day of (as_of, as_of + window], of 1-3 lines copied from the
    drawn purchase lines."""
    n, count = len(buyers), draws.count
    offset = draws.day * 86_400 + draws.second
    # Numbered in the order of placement, so the file reads like a day-by-day export.
    order = np.argsort(offset, kind="stable")
    of_line = np.repeat(order, count[order])
    number = np.repeat(np.arange(1, n + 1), count[order])
    # An order is placed in one channel and store: its first line's.
    first = np.repeat(np.cumsum(count[order]) - count[order], count[order])
    start = datetime.combine(as_of, time())
    stamp = as_of.strftime("%Y%m%d")
    return pd.DataFrame(
        {
            "order_id": [f"R{stamp}-{k:06d}" for k in number],
            "customer_id": buyers.to_numpy()[of_line],
            "ordered_at": [
                (start + timedelta(seconds=int(offset[i]))).isoformat(sep=" ") for i in of_line
            ],
            "product_id": lines["product_id"],
            "quantity": [_number(v, "g") for v in lines["quantity"]],
            "amount": [_number(v, ".2f") for v in lines["amount"]],
            "cost": [_number(v, ".2f") for v in lines["cost"]],
            "channel": lines["channel"].to_numpy()[first],
            "store_id": lines["store_id"].to_numpy()[first],
        },
        columns=list(ORDER_COLUMNS),
    )


def _number(value: float, spec: str) -> str:
    """A number as the exports write it; empty when missing."""
    return "" if pd.isna(value) else format(value, spec)


def _write_csv(path: Path, lines: pd.DataFrame) -> None:
    """Written under a partial name (never loaded) and renamed whole into the landing folder."""
    partial = path.with_name(path.name + ".part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(ORDER_COLUMNS)
            writer.writerows(
                ["" if pd.isna(v) else v for v in row] for row in lines.itertuples(index=False)
            )
        os.replace(partial, path)
    except OSError as err:
        with contextlib.suppress(OSError):
            partial.unlink(missing_ok=True)
        raise ResponsesError(f"cannot write {path}: {err.strerror or err}") from err


def _counts(cohort: pd.DataFrame) -> tuple[CohortCount, ...]:
    counts = []
    for (experiment_id, action), group in cohort.groupby(["experiment_id", "action"], sort=True):
        held = group["holdout"].to_numpy(bool)
        bought = group["bought"].to_numpy(bool)
        counts.append(
            CohortCount(
                experiment_id=str(experiment_id),
                action=str(action),
                n_treatment=int((~held).sum()),
                n_control=int(held.sum()),
                buyers_treatment=int((bought & ~held).sum()),
                buyers_control=int((bought & held).sum()),
            )
        )
    return tuple(counts)
