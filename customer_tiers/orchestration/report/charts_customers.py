"""Who the customers are: tier and RFM segment sizes with their revenue share, the Pareto
(Lorenz) curve of revenue with the top-20% figure, the R x F grid, and tier migration between the
last two snapshots of tier_history. The sizes, shares, grid cells and the Pareto figure are rows
of the reporting marts (models/marts/reporting), which the run summary reads too; only the Lorenz
curve is sampled here from customer_abc. Only a few hundred numbers reach Python.
"""

from __future__ import annotations

from typing import Any

from customer_tiers.orchestration.report.base import (
    BLUE,
    BLUES,
    GREENS,
    GREY,
    ORANGE,
    PURPLES,
    RED,
    Chart,
    Context,
    Skip,
    axis,
    base_layout,
    pct,
)

LORENZ_POINTS = 200  # most points of the Lorenz curve, the origin included


def _sizes_with_share(
    ctx: Context,
    labels: list[str],
    counts: list[int],
    shares: list[float | None],
    x_title: str,
    note: str,
) -> Chart:
    """Customers per category (left axis) beside the category's share of revenue (right axis)."""
    customers, share_name = ctx.t("customers"), ctx.t("revenue_share")
    data: list[dict[str, Any]] = [
        {
            "type": "bar",
            "name": customers,
            "x": labels,
            "y": counts,
            "offsetgroup": "customers",
            "marker": {"color": BLUE},
            "text": [f"{n:,}" for n in counts],
            "textposition": "auto",
            "cliponaxis": False,
            "hovertemplate": f"%{{x}}<br>{customers}: %{{y:,}}<extra></extra>",
        }
    ]
    layout = base_layout(
        barmode="group",
        uniformtext={"minsize": 9, "mode": "hide"},
        xaxis=axis(x_title),
        yaxis=axis(customers, rangemode="tozero"),
    )
    if any(share is not None for share in shares):
        data.append(
            {
                "type": "bar",
                "name": share_name,
                "x": labels,
                "y": shares,
                "yaxis": "y2",
                "offsetgroup": "revenue",
                "marker": {"color": ORANGE},
                "text": [pct(share) for share in shares],
                "textposition": "outside",
                "cliponaxis": False,
                "hovertemplate": f"%{{x}}<br>{share_name}: %{{y:.1%}}<extra></extra>",
            }
        )
        # tickmode auto: plotly.js 4 syncs an overlaying axis's ticks to the first by default.
        layout["yaxis2"] = axis(
            share_name,
            overlaying="y",
            side="right",
            tickformat=".0%",
            rangemode="tozero",
            tickmode="auto",
            showgrid=False,
        )
    facts = {"sizes": dict(zip(labels, counts, strict=True)), "revenue_share": shares}
    return Chart(data, layout, note=note, facts=facts)


def tiers_chart(ctx: Context) -> Chart | Skip:
    if skip := ctx.missing("report_tier_counts"):
        return skip
    rows = ctx.rows(
        "select tier, tier_label_zh, customers, revenue_share from marts.report_tier_counts "
        "order by tier_rank, tier"
    )
    labels = [(zh or tier) if ctx.lang == "zh" else tier for tier, zh, _, _ in rows]
    return _sizes_with_share(
        ctx,
        labels,
        [n for _, _, n, _ in rows],
        [s for *_, s in rows],
        ctx.t("tiers.x"),
        ctx.t("tiers.note"),
    )


def segments_chart(ctx: Context) -> Chart | Skip:
    if skip := ctx.missing("report_segment_counts"):
        return skip
    rows = ctx.rows(
        "select rfm_segment, rfm_segment_zh, customers, revenue_share "
        "from marts.report_segment_counts order by customers desc, rfm_segment"
    )
    labels = [(zh or seg) if ctx.lang == "zh" else seg for seg, zh, _, _ in rows]
    return _sizes_with_share(
        ctx,
        labels,
        [n for _, _, n, _ in rows],
        [s for *_, s in rows],
        ctx.t("segments.x"),
        ctx.t("segments.note"),
    )


