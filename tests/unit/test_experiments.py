"""marts.action_effects: a small ledger worked by hand, a planted effect, sample ratio checks.

The hand-worked cohort (win_back-v1 as of 2026-01-01, window 30 days, run as of 2026-02-15,
planned hold-out share 0.5; the orders are in `_warehouse` below):

treatment t01-t10, buyers t01-t06 with window revenue 40, 60 (on day 30: in), 20, 80 (one
order of two lines, 50 + 30), 50, 50; t07 bought on the as_of day and t08 on day 31 (both out);
control c01-c10, buyers c01 (30) and c02 (10); c03 only returned an item (-10: no buyer, revenue
-10).

- rates 6/10 = 0.6 and 2/10 = 0.2, lift 0.4.
- pooled z: p = 8/20 = 0.4, se = sqrt(0.4 * 0.6 * (1/10 + 1/10)) = sqrt(0.048) = 0.2190890,
  z = 0.4 / 0.2190890 = 1.825742, two-sided p = 2 * (1 - Phi(1.825742)) = 0.0678892.
- Wilson intervals (z = 1.959964, z^2/n = 0.3841459): centre (p + z^2/2n) / (1 + z^2/n),
  half-width z sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n):
  6/10: 0.5722454 +- 0.2595742 = (0.3126712, 0.8318197); 2/10: 0.2832598 +- 0.2265777 =
  (0.0566822, 0.5098375).
- Newcombe (method 10): low = 0.4 - sqrt((0.6 - 0.3126712)^2 + (0.5098375 - 0.2)^2)
  = 0.4 - 0.4225585 = -0.0225585; high = 0.4 + sqrt((0.2 - 0.0566822)^2 + (0.8318197 - 0.6)^2)
  = 0.4 + 0.2725442 = 0.6725442.
- revenue per customer 300/10 = 30 and 30/10 = 3, lift 27; sample variances 8000/9 and 1010/9,
  se = sqrt(88.8889 + 11.2222) = 10.005554, Welch df = 100.1111^2 / ((88.8889^2 + 11.2222^2)/9)
  = 11.23685, t(0.975, 11.23685) = 2.195338, interval 27 -+ 21.96558 = (5.034424, 48.965576).
- split 10/10 against 10/10 planned: chi-square 0, p = 1, no flag.
- 80% power, two-sided 0.05, n 10 and 10: Cohen's h = (1.959964 + 0.841621) / sqrt(5) =
  1.252907 (the other tail adds 1e-6), p_t = sin(asin(sqrt(0.2)) + h/2)^2 = 0.786190,
  min_detectable_lift = 0.586190.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from customer_tiers.experiments import MEMBER_COLUMNS, action_effects, group_effect, srm_test
from customer_tiers.experiments.members import EFFECTS_SCHEMA, effects_table, members_sql

AS_OF = date(2026, 1, 1)
LATER = date(2026, 1, 8)  # a second measured cohort: t01 and c01 again
TOO_RECENT = date(2026, 2, 1)  # its window ends 2026-03-03, after the run's as_of
RUN_AS_OF = date(2026, 2, 15)


def _warehouse(path: str = ":memory:") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(path)
    con.execute("create schema marts; create schema staging; create schema intermediate")
    con.execute(
        "create table intermediate.int_as_of_resolved as select ?::date as as_of", [RUN_AS_OF]
    )
    con.execute(
        "create table marts.action_ledger (as_of date, customer_id varchar, action varchar, "
        "experiment_id varchar, holdout boolean, due_on date, staff_id varchar, "
        "value_at_stake double)"
    )
    ledger = [(AS_OF, f"t{i:02d}", False) for i in range(1, 11)]
    ledger += [(AS_OF, f"c{i:02d}", True) for i in range(1, 11)]
    ledger += [(LATER, "t01", False), (LATER, "c01", True)]
    ledger += [(TOO_RECENT, "t01", False), (TOO_RECENT, "c02", True)]
    for as_of, customer, holdout in ledger:
        con.execute(
            "insert into marts.action_ledger values (?, ?, 'win_back', 'win_back-v1', ?, ?, "
            "'s1', 100)",
            [as_of, customer, holdout, as_of],
        )
    # not an experiment: never measured
    con.execute(
        "insert into marts.action_ledger values (?, 'x1', 'callback', null, false, ?, 's1', 5)",
        [AS_OF, AS_OF],
    )
    con.execute(
        "create table staging.stg_shop__orders (order_id varchar, customer_id varchar, "
        "order_date date, amount decimal(18, 2))"
    )
    orders = [
        ("o1", "t01", "2026-01-05", 40),
        ("o2", "t02", "2026-01-31", 60),  # day 30: in the window
        ("o3", "t03", "2026-01-10", 20),
        ("o4", "t04", "2026-01-12", 50),
        ("o4", "t04", "2026-01-12", 30),
        ("o5", "t05", "2026-01-20", 50),
        ("o6", "t06", "2026-01-25", 50),
        ("o7", "t07", "2026-01-01", 99),  # on as_of: before the window
        ("o8", "t08", "2026-02-01", 99),  # day 31: after the window
        ("o9", "c01", "2026-01-20", 30),
        ("o10", "c02", "2026-01-02", 10),
        ("o11", "c03", "2026-01-15", -10),  # only a return: no purchase
        ("o12", "x1", "2026-01-03", 70),
    ]
    con.executemany("insert into staging.stg_shop__orders values (?, ?, ?, ?)", orders)
    return con


def _effects(holdout_share: float = 0.5) -> pd.DataFrame:
    members = _warehouse().sql(members_sql(30)).to_arrow_table().to_pandas(date_as_object=True)
    return effects_table(members, holdout_share=holdout_share, window_days=30).to_pandas()


def test_hand_worked_cohort_matches_hand_values_and_library() -> None:
    effects = _effects()
    assert sorted(zip(effects["scope"], effects["as_of"], strict=True), key=str) == sorted(
        [("cohort", AS_OF), ("cohort", LATER), ("pooled", None)], key=str
    )
    row = effects[(effects["scope"] == "cohort") & (effects["as_of"] == AS_OF)].iloc[0]
    assert (row.n_treatment, row.n_control, row.buyers_treatment, row.buyers_control) == (
        10,
        10,
        6,
        2,
    )
    assert (row.rate_treatment, row.rate_control) == pytest.approx((0.6, 0.2))
    assert row.lift == pytest.approx(0.4)
    hand = {
        "p_value": 0.0678892,
        "lift_ci_low": -0.0225585,
        "lift_ci_high": 0.6725442,
        "revenue_per_customer_treatment": 30.0,
        "revenue_per_customer_control": 3.0,
        "revenue_lift": 27.0,
        "revenue_lift_ci_low": 5.034424,
        "revenue_lift_ci_high": 48.965576,
        "srm_p_value": 1.0,
        "min_detectable_lift": 0.586190,
    }
    for column, value in hand.items():
        assert row[column] == pytest.approx(value, abs=2e-6), column
    assert not row.srm_flag
    # ... and the library called directly on the same counts and revenues
    _, p = proportions_ztest([6, 2], [10, 10])
    low, high = confint_proportions_2indep(6, 10, 2, 10, method="newcomb")
    treated = DescrStatsW(np.array([40, 60, 20, 80, 50, 50, 0, 0, 0, 0], dtype=float))
    control = DescrStatsW(np.array([30, 10, -10, 0, 0, 0, 0, 0, 0, 0], dtype=float))
    rev_low, rev_high = CompareMeans(treated, control).tconfint_diff(usevar="unequal")
    h = NormalIndPower().solve_power(nobs1=10, alpha=0.05, power=0.8, ratio=1.0)
    mdl = np.sin(np.arcsin(np.sqrt(0.2)) + h / 2) ** 2 - 0.2
    library = (p, low, high, rev_low, rev_high, mdl)
    ours = ("p_value", "lift_ci_low", "lift_ci_high", "revenue_lift_ci_low")
    assert [row[c] for c in (*ours, "revenue_lift_ci_high", "min_detectable_lift")] == (
        pytest.approx(library, rel=1e-12)
    )


def test_pooled_row_counts_each_customer_once_in_their_first_cohort() -> None:
    effects = _effects()
    pooled = effects[effects["scope"] == "pooled"].iloc[0]
    first = effects[(effects["scope"] == "cohort") & (effects["as_of"] == AS_OF)].iloc[0]
    assert pooled.as_of is None
    assert (pooled.cohorts, pooled.first_as_of, pooled.last_as_of) == (2, AS_OF, LATER)
    for column in ("n_treatment", "n_control", "buyers_treatment", "buyers_control", "lift"):
        assert pooled[column] == first[column], column
    later = effects[(effects["scope"] == "cohort") & (effects["as_of"] == LATER)].iloc[0]
    # t01 bought on 2026-01-05, before this cohort's window; c01 on 2026-01-20, inside it
    assert (later.n_treatment, later.buyers_treatment, later.buyers_control) == (1, 0, 1)
    # one customer per group: no Welch interval (it needs two), not an invented one
    assert later.revenue_lift_ci_low is None or np.isnan(later.revenue_lift_ci_low)


def test_schema_is_kept_when_no_cohort_has_ended() -> None:
    members = pd.DataFrame(columns=list(MEMBER_COLUMNS))
    table = effects_table(members, holdout_share=0.1, window_days=30)
    assert table.num_rows == 0
    assert table.schema == EFFECTS_SCHEMA


def _simulated(
    rng: np.random.Generator, n: int, share: float, base: float, lift: float
) -> pd.DataFrame:
    holdout = rng.random(n) < share
    purchased = rng.random(n) < np.where(holdout, base, base + lift)
    revenue = np.where(purchased, rng.gamma(2.0, 60.0, n), 0.0)
    return pd.DataFrame(
        {
            "experiment_id": "win_back-v1",
            "action": "win_back",
            "as_of": AS_OF,
            "customer_id": [f"c{i}" for i in range(n)],
            "holdout": holdout,
            "purchased": purchased,
            "revenue": revenue,
        }
    )


def test_planted_lift_is_inside_the_interval() -> None:
    """20,000 customers, 10% held out, 20% of the held-out and 28% of the contacted buy: the
    interval contains the planted 8 points and excludes 0; revenue lift 0.08 x 120 = 9.6."""
    rng = np.random.default_rng(17)
    members = _simulated(rng, 20_000, 0.1, 0.20, 0.08)
    row = action_effects(members, holdout_share=0.1, window_days=30).iloc[0]
    assert row.lift_ci_low < 0.08 < row.lift_ci_high
    assert row.lift_ci_low > 0 and row.p_value < 0.001
    assert row.revenue_lift_ci_low < 0.08 * 120 < row.revenue_lift_ci_high
    assert row.min_detectable_lift < 0.08  # the design could see it
    assert not row.srm_flag


def test_newcombe_interval_covers_the_planted_lift_about_95_percent_of_the_time() -> None:
    """400 cohorts of 2,000: coverage within 0.92-0.98 (0.95 +- 2.7 binomial sd)."""
    rng = np.random.default_rng(3)
    covered = 0
    for _ in range(400):
        members = _simulated(rng, 2_000, 0.2, 0.25, 0.05)
        effect = group_effect(members, 0.2)
        covered += effect.lift_ci_low < 0.05 < effect.lift_ci_high
    assert 0.92 <= covered / 400 <= 0.98


def test_sample_ratio_mismatch_is_flagged_on_a_skewed_split() -> None:
    """1,000 members planned 10% held out: 150 held out gives chi-square 50^2/100 + 50^2/900 =
    27.78, p = 1.4e-7 (flag); 110 gives 1 + 0.111 = 1.111, p = 0.29 (no flag)."""
    assert srm_test(850, 150, 0.1) == pytest.approx(1.36e-7, rel=0.01)
    assert srm_test(890, 110, 0.1) == pytest.approx(0.2918, abs=1e-4)
    rng = np.random.default_rng(5)
    skewed = _simulated(rng, 1_000, 0.1, 0.2, 0.0)
    skewed["holdout"] = np.arange(1_000) < 150
    effect = group_effect(skewed, 0.1)
    assert effect.srm_flag is True and effect.srm_p_value < 0.001
    skewed["holdout"] = np.arange(1_000) < 110
    assert group_effect(skewed, 0.1).srm_flag is False


def test_undefined_statistics_are_null() -> None:
    """Nobody bought in either group: the pooled z is 0/0 (null); no control: no lift."""
    members = _simulated(np.random.default_rng(1), 50, 0.2, 0.0, 0.0)
    effect = group_effect(members, 0.2)
    assert effect.lift == 0.0 and effect.p_value is None
    effect = group_effect(members.assign(holdout=False), 0.2)
    assert effect.rate_control is None and effect.lift is None and effect.lift_ci_low is None
    assert effect.min_detectable_lift is None


def test_asset_writes_the_mart_with_the_configured_share_and_nothing_without_a_ledger(
    tmp_path: Path,
) -> None:
    """With the default configuration (window 30 days, 10% held out) the hand-worked 10/10 split
    is far from plan: chi-square (10 - 18)^2/18 + (10 - 2)^2/2 = 35.56, p = 2.5e-9, flagged.
    The asset's reads and write go through the DuckDB engine, on a warehouse's work copy."""
    from customer_tiers.orchestration.defs.experiments import compute_effects
    from customer_tiers.orchestration.engine import DuckDBEngine
    from customer_tiers.orchestration.resources import WarehouseResource

    warehouse, engine = WarehouseResource(path=str(tmp_path / "w.duckdb")), DuckDBEngine()

    def measure() -> duckdb.DuckDBPyConnection:
        engine.write_table(warehouse, "marts", "action_effects", compute_effects(engine, warehouse))
        return duckdb.connect(str(warehouse.work_path))

    _warehouse(str(warehouse.work_path)).close()
    con = measure()
    rows = con.execute(
        "select scope, as_of, planned_holdout_share, srm_p_value, srm_flag "
        "from marts.action_effects where as_of is null or as_of = ?",
        [AS_OF],
    ).fetchall()
    assert [(r[0], r[1], r[2], r[4]) for r in sorted(rows, key=str)] == [
        ("cohort", AS_OF, 0.1, True),
        ("pooled", None, 0.1, True),
    ]
    assert rows[0][3] == pytest.approx(2.47e-9, rel=0.01)
    con.execute("drop table marts.action_ledger")
    con.close()
    con = measure()
    assert con.execute("select count(*) from marts.action_effects").fetchone() == (0,)
