"""Issue 19 wiring on the default demo run: a backtest in every run, the model in use chosen by
holdout log-likelihood, next-purchase columns, one-time buyers reaching the watch list, and a
blocking band."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import yaml

from customer_tiers.orchestration.cli import main
from customer_tiers.orchestration.errors import EXIT_CHECK_FAILED
from tests.conftest import query


def test_default_run_has_a_backtest(demo_run: tuple[Path, Path]) -> None:
    _, warehouse = demo_run
    sections = dict(
        query(warehouse, "select section, count(*) from marts.clv_backtest group by section")
    )
    assert "skipped" not in sections
    assert sections["decile"] == 10 and sections["p_alive_band"] == 10
    [(customers, actual, predicted)] = query(
        warehouse,
        "select customers, actual_purchases, predicted_purchases from marts.clv_backtest "
        "where section = 'overall'",
    )
    assert customers > 200 and actual > 0 and predicted > 0
    for section in ("decile", "p_alive_band", "frequency"):
        total = query(
            warehouse,
            f"select sum(customers) from marts.clv_backtest where section = '{section}'",
        )[0][0]
        assert total == customers, section
    metrics = dict(
        query(warehouse, "select label, value from marts.clv_backtest where section = 'metric'")
    )
    for name in (
        "mae_purchases",
        "mae_revenue",
        "top_decile_revenue_share",
        "normalized_gini",
        "purchases_interval_coverage_80",
        "value_interval_coverage_80",
        "rank_correlation_predicted_clv",
        "rank_correlation_historical_clv",
    ):
        assert metrics[name] == metrics[name], name  # present and not NaN
    assert 0 < metrics["top_decile_revenue_share"] <= 1


def test_auto_uses_the_best_holdout_log_likelihood(demo_run: tuple[Path, Path]) -> None:
    _, warehouse = demo_run
    candidates = query(
        warehouse,
        "select distinct model, holdout_log_likelihood, in_use from marts.clv_model_params "
        "where fitted_on = 'backtest calibration' and model <> 'gamma_gamma'",
    )
    assert {m for m, _, _ in candidates} == {"bg_nbd", "mbg_nbd", "pareto_nbd"}
    best = max(candidates, key=lambda row: row[1])[0]
    assert [m for m, _, in_use in candidates if in_use] == [best]
    in_use = query(
        warehouse,
        "select distinct model from marts.clv_model_params where fitted_on = 'as_of' "
        "and model <> 'gamma_gamma'",
    )
    assert in_use == [(best,)]
    assert query(warehouse, "select distinct model from marts.clv_backtest") == [(best,)]


def test_one_time_buyer_silent_a_year_is_overdue_not_fine(demo_run: tuple[Path, Path]) -> None:
    """The overdue rule itself fires (its reason, not only the lifecycle stage's fallback):
    the expected gap is the one known at the last purchase, so silence is not inside it."""
    _, warehouse = demo_run
    rows = query(
        warehouse,
        """
        select c.customer_id, p.lifecycle_stage, p.risk_level, p.risk_reason,
            c.expected_next_order_date > c.as_of, c.p_purchase_30d <= c.p_purchase_90d
        from marts.customer_clv as c
        join intermediate.int_customers_contact_planned as p using (customer_id)
        where c.frequency = 0 and c.days_since_last_order > 365""",
    )
    assert len(rows) > 10
    for customer, stage, level, reason, dated, ordered in rows:
        assert stage in ("at_risk", "dormant", "churned"), customer
        assert level is not None, customer
        assert not reason.startswith("stage "), (customer, reason)
        assert dated and ordered, customer


def test_blocking_band_fails_the_run_and_publishes_nothing(
    demo_run: tuple[Path, Path], tmp_path: Path
) -> None:
    sources, published = demo_run
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(published, warehouse)
    before = hashlib.sha256(warehouse.read_bytes()).hexdigest()
    config = tmp_path / "blocking.yml"
    band = {"ratio_low": 0.1, "ratio_high": 0.2, "blocking": True}
    config.write_text(yaml.safe_dump({"clv": {"backtest": band}}), encoding="utf-8")
    argv = ["run", "--sources", str(sources), "--warehouse", str(warehouse)]
    assert main([*argv, "--config", str(config)]) == EXIT_CHECK_FAILED
    assert hashlib.sha256(warehouse.read_bytes()).hexdigest() == before
