"""What lies ahead and who acts on it: the NPS trend with its margin of error, the CLV
distribution (log bins), the head of the churn watch list, and the account managers' loads.
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from customer_tiers.orchestration.report.base import (
    BLUE,
    GREY,
    MARTS_SCHEMA,
    MODEL_NAMES,
    RED,
    TIER_COLOURS,
    Chart,
    Context,
    Skip,
    axis,
    base_layout,
    ident,
    label_number,
)
from customer_tiers.orchestration.report.text import TEXT

CLV_BINS = 30  # histogram bins, equal on a log scale
NPS_PERIODS = 24  # latest periods on the NPS trend
MIN_QUARTERS = 3  # fewer quarters with answers than this: show months instead
CHURN_HEAD = 15  # rows of the churn watch list shown
MAX_MANAGERS = 40  # managers on the load chart (the most loaded first)


def _nps_period_type(ctx: Context) -> str:
    counts = dict(
        ctx.rows(
            "select period_type, count(*) from marts.nps_summary "
            "where dimension = 'overall' and responses > 0 and nps is not null group by 1"
        )
    )
    if counts.get("quarter", 0) >= MIN_QUARTERS or not counts.get("month"):
        return "quarter"
    return "month"


def nps_chart(ctx: Context) -> Chart | Skip:
    if skip := ctx.missing("nps_summary"):
        return skip
    period_type = _nps_period_type(ctx)
    rows = ctx.rows(
        "select period, nps, nps_moe_95, responses, is_complete_period from marts.nps_summary "
        "where dimension = 'overall' and period_type = ? and responses > 0 and nps is not null "
        "order by period desc limit ?",
        [period_type, NPS_PERIODS],
    )[::-1]
    if not rows:
        return Skip("reason.no_nps")
    periods = [p if complete is not False else f"{p} *" for p, *_, complete in rows]
    answers = ctx.t("nps.responses")
    data = [
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "NPS",
            "x": periods,
            "y": [nps for _, nps, *_ in rows],
            "error_y": {
                "type": "data",
                "array": [moe or 0.0 for _, _, moe, *_ in rows],
                "visible": True,
                "color": GREY,
            },
            "customdata": [[n, moe] for _, _, moe, n, _ in rows],
            "line": {"color": BLUE, "width": 2},
            "marker": {"size": 7},
            "hovertemplate": "%{x}<br>NPS %{y:.1f} ± %{customdata[1]:.1f}<br>"
            f"%{{customdata[0]:,}} {answers}<extra></extra>",
        }
    ]
    layout = base_layout(
        xaxis=axis(ctx.t(f"nps.x.{period_type}"), type="category"),
        yaxis=axis(ctx.t("nps.y"), range=[-105, 105], zeroline=True, zerolinecolor=GREY),
        showlegend=False,
    )
    note = ctx.t("nps.note")
    if any(complete is False for *_, complete in rows):
        note += " " + ctx.t("nps.partial")
    facts = {"period_type": period_type, "periods": [p for p, *_ in rows]}
    return Chart(data, layout, note=note, facts=facts)


def _clv_column(ctx: Context) -> str | None:
    predicted, historical = ctx.rows(
        "select count(predicted_clv_365d) filter (where predicted_clv_365d > 0), "
        "count(historical_clv) filter (where historical_clv > 0) from marts.customer_clv"
    )[0]
    if predicted:
        return "predicted_clv_365d"
    return "historical_clv" if historical else None


def _log_ticks(lo: float, hi: float) -> tuple[list[float], list[str]]:
    """Ticks at 1, 2 and 5 times the powers of ten inside [lo, hi] (log10 units); only the
    powers themselves over more than three decades, where 1-2-5 ticks would crowd."""
    values, labels = [], []
    steps = (1,) if hi - lo > 3 else (1, 2, 5)
    for power in range(math.floor(lo), math.ceil(hi) + 1):
        for step in steps:
            tick = math.log10(step) + power
            if lo - 1e-9 <= tick <= hi + 1e-9:
                values.append(tick)
                labels.append(_short(step * 10.0**power))
    return values, labels


def _short(value: float) -> str:
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:g}{unit}"
    return f"{value:g}"


def _purchase_model(ctx: Context) -> str:
    """The purchase model the marts use (clv_model_params.in_use), by its published name."""
    if "clv_model_params" in ctx.marts:
        for (model,) in ctx.rows(
            "select model from marts.clv_model_params where in_use and model <> 'gamma_gamma' "
            "order by model limit 1"
        ):
            return MODEL_NAMES.get(model, model)
    return "BG/NBD"  # warehouses from before the model choice (issue 19) fitted only BG/NBD


def clv_chart(ctx: Context) -> Chart | Skip:
    if skip := ctx.missing("customer_clv"):
        return skip
    column = _clv_column(ctx)
    if column is None:
        return Skip("reason.no_clv")
    # CLV is heavy-tailed (at the demo's 300 customers the top 1% is 50x the median), so the bins
    # are equal on a log scale, from the 1st percentile of the positive values to the largest;
    # customers below that (zero and negative values too) are counted in the first bin.
    bins = ctx.rows(
        f"with v as (select {column}::double as x from marts.customer_clv"
        f"  where {column} is not null),"
        " s as (select quantile_cont(x, 0.01) filter (where x > 0) as p1, max(x) as top,"
        "  median(x) as mid, count(*) as n from v),"
        " b as (select v.x, s.p1, log10(s.p1) as lo, log10(s.top) as hi from v cross join s)"
        " select case when hi <= lo then 0 else least(greatest(floor("
        f"  (log10(greatest(x, 1e-300)) - lo) / ((hi - lo) / {CLV_BINS})), 0),"
        f"  {CLV_BINS - 1})::int end as bin,"
        " count(*), count(*) filter (where x < p1), any_value(lo), any_value(hi)"
        " from b group by 1 order by 1"
    )
    mid, n = ctx.rows(f"select median({column})::double, count({column}) from marts.customer_clv")[
        0
    ]
    lo, hi = bins[0][3:]
    below = sum(row[2] for row in bins)
    width = (hi - lo) / CLV_BINS if hi > lo else 0.1
    customers = ctx.t("customers")
    kind = "predicted" if column == "predicted_clv_365d" else "historical"
    data = [
        {
            "type": "bar",
            "name": customers,
            "x": [lo + (b + 0.5) * width for b, *_ in bins],
            "y": [c for _, c, *_ in bins],
            "width": [width] * len(bins),
            "marker": {"color": BLUE, "line": {"color": "#ffffff", "width": 1}},
            "customdata": [
                [10 ** (lo + b * width), 10 ** (lo + (b + 1) * width)] for b, *_ in bins
            ],
            "hovertemplate": "%{customdata[0]:,.0f} – %{customdata[1]:,.0f}<br>"
            f"{customers}: %{{y:,}}<extra></extra>",
        }
    ]
    tick_values, tick_labels = _log_ticks(lo, hi + width)
    layout = base_layout(
        bargap=0,
        showlegend=False,
        xaxis=axis(
            ctx.t(f"clv.x.{kind}"),
            tickmode="array",
            tickvals=tick_values,
            ticktext=tick_labels,
            range=[lo - width, hi + 2 * width],
        ),
        yaxis=axis(customers, rangemode="tozero"),
    )
    if mid > 0:  # the median as a dashed line, where the log axis can show it
        x_mid = math.log10(mid)
        layout["shapes"] = [
            {
                "type": "line",
                "x0": x_mid,
                "x1": x_mid,
                "yref": "paper",
                "y0": 0,
                "y1": 1,
                "line": {"color": RED, "dash": "dash", "width": 2},
            }
        ]
        layout["annotations"] = [
            {
                "x": x_mid,
                "y": 1,
                "yref": "paper",
                "text": ctx.t("clv.median", value=label_number(mid)),
                "showarrow": False,
                "xanchor": "left",
                "yanchor": "top",
                "font": {"color": RED},
            }
        ]
    model = _purchase_model(ctx)
    note = ctx.t(f"clv.note.{kind}", count=n, below=below, floor=label_number(10**lo), model=model)
    facts = {
        "column": column,
        "customers": n,
        "median": mid,
        "binned": sum(c for _, c, *_ in bins),
        "model": model,
    }
    return Chart(data, layout, note=note, facts=facts)


def _word(ctx: Context, group: str, value: str | None) -> str:
    if value is None:
        return "–"
    key = f"{group}.{value}"
    return ctx.t(key) if key in TEXT else value


def churn_chart(ctx: Context) -> Chart | Skip:
    if skip := ctx.missing("churn_watchlist"):
        return skip
    total = ctx.rows("select count(*) from marts.churn_watchlist")[0][0]
    rows = ctx.rows(
        "select customer_id, risk_level, action, win_back_deadline, p_alive, "
        "days_since_last_order, expected_days_between_orders, value_at_stake "
        "from marts.churn_watchlist "
        "order by win_back_deadline nulls last, value_at_stake desc nulls last, customer_id "
        "limit ?",
        [CHURN_HEAD],
    )

    def fmt(value: Any, spec: str) -> str:
        if value is None:
            return "–"
        return value.isoformat() if isinstance(value, date) else format(value, spec)

    columns = [
        [r[0] for r in rows],
        [_word(ctx, "risk", r[1]) for r in rows],
        [_word(ctx, "action", r[2]) for r in rows],
        [fmt(r[3], "") for r in rows],
        [fmt(r[4], ".2f") for r in rows],
        [fmt(r[5], ",") for r in rows],
        [fmt(r[6], ",.0f") for r in rows],
        [fmt(r[7], ",.0f") for r in rows],
    ]
    headers = [
        ctx.t(f"churn.{key}")
        for key in ("customer", "risk", "action", "deadline", "p_alive", "days", "gap", "value")
    ]
    data = [
        {
            "type": "table",
            "columnwidth": [1.1, 0.7, 0.8, 1, 0.8, 1.1, 1.3, 1],
            "header": {
                "values": [f"<b>{h}</b>" for h in headers],
                "fill": {"color": "#e8edf7"},
                "align": "left",
                "height": 30,
            },
            "cells": {
                "values": columns,
                "align": ["left", "left", "left", "left", "right", "right", "right", "right"],
                "height": 26,
                "fill": {"color": "#ffffff"},
                "line": {"color": "#e3e6ec"},
            },
        }
    ]
    # the top margin keeps plotly's mode bar off the header row
    layout = base_layout(margin={"l": 8, "r": 8, "t": 32, "b": 8})
    return Chart(
        data,
        layout,
        title=ctx.t("churn.title_count", shown=len(rows), total=total),
        note=ctx.t("churn.note"),
        facts={"total": total, "customer_ids": columns[0]},
        height=32 + 30 + 26 * len(rows) + 24,
    )


def managers_chart(ctx: Context) -> Chart | Skip:
    if skip := ctx.missing("manager_load"):
        return skip
    labels = ctx.tier_labels()
    by_column = {f"{tier.lower()}_customers": tier for tier in labels}
    tier_columns = sorted(
        (
            name
            for (name,) in ctx.rows(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = 'manager_load' "
                "order by ordinal_position",
                [MARTS_SCHEMA],
            )
            if name.endswith("_customers")
        ),
        key=lambda name: labels.get(by_column.get(name, ""), ("", math.inf))[1],
    )
    total = ctx.rows("select count(*) from marts.manager_load")[0][0]
    counts = ", ".join(f"coalesce({ident(c)}, 0)" for c in tier_columns)
    rows = ctx.rows(
        "select staff_id, staff_name, is_active, capacity, customers, weighted_load::double, "
        f"any_value(mean_weighted_load) over (){', ' + counts if counts else ''} "
        "from marts.manager_load order by weighted_load desc, staff_id limit ?",
        [MAX_MANAGERS],
    )
    names = []
    for staff_id, staff_name, active, *_ in rows:
        name = f"{staff_name} ({staff_id})" if staff_name else staff_id
        names.append(name if active is not False else ctx.t("managers.inactive", name=name))
    customers = ctx.t("customers")
    weighted = ctx.t("managers.weighted")
    data: list[dict[str, Any]] = []
    for i, column in enumerate(tier_columns):
        tier = by_column.get(column, column.removesuffix("_customers"))
        tier_label = labels.get(tier, (tier, 0))[0]
        data.append(
            {
                "type": "bar",
                "name": tier_label,
                "x": names,
                "y": [row[7 + i] for row in rows],
                "marker": {"color": TIER_COLOURS[i % len(TIER_COLOURS)]},
                "customdata": [[row[4], row[5]] for row in rows],
                "hovertemplate": f"%{{x}}<br>{tier_label}: %{{y:,}}<br>{customers}: "
                f"%{{customdata[0]:,}} · {weighted}: %{{customdata[1]:,.1f}}<extra></extra>",
            }
        )
    if not tier_columns:  # a manager_load without per-tier columns: the totals only
        data.append({"type": "bar", "name": customers, "x": names, "y": [r[4] for r in rows]})
    data.append(
        {
            "type": "scatter",
            "mode": "markers",
            "name": ctx.t("managers.capacity"),
            "x": names,
            "y": [row[3] for row in rows],
            "marker": {"symbol": "line-ew", "size": 34, "line": {"color": RED, "width": 3}},
            "hovertemplate": f"%{{x}}<br>{ctx.t('managers.capacity')}: %{{y:,}}<extra></extra>",
        }
    )
    layout = base_layout(
        barmode="stack",
        xaxis=axis(ctx.t("managers.x"), type="category"),
        yaxis=axis(customers, rangemode="tozero"),
    )
    mean = rows[0][6] if rows else None
    note = ctx.t("managers.note", mean="–" if mean is None else f"{mean:,.1f}")
    if total > len(rows):
        note += ctx.t("managers.note_top", shown=len(rows), total=total)
    facts = {"managers": total, "customers": {n: r[4] for n, r in zip(names, rows, strict=True)}}
    return Chart(data, layout, note=note, facts=facts, height=300)
