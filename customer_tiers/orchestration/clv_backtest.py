"""The CLV backtest of every run (docs/clv_backtest.md): refit as of the calibration end, predict
the holdout (the days after it up to as_of), compare with what customers did.

The candidate purchase models (BG/NBD, MBG/NBD, Pareto/NBD) and Gamma-Gamma are fitted on a
fixed-seed sample of at most `clv.backtest.sample_customers` calibration customers, so the cost
is bounded at any size; their holdout log-likelihood on that sample picks the model under
`clv.model: auto`. The model in use then predicts every calibration customer; the 80%
predictive interval's coverage is measured on a fixed-seed sample of COVERAGE_SAMPLE customers
(its value bounds cost about a millisecond per customer).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
from scipy.stats import spearmanr

from customer_tiers import btyd
from customer_tiers.orchestration import clv_tracking
from customer_tiers.orchestration.config import ClvConfig

MODELS: dict[str, Callable[..., btyd.FitResult]] = {
    "bg_nbd": btyd.fit_bgnbd,
    "mbg_nbd": btyd.fit_mbgnbd,
    "pareto_nbd": btyd.fit_pareto_nbd,
}
SEED = 19  # the samples depend on the customers (ordered by id) and nothing else
COVERAGE_SAMPLE = 2000
FREQUENCY_BUCKETS = 7  # calibration frequency 0..6, then 7+

BACKTEST_SQL = (
    "select customer_id, frequency, recency, t, monetary, holdout_purchase_days, "
    "holdout_revenue, calibration_orders, calibration_revenue "
    "from intermediate.int_customers_backtest_summarized order by customer_id"
)
WINDOW_SQL = (
    "select as_of, holdout_days, configured_holdout_days, history_days, skipped_reason "
    "from intermediate.int_clv_backtest_windowed"
)

SCHEMA = pa.schema(
    [
        ("as_of", pa.date32()),
        ("calibration_end", pa.date32()),
        ("holdout_days", pa.int32()),
        ("model", pa.string()),
        ("section", pa.string()),
        ("label", pa.string()),
        ("customers", pa.int64()),
        ("actual_purchases", pa.float64()),
        ("predicted_purchases", pa.float64()),
        ("actual_revenue", pa.float64()),
        ("predicted_revenue", pa.float64()),
        ("mean_p_alive", pa.float64()),
        ("predicted_share_buying", pa.float64()),
        ("observed_share_buying", pa.float64()),
        ("value", pa.float64()),
        ("note", pa.string()),
    ]
)


@dataclass(frozen=True)
class Backtest:
    """The backtest's table (marts.clv_backtest), the model comparison, the band warning and
    the expected half of the tracking plot (predictions.clv_tracking; empty when skipped)."""

    table: pa.Table
    holdout_log_likelihood: dict[str, float] = field(default_factory=dict)
    best_model: str | None = None  # the best holdout log-likelihood; None when skipped
    skipped: str = ""  # why there is no backtest; "" when there is one
    out_of_band: str = ""  # the band warning; "" when predicted / actual is within it
    fits: dict[str, btyd.FitResult] = field(default_factory=dict)  # on the calibration sample
    tracking: pa.Table = field(default_factory=clv_tracking.empty)


def run_backtest(
    data: Mapping[str, np.ndarray], window: Mapping[str, Any], clv: ClvConfig, requested: str
) -> Backtest:
    """The backtest on BACKTEST_SQL's arrays and WINDOW_SQL's row; `requested` is clv.model."""
    base = {
        "as_of": window["as_of"],
        "calibration_end": _calibration_end(window),
        "holdout_days": int(window["holdout_days"]),
    }
    if window["skipped_reason"]:
        return _skipped(base, f"backtest skipped: {window['skipped_reason']}")
    n = len(data["customer_id"])
    if n == 0:
        return _skipped(base, "backtest skipped: no customer bought before the calibration end")
    x, t_x, t, m, y, revenue = (
        np.asarray(data[c], dtype=np.float64)
        for c in (
            "frequency",
            "recency",
            "t",
            "monetary",
            "holdout_purchase_days",
            "holdout_revenue",
        )
    )
    horizon = float(base["holdout_days"])
    sample = _sample(n, clv.backtest.sample_customers)
    fits, lls, notes = {}, {}, {}
    for name, fit_model in MODELS.items():
        try:
            fit = fit_model(x[sample], t_x[sample], t[sample])
        except btyd.FitError as err:
            notes[name] = str(err)
            continue
        fits[name] = fit
        lls[name] = float(
            btyd.holdout_log_likelihood(
                fit, horizon, x[sample], t_x[sample], t[sample], y[sample]
            ).sum()
        )
    try:
        gg = btyd.fit_gamma_gamma(x[sample], m[sample])
    except btyd.FitError as err:
        return _skipped(base, f"backtest skipped: {err}", lls, None, fits)
    best = max(lls, key=lambda k: lls[k]) if lls else None
    in_use = best if requested == "auto" else requested
    if in_use is None or in_use not in fits:
        why = notes.get(in_use or "", "no purchase model could be fitted")
        return _skipped(base, f"backtest skipped: {why}", lls, best, fits)
    fit = fits[in_use]
    base["model"] = in_use
    expected = btyd.model_expected_purchases(fit, horizon, x, t_x, t)
    pred_revenue = expected * btyd.expected_avg_value(gg, x, m)
    alive = btyd.model_p_alive(fit, x, t_x, t)
    buying = btyd.prob_purchase_within(fit, horizon, x, t_x, t)
    rows = [
        _group(base, "overall", "all customers", y, expected, revenue, pred_revenue, alive, buying)
    ]
    decile = _deciles(pred_revenue)
    for d in range(1, 11):
        at = decile == d
        rows.append(
            _group(
                base,
                "decile",
                str(d),
                y[at],
                expected[at],
                revenue[at],
                pred_revenue[at],
                alive[at],
                buying[at],
            )
        )
    band = np.minimum(np.floor(alive * 10.0), 9).astype(int)
    for b in range(10):
        at = band == b
        label = f"{b / 10:.1f}-{(b + 1) / 10:.1f}"
        rows.append(
            _group(
                base,
                "p_alive_band",
                label,
                y[at],
                expected[at],
                revenue[at],
                pred_revenue[at],
                alive[at],
                buying[at],
            )
        )
    bucket = np.minimum(x, FREQUENCY_BUCKETS).astype(int)
    for f in range(FREQUENCY_BUCKETS + 1):
        at = bucket == f
        label = f"{f}+" if f == FREQUENCY_BUCKETS else str(f)
        rows.append(
            _group(
                base,
                "frequency",
                label,
                y[at],
                expected[at],
                revenue[at],
                pred_revenue[at],
                alive[at],
                buying[at],
            )
        )
    metrics = _metrics(fit, gg, data, clv, horizon, expected, pred_revenue, decile)
    rows += [
        _row(base, "metric", name, value=value, customers=n) for name, value in metrics.items()
    ]
    for name in MODELS:
        rows.append(
            _row(
                base,
                "model",
                name,
                customers=len(sample),
                value=lls.get(name),
                note=("in use" if name == in_use else "") if name in lls else notes[name],
            )
        )
    warning = _band_warning(metrics, clv)
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    tracking = clv_tracking.tracking_table(
        fit, in_use, t, base["as_of"], base["calibration_end"], base["holdout_days"]
    )
    return Backtest(table, lls, best, "", warning, {**fits, "gamma_gamma": gg}, tracking)


def _calibration_end(window: Mapping[str, Any]) -> Any:
    from datetime import timedelta

    return window["as_of"] - timedelta(days=int(window["holdout_days"]))


def _sample(n: int, size: int) -> np.ndarray:
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(SEED).choice(n, size=size, replace=False))


def _skipped(
    base: dict[str, Any],
    reason: str,
    lls: dict[str, float] | None = None,
    best: str | None = None,
    fits: dict[str, btyd.FitResult] | None = None,
) -> Backtest:
    table = pa.Table.from_pylist([_row(base, "skipped", "backtest", note=reason)], schema=SCHEMA)
    return Backtest(table, lls or {}, best, reason, "", fits or {})


def _row(base: dict[str, Any], section: str, label: str, **values: Any) -> dict[str, Any]:
    return {**base, "section": section, "label": label, **values}


def _group(
    base: dict[str, Any],
    section: str,
    label: str,
    y: np.ndarray,
    expected: np.ndarray,
    revenue: np.ndarray,
    pred_revenue: np.ndarray,
    alive: np.ndarray,
    buying: np.ndarray,
) -> dict[str, Any]:
    empty = len(y) == 0
    return _row(
        base,
        section,
        label,
        customers=len(y),
        actual_purchases=float(y.sum()),
        predicted_purchases=float(expected.sum()),
        actual_revenue=float(revenue.sum()),
        predicted_revenue=float(pred_revenue.sum()),
        mean_p_alive=None if empty else float(alive.mean()),
        predicted_share_buying=None if empty else float(buying.mean()),
        observed_share_buying=None if empty else float((y > 0).mean()),
    )


def _deciles(predicted: np.ndarray) -> np.ndarray:
    """1 = the tenth with the highest predicted value (ties in customer order), 10 the lowest."""
    order = np.argsort(-predicted, kind="stable")
    decile = np.empty(len(predicted), dtype=int)
    decile[order] = np.arange(len(predicted)) * 10 // len(predicted) + 1
    return decile


def normalized_gini(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Gini of the actual values ranked by prediction over the Gini of the perfect ranking:
    1 ranks as well as the outcome itself, 0 no better than chance."""

    def gini(by: np.ndarray) -> float:
        order = np.argsort(-by, kind="stable")
        cumulative = np.cumsum(actual[order]) / actual.sum()
        n = len(actual)
        return float(cumulative.sum() / n - (n + 1) / (2 * n))

    if len(actual) < 2 or actual.sum() == 0:
        return float("nan")
    return gini(predicted) / gini(actual)


