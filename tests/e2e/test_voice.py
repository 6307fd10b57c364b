"""Voice of the customer worked by hand, through the whole pipeline: surveys and feedback →
nps_summary, customer_loyalty, feedback_summary, complaint_rates, detractor_followups, and by tier
nps_by_tier and complaint_rates_by_tier.

As of 2025-02-28. Orders (amount, store, channel):
  c1  6 x 100: 2024-09-20 at S2, then 10-20 .. 2025-02-20 at S1 (store)   recency 8   → S1, store
  c2  4 x 80: 2025-02-10 S1 online, 2024-12-10 S2 online, 2024-10-10 S1 store, 2024-08-10 S2
      store: a tie on both → home store S1, main channel online (the smallest)   recency 18
  c3  3 x 50 at S2 (wechat), the last on 2025-01-15                           recency 44
  c4  2 x 60 at S2 (store), the last on 2024-12-01                            recency 89
  c5  1 x 40 at S3 (phone) on 2024-08-01                                      recency 211
  c6  1 x 30 at S3 (store) on 2024-03-01                                      recency 364
RFM: scores 1 + (5 x customers strictly worse) // 6 → c1 555 (A, Champions), c2 444 (B,
Loyal), c3 333 (C), c4 222, c5 111, c6 111 (D). ABC by revenue: c1 A; c2, c3, c4 B; c5, c6 C.

Survey responses (nps, csat, repurchase intent, recommend):
  January   s01 c1 10 5 90 yes   s02 c2 9 4 60 yes   s03 c3 7 4 50 maybe
            s04 c4  5 2 20 no    s05 c5 3 1 10 no    s06 c6 8 3 40 maybe
  February  s07 c1 10 5 95 yes   s08 c2 10 5 80 (no recommend)   s09 c3 9 (no csat) 80 yes
            s10 c4  6 3 30 no    s11 c6 9 4 75 yes   s12 X99 2 1 5 no (X99 is no customer)
  March     s13 c5 10 ...: after as_of, outside this run.

NPS = 100 x (P - D) / n; SE = 100 x sqrt((pP + pD - (pP - pD)^2) / n); margin = 1.96 x SE.
  2025-01  n 6, P 2, passives 2, D 2: NPS 0; SE = 100 x sqrt(2/3 / 6) = 33.33, margin 65.33.
           CSAT 5 4 4 2 1 3: 3 of 6 satisfied = 50.
  2025-02  n 6 (X99 included), P 4, D 2: NPS 33.33; SE = 100 x sqrt((1 - 1/9) / 6) = 38.49,
           margin 75.44. CSAT 5 5 3 4 1 (s09 has none): 3 of 5 = 60.
           z = 33.33 / sqrt(33.33^2 + 38.49^2) = 0.655: not significant.
  2025-Q1  n 12, P 6, passives 2, D 4: NPS 16.67; SE = 100 x sqrt((5/6 - 1/36) / 12) = 25.91,
           margin 50.78; CSAT 6 of 11 = 54.55.
By home store (c1, c2 → S1; c3, c4 → S2; c5, c6 → S3; X99 → unknown):
  S1  January 2 promoters, February 2 promoters: NPS 100 both, SE 0 both → z null.
  S2  January passive + detractor: -50 (SE 35.36); February promoter + detractor: 0 (SE 70.71);
      z = 50 / sqrt(35.36^2 + 70.71^2) = 0.632.
  S3  January passive + detractor: -50 (SE 35.36); February one promoter: 100 (SE 0);
      z = 150 / 35.36 = 4.243: significant (on 1 and 2 responses: small_sample says so).

Loyalty (latest response on or before as_of; A: csat 5, >70%, yes; B: >= 4, >70% or 30-70%,
yes or maybe; C: >= 3; D: the rest; a missing answer meets no condition):
  c1 s07 → A; c2 s08 → recommend missing, promoter → yes → A; c3 s09 → CSAT missing → D;
  c4 s10 → 3, 30-70%, no → C; c5 s05 (s13 is after as_of) → 1, <30% → D; c6 s11 → 4, >70%,
  yes → B. X99 is not in customer_loyalty.

Feedback (rating, category): f01 c4 01-10 1 service; f07 c3 01-30 2 price; f02 c1 02-02 5
product; f03 c5 02-14 2 delivery; f04 (anonymous) 02-18 1 product; f05 c2 02-25 4 Complaint;
f06 c6 03-02 1: after as_of.
Follow-ups of the last 30 days (2025-01-30 .. 02-28), by day then id: f07 (day 30 of the
window), s10 (c4's latest answer, a detractor), f03, f04, s12. Not listed: f01 (too old), s04
(c4 answered again), s05 (c5's latest, but 01-20 is too old), f05 (a complaint, rated 4).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from customer_tiers.orchestration.errors import EXIT_OK
from customer_tiers.orchestration.pipeline import run_pipeline
from tests.conftest import query, write_csv

AS_OF = date(2025, 2, 28)
ORDER_HEADER = ["order_id", "customer_id", "ordered_at", "amount", "channel", "store_id"]
SURVEY_HEADER = [
    "response_id",
    "customer_id",
    "responded_at",
    "nps_score",
    "csat_score",
    "repurchase_intent",
    "recommend",
    "comment",
]
FEEDBACK_HEADER = ["feedback_id", "customer_id", "created_at", "channel", "category", "rating"]
FEEDBACK_HEADER += ["text"]


def _orders() -> list[list[object]]:
    orders: list[tuple[str, str, str, str, str]] = [
        ("c1", "2024-09-20", "100.00", "store", "S2"),
        *[("c1", day, "100.00", "store", "S1") for day in ("2024-10-20", "2024-11-20")],
        *[("c1", day, "100.00", "store", "S1") for day in ("2024-12-20", "2025-01-20")],
        ("c1", "2025-02-20", "100.00", "store", "S1"),
        ("c2", "2025-02-10", "80.00", "online", "S1"),
        ("c2", "2024-12-10", "80.00", "online", "S2"),
        ("c2", "2024-10-10", "80.00", "store", "S1"),
        ("c2", "2024-08-10", "80.00", "store", "S2"),
        *[("c3", day, "50.00", "wechat", "S2") for day in ("2024-11-15", "2024-12-15")],
        ("c3", "2025-01-15", "50.00", "wechat", "S2"),
        *[("c4", day, "60.00", "store", "S2") for day in ("2024-10-01", "2024-12-01")],
        ("c5", "2024-08-01", "40.00", "phone", "S3"),
        ("c6", "2024-03-01", "30.00", "store", "S3"),
    ]
    return [
        [f"{c}-{day}", c, f"{day} 11:00:00", amount, channel, store]
        for c, day, amount, channel, store in orders
    ]


SURVEYS: list[list[object]] = [
    ["s01", "c1", "2025-01-05 10:00:00", 10, 5, 90, "yes", "很喜欢"],
    ["s02", "c2", "2025-01-08 10:00:00", 9, 4, 60, "yes", None],
    ["s03", "c3", "2025-01-12 10:00:00", 7, 4, 50, "maybe", None],
    ["s04", "c4", "2025-01-15 10:00:00", 5, 2, 20, "no", "太贵"],
    ["s05", "c5", "2025-01-20 10:00:00", 3, 1, 10, "no", "售后太慢"],
    ["s06", "c6", "2025-01-25 10:00:00", 8, 3, 40, "maybe", None],
    ["s07", "c1", "2025-02-03 10:00:00", 10, 5, 95, "yes", None],
    ["s08", "c2", "2025-02-05 10:00:00", 10, 5, 80, None, None],
    ["s09", "c3", "2025-02-10 10:00:00", 9, None, 80, "yes", None],
    ["s10", "c4", "2025-02-12 10:00:00", 6, 3, 30, "no", "Still too pricey"],
    ["s11", "c6", "2025-02-20 10:00:00", 9, 4, 75, "yes", None],
    ["s12", "X99", "2025-02-22 10:00:00", 2, 1, 5, "no", "Never again"],
    ["s13", "c5", "2025-03-05 10:00:00", 10, 5, 90, "yes", None],
]

FEEDBACK: list[list[object]] = [
    ["f01", "c4", "2025-01-10 09:00:00", "store", "service", 1, "服务太差了"],
    ["f02", "c1", "2025-02-02 09:00:00", "wechat", "product", 5, "Great product!"],
    ["f03", "c5", "2025-02-14 09:00:00", "phone", "delivery", 2, "配送太慢"],
    ["f04", None, "2025-02-18 09:00:00", "online", "product", 1, "Broken on arrival"],
    ["f05", "c2", "2025-02-25 09:00:00", "store", "Complaint", 4, "Queue too long"],
    ["f06", "c6", "2025-03-02 09:00:00", "store", "service", 1, "after as_of"],
    ["f07", "c3", "2025-01-30 09:00:00", "wechat", "price", 2, "价格偏高"],
]


@pytest.fixture(scope="module")
def voice_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("voice")
    sources = root / "sources"
    write_csv(sources / "orders.csv", ORDER_HEADER, _orders())
    write_csv(
        sources / "customers.csv",
        ["customer_id", "name", "signup_date", "account_manager_id"],
        [[f"c{i}", f"客户{i}", "2024-01-01", "E1" if i <= 3 else "E2"] for i in range(1, 7)],
    )
    write_csv(sources / "surveys.csv", SURVEY_HEADER, SURVEYS)
    write_csv(sources / "feedback.csv", FEEDBACK_HEADER, FEEDBACK)
    path = root / "warehouse.duckdb"
    outcome = run_pipeline(sources, path, AS_OF)
    assert outcome.exit_code == EXIT_OK, outcome.messages
    return path, outcome.warnings


@pytest.fixture(scope="module")
def warehouse(voice_run: tuple[Path, list[str]]) -> Path:
    return voice_run[0]


def test_customer_dimensions_home_store_and_main_channel(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select customer_id, value_class, rfm_segment, abc_class, home_store_id, main_channel "
        "from intermediate.int_customer_voice_dimensions order by 1",
    )
    assert rows == [
        ("c1", "A", "Champions", "A", "S1", "store"),  # 5 orders at S1, 1 at S2
        ("c2", "B", "Loyal", "B", "S1", "online"),  # 2 / 2 ties → the smallest id
        ("c3", "C", "Need Attention", "B", "S2", "wechat"),
        ("c4", "D", "Hibernating", "B", "S2", "store"),
        ("c5", "D", "Hibernating", "C", "S3", "phone"),
        ("c6", "D", "Hibernating", "C", "S3", "store"),
    ]


def test_overall_nps_margin_csat_and_z(warehouse: Path) -> None:
    overall = "from marts.nps_summary where dimension = 'overall' order by period_type, period"
    figures = query(
        warehouse,
        "select period, responses, promoters, passives, detractors, nps, nps_moe_95, csat, "
        f"csat_responses, small_sample, unknown_customer_responses {overall}",
    )
    assert figures == [
        ("2025-01", 6, 2, 2, 2, 0.0, 65.33, 50.0, 6, True, 0),
        ("2025-02", 6, 4, 0, 2, 33.33, 75.44, 60.0, 5, True, 1),  # X99 counts here
        ("2025-Q1", 12, 6, 2, 4, 16.67, 50.78, 54.55, 11, True, 1),
    ]
    changes = query(
        warehouse,
        "select period, previous_period, previous_nps, nps_change, z, change_significant "
        f"{overall}",
    )
    assert changes == [
        ("2025-01", None, None, None, None, None),
        ("2025-02", "2025-01", 0.0, 33.33, 0.655, False),
        ("2025-Q1", None, None, None, None, None),  # no earlier quarter
    ]
    assert query(warehouse, f"select distinct dimension_value {overall}") == [("all",)]


def test_nps_by_store_and_the_z_test(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select dimension_value, period, responses, nps, nps_moe_95, previous_period, z, "
        "change_significant from marts.nps_summary "
        "where dimension = 'store' and period_type = 'month' order by 1, 2",
    )
    assert rows == [
        ("S1", "2025-01", 2, 100.0, 0.0, None, None, None),
        ("S1", "2025-02", 2, 100.0, 0.0, "2025-01", None, None),  # both SEs are zero
        ("S2", "2025-01", 2, -50.0, 69.3, None, None, None),
        ("S2", "2025-02", 2, 0.0, 138.59, "2025-01", 0.632, False),
        ("S3", "2025-01", 2, -50.0, 69.3, None, None, None),
        ("S3", "2025-02", 1, 100.0, 0.0, "2025-01", 4.243, True),
        ("unknown", "2025-02", 1, -100.0, 0.0, None, None, None),  # X99
    ]


def test_unknown_customer_counts_in_overall_and_is_reported(
    voice_run: tuple[Path, list[str]],
) -> None:
    warehouse, warnings = voice_run
    # X99's detractor answer is in every dimension, as `unknown` where not overall
    rows = query(
        warehouse,
        "select dimension, dimension_value, responses, detractors from marts.nps_summary "
        "where period = '2025-02' and dimension_value = 'unknown' order by 1",
    )
    assert rows == [
        ("abc_class", "unknown", 1, 1),
        ("channel", "unknown", 1, 1),
        ("rfm_segment", "unknown", 1, 1),
        ("store", "unknown", 1, 1),
        ("value_class", "unknown", 1, 1),
    ]
    # and in nps_by_tier, the same figures by tier (apart: they wait for the CLV fit)
    assert query(
        warehouse,
        "select dimension, dimension_value, responses, detractors from marts.nps_by_tier "
        "where period = '2025-02' and dimension_value = 'unknown'",
    ) == [("tier", "unknown", 1, 1)]
    assert query(
        warehouse,
        "select response_id, is_known_customer from intermediate.int_survey_responses_dated "
        "where not is_known_customer",
    ) == [("s12", False)]
    assert any("survey_responses_from_known_customers" in w for w in warnings), warnings
    # and counted once, with its rule, in the referential checks the summary prints
    assert query(
        warehouse,
        "select source_name, applied_rule, unresolved_rows, unresolved_ids "
        "from quality.referential_integrity where unresolved_rows > 0",
    ) == [("surveys", "keep", 1, 1)]
    # s13 is dated after as_of: outside this run
    dated = query(warehouse, "select count(*) from intermediate.int_survey_responses_dated")
    assert dated == [(12,)]


def test_nps_and_complaints_by_tier(warehouse: Path) -> None:
    # The fit fails on six customers, so ABC class and value class decide the tiers: c1 (ABC A,
    # value A, loyal, grade A) Diamond; c2 (value B, loyal) Gold; c3 (ABC B, value C) and c4
    # (ABC B, value D) Silver; c5 and c6 (ABC C, value D, dormant) Bronze.
    tiers = query(warehouse, "select customer_id, tier from marts.customer_tiers order by 1")
    assert tiers == [
        ("c1", "Diamond"),
        ("c2", "Gold"),
        ("c3", "Silver"),
        ("c4", "Silver"),
        ("c5", "Bronze"),
        ("c6", "Bronze"),
    ]
    # 2025-Q1 up to as_of: Diamond s01 10, s07 10; Gold s02 9, s08 10; Silver s03 7, s09 9, s04 5,
    # s10 6 -> 100 x (1 - 2) / 4 = -25; Bronze s05 3, s06 8, s11 9 -> 0; X99's s12 unknown.
    rows = query(
        warehouse,
        "select dimension_value, responses, promoters, passives, detractors, nps "
        "from marts.nps_by_tier where dimension = 'tier' and period = '2025-Q1' order by 1",
    )
    assert rows == [
        ("Bronze", 3, 1, 1, 1, 0.0),
        ("Diamond", 2, 2, 0, 0, 100.0),
        ("Gold", 2, 2, 0, 0, 100.0),
        ("Silver", 4, 1, 1, 2, -25.0),
        ("unknown", 1, 0, 0, 1, -100.0),
    ]
    # complaints up to as_of: f01 (c4, rating 1) and f07 (c3, 2) Silver, f03 (c5, 2) Bronze, f05
    # (c2, category Complaint) Gold, f04 (anonymous) unknown; orders split over the tiers add up
    rows = query(
        warehouse,
        "select dimension_value, complaints from marts.complaint_rates_by_tier "
        "where dimension = 'tier' and period = '2025-Q1' and complaints > 0 order by 1",
    )
    assert rows == [("Bronze", 1), ("Gold", 1), ("Silver", 2), ("unknown", 1)]
    totals = query(
        warehouse,
        "select dimension, sum(orders) from (select * from marts.complaint_rates "
        "union all select * from marts.complaint_rates_by_tier) "
        "where period = '2025-Q1' group by 1 order by 1",
    )
    assert [d for d, _ in totals] == ["store", "tier", "value_class"]
    assert totals[0][1] == totals[1][1] == totals[2][1]
    # follow-ups carry the tier; without a staff file the customers file's manager routes them
    followups = query(
        warehouse,
        "select customer_id, tier, account_manager_id from marts.detractor_followups "
        "where customer_id is not null and is_known_customer order by followup_rank",
    )
    assert followups == [("c3", "Silver", "E1"), ("c4", "Silver", "E2"), ("c5", "Bronze", "E2")]


def test_loyalty_grades(warehouse: Path) -> None:
    answers = query(
        warehouse,
        "select customer_id, latest_response_id, latest_nps_score, nps_group, "
        "satisfaction_level, satisfaction_label, satisfaction_label_zh "
        "from marts.customer_loyalty order by 1",
    )
    assert answers == [
        ("c1", "s07", 10, "promoter", 5, "very satisfied", "非常满意"),
        ("c2", "s08", 10, "promoter", 5, "very satisfied", "非常满意"),
        ("c3", "s09", 9, "promoter", None, None, None),
        ("c4", "s10", 6, "detractor", 3, "neutral", "一般"),
        ("c5", "s05", 3, "detractor", 1, "very dissatisfied", "非常不满意"),
        ("c6", "s11", 9, "promoter", 4, "satisfied", "满意"),
    ]
    grades = query(
        warehouse,
        "select customer_id, repurchase_band, would_recommend, loyalty_grade, loyalty_grade_zh, "
        "missing_answers from marts.customer_loyalty order by 1",
    )
    assert grades == [
        ("c1", ">70%", "yes", "A", "高忠诚", None),
        ("c2", ">70%", "yes", "A", "高忠诚", "recommend"),  # promoter → yes
        ("c3", ">70%", "yes", "D", "低忠诚", "csat_score"),  # no CSAT: meets no grade's test
        ("c4", "30-70%", "no", "C", "一般", None),
        ("c5", "<30%", "no", "D", "低忠诚", None),
        ("c6", ">70%", "yes", "B", "忠诚", None),
    ]


def test_detractor_followups_oldest_first(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select followup_rank, item_source, item_id, customer_id, item_date, days_waiting, "
        "score, value_class, abc_class, monetary, account_manager_id "
        "from marts.detractor_followups order by followup_rank",
    )
    assert rows == [
        (1, "feedback", "f07", "c3", date(2025, 1, 30), 29, 2, "C", "B", Decimal("150"), "E1"),
        (2, "survey", "s10", "c4", date(2025, 2, 12), 16, 6, "D", "B", Decimal("120"), "E2"),
        (3, "feedback", "f03", "c5", date(2025, 2, 14), 14, 2, "D", "C", Decimal("40"), "E2"),
        (4, "feedback", "f04", None, date(2025, 2, 18), 10, 1, None, None, None, None),
        (5, "survey", "s12", "X99", date(2025, 2, 22), 6, 2, None, None, None, None),
    ]


def test_feedback_summary_and_complaint_rates(warehouse: Path) -> None:
    summary = query(
        warehouse,
        "select period, feedback_category, feedback_items, avg_rating, low_ratings, complaints, "
        "anonymous_items from marts.feedback_summary where period_type = 'month' order by 1, 2",
    )
    assert summary == [
        ("2025-01", "all", 2, 1.5, 2, 2, 0),
        ("2025-01", "price", 1, 2.0, 1, 1, 0),
        ("2025-01", "service", 1, 1.0, 1, 1, 0),
        ("2025-02", "Complaint", 1, 4.0, 0, 1, 0),  # a complaint by its category
        ("2025-02", "all", 4, 3.0, 2, 3, 1),
        ("2025-02", "delivery", 1, 2.0, 1, 1, 0),
        ("2025-02", "product", 2, 3.0, 1, 1, 1),
    ]
    rates = query(
        warehouse,
        "select period, dimension, dimension_value, complaints, orders, complaints_per_100_orders "
        "from marts.complaint_rates where period_type = 'month' and period >= '2025-01' "
        "order by 1, 2, 3",  # by tier: test_nps_and_complaints_by_tier
    )
    assert rates == [
        # January: c1's order at S1, c3's at S2; complaints f01 (c4) and f07 (c3), home S2
        ("2025-01", "store", "S1", 0, 1, 0.0),
        ("2025-01", "store", "S2", 2, 1, 200.0),
        ("2025-01", "value_class", "A", 0, 1, 0.0),
        ("2025-01", "value_class", "C", 1, 1, 100.0),
        ("2025-01", "value_class", "D", 1, 0, None),
        # February: c1's and c2's orders at S1; f05 (c2), f03 (c5, home S3), f04 (anonymous)
        ("2025-02", "store", "S1", 1, 2, 50.0),
        ("2025-02", "store", "S3", 1, 0, None),
        ("2025-02", "store", "unknown", 1, 0, None),
        ("2025-02", "value_class", "A", 0, 1, 0.0),
        ("2025-02", "value_class", "B", 1, 1, 100.0),
        ("2025-02", "value_class", "D", 1, 0, None),
        ("2025-02", "value_class", "unknown", 1, 0, None),
    ]
