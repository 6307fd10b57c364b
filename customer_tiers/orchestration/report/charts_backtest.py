"""How well the run's own predictions held (issue 19, docs/clv_backtest.md): holdout revenue by
decile of predicted value, actual against predicted, and the calibration of P(buying in the
holdout) by P(alive) band against the diagonal, both from marts.clv_backtest, whose models were
refitted on the history up to the calibration end and checked on the holdout up to as_of; and
the tracking plot from marts.clv_tracking: the calibration cohort's cumulative repeat purchases
per week, actual against the refitted model's expectation, across calibration and holdout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any

from customer_tiers.orchestration.report.base import (
    BLUE,
    GREY,
    MODEL_NAMES,
    ORANGE,
    Chart,
    Context,
    Skip,
    axis,
    base_layout,
    label_number,
    pct,
)

BACKTEST = "clv_backtest"
TRACKING = "clv_tracking"
SKIP_PREFIX = "backtest skipped: "  # how clv_backtest.py starts the reason of section skipped


@dataclass(frozen=True)
class _Window:
    """The backtest's calibration end, analysis date, holdout length and model in use."""

    calibration_end: date
    as_of: date
    holdout_days: int
    model: str

    def says(self, ctx: Context) -> str:
        return ctx.t(
            "backtest.window",
            model=MODEL_NAMES.get(self.model, self.model),
            calibration_end=self.calibration_end.isoformat(),
            as_of=self.as_of.isoformat(),
            days=self.holdout_days,
        )

    def facts(self) -> dict[str, Any]:
        return {
            "calibration_end": self.calibration_end.isoformat(),
            "as_of": self.as_of.isoformat(),
            "holdout_days": self.holdout_days,
            "model": self.model,
        }


def _window(ctx: Context, section: str) -> _Window | Skip:
    """The backtest's window, or why `section` cannot be drawn: the mart absent or empty, the
    backtest skipped (its reason), or no row of the section."""
    if skip := ctx.missing(BACKTEST):
        return skip
    skipped = ctx.rows("select note from marts.clv_backtest where section = 'skipped' limit 1")
    if skipped:
        why = (skipped[0][0] or "").removeprefix(SKIP_PREFIX) or "–"
        return Skip("reason.backtest_skipped", {"why": why})
    row = ctx.rows(
        "select any_value(calibration_end), any_value(as_of), any_value(holdout_days), "
        "any_value(model) from marts.clv_backtest where section = ? and customers > 0",
        [section],
    )[0]
    if row[0] is None:
        return Skip("reason.backtest_section", {"section": section})
    return _Window(*row)


def deciles_chart(ctx: Context) -> Chart | Skip:
    window = _window(ctx, "decile")
    if isinstance(window, Skip):
        return window
    rows = ctx.rows(
        "select label::int as decile, customers, coalesce(actual_revenue, 0)::double, "
        "coalesce(predicted_revenue, 0)::double from marts.clv_backtest "
        "where section = 'decile' and customers > 0 order by decile"
    )
    deciles = [d for d, *_ in rows]
    customers = [n for _, n, *_ in rows]
    actual = [a for _, _, a, _ in rows]
    predicted = [p for *_, p in rows]
    top = actual[deciles.index(1)] if 1 in deciles else 0.0
    # the headline figure as the backtest defined it (clv_backtest.py), not derived again here
    [(share,)] = ctx.rows(
        "select any_value(value) from marts.clv_backtest "
        "where section = 'metric' and label = 'top_decile_revenue_share'"
    )
    names = {"actual": ctx.t("backtest.actual"), "predicted": ctx.t("backtest.predicted")}
    who = ctx.t("customers")
    data = [
        {
            "type": "bar",
            "name": names[kind],
            "x": [str(d) for d in deciles],
            "y": values,
            "marker": {"color": colour},
            "customdata": customers,
            "hovertemplate": f"%{{x}}<br>{names[kind]}: %{{y:,.0f}}<br>"
            f"{who}: %{{customdata:,}}<extra></extra>",
        }
        for kind, values, colour in (("actual", actual, BLUE), ("predicted", predicted, ORANGE))
    ]
    layout = base_layout(
        barmode="group",
        xaxis=axis(ctx.t("deciles.x"), type="category"),
        yaxis=axis(ctx.t("deciles.y"), rangemode="tozero"),
    )
    if share is None:
        note = ctx.t("deciles.note_none")
    else:
        note = ctx.t(
            "deciles.note",
            share=pct(share),
            actual=label_number(top),
            predicted=label_number(predicted[deciles.index(1)]),
        )
    facts = {
        **window.facts(),
        "deciles": deciles,
        "customers": customers,
        "actual_revenue": actual,
        "predicted_revenue": predicted,
        "top_decile_share": share,
    }
    return Chart(data, layout, note=f"{note} {window.says(ctx)}", facts=facts)


