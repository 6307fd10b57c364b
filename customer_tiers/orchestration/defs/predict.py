"""Predict: backtest the purchase models, fit the one in use and Gamma-Gamma, write the predictions.

The summary (one row per customer, four numbers) is built in SQL by dbt; only that summary
comes into Python, never the order lines. The fits (orchestration/clv_fit.py) give the
parameters, the per-customer predictions and the holdout table; the engine stores them as
schema `predictions`, which dbt reads as a source.
"""

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa

from customer_tiers.orchestration.clv_backtest import BACKTEST_SQL, WINDOW_SQL, run_backtest
from customer_tiers.orchestration.clv_fit import (
    AS_OF_SQL,
    NO_CUSTOMERS,
    SUMMARY_SQL,
    fit_clv,
    summary_arrays,
)
from customer_tiers.orchestration.config import load_config
from customer_tiers.orchestration.engine import Engine
from customer_tiers.orchestration.plots import line_chart_svg
from customer_tiers.orchestration.resources import WarehouseResource

SUMMARY_KEY = dg.AssetKey(["intermediate", "int_customers_btyd_summarized"])
HOLDOUT_KEY = dg.AssetKey(["intermediate", "int_customers_holdout_summarized"])
CUSTOMER_CLV_KEY = dg.AssetKey(["predictions", "customer_clv"])
PARAMS_KEY = dg.AssetKey(["predictions", "clv_model_params"])
HOLDOUT_TABLE_KEY = dg.AssetKey(["predictions", "clv_holdout"])
BACKTEST_SUMMARY_KEY = dg.AssetKey(["intermediate", "int_customers_backtest_summarized"])
BACKTEST_WINDOW_KEY = dg.AssetKey(["intermediate", "int_clv_backtest_windowed"])
BACKTEST_KEY = dg.AssetKey(["predictions", "clv_backtest"])
TRACKING_KEY = dg.AssetKey(["predictions", "clv_tracking"])


def holdout_plot_path(warehouse: WarehouseResource, as_of: Any) -> Path:
    """Beside the published warehouse, one per analysis date, so a rerun replaces its own."""
    return warehouse.reports_dir / f"clv_holdout_{as_of}.svg"