def pareto_chart(ctx: Context) -> Chart | Skip:
    if skip := ctx.missing("customer_abc", "report_headlines"):
        return skip
    # customer_share and cumulative_share are computed per distinct value, so ties share a
    # point; every step-th point is kept, and the last, to stay within LORENZ_POINTS.
    points = ctx.rows(
        "with points as ("
        "  select customer_share as x, max(cumulative_share) as y from marts.customer_abc"
        "  where basis = 'revenue' and cumulative_share is not null group by customer_share),"
        " numbered as ("
        "  select x, y, row_number() over (order by x) as n, count(*) over () as total"
        "  from points)"
        " select x, y from numbered"
        " where (n - 1) % greatest(1, ceil(total / ?)::bigint) = 0 or n = total order by x",
        [LORENZ_POINTS - 2],
    )
    if not points:
        return Skip("reason.no_revenue")
    # the Pareto figure as report_headlines defines it (the summary's too): the top customers'
    # share of customers and of revenue, the top share limit being abc.shares.A
    limit, total, count, top_x, top_y = ctx.rows(
        "select pareto_top_share_limit, pareto_customers, pareto_top_customers, "
        "pareto_top_customer_share, pareto_top_revenue_share from marts.report_headlines"
    )[0]
    top = pct(limit, 0)
    curve_name = ctx.t("pareto.curve")
    data: list[dict[str, Any]] = [
        {
            "type": "scatter",
            "mode": "lines",
            "name": curve_name,
            "x": [0.0, *(x for x, _ in points)],
            "y": [0.0, *(y for _, y in points)],
            "line": {"color": BLUE, "width": 3},
            "hovertemplate": f"{curve_name} %{{x:.1%}} → {ctx.t('revenue')} %{{y:.1%}}"
            "<extra></extra>",
        },
        {
            "type": "scatter",
            "mode": "lines",
            "name": ctx.t("pareto.equal"),
            "x": [0, 1],
            "y": [0, 1],
            "line": {"color": GREY, "dash": "dash"},
            "hoverinfo": "skip",
        },
    ]
    layout = base_layout(
        xaxis=axis(ctx.t("pareto.x"), tickformat=".0%", range=[0, 1]),
        yaxis=axis(ctx.t("pareto.y"), tickformat=".0%", range=[0, 1.05]),
    )
    facts: dict[str, Any] = {"customers": total, "top_customers": count, "top_share": top_y}
    if top_y is None:
        note = ctx.t("pareto.no_top", top=top)
    else:
        share = pct(top_y)
        note = ctx.t(
            "pareto.note", top=pct(count / total, 0), count=count, total=total, share=share
        )
        data.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "name": ctx.t("pareto.top", top=top),
                "x": [top_x],
                "y": [top_y],
                "marker": {"color": RED, "size": 11},
                "text": [f"{pct(top_x, 0)} → {share}"],
                "textposition": "bottom right",
                "hovertemplate": "%{x:.1%} → %{y:.1%}<extra></extra>",
            }
        )
    return Chart(data, layout, note=note, facts=facts)


