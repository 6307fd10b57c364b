"""A planted co-purchase pattern, worked by hand, through the whole pipeline (issue 20 item 2).

Thirteen customers as of 2024-12-31 (default configuration: top_k 3, min_support 0.01, a
bought category never offered again, bundles for regular and loyal customers):
  a1-a5  护肤 and 彩妆 in one order           a6, a8  护肤, one order
  a7     护肤 twice (2024-08-01, 2024-12-20): a regular customer
  b1, b2, b5  洗护 and 保健                   b3  洗护          b4  彩妆 and 洗护

Customers per category, of 13: 护肤 8, 彩妆 6, 洗护 5, 保健 3.
  护肤-彩妆  both 5  support 5/13  护肤→彩妆 confidence 5/8 = 0.625, 彩妆→护肤 5/6;
             lift 0.625 / (6/13) = 65/48 both ways
  洗护-保健  both 3  support 3/13  洗护→保健 3/5 = 0.6, 保健→洗护 3/3 = 1; lift 13/5 = 2.6
  彩妆-洗护  both 1  support 1/13  彩妆→洗护 1/6, 洗护→彩妆 1/5; lift 13/30 (below 1)
a6 (护肤): 彩妆 by the rule (0.625 beats its popularity 6/13), then 洗护 5/13, 保健 3/13 by
popularity. a7: the same, its first as a bundle. b3 (洗护): 护肤 by popularity 8/13 = 0.615
beats 保健 by the rule (0.6); 彩妆's rule (0.2) loses to its popularity 6/13.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from customer_tiers.orchestration.errors import EXIT_OK
from customer_tiers.orchestration.pipeline import run_pipeline
from tests.conftest import query, write_csv

AS_OF = date(2024, 12, 31)
PRODUCTS = {"护肤": "P1", "彩妆": "P2", "洗护": "P3", "保健": "P4"}
BASKETS = {
    **{f"a{i}": [("2024-06-01", ["护肤", "彩妆"])] for i in range(1, 6)},
    "a6": [("2024-06-01", ["护肤"])],
    "a7": [("2024-08-01", ["护肤"]), ("2024-12-20", ["护肤"])],
    "a8": [("2024-06-01", ["护肤"])],
    "b1": [("2024-06-01", ["洗护", "保健"])],
    "b2": [("2024-06-01", ["洗护", "保健"])],
    "b3": [("2024-06-01", ["洗护"])],
    "b4": [("2024-06-01", ["彩妆", "洗护"])],
    "b5": [("2024-06-01", ["洗护", "保健"])],
}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("next_category")
    sources = root / "sources"
    orders = [
        [f"{customer}-{day}", customer, f"{day} 10:00:00", PRODUCTS[category], 1, "100.00", "50.00"]
        for customer, baskets in BASKETS.items()
        for day, categories in baskets
        for category in categories
    ]
    write_csv(
        sources / "orders.csv",
        ["order_id", "customer_id", "ordered_at", "product_id", "quantity", "amount", "cost"],
        orders,
    )
    write_csv(
        sources / "customers.csv",
        ["customer_id", "name", "signup_date"],
        [[customer, f"客户{customer}", "2024-01-01"] for customer in BASKETS],
    )
    write_csv(
        sources / "products.csv",
        ["product_id", "name", "category", "unit_cost"],
        [[pid, f"{category}产品", category, "50.00"] for category, pid in PRODUCTS.items()],
    )
    path = root / "warehouse.duckdb"
    outcome = run_pipeline(sources, path, AS_OF)
    assert outcome.exit_code == EXIT_OK, outcome.messages
    return path


def test_category_affinity_worked_by_hand(warehouse: Path) -> None:
    rows = query(
        warehouse,
        "select antecedent, consequent, customers_antecedent, customers_consequent, "
        "customers_both, customers_with_purchase, round(support, 6), round(confidence, 6), "
        "round(lift, 6) from marts.category_affinity order by antecedent, consequent",
    )
    expected = [
        ("保健", "洗护", 3, 5, 3, 13, 3 / 13, 1.0, 13 / 5),
        ("彩妆", "护肤", 6, 8, 5, 13, 5 / 13, 5 / 6, 65 / 48),
        ("彩妆", "洗护", 6, 5, 1, 13, 1 / 13, 1 / 6, 13 / 30),
        ("护肤", "彩妆", 8, 6, 5, 13, 5 / 13, 5 / 8, 65 / 48),
        ("洗护", "保健", 5, 3, 3, 13, 3 / 13, 3 / 5, 13 / 5),
        ("洗护", "彩妆", 5, 6, 1, 13, 1 / 13, 1 / 5, 13 / 30),
    ]
    assert rows == [(*r[:6], *(round(v, 6) for v in r[6:])) for r in expected]


def _recommendations(warehouse: Path, customer: str) -> list[tuple]:
    return query(
        warehouse,
        "select recommendation_rank, category, round(score, 6), basis, because_bought, offer, "
        "bundle_with, reason, reason_zh from marts.customer_next_category "
        "where customer_id = ? order by recommendation_rank",
        [customer],
    )


def test_the_planted_complement_comes_out_first(warehouse: Path) -> None:
    assert _recommendations(warehouse, "a6") == [
        (
            1, "彩妆", 0.625, "affinity", "护肤", "recommend", None,
            "bought 护肤; 63% of customers who bought 护肤 also bought 彩妆",
            "买过护肤；买过护肤的客户中63%也买了彩妆",
        ),
        (
            2, "洗护", round(5 / 13, 6), "popular", None, "recommend", None,
            "popular: 38% of customers bought 洗护", "热门品类：38%的客户买过洗护",
        ),
        (
            3, "保健", round(3 / 13, 6), "popular", None, "recommend", None,
            "popular: 23% of customers bought 保健", "热门品类：23%的客户买过保健",
        ),
    ]  # fmt: skip


def test_a_regular_customer_gets_the_complement_as_a_bundle(warehouse: Path) -> None:
    stages = dict(query(warehouse, "select customer_id, lifecycle_stage from marts.customer_tiers"))
    assert stages["a7"] == "regular"
    first = _recommendations(warehouse, "a7")[0]
    assert first == (
        1, "彩妆", 0.625, "affinity", "护肤", "bundle", "护肤",
        "bundle 护肤 + 彩妆: bought 护肤; 63% of customers who bought 护肤 also bought 彩妆",
        "套装推荐 护肤 + 彩妆：买过护肤；买过护肤的客户中63%也买了彩妆",
    )  # fmt: skip
    bundles = query(
        warehouse, "select customer_id from marts.customer_next_category where offer = 'bundle'"
    )
    assert bundles == [("a7",)]  # the only regular or loyal customer


def test_popularity_wins_over_a_weaker_rule(warehouse: Path) -> None:
    rows = [r[:5] for r in _recommendations(warehouse, "b3")]
    assert rows == [
        (1, "护肤", round(8 / 13, 6), "popular", None),
        (2, "保健", 0.6, "affinity", "洗护"),
        (3, "彩妆", round(6 / 13, 6), "popular", None),
    ]


def test_evaluation_hides_the_latest_category(warehouse: Path) -> None:
    """Nine customers have two categories; each bought both in one order, so the name last in
    code-point order is hidden: 护肤 for a1-a5 (护 U+62A4 > 彩 U+5F69), 洗护 for b1, b2, b4, b5.
    Left: no customer with two categories, so no rule, and both recommenders rank by
    popularity: 彩妆 6, 保健 3, 护肤 3 (tie: name), 洗护 1 of 13. a1-a5 (彩妆) get 保健, 护肤,
    洗护; b1, b2, b5 (保健) 彩妆, 护肤, 洗护; b4 (彩妆) 保健, 护肤, 洗护: every hidden category is
    in the first 3, none first."""
    rows = query(
        warehouse,
        "select recommender, k, customers_evaluated, hits, hit_rate "
        "from marts.next_category_evaluation order by 1, 2",
    )
    assert rows == [
        ("affinity", 1, 9, 0, 0.0),
        ("affinity", 3, 9, 9, 1.0),
        ("most_popular", 1, 9, 0, 0.0),
        ("most_popular", 3, 9, 9, 1.0),
    ]
