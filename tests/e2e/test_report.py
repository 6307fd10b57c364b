"""`tiers report`: the page's numbers against the marts, both languages, charts skipped with a
reason, a self-contained page, and every chart drawn by headless Chromium.

The shared demo run has one tier_history snapshot; the migration chart needs two, so a copy of
its warehouse gets one more run at an earlier analysis date (once for the module).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import pytest

from customer_tiers.orchestration.report import (
    CHARTS,
    LORENZ_POINTS,
    ReportError,
    write_report,
)
from tests.conftest import query
from tests.e2e.chromium import HEADLESS_CHROMIUM_FLAGS

CHROMIUM = Path("/usr/bin/chromium")
# No experiment's measurement window has ended on the demo runs (the run 91 days earlier comes
# after the latest one), so the effects section says so; tests/unit/test_report_actions.py
# draws it.
# drawn once an action cohort's window has ended: on demo_history, not on the one-date demo_run
MEASURED_LATER = ["effects"]
ALL_CHARTS = [spec.key for spec in CHARTS if spec.key not in MEASURED_LATER]
EVERY_CHART = [spec.key for spec in CHARTS]


def page_data(page: Path) -> dict[str, Any]:
    found = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>',
        page.read_text(encoding="utf-8"),
        re.S,
    )
    assert found, "the page carries its chart data"
    return json.loads(found.group(1))


def chart(page: Path, key: str) -> dict[str, Any]:
    charts = {c["key"]: c for c in page_data(page)["charts"]}
    assert key in charts, f"chart {key} drawn"
    return charts[key]


@pytest.fixture(scope="module")
def two_snapshots(demo_history: tuple[Path, Path]) -> Path:
    """The demo sources run at two analysis dates (conftest): two tier_history snapshots and
    a measured action cohort."""
    return demo_history[1]


@pytest.fixture(scope="module")
def en_page(demo_run: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report_en") / "report.html"
    write_report(demo_run[1], out)
    return out


@pytest.fixture(scope="module")
def zh_page(demo_run: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report_zh") / "report.html"
    write_report(demo_run[1], out, lang="zh")
    return out


def test_tier_and_segment_sizes_and_revenue_shares_match_the_marts(
    demo_run: tuple[Path, Path], en_page: Path
) -> None:
    warehouse = demo_run[1]
    tiers = chart(en_page, "tiers")["data"]
    assert dict(zip(tiers[0]["x"], tiers[0]["y"], strict=True)) == dict(
        query(warehouse, "select tier, count(*) from marts.customer_tiers group by 1")
    )
    # revenue shares recomputed here from the customers' rows, not with the report's SQL
    revenue: dict[str, float] = defaultdict(float)
    for tier, monetary in query(
        warehouse,
        "select t.tier, r.monetary from marts.customer_tiers as t "
        "left join marts.customer_rfm as r using (customer_id)",
    ):
        revenue[tier] += float(monetary or 0)
    total = sum(revenue.values())
    shares = dict(zip(tiers[1]["x"], tiers[1]["y"], strict=True))
    assert shares == pytest.approx({tier: value / total for tier, value in revenue.items()})

    segments = chart(en_page, "segments")["data"][0]
    assert dict(zip(segments["x"], segments["y"], strict=True)) == dict(
        query(warehouse, "select rfm_segment, count(*) from marts.customer_rfm group by 1")
    )
    assert segments["y"] == sorted(segments["y"], reverse=True)


def test_pareto_figure_is_the_share_of_class_a(demo_run: tuple[Path, Path], en_page: Path) -> None:
    warehouse = demo_run[1]
    share, a_customers, customers = query(
        warehouse,
        "select max(cumulative_share) filter (where abc_class = 'A'), "
        "count(*) filter (where abc_class = 'A'), count(*) "
        "from marts.customer_abc where basis = 'revenue'",
    )[0]
    pareto = chart(en_page, "pareto")
    assert pareto["facts"]["top_share"] == pytest.approx(share)
    assert pareto["facts"]["top_customers"] == a_customers
    curve, _, marker = pareto["data"]
    assert marker["y"] == [pytest.approx(share)]
    assert len(curve["x"]) <= LORENZ_POINTS
    assert (curve["x"][0], curve["y"][0]) == (0, 0)
    assert (curve["x"][-1], curve["y"][-1]) == (pytest.approx(1), pytest.approx(1))
    assert curve["x"] == sorted(curve["x"])
    note = f"The top 20% of customers ({a_customers} of {customers}) bring {share * 100:.1f}%"
    assert note in en_page.read_text(encoding="utf-8")


def test_rfm_grid_nps_clv_churn_and_managers_match_the_marts(
    demo_run: tuple[Path, Path], en_page: Path
) -> None:
    warehouse = demo_run[1]
    grid = chart(en_page, "rfm")["facts"]["customers"]
    for r, f, n in query(
        warehouse, "select r_score, f_score, count(*) from marts.customer_rfm group by all"
    ):
        assert grid[r - 1][f - 1] == n
    assert sum(map(sum, grid)) == query(warehouse, "select count(*) from marts.customer_rfm")[0][0]

    nps = chart(en_page, "nps")
    expected = query(
        warehouse,
        "select period, nps, nps_moe_95 from marts.nps_summary where dimension = 'overall' "
        "and period_type = 'quarter' and responses > 0 and nps is not null order by period",
    )
    assert [p.rstrip(" *") for p in nps["data"][0]["x"]] == [p for p, _, _ in expected]
    assert nps["data"][0]["y"] == [pytest.approx(v) for _, v, _ in expected]
    assert nps["data"][0]["error_y"]["array"] == [pytest.approx(m) for *_, m in expected]

    clv = chart(en_page, "clv")
    with_value = query(warehouse, "select count(predicted_clv_365d) from marts.customer_clv")[0][0]
    assert clv["facts"]["column"] == "predicted_clv_365d"
    assert sum(clv["data"][0]["y"]) == clv["facts"]["binned"] == with_value
    assert len(clv["data"][0]["y"]) <= 30
    # the note names the purchase model the marts use (the demo's backtest picks one)
    [(in_use,)] = query(
        warehouse,
        "select distinct model from marts.clv_model_params where in_use and model <> 'gamma_gamma'",
    )
    named = {"bg_nbd": "BG/NBD", "mbg_nbd": "MBG/NBD", "pareto_nbd": "Pareto/NBD"}[in_use]
    assert clv["facts"]["model"] == named
    assert f"({named} x Gamma-Gamma)" in en_page.read_text(encoding="utf-8")

    churn = chart(en_page, "churn")
    assert (
        churn["facts"]["total"]
        == query(warehouse, "select count(*) from marts.churn_watchlist")[0][0]
    )
    first = query(
        warehouse,
        "select customer_id from marts.churn_watchlist order by win_back_deadline nulls last, "
        "value_at_stake desc nulls last, customer_id limit 15",
    )
    assert churn["data"][0]["cells"]["values"][0] == [c for (c,) in first]

    managers = chart(en_page, "managers")
    assert sorted(managers["facts"]["customers"].values()) == sorted(
        n for (n,) in query(warehouse, "select customers from marts.manager_load")
    )


def test_backtest_charts_are_the_marts_deciles_and_p_alive_bands(
    demo_run: tuple[Path, Path], en_page: Path, zh_page: Path, tmp_path: Path
) -> None:
    """The deciles and calibration charts hold clv_backtest's rows, read here with SQL; the top
    decile's share is the backtest's own metric, which equals decile 1's actual revenue over the
    overall row's."""
    warehouse = demo_run[1]
    deciles = chart(en_page, "deciles")
    rows = query(
        warehouse,
        "select label::int, customers, actual_revenue, predicted_revenue from marts.clv_backtest "
        "where section = 'decile' order by 1",
    )
    assert len(rows) == 10
    facts = deciles["facts"]
    assert facts["deciles"] == list(range(1, 11))
    assert facts["customers"] == [n for _, n, _, _ in rows]
    assert facts["actual_revenue"] == [pytest.approx(a) for _, _, a, _ in rows]
    assert facts["predicted_revenue"] == [pytest.approx(p) for *_, p in rows]
    (share,) = query(
        warehouse,
        "select value from marts.clv_backtest where section = 'metric' "
        "and label = 'top_decile_revenue_share'",
    )[0]
    assert facts["top_decile_share"] == pytest.approx(share)
    total, customers = query(
        warehouse,
        "select actual_revenue, customers from marts.clv_backtest where section = 'overall'",
    )[0]
    assert sum(facts["actual_revenue"]) == pytest.approx(total)
    assert sum(facts["customers"]) == customers
    # the chart shows the backtest's metric; worked out here from the rows: decile 1's share
    assert share == pytest.approx(rows[0][2] / total)
    actual, predicted = deciles["data"]
    assert actual["y"] == facts["actual_revenue"] and predicted["y"] == facts["predicted_revenue"]
    words = f"ranked highest brought {share * 100:.1f}% of the holdout revenue"
    assert words in en_page.read_text(encoding="utf-8")
    zh_words = f"模型排名前 10% 的客户贡献了验证期 {share * 100:.1f}% 的收入"
    assert zh_words in zh_page.read_text(encoding="utf-8")

    calibration = chart(en_page, "calibration")
    bands = query(
        warehouse,
        "select label, customers, predicted_share_buying, observed_share_buying "
        "from marts.clv_backtest where section = 'p_alive_band' order by label",
    )
    assert bands, "the demo's backtest has P(alive) bands"
    facts = calibration["facts"]
    assert facts["bands"] == [b for b, *_ in bands]
    assert facts["customers"] == [n for _, n, _, _ in bands]
    assert facts["predicted_share_buying"] == [pytest.approx(p) for _, _, p, _ in bands]
    assert facts["observed_share_buying"] == [pytest.approx(o) for *_, o in bands]
    diagonal, points = calibration["data"]
    assert (diagonal["x"], diagonal["y"]) == ([0, 1], [0, 1])
    assert (points["x"], points["y"]) == (
        facts["predicted_share_buying"],
        facts["observed_share_buying"],
    )

    # a run whose history was too short: one row of section skipped, the reason on the page
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(warehouse, copy)
    con = duckdb.connect(str(copy))
    try:
        con.execute(
            "create or replace table marts.clv_backtest as select * replace ("
            "'skipped' as section, 'backtest' as label, "
            "'backtest skipped: the holdout would be 12 days' as note) "
            "from marts.clv_backtest limit 1"
        )
    finally:
        con.close()
    skipped = dict(write_report(copy, tmp_path / "r.html").skipped)
    why = "this run has no CLV backtest (the holdout would be 12 days)"
    assert skipped["deciles"] == skipped["calibration"] == skipped["tracking"] == why
    write_report(copy, tmp_path / "zh.html", lang="zh")
    zh = (tmp_path / "zh.html").read_text(encoding="utf-8")
    assert zh.count("未绘制：本次运行没有 CLV 回测（the holdout would be 12 days）") == 3