def _metrics(
    fit: btyd.FitResult,
    gg: btyd.FitResult,
    data: Mapping[str, np.ndarray],
    clv: ClvConfig,
    horizon: float,
    expected: np.ndarray,
    pred_revenue: np.ndarray,
    decile: np.ndarray,
) -> dict[str, float]:
    x, t_x, t, m, y, revenue, orders, cal_revenue = (
        np.asarray(data[c], dtype=np.float64)
        for c in (
            "frequency",
            "recency",
            "t",
            "monetary",
            "holdout_purchase_days",
            "holdout_revenue",
            "calibration_orders",
            "calibration_revenue",
        )
    )
    predicted_clv = btyd.model_predicted_clv(
        fit, gg, x, t_x, t, m, clv.horizon_days, clv.monthly_discount_rate, interval=False
    ).clv
    # customer_clv's historical_clv as of the calibration end (the tenure rule included)
    per_year = np.where(orders > 0, orders, 0.0) * 365.25 / np.maximum(t, clv.min_tenure_days)
    aov = np.where(orders > 0, cal_revenue / np.maximum(orders, 1.0), 0.0)
    historical = aov * per_year * clv.lifespan_years
    sample = _sample(len(x), COVERAGE_SAMPLE)
    band = btyd.predictive_interval(fit, horizon, x[sample], t_x[sample], t[sample], gg, m[sample])
    ys, rs = y[sample], revenue[sample]
    total_revenue = revenue.sum()
    return {
        "ratio_predicted_actual_purchases": _ratio(expected.sum(), y.sum()),
        "ratio_predicted_actual_revenue": _ratio(pred_revenue.sum(), total_revenue),
        "mae_purchases": float(np.abs(expected - y).mean()),
        "mae_revenue": float(np.abs(pred_revenue - revenue).mean()),
        "top_decile_revenue_share": _ratio(revenue[decile == 1].sum(), total_revenue),
        "normalized_gini": normalized_gini(revenue, pred_revenue),
        "purchases_interval_coverage_80": float(
            (
                (ys >= band.predictive_purchases_low_80) & (ys <= band.predictive_purchases_high_80)
            ).mean()
        ),
        "purchases_interval_content_80": float(band.purchases_content_80.mean()),
        "value_interval_coverage_80": float(
            ((rs >= band.predictive_value_low_80) & (rs <= band.predictive_value_high_80)).mean()
        ),
        "coverage_sample_customers": float(len(sample)),
        "rank_correlation_predicted_clv": float(spearmanr(predicted_clv, revenue).statistic),
        "rank_correlation_historical_clv": float(spearmanr(historical, revenue).statistic),
    }


def _ratio(predicted: float, actual: float) -> float:
    return float(predicted / actual) if actual > 0 else float("nan")


def _band_warning(metrics: dict[str, float], clv: ClvConfig) -> str:
    low, high = clv.backtest.ratio_low, clv.backtest.ratio_high
    out = [
        f"predicted / actual {what} in the holdout is {metrics[key]:.3f}, outside [{low}, {high}]"
        for what, key in (
            ("repeat purchases", "ratio_predicted_actual_purchases"),
            ("revenue", "ratio_predicted_actual_revenue"),
        )
        if np.isfinite(metrics[key]) and not low <= metrics[key] <= high
    ]
    return "; ".join(out)
