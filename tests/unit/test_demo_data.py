"""The demo-data generator: deterministic, true to the source contract, and realistic enough."""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from customer_tiers.ingest import demo_data
from customer_tiers.ingest.demo_data import DemoSummary, write_demo_data
from customer_tiers.ingest.sources import SOURCES

CUSTOMERS = 1500
SEED = 7

Rows = list[dict[str, str]]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoSummary]:
    out = tmp_path_factory.mktemp("demo")
    return out, write_demo_data(out, customers=CUSTOMERS, seed=SEED)


@pytest.fixture(scope="module")
def tables(demo: tuple[Path, DemoSummary]) -> dict[str, Rows]:
    return {name: read_rows(demo[0], name) for name in SOURCES}


def read_rows(out: Path, name: str, encoding: str = "utf-8") -> Rows:
    with (out / f"{name}.csv").open(encoding=encoding, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        # strict=True: every row must have exactly as many fields as the header.
        return [dict(zip(header, row, strict=True)) for row in reader]


def header(out: Path, name: str) -> list[str]:
    with (out / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
        return next(csv.reader(fh))


def digests(out: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(out.glob("*.csv"))}


def net_revenue(tables: dict[str, Rows]) -> dict[str, Decimal]:
    net: dict[str, Decimal] = {c["customer_id"]: Decimal(0) for c in tables["customers"]}
    for line in tables["orders"]:
        net[line["customer_id"]] += Decimal(line["amount"])
    return net


def orders_per_customer(tables: dict[str, Rows]) -> dict[str, int]:
    orders: dict[str, set[str]] = defaultdict(set)
    for line in tables["orders"]:
        if Decimal(line["amount"]) > 0:
            orders[line["customer_id"]].add(line["order_id"])
    return {customer: len(ids) for customer, ids in orders.items()}


# --- Determinism ---------------------------------------------------------------------------------


def test_same_seed_gives_byte_identical_files(
    demo: tuple[Path, DemoSummary], tmp_path: Path
) -> None:
    again = write_demo_data(tmp_path, customers=CUSTOMERS, seed=SEED)
    assert digests(tmp_path) == digests(demo[0])
    assert again == demo[1]


def test_different_seeds_give_different_data(
    demo: tuple[Path, DemoSummary], tmp_path: Path
) -> None:
    write_demo_data(tmp_path, customers=CUSTOMERS, seed=SEED + 1)
    mine, theirs = digests(demo[0]), digests(tmp_path)
    for name in ("customers.csv", "orders.csv", "feedback.csv", "surveys.csv"):
        assert mine[name] != theirs[name]


def test_several_chunks_continue_ids(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(demo_data, "CHUNK_CUSTOMERS", 150)
    summary = write_demo_data(tmp_path, customers=500, seed=SEED, progress=lambda _: None)
    customers = [c["customer_id"] for c in read_rows(tmp_path, "customers")]
    assert customers == [f"C{i:07d}" for i in range(1, 501)]
    for name, key in (("feedback", "feedback_id"), ("surveys", "response_id")):
        ids = [r[key] for r in read_rows(tmp_path, name)]
        assert len(ids) == len(set(ids)) == summary.rows[name]
    order_ids = [r["order_id"] for r in read_rows(tmp_path, "orders")]
    # An order's lines are adjacent, so unique ids mean each id forms a single run.
    runs = [oid for i, oid in enumerate(order_ids) if i == 0 or oid != order_ids[i - 1]]
    assert len(runs) == len(set(runs))


# --- Contract ------------------------------------------------------------------------------------


def test_writes_exactly_the_contract_files_and_columns(demo: tuple[Path, DemoSummary]) -> None:
    out, _ = demo
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{n}.csv" for n in SOURCES)
    for name, spec in SOURCES.items():
        assert header(out, name) == spec.column_names, name


def test_summary_matches_files(demo: tuple[Path, DemoSummary], tables: dict[str, Rows]) -> None:
    _, summary = demo
    assert summary.rows == {name: len(rows) for name, rows in tables.items()}
    assert summary.rows["customers"] == CUSTOMERS
    days = sorted(r["ordered_at"][:10] for r in tables["orders"])
    assert summary.first_order_date == date.fromisoformat(days[0])
    assert summary.last_order_date == date.fromisoformat(days[-1])


def test_required_columns_are_filled(tables: dict[str, Rows]) -> None:
    for name, spec in SOURCES.items():
        assert tables[name], f"{name} is empty"
        for column in spec.required_columns:
            assert all(row[column] != "" for row in tables[name]), f"{name}.{column}"


def test_keys_are_unique(tables: dict[str, Rows]) -> None:
    for name, spec in SOURCES.items():
        if spec.key:
            keys = [row[spec.key] for row in tables[name]]
            assert len(keys) == len(set(keys)), name


def test_references_resolve(tables: dict[str, Rows]) -> None:
    customers = {c["customer_id"] for c in tables["customers"]}
    products = {p["product_id"] for p in tables["products"]}
    staff = {s["staff_id"] for s in tables["staff"]}
    assert {o["customer_id"] for o in tables["orders"]} <= customers
    assert {o["product_id"] for o in tables["orders"]} <= products
    managers = [c["account_manager_id"] for c in tables["customers"]]
    assert {m for m in managers if m} <= staff
    assert 0 < managers.count("") < len(managers) * 0.3  # most, not all, have a manager
    assert {f["customer_id"] for f in tables["feedback"]} - {""} <= customers
    assert {s["customer_id"] for s in tables["surveys"]} <= customers


def test_values_parse_as_their_contract_types(tables: dict[str, Rows]) -> None:
    parsers = {
        "date": date.fromisoformat,
        "timestamp": lambda v: datetime.strptime(v, "%Y-%m-%d %H:%M:%S"),
        "decimal": Decimal,
        "double": float,
        "integer": int,
        "boolean": lambda v: {"true": True, "false": False}[v],
    }
    for name, spec in SOURCES.items():
        for column in spec.columns:
            parse = parsers.get(column.type)
            if parse:
                for row in tables[name]:
                    if row[column.name]:
                        parse(row[column.name])


def test_quoting_round_trips_commas_and_quotes(tables: dict[str, Rows]) -> None:
    names = {p["name"] for p in tables["products"]}
    assert any("," in n for n in names)
    assert any('"' in n for n in names)


# --- Realism -------------------------------------------------------------------------------------


def test_prospects_have_no_orders(tables: dict[str, Rows]) -> None:
    buyers = {o["customer_id"] for o in tables["orders"]}
    prospects = [c for c in tables["customers"] if c["customer_id"] not in buyers]
    assert 0.01 * CUSTOMERS < len(prospects) < 0.08 * CUSTOMERS


def test_about_ten_lines_per_customer(tables: dict[str, Rows]) -> None:
    assert 7 < len(tables["orders"]) / CUSTOMERS < 14


def test_returns_are_negative_and_follow_a_purchase(tables: dict[str, Rows]) -> None:
    lines = tables["orders"]
    returns = [o for o in lines if Decimal(o["amount"]) < 0]
    assert 0.01 < len(returns) / len(lines) < 0.05
    bought: dict[tuple[str, str], list[tuple[str, int]]] = defaultdict(list)
    for o in lines:
        if Decimal(o["amount"]) > 0:
            key = (o["customer_id"], o["product_id"])
            bought[key].append((o["ordered_at"], int(o["quantity"])))
    for r in returns:
        assert int(r["quantity"]) < 0
        assert r["cost"] == "" or Decimal(r["cost"]) <= 0
        earlier = bought[(r["customer_id"], r["product_id"])]
        assert any(at < r["ordered_at"] and qty >= -int(r["quantity"]) for at, qty in earlier)
    assert min(net_revenue(tables).values()) >= 0


def test_lines_are_plausible(tables: dict[str, Rows]) -> None:
    lines = tables["orders"]
    purchases = [o for o in lines if Decimal(o["amount"]) > 0]
    assert all(int(o["quantity"]) >= 1 for o in purchases)
    missing_cost = sum(o["cost"] == "" for o in lines) / len(lines)
    assert 0.05 < missing_cost < 0.15
    for o in purchases:
        if o["cost"]:
            assert Decimal("0.39") <= Decimal(o["cost"]) / Decimal(o["amount"]) <= Decimal("0.76")
    for o in lines:
        at = datetime.strptime(o["ordered_at"], "%Y-%m-%d %H:%M:%S")
        assert demo_data.WINDOW_START <= at.date() <= demo_data.WINDOW_END
        assert 8 <= at.hour < 24
        assert o["channel"] in {"store", "online", "wechat", "phone"}
        assert o["store_id"] in demo_data.STORES


def test_top_fifth_of_customers_bring_most_revenue(tables: dict[str, Rows]) -> None:
    revenue = sorted(net_revenue(tables).values(), reverse=True)
    share = sum(revenue[: len(revenue) // 5]) / sum(revenue)
    assert 0.5 < share < 0.9


def test_customers_are_plausible(tables: dict[str, Rows]) -> None:
    first_order: dict[str, str] = {}
    for o in tables["orders"]:
        first_order.setdefault(o["customer_id"], o["ordered_at"][:10])
    for c in tables["customers"]:
        assert c["gender"] in {"F", "M", "other", ""}
        if c["customer_id"] in first_order:
            assert c["signup_date"] <= first_order[c["customer_id"]]
        if c["phone"]:
            assert len(c["phone"]) == 11 and c["phone"].startswith("1") and c["phone"].isdigit()
        if c["birth_date"]:
            age = (demo_data.WINDOW_END - date.fromisoformat(c["birth_date"])).days / 365.25
            assert 18 <= age <= 76
    names = [c["name"] for c in tables["customers"]]
    assert any(n[0] == "王" for n in names) and any(" " in n for n in names)  # both kinds


def test_staff_capacity_covers_customers(tables: dict[str, Rows]) -> None:
    staff = tables["staff"]
    assert len(staff) >= 3
    assert sum(int(s["capacity"]) for s in staff) > CUSTOMERS
    assert 1 <= sum(s["active"] == "false" for s in staff) <= 2


def test_loyal_customers_rate_higher(tables: dict[str, Rows]) -> None:
    orders = orders_per_customer(tables)

    def mean(rows: Rows, column: str, frequent: bool) -> float:
        values = [
            int(r[column])
            for r in rows
            if r["customer_id"] and (orders.get(r["customer_id"], 0) >= 4) == frequent
        ]
        return sum(values) / len(values)

    assert mean(tables["feedback"], "rating", True) > mean(tables["feedback"], "rating", False)
    assert mean(tables["surveys"], "nps_score", True) > mean(tables["surveys"], "nps_score", False)
    assert any(f["customer_id"] == "" for f in tables["feedback"])  # some anonymous feedback


def test_survey_answers_agree(tables: dict[str, Rows]) -> None:
    for s in tables["surveys"]:
        nps, csat, intent = int(s["nps_score"]), int(s["csat_score"]), float(s["repurchase_intent"])
        assert 0 <= nps <= 10 and 1 <= csat <= 5 and 0 <= intent <= 100
        assert s["recommend"] in {"yes", "maybe", "no"}
        assert not (nps >= 9 and s["recommend"] == "no")
        assert not (nps <= 6 and s["recommend"] == "yes")
    takers = {s["customer_id"] for s in tables["surveys"]}
    assert 0.15 < len(takers) / CUSTOMERS < 0.35


# --- Encodings, progress, arguments --------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig"])
def test_other_encodings_hold_the_same_text(
    encoding: str, demo: tuple[Path, DemoSummary], tmp_path: Path
) -> None:
    write_demo_data(tmp_path, customers=CUSTOMERS, seed=SEED, encoding=encoding)
    for name in SOURCES:
        raw = (tmp_path / f"{name}.csv").read_bytes()
        assert raw.decode(encoding) == (demo[0] / f"{name}.csv").read_text(encoding="utf-8")
    customers = (tmp_path / "customers.csv").read_bytes()
    assert customers.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    if encoding == "gb18030":
        assert "王".encode("gb18030") in customers
        with pytest.raises(UnicodeDecodeError):
            customers.decode("utf-8")


def test_progress_reports_lines(tmp_path: Path) -> None:
    lines: list[str] = []
    write_demo_data(tmp_path, customers=50, seed=SEED, progress=lines.append)
    assert lines and any(line.startswith("orders: ") for line in lines)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"customers": 0}, "customers"),
        ({"seed": -1}, "seed"),
        ({"encoding": "latin-1"}, "encoding"),
    ],
)
def test_rejects_bad_arguments(kwargs: dict[str, object], message: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=message):
        write_demo_data(tmp_path, **kwargs)  # type: ignore[arg-type]
