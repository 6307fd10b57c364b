"""`tiers report`: one self-contained HTML page of charts of the published marts.

The page works offline: plotly.js is embedded from the `plotly` package and every figure is a
plain JSON spec, so nothing is fetched when it is opened. Charts: tier and RFM segment sizes with
their revenue share, the Pareto (Lorenz) curve of revenue with the top-20% figure, the R x F grid
of customers and revenue, tier migration between the last two snapshots of tier_history, the NPS
trend with its margin of error, the CLV distribution, the head of the churn watch list, the
account managers' loads, the actions due per manager and each experiment's measured effect in
words (report_actions.py). A chart whose mart is absent or empty is not drawn and the page says why.

DuckDB does every aggregation (counts, shares, histogram bins, the Lorenz curve sampled to at most
LORENZ_POINTS points), so only a few hundred numbers per chart reach Python, whatever the number
of customers. The warehouse is opened read-only and closed before the page is written; the page
is written to a temporary file beside --out and renamed over it.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

import duckdb

from customer_tiers.orchestration import report_actions
from customer_tiers.orchestration.config import MEMORY_LIMIT, WORK_SUFFIX
from customer_tiers.orchestration.report_template import FONT_FAMILY, page_html, section_html

Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = ("en", "zh")
MARTS_SCHEMA = "marts"

TOP_SHARE = 0.2  # the Pareto figure: revenue share of the top 20% of customers
LORENZ_POINTS = 200  # most points of the Lorenz curve, the origin included
CLV_BINS = 30  # histogram bins, equal on a log scale
NPS_PERIODS = 24  # latest periods on the NPS trend
MIN_QUARTERS = 3  # fewer quarters with answers than this: show months instead
CHURN_HEAD = 15  # rows of the churn watch list shown
MAX_MANAGERS = 40  # managers on the load chart (the most loaded first)
# Headless Chromium that opens the page (the browser test, the README screenshot). Without the
# background-networking flags Chromium's own connections are refused on a closed network and
# slow it down; the page itself needs none.
HEADLESS_CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=15000",
)

BLUE, ORANGE, RED, GREY = "#3b6fd8", "#f28e2b", "#d62728", "#8a93a6"
# Light (few) to dark (many); spelled out because plotly.js's named scales run dark to light.
BLUES = [[0, "#eef3fc"], [1, "#1f4fb8"]]
GREENS = [[0, "#eef8f0"], [1, "#1b7a3a"]]
PURPLES = [[0, "#f3f0fa"], [1, "#5b3a9e"]]
TIER_COLOURS = ("#3b6fd8", "#e0a800", "#9aa5b8", "#b0723b", "#6c757d", "#59a14f", "#af7aa1")

# Every word on the page, in English and Chinese.
TEXT: dict[str, tuple[str, str]] = {
    "page.title": ("Customer report", "客户分析报告"),
    "page.subtitle": (
        "{warehouse} · as of {as_of} · {customers} customers",
        "{warehouse} · 分析日期 {as_of} · 客户 {customers} 人",
    ),
    "skipped": ("Not drawn: {reason}.", "未绘制：{reason}。"),
    "customers": ("Customers", "客户数"),
    "revenue": ("Revenue", "收入"),
    "revenue_share": ("Share of revenue", "收入占比"),
    "tiers.title": ("Tiers: customers and share of revenue", "客户分层：人数与收入占比"),
    "tiers.x": ("Tier", "层级"),
    "tiers.note": (
        "Bars: customers per tier (left axis) and the tier's share of net revenue (right axis).",
        "柱形：各层级客户数（左轴）及其净收入占比（右轴）。",
    ),
    "segments.title": (
        "RFM segments: customers and share of revenue",
        "RFM 客户分群：人数与收入占比",
    ),
    "segments.x": ("Segment", "分群"),
    "segments.note": (
        "Customers with a purchase, by the named segment of their R x F scores.",
        "有购买记录的客户，按 R × F 评分所属的分群统计。",
    ),
    "pareto.title": ("Pareto (Lorenz) curve of revenue", "收入帕累托（洛伦兹）曲线"),
    "pareto.x": ("Share of customers, best first", "客户占比（按收入从高到低）"),
    "pareto.y": ("Cumulative share of revenue", "累计收入占比"),
    "pareto.curve": ("Customers", "客户"),
    "pareto.equal": ("Equal shares", "均等分布"),
    "pareto.top": ("Top {top}", "前 {top}"),
    "pareto.note": (
        "The top {top} of customers ({count:,} of {total:,}) bring {share} of revenue.",
        "前 {top} 的客户（{total:,} 人中的 {count:,} 人）贡献了 {share} 的收入。",
    ),
    "pareto.no_top": (
        "A tie at the top is larger than {top} of customers: no top-{top} figure.",
        "最高值的并列客户超过 {top}，无法给出前 {top} 的数字。",
    ),
    "rfm.title": (
        "Customers and revenue by recency (R) and frequency (F) score",
        "按最近购买（R）与购买频次（F）评分的客户数与收入",
    ),
    "rfm.x": ("F score (5 = most orders)", "F 评分（5 = 购买最多）"),
    "rfm.y": ("R score (5 = most recent)", "R 评分（5 = 最近购买）"),
    "rfm.note": (
        "Each cell is one R x F combination; hover for its segment.",
        "每个格子是一个 R × F 组合，悬停可查看所属分群。",
    ),
    "migration.title": ("Tier migration", "层级迁移"),
    "migration.title_dates": ("Tier migration {start} → {end}", "层级迁移 {start} → {end}"),
    "migration.x": ("Tier on {day}", "{day} 的层级"),
    "migration.y": ("Tier on {day}", "{day} 的层级"),
    "migration.none_from": ("not a customer yet", "尚非客户"),
    "migration.none_to": ("gone", "已离开"),
    "migration.note": (
        "{upgrade:,} moved up, {downgrade:,} down, {same:,} stayed, {new:,} new, {lost:,} gone.",
        "升级 {upgrade:,} 人，降级 {downgrade:,} 人，不变 {same:,} 人，"
        "新增 {new:,} 人，离开 {lost:,} 人。",
    ),
    "nps.title": ("NPS trend with its 95% margin of error", "NPS 趋势及 95% 误差范围"),
    "nps.x.quarter": ("Quarter", "季度"),
    "nps.x.month": ("Month", "月份"),
    "nps.y": ("NPS (points, −100 to 100)", "NPS（分，−100 到 100）"),
    "nps.responses": ("responses", "份回答"),
    "nps.note": (
        "Error bars: 95% margin of error. Periods with fewer than 30 responses are anecdotes.",
        "误差线：95% 误差范围。回答少于 30 份的期间仅供参考。",
    ),
    "nps.partial": ("* period not over yet.", "* 期间尚未结束。"),
    "clv.title": ("Customer lifetime value distribution", "客户终身价值分布"),
    "clv.x.predicted": ("Predicted CLV, next 365 days", "预测客户终身价值（未来 365 天）"),
    "clv.x.historical": ("Historical CLV", "历史客户终身价值"),
    "clv.median": ("median {value}", "中位数 {value}"),
    "clv.note.predicted": (
        "Customers by expected net revenue over the next 365 days (BG/NBD x Gamma-Gamma), "
        "{count:,} customers, on a log scale; the first bar also holds the {below:,} below "
        "{floor}.",
        "按未来 365 天预期净收入（BG/NBD × Gamma-Gamma）统计的客户数，共 {count:,} 人，"
        "对数刻度；第一根柱还包含低于 {floor} 的 {below:,} 人。",
    ),
    "clv.note.historical": (
        "The models could not be fitted, so historical CLV is shown: {count:,} customers, "
        "on a log scale; the first bar also holds the {below:,} below {floor}.",
        "模型未能拟合，因此显示历史客户终身价值：共 {count:,} 人，对数刻度；"
        "第一根柱还包含低于 {floor} 的 {below:,} 人。",
    ),
    "churn.title": ("Churn watch list", "流失预警名单"),
    "churn.title_count": (
        "Churn watch list: the first {shown:,} of {total:,} customers",
        "流失预警名单：{total:,} 位客户中的前 {shown:,} 位",
    ),
    "churn.customer": ("Customer", "客户"),
    "churn.risk": ("Risk", "风险"),
    "churn.action": ("Action", "行动"),
    "churn.deadline": ("Act by", "截止日期"),
    "churn.p_alive": ("P(alive)", "存活概率"),
    "churn.days": ("Days since last order", "距上次购买天数"),
    "churn.gap": ("Expected days between orders", "预期购买间隔天数"),
    "churn.value": ("Value at stake", "潜在价值"),
    "churn.note": (
        "Soonest deadline first, then the most value at stake.",
        "按截止日期从近到远，再按潜在价值从高到低排列。",
    ),
    "action.win_back": ("win back", "挽回"),
    "action.let_go": ("let go", "放弃"),
    "risk.high": ("high", "高"),
    "risk.medium": ("medium", "中"),
    "risk.low": ("low", "低"),
    "managers.title": ("Account-manager loads", "客户经理负载"),
    "managers.x": ("Account manager", "客户经理"),
    "managers.capacity": ("Capacity", "容量上限"),
    "managers.inactive": ("{name} (inactive)", "{name}（停用）"),
    "managers.weighted": ("weighted load", "加权负载"),
    "managers.note": (
        "Customers per manager by tier; the red mark is the manager's capacity. "
        "Mean weighted load of the active managers: {mean}.",
        "各客户经理按层级的客户数；红色标记为容量上限。在职客户经理的平均加权负载：{mean}。",
    ),
    "managers.note_top": (
        " The {shown:,} most loaded of {total:,} managers are shown.",
        " 显示 {total:,} 位客户经理中负载最高的 {shown:,} 位。",
    ),
    "reason.absent": ("marts.{mart} is not in the warehouse", "仓库中没有 marts.{mart}"),
    "reason.empty": ("marts.{mart} is empty", "marts.{mart} 为空"),
    "reason.one_snapshot": (
        "tier_history has only one snapshot ({day}); migration needs runs on two analysis dates "
        "(tiers backfill)",
        "tier_history 只有一个快照（{day}），层级迁移需要两个分析日期的运行（tiers backfill）",
    ),
    "reason.no_pair": (
        "marts.tier_migration has no rows for {start} → {end}",
        "marts.tier_migration 中没有 {start} → {end} 的数据",
    ),
    "reason.no_revenue": (
        "total revenue is 0, so there is no Pareto curve",
        "总收入为 0，无法绘制帕累托曲线",
    ),
    "reason.no_nps": ("no survey response has an NPS answer", "没有含 NPS 评分的问卷回答"),
    "reason.no_clv": ("no customer has a CLV above 0", "没有客户的终身价值大于 0"),
}

TEXT.update(report_actions.TEXT)  # the actions and experiments sections (report_actions.py)


def text(lang: Lang, key: str, **params: Any) -> str:
    english, chinese = TEXT[key]
    return (chinese if lang == "zh" else english).format(**params)


class ReportError(Exception):
    """The report could not be made (no warehouse, no marts, unwritable --out): exit 2."""


@dataclass(frozen=True)
class Chart:
    data: list[dict[str, Any]]
    layout: dict[str, Any]
    title: str | None = None  # overrides the chart's usual title
    note: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)  # the headline numbers, for readers
    height: int = 340


@dataclass(frozen=True)
class Skip:
    reason: str  # a "reason.*" key of TEXT
    params: dict[str, Any] = field(default_factory=dict)

    def says(self, lang: Lang) -> str:
        return text(lang, self.reason, **self.params)


@dataclass(frozen=True)
class ReportSummary:
    warehouse: Path
    out: Path
    lang: Lang
    drawn: list[str]  # chart keys, in page order
    skipped: list[tuple[str, str]]  # chart key, why (in English)
    bytes: int


@dataclass(frozen=True)
class _Context:
    con: duckdb.DuckDBPyConnection
    lang: Lang
    marts: frozenset[str]

    def t(self, key: str, **params: Any) -> str:
        return text(self.lang, key, **params)

    def rows(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, list(params)).fetchall()

    def missing(self, *marts: str) -> Skip | None:
        """Why a chart of these marts cannot be drawn: the first absent or empty one."""
        for mart in marts:
            if mart not in self.marts:
                return Skip("reason.absent", {"mart": mart})
            if not self.rows(f"select 1 from {MARTS_SCHEMA}.{_ident(mart)} limit 1"):
                return Skip("reason.empty", {"mart": mart})
        return None

    def tier_labels(self) -> dict[str, tuple[str, int]]:
        """Tier -> (label in the page's language, rank), from customer_tiers when it is there."""
        if "customer_tiers" not in self.marts:
            return {}
        rows = self.rows(
            "select tier, any_value(tier_label_zh), min(tier_rank) "
            "from marts.customer_tiers group by tier"
        )
        return {
            tier: ((label_zh or tier) if self.lang == "zh" else tier, rank)
            for tier, label_zh, rank in rows
        }


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _pct(share: float | None, digits: int = 1) -> str:
    return "–" if share is None else f"{share * 100:.{digits}f}%"


def _number(value: float) -> str:
    """Money for labels: 1,234, or three significant digits below 100 (12.3, 0.00412)."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _layout(**extra: Any) -> dict[str, Any]:
    layout: dict[str, Any] = {
        "font": {"family": FONT_FAMILY, "size": 12, "color": "#1d2433"},
        "margin": {"l": 64, "r": 64, "t": 36, "b": 64},
        "legend": {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "hoverlabel": {"font": {"family": FONT_FAMILY}},
    }
    layout.update(extra)
    return layout


def _axis(title: str, **extra: Any) -> dict[str, Any]:
    return {"title": {"text": title}, "automargin": True, **extra}


# ---- charts -------------------------------------------------------------------------------


def _sizes_with_share(
    ctx: _Context,
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
    layout = _layout(
        barmode="group",
        uniformtext={"minsize": 9, "mode": "hide"},
        xaxis=_axis(x_title),
        yaxis=_axis(customers, rangemode="tozero"),
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
                "text": [_pct(share) for share in shares],
                "textposition": "outside",
                "cliponaxis": False,
                "hovertemplate": f"%{{x}}<br>{share_name}: %{{y:.1%}}<extra></extra>",
            }
        )
        # tickmode auto: plotly.js 4 syncs an overlaying axis's ticks to the first by default.
        layout["yaxis2"] = _axis(
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


def tiers_chart(ctx: _Context) -> Chart | Skip:
    if skip := ctx.missing("customer_tiers"):
        return skip
    with_revenue = "customer_rfm" in ctx.marts
    share = (
        "sum(r.monetary)::double / nullif(sum(sum(r.monetary)) over (), 0)"
        if with_revenue
        else "null"
    )
    join = "left join marts.customer_rfm as r using (customer_id)" if with_revenue else ""
    rows = ctx.rows(
        f"select t.tier, any_value(t.tier_label_zh), count(*), {share} "
        f"from marts.customer_tiers as t {join} group by t.tier order by min(t.tier_rank), t.tier"
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


def segments_chart(ctx: _Context) -> Chart | Skip:
    if skip := ctx.missing("customer_rfm"):
        return skip
    rows = ctx.rows(
        "select rfm_segment, any_value(rfm_segment_zh), count(*), "
        "sum(monetary)::double / nullif(sum(sum(monetary)) over (), 0) "
        "from marts.customer_rfm group by rfm_segment order by 3 desc, 1"
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


def pareto_chart(ctx: _Context) -> Chart | Skip:
    if skip := ctx.missing("customer_abc"):
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
    total, count, top_x, top_y = ctx.rows(
        "select count(*), count(*) filter (where customer_share <= ?), "
        "max(customer_share) filter (where customer_share <= ?), "
        "max(cumulative_share) filter (where customer_share <= ?) "
        "from marts.customer_abc where basis = 'revenue'",
        # a hair above 0.2: 58 / 290 as a double must count as 20%
        [TOP_SHARE + 1e-9] * 3,
    )[0]
    top = _pct(TOP_SHARE, 0)
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
    layout = _layout(
        xaxis=_axis(ctx.t("pareto.x"), tickformat=".0%", range=[0, 1]),
        yaxis=_axis(ctx.t("pareto.y"), tickformat=".0%", range=[0, 1.05]),
    )
    facts: dict[str, Any] = {"customers": total, "top_customers": count, "top_share": top_y}
    if top_y is None:
        note = ctx.t("pareto.no_top", top=top)
    else:
        share = _pct(top_y)
        note = ctx.t(
            "pareto.note", top=_pct(count / total, 0), count=count, total=total, share=share
        )
        data.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "name": ctx.t("pareto.top", top=top),
                "x": [top_x],
                "y": [top_y],
                "marker": {"color": RED, "size": 11},
                "text": [f"{_pct(top_x, 0)} → {share}"],
                "textposition": "bottom right",
                "hovertemplate": "%{x:.1%} → %{y:.1%}<extra></extra>",
            }
        )
    return Chart(data, layout, note=note, facts=facts)


def rfm_chart(ctx: _Context) -> Chart | Skip:
    if skip := ctx.missing("customer_rfm"):
        return skip
    cells = ctx.rows(
        "select r_score, f_score, count(*), sum(monetary)::double, "
        "any_value(rfm_segment), any_value(rfm_segment_zh) "
        "from marts.customer_rfm group by r_score, f_score"
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
    layout = _layout(
        xaxis=_axis(x_title, domain=[0, 0.46], dtick=1),
        yaxis=_axis(y_title, dtick=1),
        xaxis2=_axis(x_title, domain=[0.54, 1], dtick=1, anchor="y2"),
        yaxis2=_axis(y_title, dtick=1, anchor="x2"),
        annotations=[
            {"text": f"<b>{name}</b>", "x": x, "y": 1.02, "xref": "paper", "yref": "paper"}
            | {"xanchor": "center", "yanchor": "bottom", "showarrow": False}
            for name, x in zip(names, (0.23, 0.77), strict=True)
        ],
    )
    facts = {"customers": customers, "revenue": revenue}
    return Chart(data, layout, note=ctx.t("rfm.note"), facts=facts, height=400)


def migration_chart(ctx: _Context) -> Chart | Skip:
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
    layout = _layout(
        xaxis=_axis(ctx.t("migration.x", day=pair["end"]), type="category"),
        yaxis=_axis(ctx.t("migration.y", day=pair["start"]), type="category", autorange="reversed"),
        margin={"l": 110, "r": 24, "t": 36, "b": 56},
    )
    return Chart(
        data,
        layout,
        title=ctx.t("migration.title_dates", **pair),
        note=ctx.t("migration.note", **totals),
        facts={"from_as_of": pair["start"], "to_as_of": pair["end"], "movements": totals},
    )


def _nps_period_type(ctx: _Context) -> str:
    counts = dict(
        ctx.rows(
            "select period_type, count(*) from marts.nps_summary "
            "where dimension = 'overall' and responses > 0 and nps is not null group by 1"
        )
    )
    if counts.get("quarter", 0) >= MIN_QUARTERS or not counts.get("month"):
        return "quarter"
    return "month"


def nps_chart(ctx: _Context) -> Chart | Skip:
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
    layout = _layout(
        xaxis=_axis(ctx.t(f"nps.x.{period_type}"), type="category"),
        yaxis=_axis(ctx.t("nps.y"), range=[-105, 105], zeroline=True, zerolinecolor=GREY),
        showlegend=False,
    )
    note = ctx.t("nps.note")
    if any(complete is False for *_, complete in rows):
        note += " " + ctx.t("nps.partial")
    facts = {"period_type": period_type, "periods": [p for p, *_ in rows]}
    return Chart(data, layout, note=note, facts=facts)


def _clv_column(ctx: _Context) -> str | None:
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


def clv_chart(ctx: _Context) -> Chart | Skip:
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
    layout = _layout(
        bargap=0,
        showlegend=False,
        xaxis=_axis(
            ctx.t(f"clv.x.{kind}"),
            tickmode="array",
            tickvals=tick_values,
            ticktext=tick_labels,
            range=[lo - width, hi + 2 * width],
        ),
        yaxis=_axis(customers, rangemode="tozero"),
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
                "text": ctx.t("clv.median", value=_number(mid)),
                "showarrow": False,
                "xanchor": "left",
                "yanchor": "top",
                "font": {"color": RED},
            }
        ]
    note = ctx.t(f"clv.note.{kind}", count=n, below=below, floor=_number(10**lo))
    facts = {"column": column, "customers": n, "median": mid, "binned": sum(c for _, c, *_ in bins)}
    return Chart(data, layout, note=note, facts=facts)


def _word(ctx: _Context, group: str, value: str | None) -> str:
    if value is None:
        return "–"
    key = f"{group}.{value}"
    return ctx.t(key) if key in TEXT else value


def churn_chart(ctx: _Context) -> Chart | Skip:
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
    layout = _layout(margin={"l": 8, "r": 8, "t": 32, "b": 8})
    return Chart(
        data,
        layout,
        title=ctx.t("churn.title_count", shown=len(rows), total=total),
        note=ctx.t("churn.note"),
        facts={"total": total, "customer_ids": columns[0]},
        height=32 + 30 + 26 * len(rows) + 24,
    )


def managers_chart(ctx: _Context) -> Chart | Skip:
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
    counts = ", ".join(f"coalesce({_ident(c)}, 0)" for c in tier_columns)
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
    layout = _layout(
        barmode="stack",
        xaxis=_axis(ctx.t("managers.x"), type="category"),
        yaxis=_axis(customers, rangemode="tozero"),
    )
    mean = rows[0][6] if rows else None
    note = ctx.t("managers.note", mean="–" if mean is None else f"{mean:,.1f}")
    if total > len(rows):
        note += ctx.t("managers.note_top", shown=len(rows), total=total)
    facts = {"managers": total, "customers": {n: r[4] for n, r in zip(names, rows, strict=True)}}
    return Chart(data, layout, note=note, facts=facts, height=300)


@dataclass(frozen=True)
class ChartSpec:
    key: str
    build: Callable[[_Context], Chart | Skip]
    wide: bool = False


CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec("tiers", tiers_chart),
    ChartSpec("segments", segments_chart),
    ChartSpec("pareto", pareto_chart),
    ChartSpec("migration", migration_chart),
    ChartSpec("rfm", rfm_chart, wide=True),
    ChartSpec("nps", nps_chart),
    ChartSpec("clv", clv_chart),
    ChartSpec("churn", churn_chart, wide=True),
    ChartSpec("managers", managers_chart, wide=True),
    ChartSpec("actions", report_actions.actions_chart, wide=True),
    ChartSpec("effects", report_actions.effects_chart, wide=True),
)


# ---- the page -----------------------------------------------------------------------------


def _open(warehouse: Path) -> duckdb.DuckDBPyConnection:
    if warehouse.name.endswith(WORK_SUFFIX):
        raise ReportError(
            f"--warehouse {warehouse}: this is a run's work copy; "
            "report on the published file instead (without the suffix)"
        )
    if not warehouse.is_file():
        raise ReportError(f"--warehouse {warehouse}: no such file")
    try:
        # read_only: a run replaces the file with os.replace; the report never writes it.
        return duckdb.connect(str(warehouse), read_only=True, config={"memory_limit": MEMORY_LIMIT})
    except duckdb.Error as err:
        raise ReportError(f"--warehouse {warehouse}: not a readable DuckDB file: {err}") from err


def _marts(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    rows = con.execute(
        "select table_name from information_schema.tables "
        "where table_catalog = current_database() and table_schema = ?",
        [MARTS_SCHEMA],
    ).fetchall()
    return frozenset(name for (name,) in rows)


def _subtitle(ctx: _Context, warehouse: Path) -> str:
    as_of: object = None
    customers: int | None = None
    for mart in ("customer_tiers", "customer_rfm"):
        if mart in ctx.marts:
            as_of, customers = ctx.rows(f"select max(as_of), count(*) from marts.{mart}")[0]
            break
    return ctx.t(
        "page.subtitle",
        warehouse=warehouse.name,
        as_of=as_of.isoformat() if isinstance(as_of, date) else "–",
        customers="–" if customers is None else f"{customers:,}",
    )


def _build(ctx: _Context) -> list[tuple[ChartSpec, Chart | Skip]]:
    return [(spec, spec.build(ctx)) for spec in CHARTS]


def _render(
    lang: Lang, subtitle: str, outcomes: list[tuple[ChartSpec, Chart | Skip]], plotly_js: str
) -> str:
    sections, charts = [], []
    for spec, outcome in outcomes:
        title = text(lang, f"{spec.key}.title")
        if isinstance(outcome, Skip):
            skipped = text(lang, "skipped", reason=outcome.says(lang))
            sections.append(
                section_html(spec.key, title, note=None, skipped=skipped, wide=spec.wide, height=0)
            )
            continue
        sections.append(
            section_html(
                spec.key,
                outcome.title or title,
                note=outcome.note,
                skipped=None,
                wide=spec.wide,
                height=outcome.height,
            )
        )
        layout = {**outcome.layout, "height": outcome.height}
        charts.append(
            {"key": spec.key, "data": outcome.data, "layout": layout, "facts": outcome.facts}
        )
    payload = {"lang": lang, "charts": charts}
    return page_html(
        lang=lang,
        title=text(lang, "page.title"),
        subtitle=subtitle,
        sections=sections,
        payload=payload,
        plotly_js=plotly_js,
    )


def _write_atomically(out: Path, content: str) -> int:
    """Write beside --out and rename over it: a reader never sees half a page."""
    data = content.encode("utf-8")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    except OSError as err:
        raise ReportError(f"--out {out}: cannot write there: {err}") from err
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the page is for sharing
        os.replace(tmp, out)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise ReportError(f"--out {out}: cannot write the page: {err}") from err
    return len(data)


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def write_report(warehouse: Path, out: Path, lang: Lang = "en") -> ReportSummary:
    """Write the report page of `warehouse` to `out` and say which charts were drawn or not."""
    if lang not in LANGS:
        raise ReportError(f"--lang {lang}: not one of {', '.join(LANGS)}")
    warehouse, out = warehouse.expanduser().resolve(), out.expanduser().resolve()
    con = _open(warehouse)
    try:
        marts = _marts(con)
        if not marts:
            raise ReportError(
                f"--warehouse {warehouse}: no tables in schema {MARTS_SCHEMA} "
                "(is this a published warehouse of `tiers run`?)"
            )
        ctx = _Context(con, lang, marts)
        outcomes = _build(ctx)
        subtitle = _subtitle(ctx, warehouse)
    except duckdb.Error as err:
        raise ReportError(f"--warehouse {warehouse}: reading the marts failed: {err}") from err
    finally:
        con.close()
    size = _write_atomically(out, _render(lang, subtitle, outcomes, _plotly_js()))
    return ReportSummary(
        warehouse=warehouse,
        out=out,
        lang=lang,
        drawn=[spec.key for spec, o in outcomes if isinstance(o, Chart)],
        skipped=[(spec.key, o.says("en")) for spec, o in outcomes if isinstance(o, Skip)],
        bytes=size,
    )


def format_summary(summary: ReportSummary) -> str:
    """What `tiers report` prints: the page, the charts drawn, and why any were not."""
    lines = [
        f"Report of {summary.warehouse} written to {summary.out} "
        f"({summary.bytes / 1e6:.1f} MB, {summary.lang})",
        f"  charts drawn: {', '.join(summary.drawn) or 'none'}",
    ]
    lines += [f"  not drawn: {key}: {why}" for key, why in summary.skipped]
    return "\n".join(lines)
