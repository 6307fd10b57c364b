"""Configuration changes never fail a run (issue 16, item 5 and Deliver 3).

Two runs on the 300 demo customers, each with a configuration that changes many keys at once
(CHANGES_A, CHANGES_B), are compared with the default run (conftest's demo_run): each run must
succeed (dbt's unit tests included, which run with their own fixed configuration,
dbt_project/unit_test_config.yml), and each documented key must change the marts as
config/tiers.yml says. CASES maps every key of the schema to its check; a key added to the
schema without a case fails test_every_configuration_key_has_a_case.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from customer_tiers.orchestration.cli import main
from customer_tiers.orchestration.config import DEFAULT_CONFIG_PATH, TiersConfig
from customer_tiers.orchestration.errors import EXIT_OK
from tests.conftest import query

SEGMENTS = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))["rfm"]["segments"]
LABELS = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))["lifecycle"]["labels"]
SALT_VAR = "CONFIG_CHANGES_TEST_SALT"

CHANGES_A: dict[str, Any] = {
    "rfm": {
        "segments": [
            {**s, "name": "VIP", "label_zh": "贵宾客户"} if s["name"] == "Champions" else s
            for s in SEGMENTS
        ],
        "value_class": {
            "weights": {"r": 1, "f": 1, "m": 3},
            "min_points": {"A": 20, "B": 14, "C": 9},
            "labels_zh": {"A": "甲", "B": "乙", "C": "丙", "D": "丁"},
        },
    },
    "abc": {
        "mode": "threshold",
        "thresholds": {
            "revenue": {"A": 300, "B": 100},
            "profit": {"A": 100, "B": 40},
            "frequency": {"A": 1, "B": 0.5},
        },
        "labels_zh": {"A": "甲类", "B": "乙类", "C": "丙类"},
    },
    "clv": {
        "horizon_days": 180,
        "monthly_discount_rate": 0.05,
        "interval": 0.5,
        "lifespan_years": 5,
        "model": "mbg_nbd",
        "min_tenure_days": 30,
        "backtest": {
            "holdout_days": 120,
            "sample_customers": 150,
            "ratio_low": 0.1,
            "ratio_high": 0.2,
        },
    },
    "churn": {
        "levels": [
            {"name": "high", "p_alive_below": 0.3, "overdue_factor": 3.0, "act_within_days": 7},
            {"name": "medium", "p_alive_below": 0.5, "overdue_factor": 2.0, "act_within_days": 14},
            {
                "name": "low",
                "p_alive_below": 0.7,
                "overdue_factor": 1.5,
                "p_purchase_90d_below": 0.4,
                "act_within_days": 30,
            },
        ],
        "win_back_cost": 50,
    },
    "voice": {
        "min_responses": 5,
        "followup_days": 60,
        "low_rating_max": 3,
        "satisfaction_labels": [
            {"level": 5, "label": "delighted", "label_zh": "非常开心"},
            {"level": 4, "label": "satisfied", "label_zh": "满意"},
            {"level": 3, "label": "neutral", "label_zh": "一般"},
            {"level": 2, "label": "dissatisfied", "label_zh": "不满意"},
            {"level": 1, "label": "very dissatisfied", "label_zh": "非常不满意"},
        ],
        "loyalty_grades": [
            {
                "grade": "A",
                "label": "high loyalty",
                "label_zh": "高忠诚",
                "min_satisfaction": 5,
                "repurchase_bands": [">70%"],
                "recommend": ["yes"],
            },
            {
                "grade": "B",
                "label": "loyal",
                "label_zh": "忠诚",
                "min_satisfaction": 4,
                "repurchase_bands": [">70%", "30-70%"],
                "recommend": ["yes", "maybe"],
            },
            {"grade": "C", "label": "average", "label_zh": "一般", "min_satisfaction": 3},
            {"grade": "E", "label": "low", "label_zh": "低"},
        ],
    },
    "lifecycle": {
        "new_within_days": 30,
        "overdue": {
            "at_risk": {"factor": 3.0, "min_days": 45, "max_days": 270, "fallback_days": 135},
            "dormant": {"factor": 6.0, "min_days": 90, "max_days": 540, "fallback_days": 270},
            "churned": {"factor": 12.0, "min_days": 180, "max_days": 1000, "fallback_days": 540},
        },
        "churned_p_alive_below": 0.0,
        "loyal": {"min_orders": 5, "loyalty_grades": ["A"], "value_classes": [], "abc_classes": []},
        "labels": [
            {**label, "label_zh": "已离开"} if label["stage"] == "churned" else label
            for label in LABELS
        ],
    },
    "tiers": {
        "levels": [
            {
                "name": "Platinum+",
                "label_zh": "铂金",
                "weight": 5,
                "value": {"abc_classes": ["A"], "value_classes": ["A"], "clv_top_share": 0.1},
                "min_value_signals": 2,
                "lifecycle_stages": ["new", "regular", "loyal"],
                "exclude_loyalty_grades": ["E"],
            },
            {
                "name": "Gold",
                "label_zh": "金",
                "weight": 3,
                "value": {"abc_classes": ["A"], "value_classes": ["A", "B"], "clv_top_share": 0.25},
                "lifecycle_stages": ["new", "one_time", "regular", "loyal", "at_risk"],
            },
            {
                "name": "Silver",
                "label_zh": "银",
                "weight": 2,
                "value": {"abc_classes": ["A", "B"], "value_classes": ["A", "B", "C"]},
                "lifecycle_stages": ["new", "one_time", "regular", "loyal", "at_risk", "dormant"],
            },
            {"name": "Bronze", "label_zh": "铜", "weight": 1},
        ],
    },
    "playbooks": {
        "tiers": {
            "Platinum+": {
                "contact_every_days": 7,
                "channel": "video",
                "benefits": "all",
                "care_actions": ["birthday_greeting"],
            },
        },
        "stages": {"at_risk": {"channel": "visit"}},
    },
    "care_calendar": {"days_ahead": 10},
    "groups": {"age_band_starts": [20, 40, 60]},
    "privacy": {"personal_data": "keep"},
    "actions": {
        "horizon_days": 14,
        "detractor_followup_days": 3,
        "experiments": {
            "salt": "another salt",
            "version": "v2",
            "holdout_share": 0.5,
            "window_days": 14,
            "actions": ["win_back", "detractor_followup"],
        },
        "economics": {"margin": 1.0, "assumed_lift": 0.5, "significance": 0.01},
    },
}

CHANGES_B: dict[str, Any] = {
    "abc": {"shares": {"A": 0.1, "B": 0.3}},
    "recommendations": {
        "top_k": 2,
        "min_support": 0.2,
        "rebuy_after_days": 60,
        "bundle_stages": ["loyal"],
    },
    "voice": {"complaint_categories": []},
    "privacy": {"personal_data": "hash", "salt_env": SALT_VAR},
    "clv": {"backtest": {"min_holdout_days": 5000}},
    # in b, not a: a's longer overdue limits must leave fewer customers overdue
    "lifecycle": {"p_purchase_90d_below": {"at_risk": 0.3, "dormant": 0.2, "churned": 0.1}},
}


@dataclass(frozen=True)
class Runs:
    default: Path
    a: Path
    b: Path

    def one(self, run: str, sql: str) -> Any:
        return query(getattr(self, run), sql)[0][0]


def _run(sources: Path, folder: Path, changes: dict[str, Any]) -> Path:
    config = folder / "changed.yml"
    folder.mkdir(parents=True)
    config.write_text(yaml.safe_dump(changes, allow_unicode=True), encoding="utf-8")
    warehouse = folder / "warehouse.duckdb"
    argv = ["run", "--sources", str(sources), "--warehouse", str(warehouse), "--config"]
    assert main([*argv, str(config)]) == EXIT_OK, f"a run with {config} failed"
    return warehouse


@pytest.fixture(scope="module")
def runs(demo_run: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    sources, default = demo_run
    root = tmp_path_factory.mktemp("config_changes")
    os.environ[SALT_VAR] = "a long random secret"
    try:
        yield Runs(
            default, _run(sources, root / "a", CHANGES_A), _run(sources, root / "b", CHANGES_B)
        )
    finally:
        for name in (SALT_VAR, "TIERS_CONFIG"):
            os.environ.pop(name, None)


def _no_rows(runs: Runs, run: str, sql: str) -> None:
    assert query(getattr(runs, run), sql) == []


# --- the checks, one per key (several keys may share one) ------------------------------------


def rfm_segments(runs: Runs) -> None:
    count = "select count(*) from marts.customer_rfm where rfm_segment = '{}'"
    assert runs.one("a", count.format("VIP")) == runs.one("default", count.format("Champions")) > 0
    assert runs.one("a", count.format("Champions")) == 0
    _no_rows(
        runs,
        "a",
        "select 1 from marts.customer_rfm where rfm_segment = 'VIP' "
        "and rfm_segment_zh <> '贵宾客户'",
    )


def rfm_value_class(runs: Runs) -> None:
    # weights 1/1/3, minimum points 20/14/9 (the sum runs from 5 to 25)
    _no_rows(
        runs,
        "a",
        """
        select 1 from marts.customer_rfm where value_class <> case
            when r_score + f_score + 3 * m_score >= 20 then 'A'
            when r_score + f_score + 3 * m_score >= 14 then 'B'
            when r_score + f_score + 3 * m_score >= 9 then 'C' else 'D' end""",
    )
    changed = "select list(value_class order by customer_id) from marts.customer_rfm"
    assert runs.one("a", changed) != runs.one("default", changed)


def rfm_value_class_labels(runs: Runs) -> None:
    pairs = query(runs.a, "select distinct value_class, value_class_zh from marts.customer_rfm")
    assert set(pairs) <= {("A", "甲"), ("B", "乙"), ("C", "丙"), ("D", "丁")} and len(pairs) == 4


def abc_threshold(runs: Runs) -> None:
    _no_rows(runs, "a", "select 1 from marts.customer_abc where abc_mode <> 'threshold'")
    _no_rows(
        runs,
        "a",
        """
        select 1 from marts.customer_abc
        join (values ('revenue', 300, 100), ('profit', 100, 40), ('frequency', 1, 0.5))
            as t(basis, a, b) using (basis)
        where abc_class <> case when value_per_month >= a then 'A'
                                when value_per_month >= b then 'B' else 'C' end""",
    )


def abc_labels(runs: Runs) -> None:
    pairs = query(runs.a, "select distinct abc_class, abc_class_zh from marts.customer_abc")
    assert set(pairs) == {("A", "甲类"), ("B", "乙类"), ("C", "丙类")}


def abc_shares(runs: Runs) -> None:
    # A: the customers whose value is at least theirs are at most 10% of all; B: at most 40%
    _no_rows(
        runs,
        "b",
        """
        with ranked as (
            select abc_class, count(*) over (partition by basis order by value desc
                range between unbounded preceding and current row) / count(*) over (
                partition by basis) as share_at_or_above
            from marts.customer_abc)
        select 1 from ranked where abc_class <> case when share_at_or_above <= 0.1 then 'A'
            when share_at_or_above <= 0.4 then 'B' else 'C' end""",
    )
    a_count = "select count(*) from marts.customer_abc where basis = 'revenue' and abc_class = 'A'"
    assert 0 < runs.one("b", a_count) < runs.one("default", a_count)


def abc_combined(runs: Runs) -> None:
    # customer_abc alone, rebuilt in mode combined on a copy of the default run
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "warehouse.duckdb"
        shutil.copyfile(runs.default, copy.with_name(copy.name + ".building"))
        config = Path(folder) / "combined.yml"
        config.write_text(
            "abc:\n  mode: combined\n  combined:\n"
            "    A: {revenue: 300, frequency: 0.5}\n    B: {revenue: 100, profit: 40}\n",
            encoding="utf-8",
        )
        tiers = [sys.executable, "-m", "customer_tiers.orchestration.cli", "dbt"]
        args = ["--warehouse", str(copy), "--config", str(config), "--", "run"]
        select = ["--select", "int_customers_abc_classified", "customer_abc"]
        done = subprocess.run([*tiers, *args, *select], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout[-3000:]
        building = copy.with_name(copy.name + ".building")
        rows = query(
            building,
            """
            with per_month as (
                select customer_id,
                    max(value_per_month) filter (where basis = 'revenue') as revenue,
                    max(value_per_month) filter (where basis = 'profit') as profit,
                    max(value_per_month) filter (where basis = 'frequency') as frequency,
                    count(distinct abc_class) as classes, max(abc_class) as abc_class,
                    bool_and(abc_mode = 'combined') as combined
                from marts.customer_abc group by customer_id)
            select abc_class, count(*) from per_month
            where classes = 1 and combined and abc_class = case
                when revenue >= 300 and frequency >= 0.5 then 'A'
                when revenue >= 100 and profit >= 40 then 'B' else 'C' end
            group by abc_class order by 1""",
        )
        customers = query(building, "select count(distinct customer_id) from marts.customer_abc")
    # every customer has one class in all three rows, by the rule, and each class is used
    assert [c for c, _ in rows] == ["A", "B", "C"]
    assert sum(n for _, n in rows) == customers[0][0]


def recommendations_top_k(runs: Runs) -> None:
    ranks = "select max(recommendation_rank) from marts.customer_next_category"
    assert runs.one("b", ranks) == 2 < runs.one("default", ranks) == 3


def recommendations_min_support(runs: Runs) -> None:
    _no_rows(runs, "b", "select 1 from marts.category_affinity where support < 0.2")
    pairs = "select count(*) from marts.category_affinity"
    assert 0 < runs.one("b", pairs) < runs.one("default", pairs)


def recommendations_rebuy(runs: Runs) -> None:
    again = """
        select count(*) filter (where bought.days_since_bought > 60),
            count(*) filter (where bought.days_since_bought <= 60)
        from marts.customer_next_category as next
        join intermediate.int_customer_categories as bought using (customer_id, category)"""
    assert query(runs.default, again) == [(0, 0)]
    offered_again, too_soon = query(runs.b, again)[0]
    assert offered_again > 0 and too_soon == 0


def recommendations_bundles(runs: Runs) -> None:
    stages = (
        "select list(distinct lifecycle_stage order by lifecycle_stage) "
        "from marts.customer_next_category where offer = 'bundle'"
    )
    assert runs.one("b", stages) == ["loyal"]
    assert runs.one("default", stages) == ["loyal", "regular"]


def clv_horizon(runs: Runs) -> None:
    _no_rows(runs, "a", "select 1 from marts.customer_clv where horizon_days <> 180")
    sums = (
        "select sum(expected_purchases_horizon) < sum(expected_purchases_365d) "
        "from marts.customer_clv"
    )
    assert runs.one("a", sums)


def clv_discount(runs: Runs) -> None:
    _no_rows(runs, "a", "select 1 from marts.clv_model_params where monthly_discount_rate <> 0.05")
    total = "select sum(predicted_clv_365d) from marts.customer_clv"
    assert runs.one("a", total) < runs.one("default", total)


def clv_interval(runs: Runs) -> None:
    width = "select avg(clv_param_high_365d - clv_param_low_365d) from marts.customer_clv"
    assert runs.one("a", width) < runs.one("default", width)


def clv_lifespan(runs: Runs) -> None:
    # customers known for a year or more: run a's min_tenure_days (30) does not touch them
    sql = (
        "select c.customer_id, c.historical_clv from marts.customer_clv as c join "
        "intermediate.int_customers_summarized as s using (customer_id) "
        "where s.tenure_days >= 365 order by 1"
    )
    default, changed = dict(query(runs.default, sql)), dict(query(runs.a, sql))
    assert default.keys() == changed.keys()
    assert all(abs(changed[c] - default[c] * 5 / 3) < 0.02 for c in default)


def clv_model(runs: Runs) -> None:
    in_use = "select model from marts.clv_model_params where in_use and fitted_on = 'as_of'"
    assert {r[0] for r in query(runs.a, in_use)} == {"mbg_nbd", "gamma_gamma"}
    assert runs.one("a", "select distinct model from marts.clv_backtest") == "mbg_nbd"


def clv_min_tenure(runs: Runs) -> None:
    # tenure 30..365 days: purchases per year over the tenure (a), over a whole year (default)
    sql = (
        "select c.customer_id, c.purchases_per_year from marts.customer_clv as c join "
        "intermediate.int_customers_summarized as s using (customer_id) "
        "where s.tenure_days between 31 and 364 order by 1"
    )
    default, changed = dict(query(runs.default, sql)), dict(query(runs.a, sql))
    assert default and default.keys() == changed.keys()
    assert all(changed[c] > default[c] for c in default)


def clv_backtest_window(runs: Runs) -> None:
    sql = (
        "select distinct holdout_days, calibration_end = as_of - holdout_days "
        "from marts.clv_backtest"
    )
    assert query(runs.a, sql) == [(120, True)]
    assert query(runs.default, sql) == [(180, True)]


def clv_backtest_sample(runs: Runs) -> None:
    sql = "select distinct customers from marts.clv_backtest where section = 'model'"
    assert runs.one("a", sql) == 150
    assert runs.one("default", sql) > 150  # every calibration customer of the 300


def clv_backtest_band(runs: Runs) -> None:
    # predicted / actual near 1 is far outside [0.1, 0.2]: a warning, the run still published
    ratio = "select value from marts.clv_backtest where label = 'ratio_predicted_actual_purchases'"
    assert runs.one("a", ratio) > 0.2
    assert 0.8 <= runs.one("default", ratio) <= 1.25


def clv_backtest_min_holdout(runs: Runs) -> None:
    skipped = "select note from marts.clv_backtest where section = 'skipped'"
    assert "clv.backtest.min_holdout_days" in runs.one("b", skipped)
    assert query(runs.default, skipped) == []


def churn_levels(runs: Runs) -> None:
    assert runs.one("a", "select count(*) from marts.churn_watchlist where risk_level = 'low'") > 0
    _no_rows(
        runs,
        "a",
        """
        select 1 from marts.churn_watchlist
        join (values ('high', 7), ('medium', 14), ('low', 30)) as l(risk_level, days)
            using (risk_level)
        where action = 'win_back' and win_back_deadline <> as_of + days""",
    )
    # high and medium of run a leave p_purchase_90d_below out (off); low has 0.4 (not higher:
    # the detractor follow-ups of actions_followup_days would be win-backs): nobody with a
    # lower chance is off the list, and the chance names only that level
    _no_rows(
        runs,
        "a",
        """
        select 1 from marts.customer_clv as c
        left join marts.churn_watchlist as w using (customer_id)
        where c.p_purchase_90d < 0.4 and w.customer_id is null""",
    )
    chance = (
        "select distinct risk_level, regexp_extract(risk_reason, '< (.*)$', 1) "
        "from marts.churn_watchlist where risk_reason like 'P(purchase in 90 days)%'"
    )
    assert query(runs.a, chance) == [("low", "0.4")]


def churn_win_back_cost(runs: Runs) -> None:
    # run a: cost 50 against value at stake x assumed lift 0.5 x margin 1 (docs/actions.md)
    _no_rows(
        runs,
        "a",
        "select 1 from marts.churn_watchlist where lifecycle_stage <> 'churned' "
        "and (action = 'let_go') <> (coalesce(value_at_stake, 0) * 0.5 < 50)",
    )
    between = "select count(*) from marts.churn_watchlist where value_at_stake between 40 and 99.99"
    assert runs.one("a", between) > 0


def actions_horizon(runs: Runs) -> None:
    ahead = "select max(due_on - as_of) from marts.customer_actions"
    assert runs.one("a", ahead) <= 14 < runs.one("default", ahead)


def actions_followup_days(runs: Runs) -> None:
    planned = "intermediate.int_customers_contact_planned where action = 'detractor_followup'"
    assert runs.one("a", f"select count(*) from {planned}") > 0
    _no_rows(
        runs, "a", f"select 1 from {planned} and due_on <> greatest(followup_since + 3, as_of + 1)"
    )


def actions_experiments(runs: Runs) -> None:
    import hashlib

    rows = query(
        runs.a, "select customer_id, action, experiment_id, holdout from marts.action_ledger"
    )
    assert {(action, experiment) for _, action, experiment, _ in rows} >= {
        ("win_back", "win_back-v2"),
        ("detractor_followup", "detractor_followup-v2"),
        ("callback", None),
    }
    assert all(experiment is None for _, action, experiment, _ in rows if action == "callback")
    for customer, _, experiment, holdout in rows:
        if experiment is not None:
            digest = hashlib.md5(f"{customer}|{experiment}|another salt".encode()).hexdigest()
            assert holdout == (int(digest[:8], 16) / 16**8 < 0.5), customer


def actions_economics(runs: Runs) -> None:
    reasons = "select count(*) from marts.churn_watchlist where action_reason like '%{}%'"
    assert runs.one("a", reasons.format("x lift 0.5 (assumed) x margin 1.0 =")) > 0
    assert runs.one("default", reasons.format("x lift 0.1 (assumed) x margin 0.4 =")) > 0


def voice_min_responses(runs: Runs) -> None:
    _no_rows(runs, "a", "select 1 from marts.nps_summary where small_sample <> (responses < 5)")


def voice_followup_days(runs: Runs) -> None:
    _no_rows(runs, "a", "select 1 from marts.detractor_followups where item_date <= as_of - 60")
    count = "select count(*) from marts.detractor_followups"
    assert runs.one("a", count) > runs.one("default", count)


def voice_low_rating_max(runs: Runs) -> None:
    low = "select sum(low_ratings) from marts.feedback_summary where period_type = 'month'"
    assert runs.one("a", low) > runs.one("default", low)


def voice_complaint_categories(runs: Runs) -> None:
    # no category counts: a complaint is a low rating only
    _no_rows(runs, "b", "select 1 from marts.feedback_summary where complaints <> low_ratings")


def voice_satisfaction_labels(runs: Runs) -> None:
    labels = (
        "select distinct satisfaction_label, satisfaction_label_zh from marts.customer_loyalty "
        "where satisfaction_level = 5"
    )
    assert query(runs.a, labels) == [("delighted", "非常开心")]


def voice_loyalty_grades(runs: Runs) -> None:
    grade = "select count(*) from marts.customer_loyalty where loyalty_grade = '{}'"
    assert runs.one("a", grade.format("E")) == runs.one("default", grade.format("D")) > 0
    assert runs.one("a", grade.format("D")) == 0


def lifecycle_new(runs: Runs) -> None:
    _no_rows(
        runs,
        "a",
        "select 1 from marts.customers c join marts.customer_tiers t using "
        "(customer_id) where t.lifecycle_stage = 'new' and c.first_order_date < t.as_of - 30",
    )
    new = "select count(*) from marts.customer_tiers where lifecycle_stage = 'new'"
    assert runs.one("a", new) < runs.one("default", new)


def lifecycle_overdue(runs: Runs) -> None:
    overdue = (
        "select count(*) from marts.customer_tiers "
        "where lifecycle_stage in ('at_risk', 'dormant', 'churned')"
    )
    assert runs.one("a", overdue) < runs.one("default", overdue)


def lifecycle_p_alive(runs: Runs) -> None:
    reason = "select count(*) from marts.customer_tiers where lifecycle_reason like 'P(alive)%'"
    assert runs.one("a", reason) == 0 < runs.one("default", reason)


def lifecycle_purchase_chance(runs: Runs) -> None:
    # run b: a chance of any purchase in 90 days below 0.1 / 0.2 / 0.3 is at least churned /
    # dormant / at_risk (new comes first); the chance names the stage for more customers
    _no_rows(
        runs,
        "b",
        """
        select 1 from marts.customer_tiers as t
        join marts.customer_clv as c using (customer_id)
        where t.lifecycle_stage <> 'new' and (
            (c.p_purchase_90d < 0.1 and t.lifecycle_stage <> 'churned')
            or (c.p_purchase_90d < 0.2 and t.lifecycle_stage not in ('dormant', 'churned'))
            or (c.p_purchase_90d < 0.3
                and t.lifecycle_stage not in ('at_risk', 'dormant', 'churned')))""",
    )
    named = (
        "select distinct lifecycle_stage, regexp_extract(lifecycle_reason, '< (.*)$', 1) "
        "from marts.customer_tiers where lifecycle_reason like 'P(purchase in 90 days)%'"
    )
    allowed = {("at_risk", "0.3"), ("dormant", "0.2"), ("churned", "0.1")}
    assert set(query(runs.b, named)) <= allowed
    reason = (
        "select count(*) from marts.customer_tiers "
        "where lifecycle_reason like 'P(purchase in 90 days)%'"
    )
    assert runs.one("b", reason) > runs.one("default", reason)


def lifecycle_loyal(runs: Runs) -> None:
    loyal = (
        "select count(*) from marts.customers where lifecycle_stage = 'loyal' "
        "and (frequency < 5 or coalesce(loyalty_grade, '') <> 'A')"
    )
    assert runs.one("a", loyal) == 0 < runs.one("default", loyal)


def lifecycle_labels(runs: Runs) -> None:
    labels = (
        "select distinct lifecycle_stage_zh from marts.customer_tiers "
        "where lifecycle_stage = 'churned'"
    )
    assert query(runs.a, labels) == [("已离开",)]


def tiers_levels(runs: Runs) -> None:
    tiers = query(
        runs.a, "select distinct tier, tier_label_zh, tier_weight from marts.customer_tiers"
    )
    assert {t[0] for t in tiers} == {"Platinum+", "Gold", "Silver", "Bronze"}
    assert ("Platinum+", "铂金", 5) in tiers


def playbooks_tiers(runs: Runs) -> None:
    sql = (
        "select distinct contact_channel, contact_every_days from marts.customer_tiers "
        "where tier = 'Platinum+' and lifecycle_stage in ('regular', 'loyal')"
    )
    assert query(runs.a, sql) == [("video", 7)]


def playbooks_stages(runs: Runs) -> None:
    sql = (
        "select distinct contact_channel from marts.customer_tiers "
        "where lifecycle_stage = 'at_risk'"
    )
    assert query(runs.a, sql) == [("visit",)]


def care_calendar_days(runs: Runs) -> None:
    ahead = "select max(days_from_as_of) from marts.care_calendar"
    assert runs.one("a", ahead) <= 10 < runs.one("default", ahead)


def groups_age_bands(runs: Runs) -> None:
    bands = query(
        runs.a,
        "select distinct group_value from marts.customer_groups where group_type = 'age_band'",
    )
    assert bands and {b[0] for b in bands} <= {"<20", "20-39", "40-59", "60+"}


def privacy_keep(runs: Runs) -> None:
    masked = "select count(*) from marts.customers where phone like '%*%'"
    assert runs.one("a", masked) == 0 < runs.one("default", masked)


def privacy_hash(runs: Runs) -> None:
    # the run found its salt in salt_env (TIERS_PII_SALT is unset: it would exit 2 otherwise)
    assert "TIERS_PII_SALT" not in os.environ
    hashed = (
        "select bool_and(regexp_matches(phone, '^[0-9a-f]{64}$')) from marts.customers "
        "where phone is not null"
    )
    assert runs.one("b", hashed)


def schedule_keys(_: Runs) -> None:
    from customer_tiers.orchestration.config import ScheduleConfig
    from customer_tiers.orchestration.defs.automation import build_daily_schedule

    schedule = build_daily_schedule(ScheduleConfig(cron="30 7 * * 1", timezone="Europe/Berlin"))
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("30 7 * * 1", "Europe/Berlin")


def sensor_keys(_: Runs) -> None:
    from customer_tiers.orchestration.config import SensorConfig
    from customer_tiers.orchestration.defs.sensors import build_landing_folder_sensor

    sensor = build_landing_folder_sensor(SensorConfig(min_interval_seconds=300, settle_seconds=90))
    assert sensor.minimum_interval_seconds == 300
    assert "90 s" in (sensor.description or "")


CASES: dict[str, Callable[[Runs], None]] = {
    "rfm.segments": rfm_segments,
    "rfm.value_class.weights": rfm_value_class,
    "rfm.value_class.min_points": rfm_value_class,
    "rfm.value_class.labels_zh": rfm_value_class_labels,
    "abc.mode": abc_threshold,
    "abc.thresholds": abc_threshold,
    "abc.shares": abc_shares,
    "abc.labels_zh": abc_labels,
    "abc.combined": abc_combined,
    "clv.horizon_days": clv_horizon,
    "clv.monthly_discount_rate": clv_discount,
    "clv.interval": clv_interval,
    "clv.lifespan_years": clv_lifespan,
    "clv.model": clv_model,
    "clv.min_tenure_days": clv_min_tenure,
    "clv.backtest.holdout_days": clv_backtest_window,
    "clv.backtest.sample_customers": clv_backtest_sample,
    "clv.backtest.ratio_low": clv_backtest_band,
    "clv.backtest.ratio_high": clv_backtest_band,
    "clv.backtest.min_holdout_days": clv_backtest_min_holdout,
    "churn.levels": churn_levels,
    "churn.win_back_cost": churn_win_back_cost,
    "schedule.cron": schedule_keys,
    "schedule.timezone": schedule_keys,
    "sensor.min_interval_seconds": sensor_keys,
    "sensor.settle_seconds": sensor_keys,
    "voice.min_responses": voice_min_responses,
    "voice.followup_days": voice_followup_days,
    "voice.low_rating_max": voice_low_rating_max,
    "voice.complaint_categories": voice_complaint_categories,
    "voice.satisfaction_labels": voice_satisfaction_labels,
    "voice.loyalty_grades": voice_loyalty_grades,
    "lifecycle.new_within_days": lifecycle_new,
    "lifecycle.overdue": lifecycle_overdue,
    "lifecycle.churned_p_alive_below": lifecycle_p_alive,
    "lifecycle.p_purchase_90d_below.at_risk": lifecycle_purchase_chance,
    "lifecycle.p_purchase_90d_below.dormant": lifecycle_purchase_chance,
    "lifecycle.p_purchase_90d_below.churned": lifecycle_purchase_chance,
    "lifecycle.loyal.min_orders": lifecycle_loyal,
    "lifecycle.loyal.loyalty_grades": lifecycle_loyal,
    "lifecycle.loyal.value_classes": lifecycle_loyal,
    "lifecycle.loyal.abc_classes": lifecycle_loyal,
    "lifecycle.labels": lifecycle_labels,
    "tiers.levels": tiers_levels,
    "playbooks.tiers": playbooks_tiers,
    "playbooks.stages": playbooks_stages,
    "care_calendar.days_ahead": care_calendar_days,
    "groups.age_band_starts": groups_age_bands,
    "privacy.personal_data": privacy_keep,
    "privacy.salt_env": privacy_hash,
    "actions.horizon_days": actions_horizon,
    "actions.detractor_followup_days": actions_followup_days,
    "actions.experiments.salt": actions_experiments,
    "actions.experiments.version": actions_experiments,
    "actions.experiments.holdout_share": actions_experiments,
    "actions.experiments.actions": actions_experiments,
    "actions.economics.margin": actions_economics,
    "actions.economics.assumed_lift": actions_economics,
    "recommendations.top_k": recommendations_top_k,
    "recommendations.min_support": recommendations_min_support,
    "recommendations.rebuy_after_days": recommendations_rebuy,
    "recommendations.bundle_stages": recommendations_bundles,
}

# Keys whose effect is a run's gate rather than a mart, tested by their own area's file.
TESTED_ELSEWHERE = {
    "quality.max_quarantined_share": "tests/e2e/test_quarantine_policy.py",
    "time.max_days_after_latest_order": "tests/e2e/test_quarantine_policy.py",
    "time.block": "tests/e2e/test_quarantine_policy.py",
    # read by marts.action_effects (issue 17 item 5) and by the plan from the previous run's
    # effects: a measured lift needs cohorts whose window has ended
    "actions.experiments.window_days": "tests/unit/test_experiments.py",
    "actions.economics.significance": "tests/e2e/test_actions.py",
    "clv.backtest.blocking": "tests/e2e/test_clv_backtest.py",
}


def schema_keys(model: type[BaseModel] = TiersConfig, prefix: str = "") -> list[str]:
    """Every configuration key: a field of a nested section, down to lists and mappings."""
    keys = []
    for name, field in model.model_fields.items():
        if name == "source_path":
            continue
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            keys += schema_keys(kind, f"{prefix}{name}.")
        else:
            keys.append(prefix + name)
    return keys


def test_every_configuration_key_has_a_case() -> None:
    keys = set(schema_keys())
    missing = sorted(keys - CASES.keys() - TESTED_ELSEWHERE.keys())
    assert not missing, f"configuration keys without a test of their effect: {missing}"
    assert not (CASES.keys() | TESTED_ELSEWHERE.keys()) - keys, "a case for a key that is gone"
    root = Path(__file__).resolve().parents[2]
    for key, test_file in TESTED_ELSEWHERE.items():
        assert key.rsplit(".", 1)[-1] in (root / test_file).read_text(encoding="utf-8"), key


@pytest.mark.parametrize("key", sorted(CASES))
def test_a_changed_key_changes_the_marts(key: str, runs: Runs) -> None:
    CASES[key](runs)


ISSUE_CONFIGS = {
    "threshold": "abc: {mode: threshold}\n",
    "win_back_cost": "churn: {win_back_cost: 50}\n",
    "vip": yaml.safe_dump({"rfm": {"segments": CHANGES_A["rfm"]["segments"]}}, allow_unicode=True),
}


@pytest.mark.parametrize("name", sorted(ISSUE_CONFIGS))
def test_unit_tests_ignore_the_users_configuration(
    name: str, demo_run: tuple[Path, Path], tmp_path: Path
) -> None:
    """Issue 16 item 5: dbt's unit tests pass with any valid --config (they read
    dbt_project/unit_test_config.yml)."""
    config = tmp_path / "tiers.yml"
    config.write_text(ISSUE_CONFIGS[name], encoding="utf-8")
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse.write_bytes(demo_run[1].read_bytes())
    (tmp_path / "warehouse.duckdb.building").write_bytes(demo_run[1].read_bytes())
    tiers = [sys.executable, "-m", "customer_tiers.orchestration.cli", "dbt"]
    args = ["--warehouse", str(warehouse), "--config", str(config), "--", "test"]
    done = subprocess.run(
        [*tiers, *args, "--select", "resource_type:unit_test"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ},
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "ERROR=0" in done.stdout and "PASS=0 " not in done.stdout
