"""Predict: fit BG/NBD and Gamma-Gamma on the repeat-purchase summary, write the predictions.

The summary (one row per customer, four numbers) is built in SQL by dbt; only that summary
comes into Python, never the order lines. The fits' parameters, the per-customer predictions
and the holdout table go back to DuckDB schema `predictions`, which dbt reads as a source.
"""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import numpy as np
import pyarrow as pa
from scipy.stats import norm

import btyd
from orchestration.config import ClvConfig, load_config
from orchestration.plots import line_chart_svg
from orchestration.resources import WarehouseResource

SUMMARY_KEY = dg.AssetKey(["intermediate", "int_customers_btyd_summarized"])
HOLDOUT_KEY = dg.AssetKey(["intermediate", "int_customers_holdout_summarized"])
CUSTOMER_CLV_KEY = dg.AssetKey(["predictions", "customer_clv"])
PARAMS_KEY = dg.AssetKey(["predictions", "clv_model_params"])
HOLDOUT_TABLE_KEY = dg.AssetKey(["predictions", "clv_holdout"])
CONTRACT_HORIZON_DAYS = 365  # the contract's *_365d columns


def _read_summary(con: duckdb.DuckDBPyConnection) -> dict[str, np.ndarray]:
    return con.execute(
        "select s.customer_id, s.frequency, s.recency, s.t, s.monetary, "
        "coalesce(h.holdout_purchase_days, 0) as holdout_purchase_days, h.holdout_days "
        "from intermediate.int_customers_btyd_summarized as s "
        "left join intermediate.int_customers_holdout_summarized as h using (customer_id) "
        "order by s.customer_id"
    ).fetchnumpy()


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


