"""Six customers worked by hand, through the whole pipeline: files → raw → checks → marts.

As of 2024-12-31:
  c1  10 orders of 100, the last on 2024-12-26   recency 5    frequency 10  monetary 1000
  c2   4 orders of two 37.50 lines, last 12-26    recency 5    frequency 4   monetary 300
  c3   4 orders of 75, the last on 2024-12-01     recency 30   frequency 4   monetary 300
  c4   2 orders of 60, the last on 2024-11-01     recency 60   frequency 2   monetary 120
  c5   1 order of 50 on 2024-06-14                recency 200  frequency 1   monetary 50
  c6   1 order on 2023-11-27: +30 and a -50 return recency 400 frequency 1   monetary -20
  c7   in customers.csv, no order                 → in `customers`, no RFM
  c8   signed up and ordered only after as_of     → outside this run
  plus two broken order lines (a bad date, a bad amount) that go to quarantine.

Scores: 1 + (5 x customers strictly worse) // 6.
  recency worst→best 400, 200, 60, 30, 5, 5  → r = 1, 1, 2, 3, 4, 4 (the tie at 5 days shares 4)
  frequency 1, 1, 2, 4, 4, 10               → f = 1, 1, 2, 3, 3, 5
  monetary -20, 50, 120, 300, 300, 1000      → m = 1, 1, 2, 3, 3, 5
ABC by revenue, customers at or above: 1, 3, 3, 4, 5, 6 against A <= 1.2, B <= 4.2.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from customer_tiers.orchestration.errors import EXIT_OK
from customer_tiers.orchestration.pipeline import run_pipeline
from tests.conftest import query, write_csv

AS_OF = date(2024, 12, 31)
ORDER_HEADER = ["order_id", "customer_id", "ordered_at", "product_id", "quantity", "amount", "cost"]


def _orders() -> list[list[object]]:
    rows: list[list[object]] = []

    def add(customer: str, day: date, amounts: list[str], cost: str | None = None) -> None:
        order_id = f"{customer}-{day.isoformat()}"
        for amount in amounts:
            quantity = -1 if amount.startswith("-") else 1
            rows.append([order_id, customer, f"{day} 10:00:00", "P1", quantity, amount, cost])

    last = AS_OF - timedelta(days=5)
    for i in range(10):
        add("c1", last - timedelta(days=20 * i), ["100.00"], cost="60.00")
    for i in range(4):
        add("c2", last - timedelta(days=30 * i), ["37.50", "37.50"])  # cost from unit_cost
    for i in range(4):
        add("c3", date(2024, 12, 1) - timedelta(days=30 * i), ["75.00"], cost="70.00")
    add("c4", date(2024, 11, 1), ["60.00"], cost="30.00")
    add("c4", date(2024, 10, 1), ["60.00"], cost="30.00")
    add("c5", date(2024, 6, 14), ["50.00"], cost="30.00")
    add("c6", date(2023, 11, 27), ["30.00", "-50.00"], cost="10.00")
    add("c8", date(2025, 1, 5), ["999.00"], cost="1.00")
    rows.append(["bad-1", "c1", "2024-13-45", "P1", 1, "10.00", None])
    rows.append(["bad-2", "c1", "2024-12-01", "P1", 1, "ten", None])
    return rows


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hand")
    sources = root / "sources"
    write_csv(sources / "orders.csv", ORDER_HEADER, _orders())
    write_csv(
        sources / "customers.csv",
        ["customer_id", "name", "gender", "signup_date", "city"],
        [
            ["c1", "王芳", "女", "2023-01-01", "上海"],
            ["c2", "Alice Smith", "F", "2023-01-01", "北京"],
            ["c3", "张伟", "男", "2023-01-01", "广州"],
            ["c4", "李娜", "F", "2023-01-01", "成都"],
            ["c5", "Bob Lee", "M", "2023-01-01", "上海"],
            ["c6", "赵磊", "M", "2023-01-01", "杭州"],
            ["c7", "陈静", "F", "2024-03-01", "上海"],
            ["c8", "Late Comer", "M", "2025-01-01", "上海"],
        ],
    )
    write_csv(
        sources / "products.csv", ["product_id", "name", "unit_cost"], [["P1", "面霜", "20.00"]]
    )
    path = root / "warehouse.duckdb"
    # The hand-worked values annualise over each customer's own tenure (orders x 365.25 /
    # tenure days): clv.min_tenure_days 1 keeps that rule; its default (365) has its own case
    # in tests/e2e/test_config_changes.py.
    config = root / "tenure.yml"
    # Two of its order lines are unparseable on purpose: above the 1% default share they would
    # block the run (issue 16's quarantine policy), so the test allows them.
    config.write_text(
        "clv:\n  min_tenure_days: 1\nquality:\n  max_quarantined_share:\n    orders: 0.2\n",
        encoding="utf-8",
    )
    outcome = run_pipeline(sources, path, AS_OF, config)
    assert outcome.exit_code == EXIT_OK, outcome.messages
    # six customers cannot support the BG/NBD fit: the check fails as a warning and says why
    [warning] = outcome.warnings
    assert warning.startswith("predictions/clv_model_params fit_converged: BG/NBD fit failed")
    return path


def test_rfm_scores_segments_and_classes(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select customer_id, recency_days, frequency, monetary, r_score, f_score, m_score, "
        "rfm_code, rfm_segment, rfm_segment_zh, value_class from marts.customer_rfm order by 1",
    )
    assert rows == [
        ("c1", 5, 10, Decimal("1000"), 4, 5, 5, "455", "Loyal", "忠诚客户", "A"),
        ("c2", 5, 4, Decimal("300"), 4, 3, 3, "433", "Potential Loyalists", "潜力客户", "B"),
        ("c3", 30, 4, Decimal("300"), 3, 3, 3, "333", "Need Attention", "需要关注客户", "C"),
        ("c4", 60, 2, Decimal("120"), 2, 2, 2, "222", "Hibernating", "休眠客户", "D"),
        ("c5", 200, 1, Decimal("50"), 1, 1, 1, "111", "Hibernating", "休眠客户", "D"),
        ("c6", 400, 1, Decimal("-20"), 1, 1, 1, "111", "Hibernating", "休眠客户", "D"),
    ]


def test_abc_by_revenue_profit_and_frequency(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select basis, customer_id, value, rank, abc_class, round(cumulative_share, 6) "
        "from marts.customer_abc order by basis, rank, customer_id",
    )
    by_basis: dict[str, list[tuple]] = {}
    for basis, *rest in rows:
        by_basis.setdefault(basis, []).append(tuple(rest))
    total = 1750
    assert by_basis["revenue"] == [
        ("c1", Decimal("1000"), 1, "A", round(1000 / total, 6)),
        ("c2", Decimal("300"), 2, "B", round(1600 / total, 6)),
        ("c3", Decimal("300"), 2, "B", round(1600 / total, 6)),
        ("c4", Decimal("120"), 4, "B", round(1720 / total, 6)),
        ("c5", Decimal("50"), 5, "C", round(1770 / total, 6)),
        ("c6", Decimal("-20"), 6, "C", 1.0),
    ]
    # profit = amount - cost; c2's lines have no cost, so 1 x unit_cost 20 each: 300 - 8 x 20.
    # c6: (30 - 10) + (-50 - 10) = -40.
    profits = {c: v for c, v, *_ in by_basis["profit"]}
    assert profits == {
        "c1": Decimal("400"),
        "c2": Decimal("140"),
        "c3": Decimal("20"),
        "c4": Decimal("60"),
        "c5": Decimal("20"),
        "c6": Decimal("-40"),
    }
    # at or above: c1 1 → A; c2 2, c4 3 → B; c3 and c5 tie at 20 → 5 → C; c6 6 → C
    assert {c: cls for c, _, _, cls, _ in by_basis["profit"]} == {
        "c1": "A",
        "c2": "B",
        "c4": "B",
        "c3": "C",
        "c5": "C",
        "c6": "C",
    }
    assert [(c, int(v), r, cls) for c, v, r, cls, _ in by_basis["frequency"]] == [
        ("c1", 10, 1, "A"),
        ("c2", 4, 2, "B"),
        ("c3", 4, 2, "B"),
        ("c4", 2, 4, "B"),
        ("c5", 1, 5, "C"),
        ("c6", 1, 5, "C"),
    ]


def test_customers_mart_has_every_customer_once(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select customer_id, gender, frequency, rfm_segment, abc_class_revenue "
        "from marts.customers order by 1",
    )
    assert [r[0] for r in rows] == ["c1", "c2", "c3", "c4", "c5", "c6", "c7"]
    assert rows[0] == ("c1", "F", 10, "Loyal", "A")  # 女 normalised to F
    assert rows[6] == ("c7", "F", 0, None, None)  # a prospect: no order yet


def test_bad_rows_are_quarantined_and_counts_reconcile(warehouse: Path) -> None:
    quarantined = query(
        warehouse, "select order_id, _row_number, _reason from quarantine.orders order by 2"
    )
    assert [(q[0], q[1]) for q in quarantined] == [("bad-1", 29), ("bad-2", 30)]
    assert "ordered_at" in quarantined[0][2] and "2024-13-45" in quarantined[0][2]
    assert "amount" in quarantined[1][2] and "ten" in quarantined[1][2]
    audit = query(
        warehouse,
        "select rows_read, rows_loaded, rows_quarantined from raw.load_audit "
        "where source = 'orders'",
    )
    assert audit == [(30, 28, 2)]


def test_pareto_summary_figure(warehouse: Path) -> None:
    from customer_tiers.orchestration.summary import format_summary, read_summary

    run_id = query(warehouse, "select max(run_id) from raw.load_audit")[0][0]
    text = format_summary(read_summary(warehouse, run_id))
    # one A customer of six brings 1000 of 1750 revenue
    assert "the top 17% of customers (1 of 6) bring 57.1% of revenue" in text
    assert "Analysis as of 2024-12-31" in text


def test_abc_threshold_mode_through_tiers_dbt(warehouse: Path, tmp_path: Path) -> None:
    """Revenue per month of tenure (days from the first purchase to as_of / 30.4375):
    c1 1000 / (185 / 30.4375) = 164.5 → A (>= 150); c2 300 / (95 / 30.4375) = 96.1 → B (>= 50);
    c3 300 / (120 / 30.4375) = 76.1 → B; c4 120 / (91 / 30.4375) = 40.1 → C; c5 and c6 → C.
    """
    import shutil
    import subprocess
    import sys

    copy = tmp_path / "warehouse.duckdb"
    shutil.copyfile(warehouse, copy.with_name(copy.name + ".building"))
    override = tmp_path / "threshold.yml"
    override.write_text(
        "abc:\n  mode: threshold\n  thresholds:\n    revenue: {A: 150, B: 50}\n",
        encoding="utf-8",
    )
    tiers = [sys.executable, "-m", "customer_tiers.orchestration.cli"]
    command = [*tiers, "dbt", "--warehouse", str(copy), "--as-of", AS_OF.isoformat()]
    command += ["--config", str(override), "--", "run"]
    command += ["--select", "int_customers_abc_classified", "customer_abc"]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout[-2000:]
    rows = query(
        copy.with_name(copy.name + ".building"),
        "select customer_id, abc_class, round(value_per_month, 1), abc_mode "
        "from marts.customer_abc where basis = 'revenue' order by 1",
    )
    assert rows == [
        ("c1", "A", 164.5, "threshold"),
        ("c2", "B", 96.1, "threshold"),
        ("c3", "B", 76.1, "threshold"),
        ("c4", "C", 40.1, "threshold"),
        ("c5", "C", 7.6, "threshold"),
        ("c6", "C", -1.5, "threshold"),
    ]


def test_six_customers_are_too_few_for_the_clv_models(warehouse: Path) -> None:
    """The run still publishes; the predicted columns stay empty (never invented), the fit
    parameters are absent, and churn falls back to each customer's observed rhythm."""
    rows = query(
        warehouse,
        "select customer_id, frequency, recency, t, p_alive, predicted_clv_365d, "
        "expected_days_between_orders, round(historical_clv, 2) from marts.customer_clv order by 1",
    )
    # c1: 10 purchase days, 9 repeats, 180 days apart → one every 20 days; tenure 185 days:
    # historical = 100 per order x (10 x 365.25 / 185) per year x 3 years
    assert rows[0] == ("c1", 9, 180, 185, None, None, 20.0, round(100 * 10 * 365.25 / 185 * 3, 2))
    assert all(r[4] is None and r[5] is None for r in rows)
    assert query(warehouse, "select count(*) from marts.clv_model_params") == [(0,)]


