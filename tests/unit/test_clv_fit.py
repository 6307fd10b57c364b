"""The CLV fits of a run (orchestration/clv_fit.py), on the summary both engines read.

The summary comes from the CDNOW sample (tests/unit/test_btyd.py builds it), put in tables
named as dbt names them, and read with the run's own SUMMARY_SQL: through DuckDB's
fetchnumpy as the DuckDB asset reads it, and through Arrow as the Spark run reads it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import duckdb
import numpy as np
import pytest

from customer_tiers.orchestration.clv_backtest import run_backtest
from customer_tiers.orchestration.clv_fit import (
    NO_CUSTOMERS,
    PARAMS_SCHEMA,
    SUMMARY_SQL,
    fit_clv,
    summary_arrays,
)
from customer_tiers.orchestration.config import load_config
from tests.unit.test_btyd import FHL_PARAMS, HOLDOUT_DAYS
from tests.unit.test_btyd import SUMMARY_SQL as CDNOW_SUMMARY_SQL

AS_OF = date(1997, 9, 30)
# no backtest: auto falls back to BG/NBD, the model of the published fit
NO_BACKTEST = run_backtest(
    {}, {"as_of": AS_OF, "holdout_days": 0, "skipped_reason": "none"}, load_config().clv, "auto"
)


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect()
    con.execute("create schema intermediate")
    con.execute(f"create table cdnow as {CDNOW_SUMMARY_SQL}")
    con.execute(
        "create table intermediate.int_customers_btyd_summarized as select customer_id, "
        "x as frequency, t_x as recency, T as t, m as monetary from cdnow"
    )
    con.execute(
        "create table intermediate.int_customers_holdout_summarized as select customer_id, "
        f"holdout as holdout_purchase_days, {HOLDOUT_DAYS} as holdout_days from cdnow"
    )
    yield con
    con.close()


def test_arrow_summary_is_what_duckdb_gives(con: duckdb.DuckDBPyConnection) -> None:
    numpy = con.execute(SUMMARY_SQL).fetchnumpy()
    arrow = summary_arrays(con.sql(SUMMARY_SQL).to_arrow_table())
    assert arrow.keys() == numpy.keys()
    for name, values in numpy.items():
        np.testing.assert_array_equal(arrow[name], values, err_msg=name)


def test_no_holdout_gives_masked_holdout_days(con: duckdb.DuckDBPyConnection) -> None:
    sql = SUMMARY_SQL.replace(
        "intermediate.int_customers_holdout_summarized",
        "(select * from intermediate.int_customers_holdout_summarized where false)",
    )
    numpy = con.execute(sql).fetchnumpy()
    arrow = summary_arrays(con.sql(sql).to_arrow_table())
    assert np.ma.is_masked(numpy["holdout_days"][0]) and np.ma.is_masked(arrow["holdout_days"][0])
    clv = load_config().clv
    assert fit_clv(arrow, AS_OF, clv, NO_BACKTEST).holdout.num_rows == 0


def test_fit_reproduces_the_published_fit(con: duckdb.DuckDBPyConnection) -> None:
    data = summary_arrays(con.sql(SUMMARY_SQL).to_arrow_table())
    clv = load_config().clv
    fit = fit_clv(data, AS_OF, clv, NO_BACKTEST)
    assert fit.fitted and fit.problem == ""
    params = {(r["model"], r["parameter"]): r["value"] for r in fit.param_rows}
    for name, value in FHL_PARAMS.items():
        assert params[("bg_nbd", name)] == pytest.approx(value, rel=2e-3)
    assert fit.params.schema == PARAMS_SCHEMA and fit.params.num_rows == 7
    assert set(fit.params.column("as_of").to_pylist()) == {AS_OF}
    assert fit.predictions.num_rows == 2357
    assert fit.predictions.column("customer_id").to_pylist() == data["customer_id"].tolist()
    low, mid, high = (
        fit.predictions.column(c).to_numpy()
        for c in ("clv_param_low_365d", "predicted_clv_365d", "clv_param_high_365d")
    )
    assert (low <= mid).all() and (mid <= high).all()
    assert fit.holdout.column("holdout_days").to_pylist()[0] == HOLDOUT_DAYS
    assert "BG/NBD r=0.2426" in fit.describe() and "auto without a backtest" in fit.describe()
    assert set(fit.params.column("in_use").to_pylist()) == {True}


def test_no_repeat_purchase_leaves_the_predictions_empty() -> None:
    data = {
        "customer_id": np.array(["a", "b", "c"], dtype=object),
        "frequency": np.zeros(3, dtype=np.int64),
        "recency": np.zeros(3, dtype=np.int64),
        "t": np.array([10, 20, 30]),
        "monetary": np.zeros(3),
        "holdout_purchase_days": np.zeros(3, dtype=np.int64),
        "holdout_days": np.ma.masked_all(3, dtype=np.int64),
    }
    fit = fit_clv(data, AS_OF, load_config().clv, NO_BACKTEST)
    assert not fit.fitted and "BG/NBD" in fit.problem
    assert fit.params.num_rows == 0 and fit.params.schema == PARAMS_SCHEMA
    assert fit.predictions.column("p_alive").null_count == 3
    # no repeat purchase: no observed rhythm either
    assert fit.predictions.column("expected_days_between_orders").null_count == 3
    assert fit.describe().startswith("the CLV models could not be fitted")


def test_no_customer_is_an_error() -> None:
    empty = {"customer_id": np.array([], dtype=object)}
    with pytest.raises(ValueError, match=NO_CUSTOMERS):
        fit_clv(empty, AS_OF, load_config().clv, NO_BACKTEST)
