"""The report's chart contract and shared helpers: a chart builder takes a Context (the open
warehouse, the page's language, the marts present) and returns a Chart (plotly data, layout, a
note, the headline facts) or a Skip (why it is not drawn). The layout and axis helpers and the
colours give every chart the same look.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from customer_tiers.orchestration.report.template import FONT_FAMILY
from customer_tiers.orchestration.report.text import Lang, text

MARTS_SCHEMA = "marts"

BLUE, ORANGE, RED, GREY = "#3b6fd8", "#f28e2b", "#d62728", "#8a93a6"
# Light (few) to dark (many); spelled out because plotly.js's named scales run dark to light.
BLUES = [[0, "#eef3fc"], [1, "#1f4fb8"]]
GREENS = [[0, "#eef8f0"], [1, "#1b7a3a"]]
PURPLES = [[0, "#f3f0fa"], [1, "#5b3a9e"]]
TIER_COLOURS = ("#3b6fd8", "#e0a800", "#9aa5b8", "#b0723b", "#6c757d", "#59a14f", "#af7aa1")


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
class Context:
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
            if not self.rows(f"select 1 from {MARTS_SCHEMA}.{ident(mart)} limit 1"):
                return Skip("reason.empty", {"mart": mart})
        return None

    def tier_labels(self) -> dict[str, tuple[str, int]]:
        """Tier -> (label in the page's language, rank), from report_tier_counts when it is
        there."""
        if "report_tier_counts" not in self.marts:
            return {}
        rows = self.rows("select tier, tier_label_zh, tier_rank from marts.report_tier_counts")
        return {
            tier: ((label_zh or tier) if self.lang == "zh" else tier, rank)
            for tier, label_zh, rank in rows
        }


def ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def pct(share: float | None, digits: int = 1) -> str:
    return "–" if share is None else f"{share * 100:.{digits}f}%"


def label_number(value: float) -> str:
    """Money for labels: 1,234, or three significant digits below 100 (12.3, 0.00412)."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def base_layout(**extra: Any) -> dict[str, Any]:
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


def axis(title: str, **extra: Any) -> dict[str, Any]:
    return {"title": {"text": title}, "automargin": True, **extra}


# The purchase models' published names (clv_model_params.model -> the page's words).
MODEL_NAMES = {"bg_nbd": "BG/NBD", "mbg_nbd": "MBG/NBD", "pareto_nbd": "Pareto/NBD"}
