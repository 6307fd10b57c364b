"""The action plan worked by hand, through the whole pipeline (docs/actions.md).

As of 2024-12-31, no model fit (too few customers): the churn test uses each customer's observed
gap between purchases, value at stake is avg order value x orders x 365.25 / tenure days, and the
lifecycle stages use the fixed limits (at_risk > 90 days, dormant > 180, churned > 365).
Default configuration: churn levels high (> 3 x gap, act within 7 days) and medium (> 2 x gap,
14 days), cost 20, margin 0.4, assumed lift 0.1, so a win-back pays from a value of 500.

  win1   4 orders of 1000 every 30 days, last 09-01: 121 days > 90 -> at_risk, high;
         1000 x 4 x 365.25 / 211 = 6924.17 -> 276.97 >= 20 -> win_back by 01-07; the at_risk
         cadence (every 7 days from 09-01) gives 01-05 first
  low1   2 orders of 10, last 09-01: high, 10 x 2 x 365.25 / 151 = 48.38 -> 1.94 < 20 -> let_go
  dor1   2 orders of 500, last 06-01: 213 days -> dormant, high; 500 x 2 x 365.25 / 243
         = 1503.09 -> 60.12 -> reactivation by 01-07, before the cadence day 01-27
  gone1  2 orders of 500, last 2023-06-01 -> churned: the playbook stops contact -> let_go
  det1, det3  5 orders of 100 every 30 days, last 12-21, NPS 3 on 12-20 -> detractor_followup
         due max(12-20 + 7, 01-01) = 01-01
Control groups (md5 of 'customer|experiment|customer-tiers', 8 hex digits / 16^8, held out
below 0.1): det1 in detractor_followup-v1 0.0505 -> held out; det3 0.8893, win1 in
win_back-v1 0.5150, dor1 in reactivation-v1 0.7412 -> contacted.
Priority: due day, then value at stake (det1 = det3), then customer_id.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from customer_tiers.orchestration.errors import EXIT_OK
from customer_tiers.orchestration.pipeline import run_pipeline
from tests.conftest import query, write_csv

FIRST = date(2024, 12, 31)
SECOND = date(2025, 1, 14)
ORDER_HEADER = ["order_id", "customer_id", "ordered_at", "product_id", "quantity", "amount", "cost"]
CUSTOMERS = ["win1", "low1", "dor1", "gone1", "det1", "det3"]


def _orders() -> list[list[object]]:
    rows: list[list[object]] = []

    def every_30_days(customer: str, last: date, count: int, amount: str) -> None:
        for i in range(count):
            day = last - timedelta(days=30 * i)
            rows.append([f"{customer}-{day}", customer, f"{day} 10:00:00", "P1", 1, amount, "1"])

    every_30_days("win1", date(2024, 9, 1), 4, "1000.00")
    every_30_days("low1", date(2024, 9, 1), 2, "10.00")
    every_30_days("dor1", date(2024, 6, 1), 2, "500.00")
    every_30_days("gone1", date(2023, 6, 1), 2, "500.00")
    every_30_days("det1", date(2024, 12, 21), 5, "100.00")
    every_30_days("det3", date(2024, 12, 21), 5, "100.00")
    return rows


def holdout_fraction(customer_id: str, experiment_id: str, salt: str = "customer-tiers") -> float:
    digest = hashlib.md5(f"{customer_id}|{experiment_id}|{salt}".encode()).hexdigest()
    return int(digest[:8], 16) / 16**8


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The warehouse after the run of FIRST (a copy), and after a second run at SECOND."""
    root = tmp_path_factory.mktemp("actions")
    sources = root / "sources"
    write_csv(sources / "orders.csv", ORDER_HEADER, _orders())
    write_csv(
        sources / "customers.csv",
        ["customer_id", "name", "signup_date", "phone", "account_manager_id"],
        [[c, f"客户{c}", "2023-01-01", "13812345678", "E1"] for c in CUSTOMERS],
    )
    write_csv(sources / "products.csv", ["product_id", "name", "unit_cost"], [["P1", "面霜", "1"]])
    write_csv(
        sources / "staff.csv",
        ["staff_id", "name", "store_id", "capacity", "active"],
        [["E1", "王经理", "S1", "100", "true"]],
    )
    write_csv(
        sources / "surveys.csv",
        ["response_id", "customer_id", "responded_at", "nps_score"],
        [["S1", "det1", "2024-12-20 09:00:00", "3"], ["S2", "det3", "2024-12-20 09:00:00", "3"]],
    )
    path = root / "warehouse.duckdb"
    # The hand-worked values annualise over each customer's own tenure (the module docstring):
    # clv.min_tenure_days 1 keeps that rule; its default (365) has its own case in
    # tests/e2e/test_config_changes.py.
    config = root / "tenure.yml"
    config.write_text("clv:\n  min_tenure_days: 1\n", encoding="utf-8")
    outcome = run_pipeline(sources, path, FIRST, config)
    assert outcome.exit_code == EXIT_OK, outcome.messages
    first = root / "first.duckdb"
    shutil.copyfile(path, first)
    outcome = run_pipeline(sources, path, SECOND, config)
    assert outcome.exit_code == EXIT_OK, outcome.messages
    return first, path