def _watchlist_with(warehouse: Path, tmp_path: Path, churn_yaml: str | None) -> list[tuple]:
    """Rebuild churn_watchlist on a copy of the unfitted run (optionally with other churn
    levels) and read it back."""
    import shutil
    import subprocess
    import sys

    building = tmp_path / "warehouse.duckdb.building"
    shutil.copyfile(warehouse, building)
    command = [sys.executable, "-m", "customer_tiers.orchestration.cli", "dbt"]
    command += ["--warehouse", str(tmp_path / "warehouse.duckdb"), "--as-of", AS_OF.isoformat()]
    if churn_yaml is not None:
        override = tmp_path / "churn.yml"
        override.write_text(churn_yaml, encoding="utf-8")
        command += ["--config", str(override)]
    command += ["--", "run", "--select", "int_customers_contact_planned", "churn_watchlist"]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout[-2000:]
    return query(
        building,
        "select customer_id, risk_level, risk_reason, p_alive, days_since_last_order, "
        "expected_days_between_orders, predicted_clv_365d, round(value_at_stake, 3), action, "
        "win_back_deadline from marts.churn_watchlist order by 1",
    )


def test_unfitted_churn_watchlist_uses_the_observed_rhythm(warehouse: Path, tmp_path: Path) -> None:
    """Without a fit, P(alive) is null, so only the overdue test can list a customer; the
    expected days between purchases is the observed mean gap between purchase days (recency /
    repeat purchase days) and the value at stake is avg order value x purchases per year
    (orders x 365.25 / max(tenure days, 30)), README "churn_watchlist" and
    churn_watchlist.sql. As of 2024-12-31:

      customer  repeats  recency  gap  days since last  tenure  value at stake
      c1        9        180      20   5                185     100 x 10 x 365.25/185
      c2        3        90       30   5                95      75 x 4 x 365.25/95
      c3        3        90       30   30               120     75 x 4 x 365.25/120 = 913.125
      c4        1        31       31   60               91      60 x 2 x 365.25/91 = 481.648
      c5, c6    0        -        none (no repeat: no rhythm, never listed)

    Default levels (high: > 3 x gap, medium: > 2 x gap) list nobody by the churn test; the
    nearest is c4, 60 days against 2 x 31 = 62. The overdue lifecycle stages are listed at the
    last level (docs/actions.md): c5 dormant (200 days > the fixed 180), worth 50 x 365.25 / 200
    = 91.3125, and c6 churned (400 > 365), -20 x 365.25 / 400 = -18.2625; both let_go (91.31 x
    lift 0.1 x margin 0.4 < 20; churned stops contact). With high > 1.9 x gap and medium > 0.9 x
    gap, a cost of 500, margin and assumed lift 1: c4 60 > 1.9 x 31 = 58.9 → high, 481.648 < 500
    → let_go (no deadline); c3 30 <= 57 but 30 > 0.9 x 30 = 27 → medium, 913.125 >= 500 pays,
    but without a staff source or a manager in the customers file nobody calls: unassigned (no
    deadline); c1 (5 <= 18) and c2 (5 <= 27) stay off.
    """
    stage_rows = [
        (
            "c5", "medium",
            "stage dormant: 200 days since the last order > 180 (fixed limit: no purchase rhythm "
            "from the model)", None, 200, None, None, 91.313, "let_go", None,
        ),
        (
            "c6", "medium",
            "stage churned: 400 days since the last order > 365 (fixed limit: no purchase rhythm "
            "from the model)", None, 400, None, None, -18.263, "let_go", None,
        ),
    ]  # fmt: skip
    default_dir = tmp_path / "default"
    default_dir.mkdir()
    assert _watchlist_with(warehouse, default_dir, None) == stage_rows
    assert query(warehouse, "select count(*) from marts.churn_watchlist") == [(2,)]

    levels = (
        "churn:\n  levels:\n"
        "    - {name: high, p_alive_below: 0.3, overdue_factor: 1.9, act_within_days: 7}\n"
        "    - {name: medium, p_alive_below: 0.5, overdue_factor: 0.9, act_within_days: 14}\n"
        "  win_back_cost: 500\n"
        "actions: {economics: {margin: 1.0, assumed_lift: 1.0}}\n"
    )
    rows = _watchlist_with(warehouse, tmp_path, levels)
    assert rows == [
        (
            "c3", "medium", "30 days since the last purchase > 0.9 x 30.0 expected",
            None, 30, 30.0, None, 913.125, "unassigned", None,
        ),
        (
            "c4", "high", "60 days since the last purchase > 1.9 x 31.0 expected",
            None, 60, 31.0, None, round(60 * 2 * 365.25 / 91, 3), "let_go", None,
        ),
        *stage_rows,
    ]  # fmt: skip
