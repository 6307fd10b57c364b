"""The CLV model fits of one run, whatever engine built the summary they start from.

Both engines read the same per-customer repeat-purchase summaries (SUMMARY_SQL as of as_of,
clv_backtest.BACKTEST_SQL as of the backtest's calibration end: a few numbers per customer,
never the order lines). `fit_clv` runs the backtest (clv_backtest.py), takes the purchase model
of `clv.model` (auto: the backtest's best holdout log-likelihood; BG/NBD when the backtest is
skipped), fits it and Gamma-Gamma as of as_of and returns the tables dbt reads as sources
`predictions.*`: per-customer predictions, every fitted model's parameters, the holdout
comparison and the backtest. The Dagster asset (orchestration/defs/predict.py) hands them to
the run's engine, which writes them as tables of the DuckDB work copy (orchestration/engine.py)
or as Parquet-backed Spark tables (orchestration/engine_spark.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from scipy.stats import norm

from customer_tiers import btyd
from customer_tiers.orchestration.clv_backtest import MODELS, Backtest
from customer_tiers.orchestration.config import ClvConfig

CONTRACT_HORIZON_DAYS = 365  # the contract's *_365d columns
NEXT_PURCHASE_WINDOWS = (30.0, 60.0, 90.0)
MAX_WAIT_DAYS = 36525  # a median wait beyond a century is shown as a century (a valid date)
FALLBACK_MODEL = "bg_nbd"  # auto without a backtest
NO_CUSTOMERS = "no customer has a purchase on or before the analysis date"

# Portable SQL (DuckDB and Spark): the summary the models are fitted on, by customer_id.
SUMMARY_SQL = (
    "select s.customer_id, s.frequency, s.recency, s.t, s.monetary, "
    "coalesce(h.holdout_purchase_days, 0) as holdout_purchase_days, h.holdout_days "
    "from intermediate.int_customers_btyd_summarized as s "
    "left join intermediate.int_customers_holdout_summarized as h using (customer_id) "
    "order by s.customer_id"
)
AS_OF_SQL = "select as_of from intermediate.int_as_of_resolved"

PARAMS_SCHEMA = pa.schema(
    [
        ("as_of", pa.date32()),
        ("model", pa.string()),
        ("parameter", pa.string()),
        ("value", pa.float64()),
        ("std_error", pa.float64()),
        ("log_likelihood", pa.float64()),
        ("customers", pa.int64()),
        ("excluded", pa.int64()),
        ("horizon_days", pa.int32()),
        ("monthly_discount_rate", pa.float64()),
        ("fitted_on", pa.string()),
        ("holdout_log_likelihood", pa.float64()),
        ("in_use", pa.bool_()),
    ]
)


@dataclass(frozen=True)
class ClvFit:
    """One run's fits: the tables for schema `predictions` and what to report about them."""

    predictions: pa.Table  # predictions.customer_clv
    params: pa.Table  # predictions.clv_model_params (PARAMS_SCHEMA; empty without a fit)
    param_rows: list[dict[str, Any]]
    holdout: pa.Table  # predictions.clv_holdout
    bg: btyd.FitResult | None  # the purchase model in use (BG/NBD, MBG/NBD or Pareto/NBD)
    gg: btyd.FitResult | None
    problem: str  # why the models could not be fitted; "" when they were
    backtest: Backtest
    model: str  # the configuration key of the model in use (bg_nbd, mbg_nbd, pareto_nbd)
    choice: str  # why that model

    @property
    def fitted(self) -> bool:
        return self.bg is not None and self.gg is not None

    def describe(self) -> str:
        """One log line: the model in use and its parameters, or why there are none."""
        if self.bg is None or self.gg is None:
            return (
                "the CLV models could not be fitted; predicted columns are left empty: "
                + self.problem
            )
        fit, gg = self.bg.params, self.gg.params
        named = " ".join(f"{k}={v:.4g}" for k, v in fit.items())
        return (
            f"{self.bg.model} {named} (model {self.model}, {self.chosen_by()}); "
            f"Gamma-Gamma p={gg['p']:.4g} q={gg['q']:.4g} v={gg['v']:.4g} "
            f"({int(self.gg.excluded):,} repeat customers left out of it)"
        )

    def chosen_by(self) -> str:
        return self.choice


