"""The CLV model fits of one run, whatever engine built the summary they start from.

Both engines read the same per-customer repeat-purchase summary (SUMMARY_SQL, one row per
customer, a few numbers: never the order lines) and hand it to `fit_clv`, which fits BG/NBD and
Gamma-Gamma and returns the three tables dbt reads as sources `predictions.*`: per-customer
predictions, the fitted parameters and the holdout comparison. The DuckDB engine writes them
from the Dagster asset (orchestration/defs/predict.py), the Spark engine as Parquet-backed
Spark tables (orchestration/spark_run.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from scipy.stats import norm

from customer_tiers import btyd
from customer_tiers.orchestration.config import ClvConfig

CONTRACT_HORIZON_DAYS = 365  # the contract's *_365d columns
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
    ]
)


@dataclass(frozen=True)
class ClvFit:
    """One run's fits: the tables for schema `predictions` and what to report about them."""

    predictions: pa.Table  # predictions.customer_clv
    params: pa.Table  # predictions.clv_model_params (PARAMS_SCHEMA; empty without a fit)
    param_rows: list[dict[str, Any]]
    holdout: pa.Table  # predictions.clv_holdout
    bg: btyd.FitResult | None
    gg: btyd.FitResult | None
    problem: str  # why the models could not be fitted; "" when they were

    @property
    def fitted(self) -> bool:
        return self.bg is not None and self.gg is not None

    def describe(self) -> str:
        """One log line: the parameters, or why there are none."""
        if self.bg is None or self.gg is None:
            return (
                "the CLV models could not be fitted; predicted columns are left empty: "
                + self.problem
            )
        bg, gg = self.bg.params, self.gg.params
        return (
            f"BG/NBD r={bg['r']:.4g} alpha={bg['alpha']:.4g} a={bg['a']:.4g} b={bg['b']:.4g}; "
            f"Gamma-Gamma p={gg['p']:.4g} q={gg['q']:.4g} v={gg['v']:.4g} "
            f"({int(self.gg.excluded):,} repeat customers left out of it)"
        )


def fit_clv(data: Mapping[str, np.ndarray], as_of: Any, clv: ClvConfig) -> ClvFit:
    """Fit both models on the summary (SUMMARY_SQL's columns as arrays) and predict.

    When a fit does not converge the predicted columns are empty, never invented: only the
    observed rhythm is kept for the churn rules, and `problem` says why."""
    if len(data["customer_id"]) == 0:
        raise ValueError(NO_CUSTOMERS)
    x, t_x, t, m = (data[c].astype(np.float64) for c in ("frequency", "recency", "t", "monetary"))
    bg, bg_problem = _fit(lambda: btyd.fit_bgnbd(x, t_x, t))
    gg, gg_problem = _fit(lambda: btyd.fit_gamma_gamma(x, m))
    problem = "; ".join(p for p in (bg_problem, gg_problem) if p)
    if bg is None or gg is None:
        return ClvFit(
            predictions=_predictions_without_fit(data, clv),
            params=params_table([]),
            param_rows=[],
            holdout=_empty_holdout(),
            bg=bg,
            gg=gg,
            problem=problem,
        )
    rows = _params_rows(bg, "bg_nbd", as_of, clv) + _params_rows(gg, "gamma_gamma", as_of, clv)
    return ClvFit(
        predictions=_predictions(data, bg, gg, clv),
        params=params_table(rows),
        param_rows=rows,
        holdout=_holdout(data, bg),
        bg=bg,
        gg=gg,
        problem=problem,
    )


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
    fit: btyd.FitResult, model: str, as_of: Any, clv: ClvConfig
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
        }
        for (name, value), se in zip(fit.params.items(), std_errors, strict=True)
    ]


def params_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=PARAMS_SCHEMA)


def _predictions(
    data: Mapping[str, np.ndarray], bg: btyd.FitResult, gg: btyd.FitResult, clv: ClvConfig
) -> pa.Table:
    x, t_x, t, m = (data[c].astype(np.float64) for c in ("frequency", "recency", "t", "monetary"))
    z = float(norm.ppf(0.5 + clv.interval / 2))
    year = btyd.predicted_clv(
        bg, gg, x, t_x, t, m, CONTRACT_HORIZON_DAYS, clv.monthly_discount_rate
    )
    horizon = btyd.predicted_clv(
        bg, gg, x, t_x, t, m, clv.horizon_days, clv.monthly_discount_rate, interval=False
    )
    r, alpha = bg.params["r"], bg.params["alpha"]
    return pa.table(
        {
            "customer_id": data["customer_id"],
            "p_alive": btyd.p_alive(bg, x, t_x, t),
            "expected_purchases_365d": btyd.expected_purchases(
                bg, CONTRACT_HORIZON_DAYS, x, t_x, t
            ),
            "expected_avg_order_value": btyd.expected_avg_value(gg, x, m),
            "predicted_clv_365d": year.clv,
            "predicted_clv_365d_low": np.maximum(year.clv - z * year.sd, 0.0),
            "predicted_clv_365d_high": year.clv + z * year.sd,
            "horizon_days": np.full(len(x), clv.horizon_days, dtype=np.int32),
            "expected_purchases_horizon": btyd.expected_purchases(bg, clv.horizon_days, x, t_x, t),
            "predicted_clv_horizon": horizon.clv,
            # posterior mean purchase rate of the customer is (r + x) / (alpha + T) per day
            "expected_days_between_orders": (alpha + t) / (r + x),
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
    return pa.table(
        {
            "customer_id": data["customer_id"],
            "p_alive": empty,
            "expected_purchases_365d": empty,
            "expected_avg_order_value": empty,
            "predicted_clv_365d": empty,
            "predicted_clv_365d_low": empty,
            "predicted_clv_365d_high": empty,
            "horizon_days": np.full(n, clv.horizon_days, dtype=np.int32),
            "expected_purchases_horizon": empty,
            "predicted_clv_horizon": empty,
            "expected_days_between_orders": pa.array(observed_gap, from_pandas=True),
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


def _holdout(data: Mapping[str, np.ndarray], bg: btyd.FitResult) -> pa.Table:
    holdout_days = data["holdout_days"]
    if len(holdout_days) == 0 or np.ma.is_masked(holdout_days[0]):
        return _empty_holdout()
    days = int(holdout_days[0])
    x, t_x, t = (data[c].astype(np.float64) for c in ("frequency", "recency", "t"))
    table = btyd.holdout_table(bg, x, t_x, t, data["holdout_purchase_days"], days)
    return pa.table(
        {
            "calibration_frequency": np.arange(len(table.labels), dtype=np.int32),
            "frequency_label": list(table.labels),
            "customers": table.n_customers.astype(np.int64),
            "actual_purchases": table.actual_mean,
            "expected_purchases": table.expected_mean,
            "holdout_days": np.full(len(table.labels), days, dtype=np.int32),
        }
    )