def _predictions(
    data: dict[str, np.ndarray], bg: btyd.FitResult, gg: btyd.FitResult, clv: ClvConfig
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


def _predictions_without_fit(data: dict[str, np.ndarray], clv: ClvConfig) -> pa.Table:
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


def _holdout(data: dict[str, np.ndarray], bg: btyd.FitResult) -> pa.Table:
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


def holdout_plot_path(warehouse: WarehouseResource, as_of: Any) -> Path:
    """Beside the published warehouse, one per analysis date, so a rerun replaces its own."""
    return warehouse.reports_dir / f"clv_holdout_{as_of}.svg"


def _write_holdout_plot(path: Path, holdout: pa.Table) -> None:
    rows = holdout.to_pylist()
    days = rows[0]["holdout_days"]
    svg = line_chart_svg(
        [row["frequency_label"] for row in rows],
        {
            "actual": [row["actual_purchases"] for row in rows],
            "BG/NBD expected": [row["expected_purchases"] for row in rows],
        },
        title=f"Repeat purchases in the {days} days after the calibration period",
        x_label="repeat purchases in the calibration period",
        y_label="average repeat purchases in the holdout",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(svg, encoding="utf-8")


def _write(con: duckdb.DuckDBPyConnection, table_name: str, table: pa.Table) -> None:
    con.register("incoming", table)
    try:
        con.execute(f"create or replace table predictions.{table_name} as select * from incoming")
    finally:
        con.unregister("incoming")


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


def _params_table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=PARAMS_SCHEMA)


def _params_markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| model | parameter | value | std. error |", "|---|---|---|---|"]
    for row in rows:
        se = "" if row["std_error"] is None else f"{row['std_error']:.4g}"
        lines.append(f"| {row['model']} | {row['parameter']} | {row['value']:.4g} | {se} |")
    return "\n".join(lines)


@dg.multi_asset(
    name="clv_predictions",
    specs=[
        dg.AssetSpec(
            CUSTOMER_CLV_KEY,
            deps=[SUMMARY_KEY],
            group_name="predictions",
            kinds={"python", "duckdb"},
            description="P(alive), expected purchases and value, predicted CLV with its interval.",
        ),
        dg.AssetSpec(
            PARAMS_KEY,
            deps=[SUMMARY_KEY],
            group_name="predictions",
            kinds={"python", "duckdb"},
            description="Maximum-likelihood BG/NBD and Gamma-Gamma parameters of this run.",
        ),
        dg.AssetSpec(
            HOLDOUT_TABLE_KEY,
            deps=[SUMMARY_KEY, HOLDOUT_KEY],
            group_name="predictions",
            kinds={"python", "duckdb"},
            description="Actual against expected repeat purchases after as_of, by frequency.",
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "fit_converged",
            asset=PARAMS_KEY,
            description="Both maximum-likelihood fits converged. When not, the run goes on with "
            "the predicted columns empty and this check failed (a warning in the run summary).",
        )
    ],
)
def clv_predictions(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    clv = load_config().clv
    with warehouse.connect(read_only=True) as con:
        data = _read_summary(con)
        [(as_of,)] = con.execute("select as_of from intermediate.int_as_of_resolved").fetchall()
    customers = len(data["customer_id"])
    context.log.info(f"fitting BG/NBD and Gamma-Gamma on {customers:,} customers")
    if customers == 0:
        raise dg.Failure("no customer has a purchase on or before the analysis date")
    x, t_x, t, m = (data[c].astype(np.float64) for c in ("frequency", "recency", "t", "monetary"))
    bg, bg_problem = _fit(lambda: btyd.fit_bgnbd(x, t_x, t))
    gg, gg_problem = _fit(lambda: btyd.fit_gamma_gamma(x, m))
    fitted = bg is not None and gg is not None
    params: list[dict[str, Any]] = []
    if bg is not None and gg is not None:
        params = _params_rows(bg, "bg_nbd", as_of, clv)
        params += _params_rows(gg, "gamma_gamma", as_of, clv)
        predictions, holdout = _predictions(data, bg, gg, clv), _holdout(data, bg)
        context.log.info(
            f"BG/NBD r={bg.params['r']:.4g} alpha={bg.params['alpha']:.4g} "
            f"a={bg.params['a']:.4g} b={bg.params['b']:.4g}; Gamma-Gamma p={gg.params['p']:.4g} "
            f"q={gg.params['q']:.4g} v={gg.params['v']:.4g} "
            f"({int(gg.excluded):,} repeat customers left out of it)"
        )
    else:
        predictions, holdout = _predictions_without_fit(data, clv), _empty_holdout()
        context.log.warning(
            "the CLV models could not be fitted; predicted columns are left empty: "
            + "; ".join(p for p in (bg_problem, gg_problem) if p)
        )
    with warehouse.connect() as con:
        con.execute("create schema if not exists predictions")
        _write(con, "customer_clv", predictions)
        _write(con, "clv_model_params", _params_table(params))
        _write(con, "clv_holdout", holdout)
    yield dg.MaterializeResult(
        asset_key=CUSTOMER_CLV_KEY, metadata={"dagster/row_count": customers}
    )
    yield dg.MaterializeResult(
        asset_key=PARAMS_KEY,
        metadata={"parameters": dg.MetadataValue.md(_params_markdown(params))} if fitted else {},
    )
    holdout_metadata: dict[str, Any] = {"dagster/row_count": holdout.num_rows}
    if holdout.num_rows:
        plot = holdout_plot_path(warehouse, as_of)
        _write_holdout_plot(plot, holdout)
        holdout_metadata["plot"] = dg.MetadataValue.path(str(plot))
    yield dg.MaterializeResult(asset_key=HOLDOUT_TABLE_KEY, metadata=holdout_metadata)
    yield dg.AssetCheckResult(
        asset_key=PARAMS_KEY,
        check_name="fit_converged",
        passed=fitted,
        # A warning, not a block: RFM, ABC and the rest are still published, with the
        # predicted columns empty rather than invented.
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(p for p in (bg_problem, gg_problem) if p) or None,
        metadata={
            "bg_nbd_log_likelihood": float(bg.log_likelihood) if bg else None,
            "gamma_gamma_log_likelihood": float(gg.log_likelihood) if gg else None,
            "gamma_gamma_excluded": int(gg.excluded) if gg else None,
        },
    )


defs = dg.Definitions(assets=[clv_predictions])