def choose_model(requested: str, backtest: Backtest) -> tuple[str, str]:
    """The model in use and why: the configured one, else the backtest's best holdout
    log-likelihood, else BG/NBD (no backtest, so nothing to choose by)."""
    if requested != "auto":
        return requested, "configured"
    if backtest.best_model is None:
        return FALLBACK_MODEL, f"auto without a backtest ({backtest.skipped or 'no model fit'})"
    lls = ", ".join(f"{k} {v:.1f}" for k, v in backtest.holdout_log_likelihood.items())
    return backtest.best_model, f"auto: best holdout log-likelihood ({lls})"


def fit_clv(
    data: Mapping[str, np.ndarray], as_of: Any, clv: ClvConfig, backtest: Backtest
) -> ClvFit:
    """Fit the model in use and Gamma-Gamma on the summary (SUMMARY_SQL's columns as arrays)
    and predict; `backtest` (clv_backtest.run_backtest) chooses the model under auto.

    When a fit does not converge the predicted columns are empty, never invented: only the
    observed rhythm is kept for the churn rules, and `problem` says why."""
    if len(data["customer_id"]) == 0:
        raise ValueError(NO_CUSTOMERS)
    model, choice = choose_model(clv.model, backtest)
    x, t_x, t, m = (data[c].astype(np.float64) for c in ("frequency", "recency", "t", "monetary"))
    fit, fit_problem = _fit(lambda: MODELS[model](x, t_x, t))
    gg, gg_problem = _fit(lambda: btyd.fit_gamma_gamma(x, m))
    problem = "; ".join(p for p in (fit_problem, gg_problem) if p)
    rows = _backtest_rows(backtest, as_of, clv, model)
    if fit is None or gg is None:
        return ClvFit(
            predictions=_predictions_without_fit(data, clv),
            params=params_table(rows),
            param_rows=rows,
            holdout=_empty_holdout(),
            bg=fit,
            gg=gg,
            problem=problem,
            backtest=backtest,
            model=model,
            choice=choice,
        )
    rows = (
        _params_rows(fit, model, as_of, clv, "as_of", backtest, in_use=True)
        + _params_rows(gg, "gamma_gamma", as_of, clv, "as_of", backtest, in_use=True)
        + rows
    )
    return ClvFit(
        predictions=_predictions(data, fit, gg, clv, as_of),
        params=params_table(rows),
        param_rows=rows,
        holdout=_holdout(data, fit),
        bg=fit,
        gg=gg,
        problem=problem,
        backtest=backtest,
        model=model,
        choice=choice,
    )


def _backtest_rows(
    backtest: Backtest, as_of: Any, clv: ClvConfig, model: str
) -> list[dict[str, Any]]:
    """Every model the backtest fitted on its calibration sample, the model in use marked."""
    return [
        row
        for name, fit in backtest.fits.items()
        for row in _params_rows(
            fit, name, as_of, clv, "backtest calibration", backtest, in_use=name == model
        )
    ]


def summary_arrays(table: pa.Table) -> dict[str, np.ndarray]:
    """SUMMARY_SQL's result as arrays, as DuckDB's fetchnumpy gives them: a column with nulls
    becomes a masked array (the holdout length is null when there is no holdout)."""
    arrays: dict[str, np.ndarray] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if column.null_count:
            values = column.to_numpy(zero_copy_only=False)
            arrays[name] = np.ma.masked_array(values, mask=column.is_null().to_numpy())
        else:
            arrays[name] = column.to_numpy(zero_copy_only=False)
    return arrays


