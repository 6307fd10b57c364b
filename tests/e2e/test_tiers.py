"""Tiers worked by hand (issue 6): lifecycle, tier, playbook, care calendar, groups, account
assignment, tier history and migration, through the whole pipeline (three runs on one
warehouse: as of 2024-11-10, as of 2025-02-10, and 2025-02-10 again after manager E4 left).

As of 2025-02-10 (days before as_of; P1 skincare, P2 makeup, P3 haircare, P4 no category):
  c01  8 x 200 P1, every 15 days from 110 to 5          freq 8  rec 5    mon 1600
  c02  6 x 250 P2, every 20 days from 109 to 9          freq 6  rec 9    mon 1500  survey D
  c03  4 x (30 P1 + 30 P3) at 111, 81, 51, 21           freq 4  rec 21   mon 240   survey C
  c04  3 x 40 P4 at 95, 60, 25 (+ 1000 P1 after as_of)  freq 3  rec 25   mon 120   survey B
  c05  2 x 100 P2 at 52, 12                             freq 2  rec 12   mon 200
  c06  1 x 500 P3 at 2                                  freq 1  rec 2    mon 500   (survey
       after as_of: ignored)
  c07  (120 - 50 return) P2 at 158, 90 P1 at 113        freq 2  rec 113  mon 160
  c08  2 x 70 P1 at 245, 200                            freq 2  rec 200  mon 140
  c09  1 x 300 P1 at 400                                freq 1  rec 400  mon 300
  c10  2 x 30 P2 at 110, 100                            freq 2  rec 100  mon 60
  c11  no order, signed up 2025-01-11 (as_of - 30); c13 no order, no signup date;
  c12  signs up 2025-03-01: not a customer yet.
Ten buyers: score = 1 + (5 x strictly worse) // 10 = 1 + k // 2.
  recency worst→best c09 c08 c07 c10 c04 c03 c05 c02 c01 c06 → r 1 1 2 2 3 3 4 4 5 5
  frequency 1: c06 c09 (k 0) → 1; 2: c05 c07 c08 c10 (k 2) → 2; c04 k6 → 4, c03 k7 → 4,
    c02 → 5, c01 → 5
  monetary asc c10 c04 c08 c07 c05 c03 c09 c06 c02 c01 → m 1 1 2 2 3 3 4 4 5 5
  points (A >= 13, B >= 10, C >= 7): c01 15 A, c02 14 A, c03 10 B, c04 8 C, c05 9 C, c06 10 B,
    c07 6 D, c08 5 D, c09 6 D, c10 5 D
ABC by revenue (A: at-or-above share <= 0.2, B <= 0.7): c01 c02 A; c06 c09 c03 c05 c07 B;
  c08 c04 c10 C.
The BG/NBD fit fails on so few customers: no P(alive), no predicted CLV (no CLV signal).

Lifecycle (new: first order <= 90 days ago; at_risk / dormant / churned over the limits; with
no model fit the documented limits are the fallbacks 90 / 180 / 365 days):
  c01 loyal (ABC A), c02 loyal (ABC A; grade D does not matter), c03 regular (grade C, value
  B, ABC B), c04 loyal (grade B), c05 new (52), c06 new (2), c07 at_risk (113 > 90),
  c08 dormant (200 > 180), c09 churned (400 > 365), c10 at_risk (100 > 90), c11 c13 prospect.
  c07 and c08 buy every 45 days: 2 x 45 = 90, 4 x 45 = 180, so their stages do not depend on
  whether the limits follow their rhythm; c10 (every 10 days) does: without a fit the fixed
  limits apply (test_without_a_fit_the_overdue_limits_are_the_fallbacks).
Tiers (Diamond: 2 of ABC A / value A / CLV top 10%, stage new/regular/loyal, grade not D;
Gold: ABC A or value A/B; Silver: ABC A/B or value A/B/C; Bronze: the rest):
  c01 Diamond (no survey), c02 Gold (grade D bars Diamond), c03 Gold, c04 Silver, c05 Silver,
  c06 Gold, c07 Silver, c08 Bronze (dormant, C/D), c09 Bronze (churned), c10 Bronze,
  c11 c13 Bronze.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from customer_tiers.orchestration.errors import EXIT_OK
from customer_tiers.orchestration.pipeline import run_pipeline
from tests.conftest import query, write_csv

AS_OF = date(2025, 2, 10)
AS_OF1 = date(2024, 11, 10)  # 92 days earlier
ORDER_HEADER = ["order_id", "customer_id", "ordered_at", "product_id", "quantity", "amount"]
CUSTOMER_HEADER = ["customer_id", "name", "birth_date", "region", "signup_date"]
CUSTOMER_HEADER += ["account_manager_id", "interests"]
STAFF_HEADER = ["staff_id", "name", "store_id", "capacity", "active"]
SURVEY_HEADER = ["response_id", "customer_id", "responded_at", "nps_score", "csat_score"]
SURVEY_HEADER += ["repurchase_intent", "recommend"]


def day(days_before_as_of: int) -> date:
    return AS_OF - timedelta(days=days_before_as_of)


def _orders() -> list[list[object]]:
    rows: list[list[object]] = []

    def add(customer: str, days_before: int, *lines: tuple[str, str]) -> None:
        ordered = day(days_before)
        for product, amount in lines:
            quantity = -1 if amount.startswith("-") else 1
            order_id = f"{customer}-{ordered.isoformat()}"
            rows.append([order_id, customer, f"{ordered} 10:00:00", product, quantity, amount])

    for i in range(8):
        add("c01", 5 + 15 * i, ("P1", "200.00"))
    for i in range(6):
        add("c02", 9 + 20 * i, ("P2", "250.00"))
    for days_before in (21, 51, 81, 111):
        add("c03", days_before, ("P1", "30.00"), ("P3", "30.00"))
    for days_before in (25, 60, 95):
        add("c04", days_before, ("P4", "40.00"))
    add("c04", -10, ("P1", "1000.00"))  # after as_of: left out
    for days_before in (52, 12):
        add("c05", days_before, ("P2", "100.00"))
    add("c06", 2, ("P3", "500.00"))
    add("c07", 158, ("P2", "120.00"), ("P2", "-50.00"))
    add("c07", 113, ("P1", "90.00"))
    for days_before in (245, 200):
        add("c08", days_before, ("P1", "70.00"))
    add("c09", 400, ("P1", "300.00"))
    for days_before in (110, 100):
        add("c10", days_before, ("P2", "30.00"))
    return rows


CUSTOMERS: list[list[object]] = [
    ["c01", "王芳", "1996-02-29", "华东", "2023-01-01", "E1", "skincare; makeup ;"],
    ["c02", "李娜", None, "华北", "2023-01-01", "E1", "makeup;makeup"],
    ["c03", "张伟", "1960-02-10", "华南", "2023-01-01", "E1", " 护肤 ; 香水"],
    ["c04", "Alice", "1990-03-13", "华东", "2023-01-01", "E1", None],
    ["c05", "Bob", "2000-03-01", "华东", "2024-12-01", "E2", None],
    ["c06", "赵磊", "2007-02-11", "华北", "2025-02-01", "E2", None],
    ["c07", "陈静", "1985-06-15", "西南", "2023-01-01", "E3", None],
    ["c08", "刘洋", "1970-03-12", "华北", "2023-01-01", None, None],
    ["c09", "杨帆", "1980-02-20", "华东", "2023-01-01", "E2", None],
    ["c10", "周杰", None, None, "2023-01-01", None, None],
    ["c11", "吴敏", "1999-12-31", "华南", "2025-01-11", "E3", "fragrance"],
    ["c12", "Late", None, None, "2025-03-01", None, None],
    ["c13", "郑爽", None, None, None, "E4", None],
]

PRODUCTS = [
    ["P1", "面霜", "skincare", "10.00"],
    ["P2", "口红", "makeup", "10.00"],
    ["P3", "洗发水", "haircare", "10.00"],
    ["P4", "礼盒", None, "10.00"],
]

SURVEYS: list[list[object]] = [
    ["s1", "c02", "2025-01-15 10:00:00", 3, 2, 20, "no"],
    ["s2", "c03", "2025-01-16 10:00:00", 7, 3, 50, "maybe"],
    ["s3", "c04", "2025-01-17 10:00:00", 9, 4, 60, "yes"],
    ["s4", "c06", "2025-02-20 10:00:00", 0, 1, 0, "no"],  # after as_of
]

STAFF_AS_OF1 = [
    ["E1", "经理一", "S1", 3, "true"],
    ["E2", "经理二", "S1", 3, "true"],
    ["E3", "经理三", "S2", 5, "false"],
    ["E4", "经理四", "S2", 2, "true"],
]
STAFF_AS_OF = [*STAFF_AS_OF1, ["E5", "经理五", "S2", 6, "true"]]  # E5 hired since
STAFF_E4_LEFT = [[*row[:4], "false"] if row[0] == "E4" else row for row in STAFF_AS_OF]


@dataclass(frozen=True)
class Runs:
    """Copies of the warehouse after each run: as_of1, as_of, as_of again with E4 gone."""

    first: Path
    main: Path
    e4_left: Path
    warnings: list[str]


def _write_sources(sources: Path, staff: list[list[object]]) -> None:
    write_csv(sources / "orders.csv", ORDER_HEADER, _orders())
    write_csv(sources / "customers.csv", CUSTOMER_HEADER, CUSTOMERS)
    write_csv(sources / "products.csv", ["product_id", "name", "category", "unit_cost"], PRODUCTS)
    write_csv(sources / "surveys.csv", SURVEY_HEADER, SURVEYS)
    write_csv(sources / "staff.csv", STAFF_HEADER, staff)


def build_runs(root: Path) -> Runs:
    sources, warehouse = root / "sources", root / "warehouse.duckdb"
    warnings: list[str] = []
    copies: list[Path] = []
    for name, as_of, staff in (
        ("first", AS_OF1, STAFF_AS_OF1),
        ("main", AS_OF, STAFF_AS_OF),
        ("e4_left", AS_OF, STAFF_E4_LEFT),
    ):
        _write_sources(sources, staff)
        outcome = run_pipeline(sources, warehouse, as_of)
        assert outcome.exit_code == EXIT_OK, outcome.messages
        warnings += outcome.warnings
        copy = root / f"{name}.duckdb"
        shutil.copyfile(warehouse, copy)
        copies.append(copy)
    return Runs(*copies, warnings=warnings)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    return build_runs(tmp_path_factory.mktemp("tiers"))


@pytest.fixture(scope="module")
def warehouse(runs: Runs) -> Path:
    return runs.main


def _by_customer(warehouse: Path, columns: str, table: str = "marts.customer_tiers") -> dict:
    rows = query(warehouse, f"select customer_id, {columns} from {table} order by 1")
    return {row[0]: row[1:] if len(row) > 2 else row[1] for row in rows}


def test_the_fit_fails_so_no_clv_signal(runs: Runs) -> None:
    assert len(runs.warnings) == 3  # one per run, and only that
    assert all("BG/NBD fit failed" in w for w in runs.warnings), runs.warnings
    assert query(runs.main, "select count(*) from marts.clv_model_params") == [(0,)]
    assert query(
        runs.main,
        "select count(*), count(p_alive), count(predicted_clv_365d) from marts.customer_clv",
    ) == [(10, 0, 0)]


def test_scores_behind_the_tiers(warehouse: Path) -> None:
    """The RFM value classes and ABC classes worked out in the module docstring."""
    rfm = _by_customer(warehouse, "r_score, f_score, m_score, value_class", "marts.customer_rfm")
    assert rfm == {
        "c01": (5, 5, 5, "A"),
        "c02": (4, 5, 5, "A"),
        "c03": (3, 4, 3, "B"),
        "c04": (3, 4, 1, "C"),
        "c05": (4, 2, 3, "C"),
        "c06": (5, 1, 4, "B"),
        "c07": (2, 2, 2, "D"),
        "c08": (1, 2, 2, "D"),
        "c09": (1, 1, 4, "D"),
        "c10": (2, 2, 1, "D"),
    }
    abc = query(
        warehouse,
        "select abc_class, string_agg(customer_id, ' ' order by customer_id) "
        "from marts.customer_abc where basis = 'revenue' group by 1 order by 1",
    )
    assert abc == [("A", "c01 c02"), ("B", "c03 c05 c06 c07 c09"), ("C", "c04 c08 c10")]
    loyalty = _by_customer(warehouse, "loyalty_grade", "marts.customer_loyalty")
    assert loyalty == {"c02": "D", "c03": "C", "c04": "B"}  # c06 answered after as_of


def test_lifecycle_stages(runs: Runs) -> None:
    stages = _by_customer(runs.main, "lifecycle_stage, lifecycle_reason")
    # c12 signs up after as_of without an order: not a customer yet
    assert sorted(stages) == [f"c{i:02}" for i in range(1, 14) if i != 12]
    assert {c: s for c, (s, _) in stages.items()} == {
        "c01": "loyal",
        "c02": "loyal",
        "c03": "regular",
        "c04": "loyal",
        "c05": "new",
        "c06": "new",
        "c07": "at_risk",
        "c08": "dormant",
        "c09": "churned",
        "c10": "at_risk",
        "c11": "prospect",
        "c13": "prospect",
    }
    assert (
        stages["c01"][1] == "8 orders, last 5 days ago; RFM value class A, ABC class A by revenue"
    )
    assert (
        stages["c02"][1] == "6 orders, last 9 days ago; RFM value class A, ABC class A by revenue"
    )
    assert stages["c03"][1] == "4 orders, last 21 days ago"  # grade C, value B, ABC B: regular
    assert stages["c04"][1] == "3 orders, last 25 days ago; loyalty grade B"
    assert stages["c05"][1] == "first order 52 days ago (new for 90 days)"
    # one order, no rhythm at all: the fixed limit 365 applies
    assert stages["c09"][1] == (
        "400 days since the last order > 365 (fixed limit: no purchase rhythm from the model)"
    )
    assert stages["c11"][1] == "no order yet"
    # As of 2024-11-10 (92 days earlier): c01 c02 c03 c04 c07 c10 had their first order 18, 17,
    # 19, 3, 66, 18 days before: new; c08 last 108 days before (every 45 days) → at_risk;
    # c09 one order 308 days before → dormant (> 180, <= 365); c13 prospect. c05, c06, c11
    # signed up later and had not ordered: not customers yet.
    first = _by_customer(runs.first, "lifecycle_stage")
    assert first == {
        "c01": "new",
        "c02": "new",
        "c03": "new",
        "c04": "new",
        "c07": "new",
        "c08": "at_risk",
        "c09": "dormant",
        "c10": "new",
        "c13": "prospect",
    }


def test_without_a_fit_the_overdue_limits_are_the_fallbacks(warehouse: Path) -> None:
    """c10 bought twice 10 days apart, the last 100 days ago. No fit → at_risk after 90 days
    (fixed), not dormant after clamp(4 x 10, 60, 365) = 60 days of an observed rhythm."""
    limits = query(
        warehouse,
        "select distinct at_risk_after_days, dormant_after_days, churned_after_days "
        "from intermediate.int_customers_lifecycled",
    )
    assert limits == [(90, 180, 365)]
    row = query(
        warehouse,
        "select lifecycle_stage, lifecycle_reason, playbook, contact_every_days, next_contact_on "
        "from marts.customer_tiers where customer_id = 'c10'",
    )
    # Bronze / at_risk every min(90, 7) = 7 days, but no next contact: at_risk puts c10 on the
    # watch list (docs/actions.md, rule 1) and the win-back does not pay (rule 2): run rate
    # 30 x 2 purchases per 365 days = 60.04 at stake x assumed lift 0.1 x margin 0.4 = 2.40 <
    # cost 20 → let_go, and a let_go customer gets no contact at all
    assert row == [
        (
            "at_risk",
            "100 days since the last order > 90 (fixed limit: no purchase rhythm from the model)",
            "Bronze / at_risk",
            7,
            None,
        )
    ]
    reason = query(
        warehouse, "select lifecycle_reason from marts.customer_tiers where customer_id = 'c07'"
    )
    assert reason == [
        ("113 days since the last order > 90 (fixed limit: no purchase rhythm from the model)",)
    ]


NO_HIGHER = "Bronze: no higher tier's rules met ("


def test_tiers_and_why(runs: Runs) -> None:
    tiers = _by_customer(runs.main, "tier, tier_label_zh, tier_weight, tier_reason")
    assert query(
        runs.main, "select count(*), count(distinct customer_id) from marts.customer_tiers"
    )[0] == (12, 12)
    assert {c: t[0] for c, t in tiers.items()} == {
        "c01": "Diamond",
        "c02": "Gold",
        "c03": "Gold",
        "c04": "Silver",
        "c05": "Silver",
        "c06": "Gold",
        "c07": "Silver",
        "c08": "Bronze",
        "c09": "Bronze",
        "c10": "Bronze",
        "c11": "Bronze",
        "c13": "Bronze",
    }
    assert tiers["c01"][1:3] == ("钻石", 4)
    assert tiers["c09"][1:3] == ("铜", 1)
    reasons = {c: t[3] for c, t in tiers.items()}
    # no survey answer: exclude_loyalty_grades [D] holds, so c01 is Diamond
    assert reasons["c01"] == (
        "Diamond: ABC class A by revenue; RFM value class A; stage loyal; no survey answer"
    )
    # the same two value signals, but loyalty grade D: Gold
    assert reasons["c02"] == "Gold: ABC class A by revenue; RFM value class A; stage loyal"
    assert reasons["c03"] == "Gold: RFM value class B; stage regular"
    assert reasons["c04"] == "Silver: RFM value class C; stage loyal"
    assert reasons["c05"] == "Silver: ABC class B by revenue; RFM value class C; stage new"
    assert reasons["c06"] == "Gold: RFM value class B; stage new"
    assert reasons["c07"] == "Silver: ABC class B by revenue; stage at_risk"
    assert reasons["c08"] == NO_HIGHER + (
        "ABC class C by revenue, RFM value class D, predicted CLV unknown, stage dormant, "
        "no survey answer)"
    )
    # ABC B would make Silver, but churned is in no tier's stages
    assert reasons["c09"] == NO_HIGHER + (
        "ABC class B by revenue, RFM value class D, predicted CLV unknown, stage churned, "
        "no survey answer)"
    )
    assert reasons["c11"] == NO_HIGHER + (
        "no ABC class, no RFM value class, predicted CLV unknown, stage prospect, no survey answer)"
    )
    # As of 2024-11-10, eight buyers: score = 1 + (5 k) // 8; value classes c01 B (4+3+5),
    # c02 C (3+1+4), c03 D, c04 D, c07 C (2+3+3), c08 D, c09 D, c10 C (4+3+1); ABC (A <= 1 of
    # 8, B <= 5 of 8): c01 A; c09 c02 c07 c08 B; c03 c10 (tie at 60) c04 C.
    # (the surveys are dated after 2024-11-10: nobody has a loyalty grade yet)
    low = "ABC class C by revenue, RFM value class D, predicted CLV unknown, stage new, "
    low += "no survey answer)"
    prospect = "no ABC class, no RFM value class, predicted CLV unknown, stage prospect, "
    prospect += "no survey answer)"
    assert _by_customer(runs.first, "tier, tier_reason") == {
        "c01": ("Gold", "Gold: ABC class A by revenue; RFM value class B; stage new"),
        "c02": ("Silver", "Silver: ABC class B by revenue; RFM value class C; stage new"),
        "c03": ("Bronze", NO_HIGHER + low),
        "c04": ("Bronze", NO_HIGHER + low),
        "c07": ("Silver", "Silver: ABC class B by revenue; RFM value class C; stage new"),
        "c08": ("Silver", "Silver: ABC class B by revenue; stage at_risk"),
        "c09": ("Silver", "Silver: ABC class B by revenue; stage dormant"),
        "c10": ("Silver", "Silver: RFM value class C; stage new"),
        "c13": ("Bronze", NO_HIGHER + prospect),
    }


def test_playbooks_and_next_contact(warehouse: Path) -> None:
    """next_contact_on is the due day of the customer's main action (docs/actions.md). A callback
    is anchor + k x every, the first such day after as_of (k >= 1):
    c01 Diamond/loyal every 14 from as_of-5 → as_of+9;
    c03 Gold/regular 30 from -21 → +9;  c04 Silver/loyal 60 from -25 → +35;
    c05 Silver/new min(60, 14) = 14 from -12 → +2;  c06 Gold/new min(30, 14) from -2 → +12;
    c11 Bronze/prospect min(90, 30) from signup -30: 2 x 30 → +30 (as_of itself is not after);
    c13 Bronze/prospect from as_of (no signup date) → +30.
    c02's detractor answer of 2025-01-15 (NPS 3, CSAT 2) is within voice.followup_days (30):
    a detractor follow-up comes before the callback (+21), due max(2025-01-15 + 7, as_of + 1)
    → +1; its hash for 'detractor_followup-v1' is 0.675 >= 0.1: not held out.
    The watch list (no fit: the stages at_risk, dormant, churned) gets no contact: c09 churned
    stops contact; c07, c08, c10 are let_go as the win-back does not pay: the run rate (the
    monetary value, annualised over at least 365 days) 160.11, 140.10, 60.04 x assumed lift
    0.1 x margin 0.4 = 6.40, 5.60, 2.40 < cost 20."""
    rows = _by_customer(
        warehouse,
        "playbook, contact_every_days, contact_channel, care_actions, cadence_anchor, "
        "next_contact_on - as_of",
    )
    care = "birthday_greeting; event_invitation"
    assert rows == {
        "c01": ("Diamond / loyal", 14, "phone", care, day(5), 9),
        "c02": ("Gold / loyal", 30, "phone", care, day(9), 1),
        "c03": ("Gold / regular", 30, "phone", care, day(21), 9),
        "c04": ("Silver / loyal", 60, "wechat", "birthday_greeting", day(25), 35),
        "c05": ("Silver / new", 14, "wechat", "birthday_greeting; welcome_call", day(12), 2),
        "c06": ("Gold / new", 14, "phone", care + "; welcome_call", day(2), 12),
        "c07": (
            "Silver / at_risk",
            7,
            "phone",
            "birthday_greeting; win_back_offer",
            day(113),
            None,
        ),
        "c08": (
            "Bronze / dormant",
            30,
            "sms",
            "birthday_greeting; reactivation_offer",
            day(200),
            None,
        ),
        "c09": ("Bronze / churned", None, "sms", "", day(400), None),
        "c10": (
            "Bronze / at_risk",
            7,
            "phone",
            "birthday_greeting; win_back_offer",
            day(100),
            None,
        ),
        "c11": (
            "Bronze / prospect",
            30,
            "sms",
            "birthday_greeting; first_order_offer",
            day(30),
            30,
        ),
        "c13": ("Bronze / prospect", 30, "sms", "birthday_greeting; first_order_offer", AS_OF, 30),
    }


def test_care_calendar(warehouse: Path) -> None:
    """Window (as_of, as_of + 30] = 2025-02-11 .. 2025-03-12. The main action on next_contact_on
    (test_playbooks_and_next_contact), callbacks every contact_every_days after it; birthdays:
    c01 29 Feb 1996 → 28 Feb 2025 (not a leap year), c05 1 Mar, c06 11 Feb (the first day);
    c03's is as_of itself and c04's 13 Mar is one day late; c02 has no birth date, its detractor
    follow-up on +1 and the next callback 30 days later (+31) outside. c07, c08 (let_go) and
    c09 (churned) get no contact at all: no callback, no birthday greeting (c08's 12 Mar)."""
    rows = query(
        warehouse,
        "select customer_id, due_on, action, days_from_as_of, account_manager_id, channel "
        "from marts.care_calendar where customer_id <> 'c10' order by customer_id, due_on, action",
    )

    def at(n: int) -> date:
        return AS_OF + timedelta(days=n)

    cb, bd = "callback", "birthday_greeting"
    assert rows == [
        ("c01", at(9), cb, 9, "E1", "phone"),
        ("c01", date(2025, 2, 28), bd, 18, "E1", "phone"),
        ("c01", at(23), cb, 23, "E1", "phone"),
        ("c02", at(1), "detractor_followup", 1, "E1", "phone"),
        ("c03", at(9), cb, 9, "E1", "phone"),
        ("c05", at(2), cb, 2, "E2", "wechat"),
        ("c05", at(16), cb, 16, "E2", "wechat"),
        ("c05", date(2025, 3, 1), bd, 19, "E2", "wechat"),
        ("c05", at(30), cb, 30, "E2", "wechat"),
        ("c06", date(2025, 2, 11), bd, 1, "E2", "phone"),
        ("c06", at(12), cb, 12, "E2", "phone"),
        ("c06", at(26), cb, 26, "E2", "phone"),
        ("c11", at(30), cb, 30, "E5", "sms"),
        ("c13", at(30), cb, 30, "E4", "sms"),
    ]


def test_customer_groups(warehouse: Path) -> None:
    """Interests split on ';', trimmed, blanks and repeats dropped. Category by net revenue:
    c03 120 skincare = 120 haircare → haircare (alphabetical); c07 makeup 120 - 50 = 70 < 90
    skincare; c04 only an uncategorised product (its P1 order is after as_of). Age as of
    2025-02-10: c01 (29 Feb 1996) 28 → 25-34; c03 (10 Feb 1960) 65 that day → 65+; c05
    (1 Mar 2000) 24 → 18-24; c06 (11 Feb 2007) 17 → <18; c11 (31 Dec 1999) 25 → 25-34."""
    rows = query(
        warehouse,
        "select customer_id, group_type, string_agg(group_value, '|' order by group_value) "
        "from marts.customer_groups group by 1, 2 order by 1, 2",
    )
    groups: dict[str, dict[str, str]] = {}
    for customer, group_type, values in rows:
        groups.setdefault(customer, {})[group_type] = values
    assert groups == {
        "c01": {
            "age_band": "25-34",
            "category": "skincare",
            "interest": "makeup|skincare",
            "region": "华东",
        },
        "c02": {"category": "makeup", "interest": "makeup", "region": "华北"},
        "c03": {
            "age_band": "65+",
            "category": "haircare",
            "interest": "护肤|香水",
            "region": "华南",
        },
        "c04": {"age_band": "25-34", "region": "华东"},
        "c05": {"age_band": "18-24", "category": "makeup", "region": "华东"},
        "c06": {"age_band": "<18", "category": "haircare", "region": "华北"},
        "c07": {"age_band": "35-44", "category": "skincare", "region": "西南"},
        "c08": {"age_band": "45-54", "category": "skincare", "region": "华北"},
        "c09": {"age_band": "35-44", "category": "skincare", "region": "华东"},
        "c10": {"category": "makeup"},
        "c11": {"age_band": "25-34", "interest": "fragrance", "region": "华南"},
    }
    keys = query(
        warehouse,
        "select group_key, tier, account_manager_id from marts.customer_groups "
        "where customer_id = 'c01' and group_type = 'interest' order by 1",
    )
    assert keys == [("interest:makeup", "Diamond", "E1"), ("interest:skincare", "Diamond", "E1")]


def _assignment(warehouse: Path) -> dict:
    return _by_customer(
        warehouse, "staff_id, reason, previous_staff_id", "marts.account_assignment"
    )


def _load(warehouse: Path) -> dict:
    return {
        row[0]: row[1:]
        for row in query(
            warehouse,
            "select staff_id, is_active, capacity, customers, weighted_load, diamond_customers, "
            "gold_customers, silver_customers, bronze_customers, room from marts.manager_load "
            "order by 1",
        )
    }


def test_assignment_as_of_the_first_date(runs: Runs) -> None:
    """Staff: E1 3, E2 3, E3 (inactive) 5, E4 2. Nine customers, none churned, eight places.
    Priority (tier, weight desc, value desc): c01 Gold; c09 300, c02 250, c07 160, c08 140,
    c10 60 Silver; c03 60, c04 40, c13 0 Bronze.
    Kept: E1 its best three c01 c02 c03 (c04 over capacity); E2 c09; E4 c13. Placed on the
    lowest weighted load with room: c07 (E3 inactive) → E4 (load 1 < 2), c08 → E2, c10 → E2;
    c04 → nobody has room: no_capacity."""
    assert _assignment(runs.first) == {
        "c01": ("E1", "kept", "E1"),
        "c02": ("E1", "kept", "E1"),
        "c03": ("E1", "kept", "E1"),
        "c04": (None, "no_capacity", "E1"),
        "c07": ("E4", "manager_inactive", "E3"),
        "c08": ("E2", "new", None),
        "c09": ("E2", "kept", "E2"),
        "c10": ("E2", "new", None),
        "c13": ("E4", "kept", "E4"),
    }
    # weighted load: E1 Gold 3 + Silver 2 + Bronze 1; E2 three Silver; E4 Bronze + Silver
    assert _load(runs.first) == {
        "E1": (True, 3, 3, 6, 0, 1, 1, 1, 0),
        "E2": (True, 3, 3, 6, 0, 0, 3, 0, 0),
        "E3": (False, 5, 0, 0, 0, 0, 0, 0, 0),  # inactive: no room whatever its capacity
        "E4": (True, 2, 2, 3, 0, 0, 1, 1, 0),
    }
    assert query(runs.first, "select distinct mean_weighted_load from marts.manager_load") == [
        (5.0,)
    ]


def test_assignment_as_of_the_main_date(runs: Runs) -> None:
    """E5 (6 places) was hired. The manager a customer has is the first date's assignment
    (c04 had none: the file's E1 again, which is full with better customers, so rebalanced),
    the file's for c05 c06 (E2) and c11 (E3, inactive).
    Priority: c01 Diamond; c02 1500, c06 500, c03 240 Gold; c05 200, c07 160, c04 120 Silver;
    c08 140, c10 60, c11 0, c13 0 Bronze. c09 is churned: no manager, no row.
    Kept: E1 c01 c02 c03; E2 c06 c05 c08 (c10 fourth: rebalanced); E4 c07 c13.
    To place: c04, c10, c11 → only E5 has room."""
    assert _assignment(runs.main) == {
        "c01": ("E1", "kept", "E1"),
        "c02": ("E1", "kept", "E1"),
        "c03": ("E1", "kept", "E1"),
        "c04": ("E5", "rebalanced", "E1"),
        "c05": ("E2", "kept", "E2"),
        "c06": ("E2", "kept", "E2"),
        "c07": ("E4", "kept", "E4"),
        "c08": ("E2", "kept", "E2"),
        "c10": ("E5", "rebalanced", "E2"),
        "c11": ("E5", "manager_inactive", "E3"),
        "c13": ("E4", "kept", "E4"),
    }
    assert _load(runs.main) == {
        "E1": (True, 3, 3, 10, 1, 2, 0, 0, 0),
        "E2": (True, 3, 3, 6, 0, 1, 1, 1, 0),
        "E3": (False, 5, 0, 0, 0, 0, 0, 0, 0),  # inactive: no room whatever its capacity
        "E4": (True, 2, 2, 3, 0, 0, 1, 1, 0),
        "E5": (True, 6, 3, 4, 0, 0, 1, 2, 3),
    }
    # mean of the active managers' loads: (10 + 6 + 3 + 4) / 4
    assert query(
        runs.main, "select round(load_vs_mean, 4) from marts.manager_load where staff_id = 'E1'"
    ) == [(round(10 / 5.75, 4),)]
    tiers = _by_customer(runs.main, "account_manager_id, assignment_reason")
    assert tiers["c09"] == (None, None)
    assert tiers["c11"] == ("E5", "manager_inactive")


def test_invariants_of_every_assignment(runs: Runs) -> None:
    for warehouse in (runs.first, runs.main, runs.e4_left):
        assert query(
            warehouse,
            "select count(*) from marts.manager_load "
            "where customers > capacity or (not is_active and customers > 0)",
        ) == [(0,)]
        # every customer but the churned has exactly one row; nobody churned has one
        assert query(
            warehouse,
            "select count(*) filter (where a.customer_id is null and t.lifecycle_stage <> "
            "'churned'), count(*) filter (where a.customer_id is not null and "
            "t.lifecycle_stage = 'churned') from marts.customer_tiers as t "
            "left join marts.account_assignment as a using (customer_id)",
        ) == [(0, 0)]


def test_history_and_migration(runs: Runs) -> None:
    history = query(
        runs.main, "select as_of, count(*) from marts.tier_history group by 1 order by 1"
    )
    assert history == [(AS_OF1, 9), (AS_OF, 12)]
    migration = query(
        runs.main,
        "select from_as_of, to_as_of, from_tier, to_tier, customers, movement "
        "from marts.tier_migration order by from_tier, to_tier",
    )
    pair = (AS_OF1, AS_OF)
    # tiers as of each date: see test_tiers_and_why
    assert migration == [
        (*pair, "Bronze", "Bronze", 1, "same"),  # c13
        (*pair, "Bronze", "Gold", 1, "upgrade"),  # c03
        (*pair, "Bronze", "Silver", 1, "upgrade"),  # c04
        (*pair, "Gold", "Diamond", 1, "upgrade"),  # c01
        (*pair, "Silver", "Bronze", 3, "downgrade"),  # c08 c09 c10
        (*pair, "Silver", "Gold", 1, "upgrade"),  # c02
        (*pair, "Silver", "Silver", 1, "same"),  # c07
        (*pair, "none", "Bronze", 1, "new"),  # c11
        (*pair, "none", "Gold", 1, "new"),  # c06
        (*pair, "none", "Silver", 1, "new"),  # c05
    ]
    # the pair's counts add up to the customers of either date: 9 ∪ 12 = 12
    assert sum(row[4] for row in migration) == 12


def test_a_manager_leaving_moves_only_their_customers(runs: Runs) -> None:
    """Rerun of 2025-02-10 with E4 inactive: c07 and c13 lose E4 and go to E5 (the only room),
    everyone else has the same manager for the same reason as before."""
    before, after = _assignment(runs.main), _assignment(runs.e4_left)
    changed = {c for c in before if before[c] != after[c]}
    assert changed == {"c07", "c13"}
    assert after["c07"] == after["c13"] == ("E5", "manager_inactive", "E4")
    assert sorted(c for c, a in after.items() if a[1] == "kept") == [
        "c01",
        "c02",
        "c03",
        "c05",
        "c06",
        "c08",
    ]
    load = _load(runs.e4_left)
    assert load["E4"] == (False, 2, 0, 0, 0, 0, 0, 0, 0)
    assert load["E5"] == (True, 6, 5, 7, 0, 0, 2, 3, 1)  # + Silver c07, Bronze c13


def test_rerunning_a_date_replaces_its_history(runs: Runs) -> None:
    """The rerun of 2025-02-10 replaced that date's 12 rows instead of adding 12 more; the
    first date is untouched; only c07's and c13's manager differ (E4 left)."""
    sql = "select * from marts.tier_history order by as_of, customer_id"
    before, after = query(runs.main, sql), query(runs.e4_left, sql)
    assert len(after) == len(before) == 21
    columns = [
        c
        for (c,) in query(
            runs.main,
            "select column_name from information_schema."
            "columns where table_name = 'tier_history' order by "
            "ordinal_position",
        )
    ]
    manager = columns.index("account_manager_id")
    customer = columns.index("customer_id")
    differing = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert [(b[customer], b[manager], a[manager]) for b, a in differing] == [
        ("c07", "E4", "E5"),
        ("c13", "E4", "E5"),
    ]
    migration = "select * from marts.tier_migration order by all"
    assert query(runs.e4_left, migration) == query(runs.main, migration)


def test_one_time_stage_with_a_shorter_new_window(runs: Runs, tmp_path: Path) -> None:
    """With the default configuration and no fit, one_time cannot happen: a single order more
    than 90 days old is already over the 90-day at_risk fallback. With new_within_days 1:
    c06 (one order 2 days ago) is one_time → Gold (value B; one_time is a Gold stage), every
    30 days from as_of-2 → as_of+28; c05 (two orders, first 52 days ago) is regular → Silver,
    every 60 days from as_of-12 → as_of+48."""
    import subprocess
    import sys

    work = tmp_path / "warehouse.duckdb"
    shutil.copyfile(runs.main, work.with_name(work.name + ".building"))
    override = tmp_path / "short_new.yml"
    override.write_text("lifecycle:\n  new_within_days: 1\n", encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "customer_tiers.orchestration.cli",
        "dbt",
        "--warehouse",
        str(work),
    ]
    command += ["--as-of", AS_OF.isoformat(), "--config", str(override), "--", "run"]
    command += ["--select", "int_customers_lifecycled", "int_customers_tiered", "customer_tiers"]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stdout[-2000:]
    rows = _by_customer(
        work.with_name(work.name + ".building"),
        "lifecycle_stage, lifecycle_reason, tier, tier_reason, playbook, next_contact_on - as_of",
    )
    assert rows["c06"] == (
        "one_time",
        "one order, 2 days ago",
        "Gold",
        "Gold: RFM value class B; stage one_time",
        "Gold / one_time",
        28,
    )
    assert rows["c05"] == (
        "regular",
        "2 orders, last 12 days ago",
        "Silver",
        "Silver: ABC class B by revenue; RFM value class C; stage regular",
        "Silver / regular",
        48,
    )
    assert rows["c01"][0] == "loyal"


def test_demo_one_time_buyers_silent_a_year_are_never_fine(demo_run: tuple[Path, Path]) -> None:
    """On the fitted demo (conftest's demo_run, 300 customers; not the hand-worked data above):
    the purchase-timing rules hold for every customer with a prediction. A chance of any
    purchase in the next 90 days below a churn level's p_purchase_90d_below puts the customer
    on the watch list at that level or a higher one; below a lifecycle stage's threshold, in
    that stage or a later one (new comes first). So no one-time buyer silent for more than a
    year is in a stage that reads as fine, and every one is on the watch list."""
    from customer_tiers.orchestration.config import load_config

    config = load_config()
    _, warehouse = demo_run
    rows = query(
        warehouse,
        """
        select c.customer_id, c.frequency, c.days_since_last_order, c.p_purchase_90d,
            t.lifecycle_stage, w.risk_level
        from marts.customer_clv as c
        join marts.customer_tiers as t using (customer_id)
        left join marts.churn_watchlist as w using (customer_id)
        where c.p_purchase_90d is not null""",
    )
    assert len(rows) > 200
    levels = [level.name for level in config.churn.levels]
    overdue = ("at_risk", "dormant", "churned")
    chance = config.lifecycle.p_purchase_90d_below
    one_time_silent = 0
    for customer, repeats, silent, p90, stage, level in rows:
        for rank, rule in enumerate(config.churn.levels):
            if p90 < rule.p_purchase_90d_below:
                assert level in levels[: rank + 1], (customer, p90, level)
        for first, limit in enumerate((chance.at_risk, chance.dormant, chance.churned)):
            if p90 < limit and stage != "new":
                assert stage in overdue[first:], (customer, p90, stage)
        if repeats == 0 and silent > 365:
            one_time_silent += 1
            assert stage in overdue and level is not None, (customer, stage, level)
    assert one_time_silent > 10
