"""The report's charts in page order: each a key (its TEXT prefix and the page's section id),
its builder and whether it spans the page's two columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from customer_tiers.orchestration.report.actions import actions_chart, effects_chart
from customer_tiers.orchestration.report.base import Chart, Context, Skip
from customer_tiers.orchestration.report.charts_backtest import (
    calibration_chart,
    deciles_chart,
    tracking_chart,
)
from customer_tiers.orchestration.report.charts_customers import (
    migration_chart,
    pareto_chart,
    rfm_chart,
    segments_chart,
    tiers_chart,
)
from customer_tiers.orchestration.report.charts_outlook import (
    churn_chart,
    clv_chart,
    managers_chart,
    nps_chart,
)


@dataclass(frozen=True)
class ChartSpec:
    key: str
    build: Callable[[Context], Chart | Skip]
    wide: bool = False


CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec("tiers", tiers_chart),
    ChartSpec("segments", segments_chart),
    ChartSpec("pareto", pareto_chart),
    ChartSpec("migration", migration_chart),
    ChartSpec("rfm", rfm_chart, wide=True),
    ChartSpec("nps", nps_chart),
    ChartSpec("clv", clv_chart),
    ChartSpec("deciles", deciles_chart),
    ChartSpec("calibration", calibration_chart),
    ChartSpec("tracking", tracking_chart, wide=True),
    ChartSpec("churn", churn_chart, wide=True),
    ChartSpec("managers", managers_chart, wide=True),
    ChartSpec("actions", actions_chart, wide=True),
    ChartSpec("effects", effects_chart, wide=True),
)