def write_holdout_plot(path: Path, holdout: pa.Table) -> None:
    rows = holdout.to_pylist()
    days = rows[0]["holdout_days"]
    svg = line_chart_svg(
        [row["frequency_label"] for row in rows],
        {
            "actual": [row["actual_purchases"] for row in rows],
            "model expected": [row["expected_purchases"] for row in rows],
        },
        title=f"Repeat purchases in the {days} days after the calibration period",
        x_label="repeat purchases in the calibration period",
        y_label="average repeat purchases in the holdout",
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(svg, encoding="utf-8")


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
            group_name="clv",
            kinds={"python", "duckdb"},
            description="P(alive), expected purchases and value, predicted CLV with its interval.",
        ),
        dg.AssetSpec(
            PARAMS_KEY,
            deps=[SUMMARY_KEY],
            group_name="clv",
            kinds={"python", "duckdb"},
            description="Every fitted model's parameters and log-likelihood, the one in use "
            "marked.",
        ),
        dg.AssetSpec(
            HOLDOUT_TABLE_KEY,
            deps=[SUMMARY_KEY, HOLDOUT_KEY],
            group_name="clv",
            kinds={"python", "duckdb"},
            description="Actual against expected repeat purchases after as_of, by frequency.",
        ),
        dg.AssetSpec(
            BACKTEST_KEY,
            deps=[BACKTEST_SUMMARY_KEY, BACKTEST_WINDOW_KEY],
            group_name="clv",
            kinds={"python", "duckdb"},
            description="The models refitted as of as_of - holdout_days and checked on the days "
            "up to as_of: accuracy, ranking, calibration, interval coverage, model comparison.",
        ),
        dg.AssetSpec(
            TRACKING_KEY,
            deps=[BACKTEST_SUMMARY_KEY, BACKTEST_WINDOW_KEY],
            group_name="clv",
            kinds={"python", "duckdb"},
            description="The backtest's expected cumulative repeat purchases per week (the "
            "tracking plot's model curve).",
        ),
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "fit_converged",
            asset=PARAMS_KEY,
            description="Both maximum-likelihood fits converged. When not, the run goes on with "
            "the predicted columns empty and this check failed (a warning in the run summary).",
        ),
        dg.AssetCheckSpec(
            "backtest_within_band",
            asset=BACKTEST_KEY,
            blocking=True,  # an ERROR result (clv.backtest.blocking) stops the run
            description="Predicted / actual repeat purchases and revenue in the backtest's "
            "holdout lie within clv.backtest.ratio_low..ratio_high: a warning, blocking when "
            "clv.backtest.blocking.",
        ),
    ],
)
def clv_predictions(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, engine: Engine
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    clv = load_config().clv
    data = summary_arrays(engine.read_arrow(warehouse, SUMMARY_SQL))
    [as_of] = engine.read_arrow(warehouse, AS_OF_SQL).column(0).to_pylist()
    backtest_data = summary_arrays(engine.read_arrow(warehouse, BACKTEST_SQL))
    [window] = engine.read_arrow(warehouse, WINDOW_SQL).to_pylist()
    customers = len(data["customer_id"])
    context.log.info(f"backtesting and fitting the CLV models on {customers:,} customers")
    if customers == 0:
        raise dg.Failure(NO_CUSTOMERS)
    # the step's two long parts get a line each as they end (minutes at a million customers)
    started = time.perf_counter()
    backtest = run_backtest(backtest_data, window, clv, clv.model)
    if not backtest.skipped:  # a skipped backtest is named in the fit's line below
        context.log.info(f"backtest done in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    fit = fit_clv(data, as_of, clv, backtest)
    context.log.info(f"fits and predictions done in {time.perf_counter() - started:.1f} s")
    params, holdout = fit.param_rows, fit.holdout
    if fit.fitted:
        context.log.info(fit.describe())
    else:
        context.log.warning(fit.describe())
    for table, rows in (
        ("customer_clv", fit.predictions),
        ("clv_model_params", fit.params),
        ("clv_holdout", holdout),
        ("clv_backtest", backtest.table),
        ("clv_tracking", backtest.tracking),
    ):
        engine.write_table(warehouse, "predictions", table, rows)
    yield dg.MaterializeResult(
        asset_key=CUSTOMER_CLV_KEY, metadata={"dagster/row_count": customers}
    )
    yield dg.MaterializeResult(
        asset_key=PARAMS_KEY,
        metadata={"parameters": dg.MetadataValue.md(_params_markdown(params))}
        if fit.fitted
        else {},
    )
    holdout_metadata: dict[str, Any] = {"dagster/row_count": holdout.num_rows}
    if holdout.num_rows:
        plot = holdout_plot_path(warehouse, as_of)
        write_holdout_plot(plot, holdout)
        holdout_metadata["plot"] = dg.MetadataValue.path(str(plot))
    yield dg.MaterializeResult(asset_key=HOLDOUT_TABLE_KEY, metadata=holdout_metadata)
    yield dg.MaterializeResult(
        asset_key=BACKTEST_KEY,
        metadata={"dagster/row_count": backtest.table.num_rows, "model": fit.choice},
    )
    yield dg.MaterializeResult(
        asset_key=TRACKING_KEY, metadata={"dagster/row_count": backtest.tracking.num_rows}
    )
    yield dg.AssetCheckResult(
        asset_key=BACKTEST_KEY,
        check_name="backtest_within_band",
        passed=not backtest.out_of_band,
        severity=dg.AssetCheckSeverity.ERROR
        if clv.backtest.blocking
        else dg.AssetCheckSeverity.WARN,
        description=backtest.out_of_band or backtest.skipped or None,
    )
    yield dg.AssetCheckResult(
        asset_key=PARAMS_KEY,
        check_name="fit_converged",
        passed=fit.fitted,
        # A warning, not a block: RFM, ABC and the rest are still published, with the
        # predicted columns empty rather than invented.
        severity=dg.AssetCheckSeverity.WARN,
        description=fit.problem or None,
        metadata={
            "model": fit.model,
            "log_likelihood": float(fit.bg.log_likelihood) if fit.bg else None,
            "gamma_gamma_log_likelihood": float(fit.gg.log_likelihood) if fit.gg else None,
            "gamma_gamma_excluded": int(fit.gg.excluded) if fit.gg else None,
        },
    )


defs = dg.Definitions(assets=[clv_predictions])