def test_tracking_chart_is_the_marts_weekly_series(
    demo_run: tuple[Path, Path], en_page: Path, zh_page: Path
) -> None:
    """The tracking plot holds clv_tracking's two cumulative curves week by week, a marker on
    the calibration end, and its note the values there and the holdout's increments."""
    warehouse = demo_run[1]
    rows = query(
        warehouse,
        "select week_end, period, customers, actual_cumulative_repeat_purchases, "
        "expected_cumulative_repeat_purchases, calibration_end from marts.clv_tracking "
        "order by week_index",
    )
    assert rows, "the demo's backtest has a tracking series"
    tracking = chart(en_page, "tracking")
    facts = tracking["facts"]
    assert facts["week_end"] == [end.isoformat() for end, *_ in rows]
    assert facts["actual_cumulative"] == [pytest.approx(a) for *_, a, _, _ in rows]
    assert facts["expected_cumulative"] == [pytest.approx(e) for *_, e, _ in rows]
    actual, expected = tracking["data"]
    assert (actual["x"], actual["y"]) == (facts["week_end"], facts["actual_cumulative"])
    assert expected["y"] == facts["expected_cumulative"]
    # the marker and the note's split: the last calibration week ends on the calibration end
    calibration_end = rows[0][-1]
    [at_end] = [row for row in rows if row[0] == calibration_end]
    assert at_end[1] == "calibration" and facts["calibration_end"] == calibration_end.isoformat()
    assert tracking["layout"]["shapes"][0]["x0"] == calibration_end.isoformat()
    # the cohort's repeat purchases up to the calibration end are the backtest's frequencies
    (frequencies, cohort) = query(
        warehouse,
        "select sum(frequency), count(*) from intermediate.int_customers_backtest_summarized",
    )[0]
    assert (at_end[3], at_end[2], facts["customers"]) == (frequencies, cohort, cohort)
    (holdout,) = query(
        warehouse,
        "select actual_purchases from marts.clv_backtest where section = 'overall'",
    )[0]
    assert facts["holdout_actual"] == pytest.approx(rows[-1][3] - at_end[3]) == holdout
    words = f"{cohort:,} customers who had bought by the calibration end"
    assert words in en_page.read_text(encoding="utf-8")
    assert f"校准期结束（虚线）前已购买的 {cohort:,} 位客户" in zh_page.read_text(encoding="utf-8")


