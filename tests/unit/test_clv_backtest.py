"""The CLV backtest's pieces (orchestration/clv_backtest.py, btyd/model_clv.py) on hand-worked
cases and data simulated from known parameters."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from customer_tiers import btyd
from customer_tiers.btyd.simulate import simulate_bgnbd
from customer_tiers.orchestration.clv_backtest import normalized_gini, run_backtest
from customer_tiers.orchestration.clv_fit import choose_model
from customer_tiers.orchestration.config import ClvBacktestConfig, ClvConfig

BG = {"r": 0.45, "alpha": 24.0, "a": 0.9, "b": 6.0}


def _fit(params: dict[str, float]) -> btyd.FitResult:
    return btyd.FitResult("BG/NBD", params, 0.0, 1.0, True, "", 0, None, param_names=tuple(params))


def test_holdout_log_likelihood_of_no_purchase_is_the_direct_formula() -> None:
    # P(Y = 0) = 1 - P(alive) + P(alive) (alpha'/(alpha'+h))^(r') with r' = r+x, alpha' = alpha+T
    x, t_x, T, h = np.array([0.0, 3.0]), np.array([0.0, 100.0]), np.array([200.0, 300.0]), 90.0
    fit = _fit(BG)
    alive = btyd.p_alive(fit, x, t_x, T)
    direct = 1 - alive + alive * ((BG["alpha"] + T) / (BG["alpha"] + T + h)) ** (BG["r"] + x)
    got = btyd.holdout_log_likelihood(fit, h, x, t_x, T, np.zeros(2))
    np.testing.assert_allclose(np.exp(got), direct, rtol=1e-10)


def test_holdout_probabilities_sum_to_one() -> None:
    fit = _fit(BG)
    ks = np.arange(0.0, 200.0)
    one = np.ones_like(ks)
    probs = np.exp(btyd.holdout_log_likelihood(fit, 180.0, 5 * one, 250 * one, 300 * one, ks))
    assert probs.sum() == pytest.approx(1.0, abs=1e-5)


def test_normalized_gini_worked_by_hand() -> None:
    actual = np.array([1.0, 2.0, 3.0, 4.0])
    assert normalized_gini(actual, actual) == pytest.approx(1.0)
    assert normalized_gini(actual, -actual) == pytest.approx(-1.0)
    # ranking 2, 4, 1, 3: cumulative shares .2 .6 .7 1 -> (2.5/4 - 5/8) / (3/4 - 5/8) = 0
    assert normalized_gini(actual, np.array([2.0, 4.0, 1.0, 3.0])) == pytest.approx(0.0)


def _clv(**backtest: object) -> ClvConfig:
    return ClvConfig(
        horizon_days=365,
        monthly_discount_rate=0.01,
        interval=0.8,
        lifespan_years=3,
        backtest=ClvBacktestConfig(**backtest),  # type: ignore[arg-type]
    )


def _window(holdout: int, reason: str | None = None) -> dict[str, object]:
    return {"as_of": date(2026, 6, 30), "holdout_days": holdout, "skipped_reason": reason}


def _simulated(n: int, holdout: float, seed: int) -> dict[str, np.ndarray]:
    """Calibration simulated under BG (BG/NBD), holdout counts drawn from the model's exact
    predictive distribution given each customer's calibration."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(30.0, 700.0, n)
    x, t_x = simulate_bgnbd(BG, T, rng)
    fit = _fit(BG)
    # holdout counts drawn from the model's own predictive distribution (its exact pmf)
    ks = np.arange(0.0, 60.0)
    y = np.empty(n)
    for i in range(n):
        one = np.ones_like(ks)
        pmf = np.exp(
            btyd.holdout_log_likelihood(fit, holdout, x[i] * one, t_x[i] * one, T[i] * one, ks)
        )
        y[i] = rng.choice(ks, p=pmf / pmf.sum())
    m = np.where(x > 0, rng.gamma(4.0, 40.0, n), 0.0)
    return {
        "customer_id": np.arange(n),
        "frequency": x,
        "recency": np.round(t_x),
        "t": np.round(T),
        "monetary": m,
        "holdout_purchase_days": y,
        "holdout_revenue": y * np.where(m > 0, m, 160.0),
        "calibration_orders": x + 1,
        "calibration_revenue": (x + 1) * np.where(m > 0, m, 160.0),
    }


def test_backtest_on_data_from_the_model_covers_and_is_calibrated() -> None:
    data = _simulated(1500, 180.0, seed=3)
    backtest = run_backtest(data, _window(180), _clv(), "bg_nbd")
    rows = backtest.table.to_pylist()
    metric = {r["label"]: r["value"] for r in rows if r["section"] == "metric"}
    # holdout counts drawn from the model: predicted / actual near 1, coverage at least 80%
    assert 0.85 < metric["ratio_predicted_actual_purchases"] < 1.15
    assert metric["purchases_interval_coverage_80"] == pytest.approx(
        metric["purchases_interval_content_80"], abs=0.04
    )
    assert metric["purchases_interval_coverage_80"] >= 0.76
    overall = next(r for r in rows if r["section"] == "overall")
    deciles = [r for r in rows if r["section"] == "decile"]
    assert sum(r["customers"] for r in deciles) == overall["customers"] == 1500
    assert [r["label"] for r in deciles] == [str(d) for d in range(1, 11)]
    assert backtest.best_model == max(
        backtest.holdout_log_likelihood, key=backtest.holdout_log_likelihood.__getitem__
    )


def test_band_warns_outside_the_configured_ratio() -> None:
    data = _simulated(400, 180.0, seed=5)
    narrow = run_backtest(data, _window(180), _clv(ratio_low=0.1, ratio_high=0.2), "bg_nbd")
    assert "outside [0.1, 0.2]" in narrow.out_of_band
    assert run_backtest(data, _window(180), _clv(), "bg_nbd").out_of_band == ""


def test_skipped_backtest_states_why_and_auto_falls_back_to_bg_nbd() -> None:
    reason = "the purchase history spans 40 days"
    backtest = run_backtest({"customer_id": np.array([])}, _window(20, reason), _clv(), "auto")
    [row] = backtest.table.to_pylist()
    assert row["section"] == "skipped" and reason in row["note"]
    assert choose_model("auto", backtest)[0] == "bg_nbd"
    assert choose_model("pareto_nbd", backtest)[0] == "pareto_nbd"
