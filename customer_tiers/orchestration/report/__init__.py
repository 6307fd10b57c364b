"""`tiers report`: one self-contained HTML page of charts of the published marts.

The page works offline: plotly.js is embedded from the `plotly` package and every figure is a
plain JSON spec, so nothing is fetched when it is opened. Charts: tier and RFM segment sizes with
their revenue share, the Pareto (Lorenz) curve of revenue with the top-20% figure, the R x F grid
of customers and revenue, tier migration between the last two snapshots of tier_history
(charts_customers.py), the NPS trend with its margin of error, the CLV distribution, the head of
the churn watch list, the account managers' loads (charts_outlook.py), the actions due per manager
and each experiment's measured effect in words (actions.py). A chart whose mart is absent or empty
is not drawn and the page says why.

The counts, shares and headline figures are rows of the reporting marts (models/marts/reporting,
which the run summary reads too, so a figure has one definition); DuckDB does the rest (histogram
bins, the Lorenz curve sampled to at most LORENZ_POINTS points), so only a few hundred numbers per
chart reach Python, whatever the number of customers. The modules form layers, none importing
back: text (the words), font and template (the HTML), base (the chart contract and helpers), the
chart modules, charts (the page order), page (opening the warehouse, rendering, writing); only
this file imports page.
"""

from __future__ import annotations

from customer_tiers.orchestration.report.base import Chart, Context, Skip
from customer_tiers.orchestration.report.charts import CHARTS, ChartSpec
from customer_tiers.orchestration.report.charts_customers import LORENZ_POINTS
from customer_tiers.orchestration.report.page import (
    ReportError,
    ReportSummary,
    format_summary,
    write_report,
)
from customer_tiers.orchestration.report.text import LANGS, TEXT, Lang, text

__all__ = [
    "CHARTS",
    "LANGS",
    "LORENZ_POINTS",
    "TEXT",
    "Chart",
    "ChartSpec",
    "Context",
    "Lang",
    "ReportError",
    "ReportSummary",
    "Skip",
    "format_summary",
    "text",
    "write_report",
]