def test_one_snapshot_migration_says_so(demo_run: tuple[Path, Path], tmp_path: Path) -> None:
    assert query(demo_run[1], "select count(distinct as_of) from marts.tier_history")[0][0] == 1
    summary = write_report(demo_run[1], tmp_path / "r.html")
    assert "migration" not in summary.drawn
    why = dict(summary.skipped)["migration"]
    assert why.startswith("tier_history has only one snapshot")
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert re.search(
        r'data-skipped="migration">Not drawn: tier_history has only one snapshot', page
    )
    assert summary.drawn == [key for key in ALL_CHARTS if key != "migration"]


def test_chinese_page_uses_the_marts_chinese_labels(
    demo_run: tuple[Path, Path], zh_page: Path
) -> None:
    warehouse = demo_run[1]
    page = zh_page.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in page and '<meta charset="utf-8">' in page
    assert "<h1>客户分析报告</h1>" in page and "未绘制：tier_history 只有一个快照" in page
    tiers = chart(zh_page, "tiers")
    assert dict(zip(tiers["data"][0]["x"], tiers["data"][0]["y"], strict=True)) == dict(
        query(warehouse, "select tier_label_zh, count(*) from marts.customer_tiers group by 1")
    )
    assert tiers["layout"]["yaxis"]["title"]["text"] == "客户数"
    assert [t["name"] for t in tiers["data"]] == ["客户数", "收入占比"]
    segments = chart(zh_page, "segments")["data"][0]["x"]
    assert set(segments) == {
        s for (s,) in query(warehouse, "select distinct rfm_segment_zh from marts.customer_rfm")
    }
    managers = chart(zh_page, "managers")["data"]
    tier_labels = query(
        warehouse,
        "select any_value(tier_label_zh) from marts.customer_tiers group by tier "
        "order by min(tier_rank)",
    )
    assert [t["name"] for t in managers][:-1] == [label for (label,) in tier_labels]
    churn_header = chart(zh_page, "churn")["data"][0]["header"]["values"]
    assert "<b>存活概率</b>" in churn_header