def calibration_chart(ctx: Context) -> Chart | Skip:
    window = _window(ctx, "p_alive_band")
    if isinstance(window, Skip):
        return window
    rows = ctx.rows(
        "select label, customers, mean_p_alive, predicted_share_buying, observed_share_buying "
        "from marts.clv_backtest where section = 'p_alive_band' and customers > 0 "
        "and predicted_share_buying is not null and observed_share_buying is not null "
        "order by label"
    )
    if not rows:
        return Skip("reason.backtest_section", {"section": "p_alive_band"})
    overall = ctx.rows(
        "select predicted_share_buying, observed_share_buying, customers from marts.clv_backtest "
        "where section = 'overall' limit 1"
    )
    bands = [label for label, *_ in rows]
    customers = [n for _, n, *_ in rows]
    predicted = [p for *_, p, _ in rows]
    observed = [o for *_, o in rows]
    largest = max(customers)
    band, who = ctx.t("calibration.band"), ctx.t("customers")
    said = {key: ctx.t(f"calibration.{key}") for key in ("predicted", "observed", "alive")}
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": ctx.t("calibration.diagonal"),
            "x": [0, 1],
            "y": [0, 1],
            "line": {"color": GREY, "dash": "dash", "width": 1.5},
            "hoverinfo": "skip",
        },
        {
            "type": "scatter",
            "mode": "markers",  # no line: bands in P(alive) order need not rise in P(buying)
            "name": ctx.t("calibration.bands"),
            "x": predicted,
            "y": observed,
            "marker": {
                "color": BLUE,
                # area in proportion to the band's customers, so a band of a few draws small
                "size": [8 + 16 * math.sqrt(n / largest) for n in customers],
                "line": {"color": "#ffffff", "width": 1},
            },
            "customdata": [[label, n, alive] for label, n, alive, *_ in rows],
            "hovertemplate": f"{band} %{{customdata[0]}}<br>{who}: %{{customdata[1]:,}}<br>"
            f"{said['alive']}: %{{customdata[2]:.2f}}<br>{said['predicted']}: %{{x:.1%}}<br>"
            f"{said['observed']}: %{{y:.1%}}<extra></extra>",
        },
    ]
    layout = base_layout(
        xaxis=axis(said["predicted"], range=[0, 1], tickformat=".0%", zeroline=False),
        yaxis=axis(said["observed"], range=[0, 1], tickformat=".0%", zeroline=False),
    )
    note = ctx.t("calibration.note", bands=len(rows))
    if overall and overall[0][0] is not None and overall[0][1] is not None:
        expected, bought, n = overall[0]
        note += " " + ctx.t(
            "calibration.overall", customers=n, predicted=pct(expected), observed=pct(bought)
        )
    facts = {
        **window.facts(),
        "bands": bands,
        "customers": customers,
        "predicted_share_buying": predicted,
        "observed_share_buying": observed,
    }
    return Chart(data, layout, note=f"{note} {window.says(ctx)}", facts=facts)


def tracking_chart(ctx: Context) -> Chart | Skip:
    window = _window(ctx, "overall")
    if isinstance(window, Skip):
        return window
    if skip := ctx.missing(TRACKING):
        return skip
    rows = ctx.rows(
        "select week_end, period, customers, actual_cumulative_repeat_purchases, "
        "expected_cumulative_repeat_purchases from marts.clv_tracking order by week_index"
    )
    ends = [end.isoformat() for end, *_ in rows]
    customers = [n for _, _, n, _, _ in rows]
    actual = [float(a) for *_, a, _ in rows]
    expected = [float(e) for *_, e in rows]
    # the curves' values on the calibration end (the last calibration week ends on it)
    at_end = max(i for i, (_, period, *_) in enumerate(rows) if period == "calibration")
    said = {key: ctx.t(f"tracking.{key}") for key in ("actual", "expected", "week_end")}
    who = ctx.t("customers")
    data = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": said[kind],
            "x": ends,
            "y": values,
            "line": {"color": colour, "width": 2, "dash": dash},
            "customdata": customers,
            "hovertemplate": f"{said['week_end']} %{{x}}<br>{said[kind]}: %{{y:,.0f}}<br>"
            f"{who}: %{{customdata:,}}<extra></extra>",
        }
        for kind, values, colour, dash in (
            ("actual", actual, BLUE, "solid"),
            ("expected", expected, ORANGE, "dash"),
        )
    ]
    marker = window.calibration_end.isoformat()
    layout = base_layout(
        xaxis=axis(ctx.t("tracking.x"), type="date"),
        yaxis=axis(ctx.t("tracking.y"), rangemode="tozero"),
        shapes=[
            {
                "type": "line",
                "x0": marker,
                "x1": marker,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"color": GREY, "dash": "dot", "width": 1.5},
            }
        ],
        annotations=[
            {
                "x": marker,
                "y": 1,
                "yref": "paper",
                "text": ctx.t("tracking.calibration_end"),
                "showarrow": False,
                "xanchor": "right",
                "yanchor": "top",
                "font": {"color": GREY},
            }
        ],
    )
    holdout_actual, holdout_expected = actual[-1] - actual[at_end], expected[-1] - expected[at_end]
    note = ctx.t(
        "tracking.note",
        customers=customers[at_end],
        actual=label_number(actual[at_end]),
        expected=label_number(expected[at_end]),
        holdout_actual=label_number(holdout_actual),
        holdout_expected=label_number(holdout_expected),
    )
    facts = {
        **window.facts(),
        "week_end": ends,
        "customers": customers[at_end],
        "actual_cumulative": actual,
        "expected_cumulative": expected,
        "holdout_actual": holdout_actual,
        "holdout_expected": holdout_expected,
    }
    return Chart(data, layout, note=f"{note} {window.says(ctx)}", facts=facts)