def _fit(fit: Callable[[], btyd.FitResult]) -> tuple[btyd.FitResult | None, str]:
    """The converged fit, or None and the reason (FitError names the model and the cause)."""
    try:
        return fit(), ""
    except btyd.FitError as err:
        return None, str(err)


def _params_rows(
    fit: btyd.FitResult,
    model: str,
    as_of: Any,
    clv: ClvConfig,
    fitted_on: str,
    backtest: Backtest,
    *,
    in_use: bool,
) -> list[dict[str, Any]]:
    std_errors = (
        np.sqrt(np.diag(fit.covariance)) if fit.covariance is not None else [None] * len(fit.params)
    )
    return [
        {
            "as_of": as_of,
            "model": model,
            "parameter": name,
            "value": float(value),
            "std_error": None if se is None else float(se),
            "log_likelihood": float(fit.log_likelihood),
            "customers": int(fit.n_customers),
            "excluded": int(fit.excluded),
            "horizon_days": clv.horizon_days,
            "monthly_discount_rate": clv.monthly_discount_rate,
            "fitted_on": fitted_on,
            "holdout_log_likelihood": backtest.holdout_log_likelihood.get(model),
            "in_use": in_use,
        }
        for (name, value), se in zip(fit.params.items(), std_errors, strict=True)
    ]


def params_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=PARAMS_SCHEMA)


def _predictions(
    data: Mapping[str, np.ndarray],
    fit: btyd.FitResult,
    gg: btyd.FitResult,
    clv: ClvConfig,
    as_of: Any,
) -> pa.Table:
    x, t_x, t, m = (data[c].astype(np.float64) for c in ("frequency", "recency", "t", "monetary"))
    z = float(norm.ppf(0.5 + clv.interval / 2))
    year = btyd.model_predicted_clv(
        fit, gg, x, t_x, t, m, CONTRACT_HORIZON_DAYS, clv.monthly_discount_rate
    )
    horizon = btyd.model_predicted_clv(
        fit, gg, x, t_x, t, m, clv.horizon_days, clv.monthly_discount_rate, interval=False
    )
    nxt = btyd.next_purchase_table(fit, x, t_x, t, NEXT_PURCHASE_WINDOWS)
    wait = np.minimum(nxt["median_days_to_next_purchase"], MAX_WAIT_DAYS)
    band = btyd.predictive_interval(fit, CONTRACT_HORIZON_DAYS, x, t_x, t, gg, m)
    r, alpha = fit.params["r"], fit.params["alpha"]
    return pa.table(
        {
            "customer_id": data["customer_id"],
            "p_alive": nxt["p_alive"],
            "expected_purchases_365d": btyd.model_expected_purchases(
                fit, CONTRACT_HORIZON_DAYS, x, t_x, t
            ),
            "expected_avg_order_value": btyd.expected_avg_value(gg, x, m),
            "predicted_clv_365d": year.clv,
            "clv_param_low_365d": np.maximum(year.clv - z * year.sd, 0.0),
            "clv_param_high_365d": year.clv + z * year.sd,
            "predictive_purchases_low_80": band.predictive_purchases_low_80,
            "predictive_purchases_high_80": band.predictive_purchases_high_80,
            "predictive_value_low_80": band.predictive_value_low_80,
            "predictive_value_high_80": band.predictive_value_high_80,
            "horizon_days": np.full(len(x), clv.horizon_days, dtype=np.int32),
            "expected_purchases_horizon": btyd.model_expected_purchases(
                fit, clv.horizon_days, x, t_x, t
            ),
            "predicted_clv_horizon": horizon.clv,
            # the posterior mean rate as known at the last purchase, (r + x) / (alpha + t_x)
            # per day: the silence since then is not in it, so the overdue rules can fire
            "expected_days_between_orders": (alpha + t_x) / (r + x),
            **{
                k: v for k, v in nxt.items() if k.startswith(("p_purchase_", "expected_purchases_"))
            },
            "median_days_to_next_purchase": nxt["median_days_to_next_purchase"],
            "expected_next_order_date": np.datetime64(as_of, "D")
            + np.round(wait).astype("timedelta64[D]"),
            "p_buy_again_given_alive": nxt["p_buy_again_given_alive"],
            "in_monetary_fit": (x > 0) & (m > 0),
        }
    )