def test_english_page_has_english_labels(en_page: Path) -> None:
    page = en_page.read_text(encoding="utf-8")
    assert '<html lang="en">' in page and "<h1>Customer report</h1>" in page
    tiers = chart(en_page, "tiers")
    assert tiers["data"][0]["x"] == ["Diamond", "Gold", "Silver", "Bronze"]
    assert tiers["layout"]["yaxis"]["title"]["text"] == "Customers"
    assert not re.search(r"[\u4e00-\u9fff]", json.dumps(tiers, ensure_ascii=False))


def test_migration_between_the_last_two_snapshots(two_snapshots: Path, tmp_path: Path) -> None:
    summary = write_report(two_snapshots, tmp_path / "r.html")
    assert summary.drawn == EVERY_CHART and summary.skipped == []
    start, end = query(
        two_snapshots,
        "select min(as_of), max(as_of) from (select distinct as_of from marts.tier_history "
        "order by as_of desc limit 2)",
    )[0]
    migration = chart(tmp_path / "r.html", "migration")
    assert migration["facts"]["from_as_of"] == start.isoformat()
    assert migration["facts"]["to_as_of"] == end.isoformat()
    heatmap = migration["data"][0]
    cells = {
        (y, x): n
        for y, row in zip(heatmap["y"], heatmap["z"], strict=True)
        for x, n in zip(heatmap["x"], row, strict=True)
        if n is not None
    }
    expected = {
        ("not a customer yet" if f == "none" else f, "gone" if t == "none" else t): n
        for f, t, n in query(
            two_snapshots,
            "select from_tier, to_tier, customers from marts.tier_migration "
            "where from_as_of = ? and to_as_of = ?",
            [start, end],
        )
    }
    assert cells == expected
    moved = migration["facts"]["movements"]
    both = query(
        two_snapshots,
        "select count(distinct customer_id) from marts.tier_history where as_of in (?, ?)",
        [start, end],
    )[0][0]
    assert sum(moved.values()) == both