def rfm_chart(ctx: Context) -> Chart | Skip:
    if skip := ctx.missing("report_rfm_grid"):
        return skip
    cells = ctx.rows(
        "select r_score, f_score, customers, cast(revenue as double), rfm_segment, "
        "rfm_segment_zh from marts.report_rfm_grid"
    )
    scores = [1, 2, 3, 4, 5]
    customers: list[list[int]] = [[0] * 5 for _ in scores]
    revenue: list[list[float]] = [[0.0] * 5 for _ in scores]
    segments: list[list[str]] = [[""] * 5 for _ in scores]
    for r, f, n, money, seg, seg_zh in cells:
        customers[r - 1][f - 1], revenue[r - 1][f - 1] = n, money or 0.0
        segments[r - 1][f - 1] = (seg_zh or seg) if ctx.lang == "zh" else seg
    names = (ctx.t("customers"), ctx.t("revenue"))

    def heatmap(z: list[list[Any]], axes: str, scale: Any, fmt: str, name: str) -> dict[str, Any]:
        return {
            "type": "heatmap",
            "name": name,
            "x": scores,
            "y": scores,
            "z": z,
            "text": segments,
            "texttemplate": f"%{{z:{fmt}}}",
            "colorscale": scale,
            "showscale": False,
            "xaxis": "x" + axes,
            "yaxis": "y" + axes,
            "hovertemplate": f"R %{{y}} · F %{{x}}<br>%{{text}}<br>{name}: %{{z:{fmt}}}"
            "<extra></extra>",
        }

    data = [
        heatmap(customers, "", BLUES, ",", names[0]),
        heatmap(revenue, "2", GREENS, ",.0f", names[1]),
    ]
    x_title, y_title = ctx.t("rfm.x"), ctx.t("rfm.y")
    layout = base_layout(
        xaxis=axis(x_title, domain=[0, 0.46], dtick=1),
        yaxis=axis(y_title, dtick=1),
        xaxis2=axis(x_title, domain=[0.54, 1], dtick=1, anchor="y2"),
        yaxis2=axis(y_title, dtick=1, anchor="x2"),
        annotations=[
            {"text": f"<b>{name}</b>", "x": x, "y": 1.02, "xref": "paper", "yref": "paper"}
            | {"xanchor": "center", "yanchor": "bottom", "showarrow": False}
            for name, x in zip(names, (0.23, 0.77), strict=True)
        ],
    )
    facts = {"customers": customers, "revenue": revenue}
    return Chart(data, layout, note=ctx.t("rfm.note"), facts=facts, height=400)


def migration_chart(ctx: Context) -> Chart | Skip:
    if skip := ctx.missing("tier_history"):
        return skip
    dates = [d for (d,) in ctx.rows("select distinct as_of from marts.tier_history order by 1")]
    if len(dates) < 2:
        return Skip("reason.one_snapshot", {"day": dates[0].isoformat()})
    start, end = dates[-2], dates[-1]
    pair = {"start": start.isoformat(), "end": end.isoformat()}
    if skip := ctx.missing("tier_migration"):
        return skip
    moves = ctx.rows(
        "select from_tier, to_tier, customers, movement from marts.tier_migration "
        "where from_as_of = ? and to_as_of = ?",
        [start, end],
    )
    if not moves:
        return Skip("reason.no_pair", pair)
    labels = ctx.tier_labels()
    order = [
        tier
        for tier, _ in ctx.rows(
            "select tier, min(tier_rank) from marts.tier_history where as_of in (?, ?) "
            "group by tier order by 2, 1",
            [start, end],
        )
    ]

    def label(tier: str) -> str:
        return labels.get(tier, (tier, 0))[0]

    rows_from = ["none", *order]  # best tier on top (the y axis is reversed)
    cols_to = [*order, "none"]
    z: list[list[int | None]] = [[None] * len(cols_to) for _ in rows_from]
    totals = dict.fromkeys(("upgrade", "downgrade", "same", "new", "lost", "changed"), 0)
    for from_tier, to_tier, customers, movement in moves:
        if from_tier in rows_from and to_tier in cols_to:
            z[rows_from.index(from_tier)][cols_to.index(to_tier)] = customers
        totals[movement] = totals.get(movement, 0) + customers
    y_labels = [ctx.t("migration.none_from") if t == "none" else label(t) for t in rows_from]
    x_labels = [ctx.t("migration.none_to") if t == "none" else label(t) for t in cols_to]
    customers_word = ctx.t("customers")
    data = [
        {
            "type": "heatmap",
            "name": customers_word,
            "x": x_labels,
            "y": y_labels,
            "z": z,
            "texttemplate": "%{z:,}",
            "colorscale": PURPLES,
            "showscale": False,
            "hoverongaps": False,
            "hovertemplate": f"%{{y}} → %{{x}}<br>{customers_word}: %{{z:,}}<extra></extra>",
        }
    ]
    layout = base_layout(
        xaxis=axis(ctx.t("migration.x", day=pair["end"]), type="category"),
        yaxis=axis(ctx.t("migration.y", day=pair["start"]), type="category", autorange="reversed"),
        margin={"l": 110, "r": 24, "t": 36, "b": 56},
    )
    return Chart(
        data,
        layout,
        title=ctx.t("migration.title_dates", **pair),
        note=ctx.t("migration.note", **totals),
        facts={"from_as_of": pair["start"], "to_as_of": pair["end"], "movements": totals},
    )
