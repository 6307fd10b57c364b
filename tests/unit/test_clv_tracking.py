"""The expected half of the backtest's tracking plot (orchestration/clv_tracking.py): the
weekly calendar and the cohort's expected cumulative repeat purchases, against formulas written
out here customer by customer."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from itertools import pairwise

import numpy as np
import pytest
from scipy.special import hyp2f1

from customer_tiers import btyd
from customer_tiers.orchestration import clv_tracking
from customer_tiers.orchestration.clv_backtest import run_backtest
from tests.unit.test_clv_backtest import _clv, _simulated, _window

BG = {"r": 0.45, "alpha": 24.0, "a": 0.9, "b": 6.0}


def _fit(model: str, params: dict[str, float]) -> btyd.FitResult:
    return btyd.FitResult(model, params, 0.0, 1.0, True, "", 0, None, param_names=tuple(params))


def _bgnbd_new(t: float) -> float:
    """FHL (2005) eq. 7, written out: E[X(t)] of a customer just acquired."""
    r, alpha, a, b = BG["r"], BG["alpha"], BG["a"], BG["b"]
    if t <= 0:
        return 0.0
    z = t / (alpha + t)
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z))


def test_expected_curve_is_the_sum_over_customers_of_their_own_expectation() -> None:
    # three customers: first purchases 20, 9 and 0 days before the calibration end (2026-03-10);
    # holdout 10 days to 2026-03-20. Weeks end 14 and 7 days before, on the calibration end,
    # then 7 and 10 days after it.
    calibration_end, holdout = date(2026, 3, 10), 10
    t = np.array([20.0, 9.0, 0.0])
    table = clv_tracking.tracking_table(
        _fit("BG/NBD", BG), "bg_nbd", t, calibration_end + timedelta(holdout), calibration_end, 10
    ).to_pylist()
    ends = [-14, -7, 0, 7, 10]
    assert [row["week_end"] for row in table] == [calibration_end + timedelta(e) for e in ends]
    assert [row["week_start"] for row in table] == [
        calibration_end + timedelta(e) for e in (-20, -13, -6, 1, 8)
    ]
    assert [row["period"] for row in table] == ["calibration"] * 3 + ["holdout"] * 2
    assert [row["week_index"] for row in table] == list(range(5))
    # each customer's age at a week's end is T + e; before their first purchase they add 0
    direct = [sum(_bgnbd_new(ti + e) for ti in t) for e in ends]
    got = [row["expected_cumulative_repeat_purchases"] for row in table]
    assert got == pytest.approx(direct, rel=1e-9)
    # the first week: only the first customer, 6 days after their first purchase
    assert got[0] == pytest.approx(_bgnbd_new(6.0), rel=1e-9) and got[0] > 0


def test_customers_sharing_a_first_purchase_day_count_once_each() -> None:
    fit = _fit("BG/NBD", BG)
    ends = clv_tracking.week_ends(30, 20)
    one = clv_tracking.expected_cumulative(fit, np.array([30.0, 12.0]), ends)
    three = clv_tracking.expected_cumulative(fit, np.array([30.0, 12.0, 12.0, 30.0]), ends)
    assert three == pytest.approx(2 * one, rel=1e-12)


@pytest.mark.parametrize(
    ("model", "params", "formula"),
    [
        (
            "MBG/NBD",
            {"r": 0.52, "alpha": 6.2, "a": 0.89, "b": 1.61},
            # Batislam et al. (2007): b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; z)]
            lambda p, t: (
                p["b"]
                / (p["a"] - 1)
                * (
                    1
                    - (p["alpha"] / (p["alpha"] + t)) ** p["r"]
                    * hyp2f1(p["r"], p["b"] + 1, p["a"] + p["b"], t / (p["alpha"] + t))
                )
            ),
        ),
        (
            "Pareto/NBD",
            {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7},
            # SMC (1987): r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)]
            lambda p, t: (
                p["r"]
                * p["beta"]
                / (p["alpha"] * (p["s"] - 1))
                * (1 - (p["beta"] / (p["beta"] + t)) ** (p["s"] - 1))
            ),
        ),
        ("BG/NBD", BG, lambda p, t: _bgnbd_new(t)),
    ],
)
def test_expected_new_is_the_published_formula(
    model: str, params: dict[str, float], formula: Callable[[dict[str, float], float], float]
) -> None:
    t = np.array([1.0, 30.0, 200.0, 700.0])
    direct = [formula(params, ti) for ti in t]
    assert clv_tracking.expected_new(_fit(model, params), t) == pytest.approx(direct, rel=1e-9)


def test_backtest_writes_the_tracking_table_or_an_empty_one_when_skipped() -> None:
    data = _simulated(300, 180.0, seed=11)
    backtest = run_backtest(data, _window(180), _clv(), "bg_nbd")
    rows = backtest.tracking.to_pylist()
    calibration_end = date(2026, 6, 30) - timedelta(180)
    last_calibration = [r for r in rows if r["period"] == "calibration"][-1]
    assert last_calibration["week_end"] == calibration_end
    assert rows[-1]["week_end"] == date(2026, 6, 30)
    assert {r["model"] for r in rows} == {"bg_nbd"}
    # at the calibration end: every customer's E[X(T)] under the backtest's own fit
    fit = backtest.fits["bg_nbd"]
    at_end = float(btyd.expected_purchases_new(fit, data["t"]).sum())
    value = last_calibration["expected_cumulative_repeat_purchases"]
    assert value == pytest.approx(at_end, rel=1e-9)
    curve = [r["expected_cumulative_repeat_purchases"] for r in rows]
    assert all(b >= a for a, b in pairwise(curve))

    skipped = run_backtest({"customer_id": np.array([])}, _window(20, "too short"), _clv(), "auto")
    assert skipped.tracking.num_rows == 0
    assert skipped.tracking.schema == clv_tracking.SCHEMA