def test_absent_and_empty_marts_are_skipped_with_the_reason(
    demo_run: tuple[Path, Path], tmp_path: Path
) -> None:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(demo_run[1], copy)
    con = duckdb.connect(str(copy))
    try:
        con.execute("drop table marts.nps_summary")
        con.execute("delete from marts.manager_load")
    finally:
        con.close()
    for lang, absent, empty in [
        ("en", "marts.nps_summary is not in the warehouse", "marts.manager_load is empty"),
        ("zh", "仓库中没有 marts.nps_summary", "marts.manager_load 为空"),
    ]:
        out = tmp_path / f"r_{lang}.html"
        summary = write_report(copy, out, lang=lang)  # type: ignore[arg-type]
        skipped = dict(summary.skipped)
        assert skipped["nps"] == "marts.nps_summary is not in the warehouse"
        assert skipped["managers"] == "marts.manager_load is empty"
        page = out.read_text(encoding="utf-8")
        assert absent in page and empty in page
        assert 'id="chart-nps"' not in page and 'data-skipped="nps"' in page
        assert {c["key"] for c in page_data(out)["charts"]} == set(summary.drawn)
        assert "tiers" in summary.drawn and "pareto" in summary.drawn


def test_unusable_warehouses_are_refused_by_name(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.duckdb"
    with pytest.raises(ReportError, match=re.escape(str(missing))):
        write_report(missing, tmp_path / "r.html")
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(ReportError, match=rf"{re.escape(str(empty))}: no tables in schema marts"):
        write_report(empty, tmp_path / "r.html")
    text = tmp_path / "notes.duckdb"
    text.write_text("not a database")
    with pytest.raises(ReportError, match="not a readable DuckDB file"):
        write_report(text, tmp_path / "r.html")
    with pytest.raises(ReportError, match="--lang fr"):
        write_report(empty, tmp_path / "r.html", lang="fr")  # type: ignore[arg-type]
    assert not (tmp_path / "r.html").exists()


class _Resources(HTMLParser):
    """Every URL-bearing attribute, every tag name and the CSS of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.tags: set[str] = set()
        self.scripts_with_src = 0
        self._in_style = False
        self.css = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if name in {"src", "href", "xlink:href", "srcset", "poster", "data", "action"}:
                self.urls.append(value or "")
        self.scripts_with_src += tag == "script" and any(n == "src" for n, _ in attrs)
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.css += data


def test_page_is_self_contained_and_reproducible(
    demo_run: tuple[Path, Path], en_page: Path, tmp_path: Path
) -> None:
    page = en_page.read_text(encoding="utf-8")
    parser = _Resources()
    parser.feed(page)
    assert parser.urls == []  # no src or href at all, so nothing from http(s) or //
    assert parser.scripts_with_src == 0
    assert not parser.tags & {"link", "img", "iframe", "object", "embed", "base"}
    # the one URL allowed in the CSS: the embedded CJK font (report/font.py), as a data: URL
    fonts = re.findall(r"url\((.{0,23})", parser.css)
    assert all(url == "data:font/woff2;base64," for url in fonts)
    assert parser.css.count("@font-face") == len(fonts) <= 1 and "@import" not in parser.css
    assert "Plotly.newPlot" in page and len(page) > 3_000_000  # plotly.js is inline
    # same warehouse, same page: nothing depends on the clock; no temporary file is left behind
    again = tmp_path / "again.html"
    write_report(demo_run[1], again)
    assert again.read_bytes() == en_page.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again.html"]


# ---- the page in a browser ------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> Path:
    """Debian's chromium, which `make browser` (part of `make test`) installs."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `make browser` installs it (Debian, as root)")
    return CHROMIUM


def dump_dom(browser: Path, page: Path, profile: Path) -> str:
    result = subprocess.run(
        [
            str(browser),
            *HEADLESS_CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    return result.stdout


class _DrawnCharts(HTMLParser):
    """Each chart container's data-rendered and its plotly SVGs; the body; script errors."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, dict[str, Any]] = {}
        self.body: dict[str, str | None] = {}
        self.errors: list[str] = []
        self._chart: str | None = None
        self._in_errors = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "body":
            self.body = a
        elif tag == "section":
            self._chart = None  # an svg after this belongs to no earlier chart
        elif tag == "ul" and a.get("id") == "report-errors":
            self._in_errors = True
        if "data-chart" in a:
            self._chart = a["data-chart"]
            self.charts[self._chart] = {"rendered": a.get("data-rendered"), "main_svg": 0}
        elif tag == "svg" and self._chart and "main-svg" in (a.get("class") or "").split():
            self.charts[self._chart]["main_svg"] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "ul":
            self._in_errors = False

    def handle_data(self, data: str) -> None:
        if self._in_errors and data.strip():
            self.errors.append(data)


def _served_in_chromium(browser: Path, page: Path, profile: Path) -> tuple[str, list[str], set]:
    """Serve the page's folder on localhost and open the page in Chromium with a NetLog: the
    DOM after the scripts ran, the paths the server was asked for, and every URL the page
    requested as Chromium logged it (requests of the page's site, not the browser's own)."""
    import functools
    import http.server
    import threading

    asked: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            asked.append(self.path)

    handler = functools.partial(Handler, directory=str(page.parent))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    net_log = profile.parent / "net_log.json"
    try:
        result = subprocess.run(
            [
                str(browser),
                *HEADLESS_CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--log-net-log={net_log}",
                "--dump-dom",
                f"http://127.0.0.1:{server.server_address[1]}/{page.name}",
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=True,
        )
    finally:
        server.shutdown()
        server.server_close()
    log = json.loads(net_log.read_text(encoding="utf-8"))
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    requested = {
        event["params"]["url"]
        for event in log["events"]
        if event["type"] == start_job
        and event.get("params", {}).get("network_isolation_key", "").startswith("http://127.0.0.1")
    }
    return result.stdout, asked, requested


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_chart_renders_in_headless_chromium(
    chromium: Path, two_snapshots: Path, tmp_path: Path, lang: str
) -> None:
    """Every chart drawn, no script error, and nothing fetched: the browser's network log shows
    no request by the page but the page itself (and the favicon Chromium asks for on its own),
    and the server saw only those."""
    out = tmp_path / "report.html"
    summary = write_report(two_snapshots, out, lang=lang)  # type: ignore[arg-type]
    assert summary.drawn == EVERY_CHART
    dom, asked, requested = _served_in_chromium(chromium, out, tmp_path / "profile")
    drawn = _DrawnCharts()
    drawn.feed(dom)
    assert drawn.errors == [] and "data-js-errors" not in drawn.body
    assert drawn.body.get("data-rendered") == "true", "the render script finished"
    page_url = next(u for u in requested if u.endswith("/report.html"))
    assert requested - {page_url, page_url.replace("/report.html", "/favicon.ico")} == set()
    assert [path for path in asked if path != "/favicon.ico"] == ["/report.html"]
    assert sorted(drawn.charts) == sorted(EVERY_CHART)
    for key, state in drawn.charts.items():
        assert state["rendered"] == "true", f"chart {key} rendered"
        assert state["main_svg"] >= 1, f"chart {key} has plotly's svg"


def test_the_command_line_writes_the_page_and_refuses_a_missing_warehouse(
    demo_run: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from customer_tiers.orchestration.cli import main
    from customer_tiers.orchestration.errors import EXIT_OK, EXIT_USAGE

    out = tmp_path / "report.html"
    _, warehouse = demo_run
    assert main(["report", "--warehouse", str(warehouse), "--out", str(out), "--lang", "zh"]) == (
        EXIT_OK
    )
    assert out.exists() and 'lang="zh-CN"' in out.read_text(encoding="utf-8")
    missing = tmp_path / "nope.duckdb"
    assert main(["report", "--warehouse", str(missing), "--out", str(out)]) == EXIT_USAGE
    assert str(missing) in capsys.readouterr().err
