"""The report's actions and effects sections, on the worklists' hand-made customer_actions and
two pooled effects written as the mart holds them. The actions section reads
marts.report_action_counts, built here from those rows by the dbt model's own SQL."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from customer_tiers.experiments.members import EFFECTS_SCHEMA
from customer_tiers.orchestration.report import write_report
from tests.e2e.test_report import chart
from tests.e2e.test_worklists import _warehouse

ACTION_COUNTS = (
    Path(__file__).resolve().parents[2]
    / "dbt_project/models/marts/reporting/report_action_counts.sql"
)

POOLED = {
    "scope": "pooled",
    "as_of": None,
    "cohorts": 4,
    "first_as_of": None,
    "last_as_of": None,
    "window_days": 30,
    "planned_holdout_share": 0.1,
    "buyers_treatment": 0,
    "buyers_control": 0,
    "rate_treatment": 0.3,
    "rate_control": 0.2,
    "p_value": 0.01,
    "revenue_per_customer_treatment": 40.0,
    "revenue_per_customer_control": 30.0,
    "min_detectable_lift": 0.05,
}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = _warehouse(tmp_path_factory.mktemp("report_actions") / "w.duckdb")
    rows = [
        POOLED
        | {
            "experiment_id": "win_back-v1",
            "action": "win_back",
            "n_treatment": 900,
            "n_control": 100,
            "lift": 0.081,
            "lift_ci_low": 0.023,
            "lift_ci_high": 0.139,
            "revenue_lift": 12.4,
            "revenue_lift_ci_low": 3.1,
            "revenue_lift_ci_high": 21.7,
            "srm_p_value": 0.6,
            "srm_flag": False,
        },
        POOLED
        | {
            "experiment_id": "detractor_followup-v1",
            "action": "detractor_followup",
            "n_treatment": 300,
            "n_control": 60,
            "lift": -0.012,
            "lift_ci_low": -0.05,
            "lift_ci_high": 0.03,
            "revenue_lift": None,
            "revenue_lift_ci_low": None,
            "revenue_lift_ci_high": None,
            "srm_p_value": 0.0004,
            "srm_flag": True,
        },
        # one held-out customer, who bought: Newcombe's interval exists (-94.2 to -0.8 points)
        # but no lift up to 100 points is detectable (min_detectable_lift is null)
        POOLED
        | {
            "experiment_id": "reactivation-v1",
            "action": "reactivation",
            "n_treatment": 18,
            "n_control": 1,
            "rate_treatment": 0.1667,
            "rate_control": 1.0,
            "lift": -0.833,
            "lift_ci_low": -0.942,
            "lift_ci_high": -0.008,
            "revenue_lift": None,
            "revenue_lift_ci_low": None,
            "revenue_lift_ci_high": None,
            "srm_p_value": 0.9,
            "srm_flag": False,
            "min_detectable_lift": None,
        },
    ]
    effects = pa.Table.from_pylist(rows, schema=EFFECTS_SCHEMA)
    # the model's SQL, its one ref pointing at the hand-made mart
    counts = re.sub(
        r"\{\{ ref\('(\w+)'\) \}\}", r"marts.\1", ACTION_COUNTS.read_text(encoding="utf-8")
    )
    with duckdb.connect(str(path)) as con:
        con.register("effects", effects)
        con.execute("create table marts.action_effects as select * from effects")
        con.execute(f"create table marts.report_action_counts as {counts}")
    return path


def test_effects_in_words_in_both_languages(warehouse: Path, tmp_path: Path) -> None:
    write_report(warehouse, tmp_path / "en.html")
    sentences = chart(tmp_path / "en.html", "effects")["facts"]["sentences"]
    assert sentences == [
        "detractor follow-ups brought back 1.2 points fewer customers, 95% interval -5.0 to 3.0 "
        "(300 contacted, 60 held out, 30 days after each list). The interval includes no "
        "effect: not proven yet. Warning: the split is far from the planned hold-out "
        "(p = 0.0004); check the control group before trusting this.",
        "Reactivate: too few customers to measure (18 contacted, 1 held out): even a lift of "
        "100 points could not be told from chance.",
        "win-back calls brought back 8.1 points more customers, 95% interval 2.3 to 13.9 "
        "(900 contacted, 100 held out, 30 days after each list). Revenue per customer +12, "
        "95% interval 3 to 22.",
    ]
    write_report(warehouse, tmp_path / "zh.html", "zh")
    zh = chart(tmp_path / "zh.html", "effects")["facts"]["sentences"]
    assert zh[1] == (
        "唤醒：人数太少，无法衡量（联系 18 人，对照 1 人）：即使多出 100 个百分点，"
        "也无法与偶然区分。"
    )
    assert zh[2] == (
        "挽回联系使回购客户多了 8.1 个百分点，95% 置信区间 2.3 至 13.9"
        "（联系 900 人，对照 100 人，各名单后 30 天内）。 每位客户收入 +12，95% 置信区间 3 至 22。"
    )
    page = (tmp_path / "zh.html").read_text(encoding="utf-8")
    assert "挽回联系使回购客户多了 8.1 个百分点" in page  # the note under the chart


def test_actions_due_per_manager_without_held_out_customers(
    warehouse: Path, tmp_path: Path
) -> None:
    write_report(warehouse, tmp_path / "en.html")
    facts = chart(tmp_path / "en.html", "actions")["facts"]
    assert facts["held_out"] == 2 and facts["total"] == 5
    assert facts["per_manager"] == {
        "王芳 (s1)": {"win_back": 1, "reactivation": 0, "detractor_followup": 1, "callback": 1},
        "Bob (s2)": {"win_back": 0, "reactivation": 1, "detractor_followup": 0, "callback": 0},
        "no manager": {"win_back": 0, "reactivation": 0, "detractor_followup": 0, "callback": 1},
    }


def test_sections_say_why_when_there_is_nothing_to_show(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.action_effects as select 'x' as scope limit 0")
    write_report(path, tmp_path / "en.html")
    page = (tmp_path / "en.html").read_text(encoding="utf-8")
    assert "Not drawn: no experiment&#x27;s measurement window has ended yet." in page
    assert "Not drawn: marts.report_action_counts is not in the warehouse." in page
