"""The expected half of the backtest's tracking plot (docs/clv_backtest.md): the calibration
cohort's cumulative repeat purchases per week under the backtest's fit, E[X(t)] of each
customer since their first purchase, summed over customers (Fader, Hardie & Lee 2005, fig. 2).

The weeks end on the calibration end: week `n_cal - 1` is the one ending on it, the earlier ones
go back seven days at a time to the week holding the first purchase of the data, the later ones
go forward to as_of (the last one shorter when holdout_days is not a multiple of 7).
int_clv_tracking_counted builds the same weeks in SQL for the actual half; marts.clv_tracking
joins the two on week_index and week_end.

A customer whose first purchase was T days before the calibration end has made, by the end of
the week ending e days after the calibration end (e < 0 in calibration), E[X(T + e)] repeat
purchases in expectation (0 before their first purchase). Customers are grouped by T (their
first purchase day), so the cost is weeks x distinct first-purchase days, never per customer.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from customer_tiers import btyd

SCHEMA = pa.schema(
    [
        ("as_of", pa.date32()),
        ("calibration_end", pa.date32()),
        ("model", pa.string()),
        ("week_index", pa.int32()),
        ("week_start", pa.date32()),
        ("week_end", pa.date32()),
        ("period", pa.string()),
        ("expected_cumulative_repeat_purchases", pa.float64()),
    ]
)


def empty() -> pa.Table:
    """No backtest, no weeks: the table with its columns (the mart stays empty)."""
    return SCHEMA.empty_table()


def expected_new(fit: btyd.FitResult, t: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """E[X(t)]: expected repeat purchases in the first `t` days after a customer's first purchase.

    The model's conditional expectation at x = t_x = T = 0 (a customer observed at their first
    purchase), which is its unconditional E[X(t)]: FHL (2005) eq. 7 for BG/NBD; for MBG/NBD
    b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))] (Batislam et al. 2007: a
    customer may drop out at the first purchase, P(alive at 0) = b/(a+b)); for Pareto/NBD
    r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)] (SMC 1987). 0 (never -0.0) at t = 0.
    """
    ts = np.asarray(t, dtype=np.float64)
    zero = np.zeros_like(ts)
    expected = btyd.model_expected_purchases(fit, ts, zero, zero, zero)
    return np.where(ts > 0, expected, 0.0)


def week_ends(longest_t: int, holdout_days: int) -> npt.NDArray[np.int64]:
    """Each week's last day in days after the calibration end (<= 0: calibration weeks)."""
    calibration = np.arange(-7 * (longest_t // 7), 1, 7, dtype=np.int64)
    holdout = np.minimum(np.arange(7, holdout_days + 7, 7, dtype=np.int64), holdout_days)
    return np.concatenate([calibration, holdout])


def expected_cumulative(
    fit: btyd.FitResult, t: npt.ArrayLike, ends: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """Sum over customers of E[X(T_i + e)] for each week end e (clipped at 0), customers
    grouped by T, E[X] evaluated once per distinct age."""
    cohorts, counts = np.unique(np.asarray(t, dtype=np.float64), return_counts=True)
    ages = np.maximum(cohorts[None, :] + np.asarray(ends, dtype=np.float64)[:, None], 0.0)
    distinct, where = np.unique(ages, return_inverse=True)
    per_customer = expected_new(fit, distinct)[where.reshape(ages.shape)]
    return np.asarray(per_customer @ counts.astype(np.float64), dtype=np.float64)


def tracking_table(
    fit: btyd.FitResult,
    model: str,
    t: npt.ArrayLike,
    as_of: date,
    calibration_end: date,
    holdout_days: int,
) -> pa.Table:
    """One row per week: the calibration cohort's expected cumulative repeat purchases.

    `t` is every calibration customer's days from the first purchase to the calibration end
    (int_customers_backtest_summarized.t); `fit` the backtest's fit of the model in use.
    """
    ts = np.asarray(t, dtype=np.float64)
    if len(ts) == 0:
        return empty()
    ends = week_ends(int(ts.max()), holdout_days)
    expected = expected_cumulative(fit, ts, ends)
    # each week starts the day after the one before ends; the first is seven days long
    starts = np.concatenate([ends[:1] - 6, ends[:-1] + 1])
    rows = []
    for index, (start, end, value) in enumerate(
        zip(starts.tolist(), ends.tolist(), expected.tolist(), strict=True)
    ):
        rows.append(
            {
                "as_of": as_of,
                "calibration_end": calibration_end,
                "model": model,
                "week_index": index,
                "week_start": calibration_end + timedelta(days=start),
                "week_end": calibration_end + timedelta(days=end),
                "period": "calibration" if end <= 0 else "holdout",
                "expected_cumulative_repeat_purchases": value,
            }
        )
    return pa.Table.from_pylist(rows, schema=SCHEMA)