def test_decisions_and_deadlines(runs: tuple[Path, Path]) -> None:
    first, _ = runs
    rows = query(
        first,
        "select customer_id, lifecycle_stage, risk_level, action, win_back_deadline, "
        "next_contact_on, round(value_at_stake, 2), round(expected_gain, 2), lift_source, holdout "
        "from marts.churn_watchlist order by 1",
    )
    assert rows == [
        ("dor1", "dormant", "high", "reactivation", date(2025, 1, 7), date(2025, 1, 7),
         round(500 * 2 * 365.25 / 243, 2), round(500 * 2 * 365.25 / 243 * 0.04, 2), "assumed",
         False),
        ("gone1", "churned", "high", "let_go", None, None,
         round(500 * 2 * 365.25 / (579 + 30), 2), round(500 * 2 * 365.25 / 609 * 0.04, 2),
         "assumed", False),
        ("low1", "at_risk", "high", "let_go", None, None,
         round(10 * 2 * 365.25 / 151, 2), round(10 * 2 * 365.25 / 151 * 0.04, 2), "assumed",
         False),
        ("win1", "at_risk", "high", "win_back", date(2025, 1, 7), date(2025, 1, 5),
         round(1000 * 4 * 365.25 / 211, 2), round(1000 * 4 * 365.25 / 211 * 0.04, 2),
         "assumed", False),
    ]  # fmt: skip
    [(reason,)] = query(
        first, "select action_reason from marts.churn_watchlist where customer_id = 'low1'"
    )
    assert reason == "value at stake 48.38 x lift 0.1 (assumed) x margin 0.4 = 1.94 < cost 20.0"


def test_customer_actions_ranked_with_holdouts(runs: tuple[Path, Path]) -> None:
    first, _ = runs
    rows = query(
        first,
        "select priority, customer_id, action, due_on, experiment_id, holdout, staff_id, "
        "staff_name, phone from marts.customer_actions order by priority",
    )
    assert rows == [
        (1, "det1", "detractor_followup", date(2025, 1, 1), "detractor_followup-v1", True,
         "E1", "王经理", "*******5678"),
        (2, "det3", "detractor_followup", date(2025, 1, 1), "detractor_followup-v1", False,
         "E1", "王经理", "*******5678"),
        (3, "win1", "win_back", date(2025, 1, 5), "win_back-v1", False, "E1", "王经理",
         "*******5678"),
        (4, "dor1", "reactivation", date(2025, 1, 7), "reactivation-v1", False, "E1", "王经理",
         "*******5678"),
    ]  # fmt: skip
    assert holdout_fraction("det1", "detractor_followup-v1") < 0.1


def test_no_contact_for_let_go_churned_or_held_out(runs: tuple[Path, Path]) -> None:
    first, _ = runs
    calendar = query(
        first,
        "select customer_id, due_on, action from marts.care_calendar "
        "where action <> 'birthday_greeting' and customer_id in ('win1', 'dor1', 'det3') "
        "and due_on <= date '2025-01-07' order by 1, 2",
    )
    assert calendar == [
        ("det3", date(2025, 1, 1), "detractor_followup"),
        ("dor1", date(2025, 1, 7), "reactivation"),
        ("win1", date(2025, 1, 5), "win_back"),
    ]
    silent = query(
        first,
        "select customer_id from marts.care_calendar where customer_id in "
        "('low1', 'gone1', 'det1') union all select customer_id from marts.customer_tiers "
        "where next_contact_on is not null and customer_id in ('low1', 'gone1', 'det1')",
    )
    assert silent == []
    assert query(
        first,
        "select holdout, contact_on from marts.detractor_followups where customer_id = 'det1'",
    ) == [(True, None)]