def _predictions_without_fit(data: Mapping[str, np.ndarray], clv: ClvConfig) -> pa.Table:
    """When the models cannot be fitted: no invented numbers, only the observed rhythm (the
    customer's mean days between purchase days) for the churn rules."""
    x, t_x = (data[c].astype(np.float64) for c in ("frequency", "recency"))
    n = len(x)
    empty = pa.nulls(n, pa.float64())
    with np.errstate(divide="ignore", invalid="ignore"):
        observed_gap = np.where(x > 0, t_x / x, np.nan)
    window_columns = {
        f"{kind}_{w:g}d": empty
        for kind in ("p_purchase", "expected_purchases")
        for w in NEXT_PURCHASE_WINDOWS
    }
    return pa.table(
        {
            "customer_id": data["customer_id"],
            "p_alive": empty,
            "expected_purchases_365d": empty,
            "expected_avg_order_value": empty,
            "predicted_clv_365d": empty,
            "clv_param_low_365d": empty,
            "clv_param_high_365d": empty,
            "predictive_purchases_low_80": empty,
            "predictive_purchases_high_80": empty,
            "predictive_value_low_80": empty,
            "predictive_value_high_80": empty,
            "horizon_days": np.full(n, clv.horizon_days, dtype=np.int32),
            "expected_purchases_horizon": empty,
            "predicted_clv_horizon": empty,
            "expected_days_between_orders": pa.array(observed_gap, from_pandas=True),
            **window_columns,
            "median_days_to_next_purchase": empty,
            "expected_next_order_date": pa.nulls(n, pa.date32()),
            "p_buy_again_given_alive": empty,
            "in_monetary_fit": np.zeros(n, dtype=bool),
        }
    )


def _empty_holdout() -> pa.Table:
    return pa.table(
        {
            "calibration_frequency": pa.array([], pa.int32()),
            "frequency_label": pa.array([], pa.string()),
            "customers": pa.array([], pa.int64()),
            "actual_purchases": pa.array([], pa.float64()),
            "expected_purchases": pa.array([], pa.float64()),
            "holdout_days": pa.array([], pa.int32()),
        }
    )


def _holdout(data: Mapping[str, np.ndarray], fit: btyd.FitResult) -> pa.Table:
    """Actual vs expected holdout purchases by calibration frequency (FHL 2005, Figure 5), under
    the model in use; only when as_of is before the latest order."""
    holdout_days = data["holdout_days"]
    if len(holdout_days) == 0 or np.ma.is_masked(holdout_days[0]):
        return _empty_holdout()
    days = int(holdout_days[0])
    x, t_x, t = (data[c].astype(np.float64) for c in ("frequency", "recency", "t"))
    actual = np.asarray(data["holdout_purchase_days"], dtype=np.float64)
    expected = btyd.model_expected_purchases(fit, days, x, t_x, t)
    bins = np.minimum(x, 7).astype(np.intp)
    n = np.bincount(bins, minlength=8).astype(np.float64)
    seen = n > 0
    labels = [*(str(i) for i in range(7)), "7+"]
    return pa.table(
        {
            "calibration_frequency": np.flatnonzero(seen).astype(np.int32),
            "frequency_label": [label for label, s in zip(labels, seen, strict=True) if s],
            "customers": n[seen].astype(np.int64),
            "actual_purchases": np.bincount(bins, weights=actual, minlength=8)[seen] / n[seen],
            "expected_purchases": np.bincount(bins, weights=expected, minlength=8)[seen] / n[seen],
            "holdout_days": np.full(int(seen.sum()), days, dtype=np.int32),
        }
    )