def test_ledger_keeps_every_date_and_holdouts_are_stable(runs: tuple[Path, Path]) -> None:
    first, second = runs
    first_ledger = query(first, "select * from marts.action_ledger order by all")
    ledger = query(
        second,
        "select as_of, customer_id, action, experiment_id, holdout, due_on "
        "from marts.action_ledger order by all",
    )
    assert {row[0] for row in ledger} == {FIRST, SECOND}
    # the first date's rows are kept as they were
    assert (
        query(second, "select * from marts.action_ledger where as_of = ? order by all", [FIRST])
        == first_ledger
    )
    assert (
        FIRST,
        "det1",
        "detractor_followup",
        "detractor_followup-v1",
        True,
        date(2025, 1, 1),
    ) in ledger
    # det1's follow-up is still open on 01-14 (the survey is within 30 days): held out again
    assert (
        SECOND,
        "det1",
        "detractor_followup",
        "detractor_followup-v1",
        True,
        date(2025, 1, 15),
    ) in ledger
    groups: dict[tuple[str, str], set[bool]] = {}
    for _, customer, _, experiment, holdout, _ in ledger:
        if experiment is not None:
            assert holdout == (holdout_fraction(customer, experiment) < 0.1)
            groups.setdefault((customer, experiment), set()).add(holdout)
    assert all(len(seen) == 1 for seen in groups.values())
    assert ("win1", "win_back-v1") in groups


def test_a_rerun_of_a_date_without_actions_leaves_that_date_without_rows(
    runs: tuple[Path, Path], tmp_path: Path
) -> None:
    """The ledger of SECOND rebuilt when SECOND's plan has no action (as after a rerun in which
    every customer bought): SECOND's old rows go, FIRST's stay. delete+insert alone would keep
    them, as it only replaces the dates the new rows carry."""
    import duckdb

    _, second = runs
    building = tmp_path / "warehouse.duckdb.building"
    shutil.copyfile(second, building)
    con = duckdb.connect(str(building))
    kept = con.execute(
        "select * from marts.action_ledger where as_of = ? order by all", [FIRST]
    ).fetchall()
    assert kept and con.execute(
        "select count(*) from marts.action_ledger where as_of = ?", [SECOND]
    ).fetchone() != (0,)
    con.execute("delete from marts.customer_actions")
    con.close()
    command = [sys.executable, "-m", "customer_tiers.orchestration.cli", "dbt"]
    command += ["--warehouse", str(tmp_path / "warehouse.duckdb"), "--as-of", SECOND.isoformat()]
    command += ["--", "run", "--select", "action_ledger"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-2000:]
    assert query(building, "select * from marts.action_ledger order by all") == kept


def _win1_after_effects(first: Path, tmp_path: Path, p_value: float) -> tuple:
    """Rebuild the plan on a copy of the first run whose previous run measured a win-back lift
    of 0.002 (interval 0.001 to 0.003) with this p-value, and read win1's decision."""
    import duckdb

    building = tmp_path / "warehouse.duckdb.building"
    shutil.copyfile(first, building)
    con = duckdb.connect(str(building))
    con.execute(
        "create or replace table marts.action_effects as select 'win_back-v1' as experiment_id, "
        "'win_back' as action, cast(null as date) as as_of, 0.002 as lift, 0.001 as lift_ci_low, "
        f"0.003 as lift_ci_high, {p_value} as p_value"
    )
    con.close()
    command = [sys.executable, "-m", "customer_tiers.orchestration.cli", "dbt"]
    command += ["--warehouse", str(tmp_path / "warehouse.duckdb"), "--as-of", FIRST.isoformat()]
    command += ["--", "run", "--select", "int_customers_contact_planned", "churn_watchlist"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-2000:]
    [row] = query(
        building,
        "select action, lift_source, round(expected_gain, 2), action_reason "
        "from marts.churn_watchlist where customer_id = 'win1'",
    )
    return row


def test_let_go_reads_the_previous_runs_measured_lift(
    runs: tuple[Path, Path], tmp_path: Path
) -> None:
    """A significant measurement (p 0.01 < significance 0.05, interval above 0) replaces the
    assumed lift: 6924.17 x 0.002 x 0.4 = 5.54 < 20, so win1 is let go; p 0.2 is not
    significant, so the assumed 0.1 stands and win1 is still won back."""
    first, _ = runs
    value = 1000 * 4 * 365.25 / 211
    (tmp_path / "measured").mkdir()
    action, source, gain, reason = _win1_after_effects(first, tmp_path / "measured", 0.01)
    assert (action, source, gain) == ("let_go", "measured", round(value * 0.002 * 0.4, 2))
    assert "x lift 0.002 (measured) x margin 0.4" in reason
    (tmp_path / "weak").mkdir()
    action, source, gain, _ = _win1_after_effects(first, tmp_path / "weak", 0.2)
    assert (action, source, gain) == ("win_back", "assumed", round(value * 0.1 * 0.4, 2))
