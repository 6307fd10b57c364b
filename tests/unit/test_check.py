"""`tiers check --sources DIR` (orchestration/check.py): the run's loader and suites, no writes.

Every count below is worked out by hand from the small inline files of its test. After every
case the sources folder is byte-for-byte as it was, and no file is left anywhere under tmp_path
(the check's temporary directory is pointed there, so leftovers would show).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import customer_tiers.orchestration.check as check_module
from customer_tiers.orchestration.cli import main
from tests.conftest import write_csv

ORDERS_HEADER = ["order_id", "customer_id", "ordered_at", "amount"]


def snapshot(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under root; directories listed with ''."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else ""
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    return tmp_path / "sources"


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The check's temporary directory, under tmp_path so anything it leaves behind is seen."""
    path = tmp_path / "scratch"
    path.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    yield path


@pytest.fixture
def unchanged(tmp_path: Path, sources: Path, scratch: Path) -> Iterator[None]:
    """Fails the test if the check changed the sources or left any file behind."""
    sources.mkdir(exist_ok=True)
    yield  # the sources themselves are hashed before and after by `run_check`
    assert list(scratch.iterdir()) == [], "the throw-away directory was not removed"
    assert list(tmp_path.rglob("*.duckdb*")) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scratch", "sources"]


def run_check(
    sources: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str, str]:
    """Run `tiers check` and assert the sources folder is byte-for-byte unchanged."""
    before = snapshot(sources) if sources.exists() else None
    code = main(["check", "--sources", str(sources), *extra])
    after = snapshot(sources) if sources.exists() else None
    assert after == before
    out, err = capsys.readouterr()
    return code, out, err


def block(out: str, label: str) -> list[str]:
    """The report lines of one file: from its `label:` line to the blank line after it."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{label}:"))
    end = lines.index("", start)
    return lines[start:end]


def verdict(out: str) -> str:
    return out.splitlines()[-1]


# --- clean sources ------------------------------------------------------------------------------


def write_clean(sources: Path) -> None:
    write_csv(
        sources / "orders.csv",
        ["order_id", "customer_id", "ordered_at", "product_id", "quantity", "amount", "cost",
         "channel", "store_id"],
        [
            ["o1", "c1", "2024-01-05", "p1", 2, "20.00", "8.00", "store", "s1"],
            ["o1", "c1", "2024-01-05", "p2", 1, "5.00", "2.00", "store", "s1"],
            # A return: 1 negative amount of 3 is within the suite's `mostly=0.5`.
            ["o2", "c2", "2024-02-01 14:30", "p1", -1, "-10.00", "-4.00", "online", None],
        ],
    )  # fmt: skip
    write_csv(
        sources / "customers.csv",
        ["customer_id", "name", "gender", "birth_date", "city"],
        [["c1", "Ann", "F", "1980-05-01", "Leeds"], ["c2", "Bob", "M", None, "York"]],
    )
    write_csv(
        sources / "products.csv",
        ["product_id", "name", "category", "unit_cost"],
        [["p1", "Pen", "office", "4.00"], ["p2", "Pad", "office", "2.00"]],
    )


def orders_threshold(
    monkeypatch: pytest.MonkeyPatch, factory: pytest.TempPathFactory, share: float
) -> None:
    """A configuration whose orders may have `share` quarantined (the default is 1%), outside
    tmp_path (which the check must leave as it was)."""
    config = factory.mktemp("config") / "tiers.yml"
    config.write_text(f"quality:\n  max_quarantined_share:\n    orders: {share}\n", "utf-8")
    monkeypatch.setenv("TIERS_CONFIG", str(config))


def test_daily_files_in_the_landing_folder_are_checked_with_the_file_named(
    sources: Path,
    unchanged: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    orders_threshold(monkeypatch, tmp_path_factory, 0.5)
    header = ["order_id", "customer_id", "ordered_at", "amount"]
    write_csv(sources / "orders.csv", header, [["o1", "c1", "2024-01-05", "20.00"]])
    write_csv(sources / "orders" / "2024-01-06.csv", header, [["o2", "c2", "2024-01-06", "5"]])
    write_csv(
        sources / "orders" / "2024-01-07.csv",
        header,
        [["o3", "c1", "2024-01-07", "7"], ["o4", "c2", "7 Jan", "3"]],
    )
    code, out, _ = run_check(sources, capsys)

    assert code == 0
    assert block(out, "orders.csv + 2 files in orders/")[:5] == [
        "orders.csv + 2 files in orders/: loaded",
        "  encoding: utf-8",
        "  rows: 4 read, 3 loaded, 1 quarantined",
        "  quarantined share: 1 of 4 rows (25.00%) quarantined, within the threshold 50.00%",
        "  quarantined by reason: unparseable ordered_at 1",
    ]
    assert (
        "    data row 2: (2024-01-07.csv) ordered_at: cannot parse '7 Jan' as timestamp"
        in out.splitlines()
    )


def test_clean_sources_pass_with_exact_counts(
    sources: Path, unchanged: None, capsys: pytest.CaptureFixture[str]
) -> None:
    write_clean(sources)
    code, out, _ = run_check(sources, capsys)

    assert code == 0
    assert out.splitlines()[0] == f"tiers check: {sources.resolve()} (nothing was changed)"
    assert block(out, "orders.csv") == [
        "orders.csv: loaded",
        "  encoding: utf-8",
        "  rows: 3 read, 3 loaded, 0 quarantined",
        # 2 column sets + 4 required not-null + row count + quantity, ordered_at, amount ranges
        "  expectations: 10 checked, all passed",
    ]
    assert block(out, "customers.csv") == [
        "customers.csv: loaded",
        "  encoding: utf-8",
        "  rows: 2 read, 2 loaded, 0 quarantined",
        "  optional columns absent (left empty): region, income_band, occupation, signup_date, "
        "member_level, phone, email, account_manager_id, interests",
        "  expectations: 6 checked, all passed",
    ]
    assert block(out, "products.csv")[:3] == [
        "products.csv: loaded",
        "  encoding: utf-8",
        "  rows: 2 read, 2 loaded, 0 quarantined",
    ]
    for absent in ("staff", "feedback", "surveys"):
        assert block(out, absent)[0] == (
            f"{absent}: absent (optional; the marts that need it will be empty)"
        )
    assert verdict(out) == "verdict: OK (exit 0); 0 warning(s), 0 row(s) quarantined"


# --- bad lines and severities -------------------------------------------------------------------


def test_bad_order_lines_are_quarantined_with_reasons_and_do_not_block(
    sources: Path,
    unchanged: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    orders_threshold(monkeypatch, tmp_path_factory, 0.5)  # 2 of 5 is within 50%
    write_csv(
        sources / "orders.csv",
        ORDERS_HEADER,
        [
            ["o1", "c1", "2024-01-05", "20"],
            ["o2", "c1", "2024/02/10", "15.5"],
            ["o3", "c2", "yesterday", "10"],
            ["o4", "c2", "2024-03-01", "ten"],
            ["o5", "c3", "20240315", "¥8"],  # compact date and a currency symbol both parse
        ],
    )
    code, out, _ = run_check(sources, capsys)

    # Quarantined rows never reach raw.orders, so the suite sees 3 good lines and passes:
    # quarantine is reported, not blocking (as in `tiers run`).
    assert code == 0
    assert block(out, "orders.csv") == [
        "orders.csv: loaded",
        "  encoding: utf-8",
        "  rows: 5 read, 3 loaded, 2 quarantined",
        "  quarantined share: 2 of 5 rows (40.00%) quarantined, within the threshold 50.00%",
        "  quarantined by reason: unparseable amount 1, unparseable ordered_at 1",
        "    data row 3: ordered_at: cannot parse 'yesterday' as timestamp",
        "    data row 4: amount: cannot parse 'ten' as decimal",
        "  optional columns absent (left empty): product_id, quantity, cost, channel, store_id",
        "  expectations: 10 checked, all passed",
    ]
    assert block(out, "customers") == [
        "customers: absent (optional; customers will be derived from the orders, with empty "
        "profiles)",
        "  expectations: 6 checked, all passed",
    ]
    assert verdict(out) == "verdict: OK (exit 0); 0 warning(s), 2 row(s) quarantined"


def test_warning_expectation_is_reported_but_does_not_block(
    sources: Path, unchanged: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # 2 of 3 amounts negative: more returns than sales fails `amount >= 0, mostly 0.5`, a warning.
    write_csv(
        sources / "orders.csv",
        ORDERS_HEADER,
        [["o1", "c1", "2024-01-05", "10"], ["o2", "c1", "2024-01-06", "-5"],
         ["o3", "c2", "2024-01-07", "-3"]],
    )  # fmt: skip
    code, out, _ = run_check(sources, capsys)

    assert code == 0
    assert block(out, "orders.csv")[-2:] == [
        "  expectations: 10 checked, 1 failed",
        "    warning (reported): expect_column_values_to_be_between on amount, 2 unexpected: "
        "2 of 3 non-null values unexpected (66.67%); e.g. ['-5.0000', '-3.0000']",
    ]
    assert verdict(out) == "verdict: OK (exit 0); 1 warning(s), 0 row(s) quarantined"


def test_a_quarantined_share_above_the_threshold_blocks_with_exit_1(
    sources: Path, unchanged: None, capsys: pytest.CaptureFixture[str]
) -> None:
    write_csv(sources / "orders.csv", ORDERS_HEADER, [["o1", "c1", "2024-01-05", "10"]])
    # nps_score 11 is out of its 0-10 range: quarantined; 1 of 2 answers is above 5%.
    write_csv(
        sources / "surveys.csv",
        ["response_id", "responded_at", "nps_score"],
        [["r1", "2024-04-01", "9"], ["r2", "2024-04-02", "11"]],
    )
    code, out, _ = run_check(sources, capsys)

    assert code == 1
    surveys = block(out, "surveys.csv")
    assert surveys[2:6] == [
        "  rows: 2 read, 1 loaded, 1 quarantined",
        "  quarantined share: 1 of 2 rows (50.00%) quarantined, above the threshold 5.00%: blocks",
        "  quarantined by reason: out-of-range nps_score 1",
        "    data row 2: nps_score: '11' is above the maximum 10",
    ]
    assert surveys[-1].endswith("all passed")
    assert verdict(out) == (
        "verdict: BLOCKED by a quarantined share above its threshold in surveys.csv (exit 1); "
        "a run would publish nothing; 0 warning(s), 1 row(s) quarantined"
    )


def test_orders_with_every_line_quarantined_block_on_row_count(
    sources: Path, unchanged: None, capsys: pytest.CaptureFixture[str]
) -> None:
    write_csv(
        sources / "orders.csv",
        ORDERS_HEADER,
        [["o1", "c1", "soon", "10"], ["o2", None, "2024-01-06", "5"]],
    )
    code, out, _ = run_check(sources, capsys)

    assert code == 1
    orders = block(out, "orders.csv")
    assert orders[2:5] == [
        "  rows: 2 read, 0 loaded, 2 quarantined",
        "  quarantined share: 2 of 2 rows (100.00%) quarantined, above the threshold 1.00%: blocks",
        "  quarantined by reason: missing customer_id 1, unparseable ordered_at 1",
    ]
    assert orders[-2:] == [
        "  expectations: 10 checked, 1 failed",
        "    ERROR (blocks): expect_table_row_count_to_be_between: observed 0",
    ]


# --- unusable input: exit 2 ---------------------------------------------------------------------


def test_missing_required_column_exits_2_naming_file_and_column(
    sources: Path, unchanged: None, capsys: pytest.CaptureFixture[str]
) -> None:
    write_csv(sources / "orders.csv", ["order_id", "customer_id", "amount"], [["o1", "c1", "5"]])
    code, out, err = run_check(sources, capsys)

    orders_csv = sources.resolve() / "orders.csv"
    message = (
        f"{orders_csv}: missing required column(s) ordered_at "
        "(header read as: order_id, customer_id, amount)"
    )
    assert code == 2
    assert block(out, "orders.csv") == ["orders.csv: error", f"  {message}"]
    assert f"error: {message}" in err.splitlines()
    assert verdict(out).startswith("verdict: UNUSABLE INPUT in orders.csv (exit 2)")


def test_missing_orders_file_exits_2(
    sources: Path, unchanged: None, capsys: pytest.CaptureFixture[str]
) -> None:
    write_csv(sources / "customers.csv", ["customer_id"], [["c1"]])
    code, out, _ = run_check(sources, capsys)

    assert code == 2
    assert block(out, "orders") == [
        "orders: error",
        f"  orders.csv or orders.parquet (or files in orders/) is required in {sources.resolve()}",
    ]
    # The other files are still checked and reported.
    assert block(out, "customers.csv")[2] == "  rows: 1 read, 1 loaded, 0 quarantined"


def test_undecodable_file_exits_2_and_the_others_are_still_checked(
    sources: Path, unchanged: None, capsys: pytest.CaptureFixture[str]
) -> None:
    write_csv(sources / "orders.csv", ORDERS_HEADER, [["o1", "c1", "2024-01-05", "10"]])
    (sources / "customers.csv").write_bytes(b"customer_id\nc1\x00\n")
    code, out, _ = run_check(sources, capsys)

    assert code == 2
    assert block(out, "customers.csv") == [
        "customers.csv: error",
        f"  {sources.resolve() / 'customers.csv'}: not a text file (NUL byte at byte offset 14)",
    ]
    assert block(out, "orders.csv")[2] == "  rows: 1 read, 1 loaded, 0 quarantined"


def test_missing_sources_dir_exits_2(
    tmp_path: Path, scratch: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-such-folder"
    code, out, err = run_check(missing, capsys)

    assert code == 2
    assert out == ""
    assert err.strip() == f"error: --sources {missing}: not a folder"
    assert not missing.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scratch"]
    assert list(scratch.iterdir()) == []


# --- encodings ----------------------------------------------------------------------------------


def test_gb18030_customers_are_detected_and_load(
    sources: Path, unchanged: None, capsys: pytest.CaptureFixture[str]
) -> None:
    write_csv(sources / "orders.csv", ORDERS_HEADER, [["C001", "C001", "2024-01-05", "10"]])
    write_csv(
        sources / "customers.csv",
        ["customer_id", "name", "city"],
        [["C001", "张伟", "上海"], ["C002", "李娜, 小李", "北京"], ["C003", "王芳", "深圳"]],
        encoding="gb18030",
    )
    code, out, _ = run_check(sources, capsys)

    assert code == 0
    assert block(out, "customers.csv")[:3] == [
        "customers.csv: loaded",
        "  encoding: gb18030",
        "  rows: 3 read, 3 loaded, 0 quarantined",
    ]


# --- the throw-away warehouse -------------------------------------------------------------------


def test_checks_run_on_a_throwaway_duckdb_in_the_temporary_directory(
    sources: Path,
    scratch: Path,
    unchanged: None,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[Path, bool]] = []
    real = check_module.validate_source

    def spy(db_path: Path, source: str) -> check_module.SuiteOutcome:
        seen.append((Path(db_path), Path(db_path).exists()))
        return real(db_path, source)

    monkeypatch.setattr(check_module, "validate_source", spy)
    write_clean(sources)
    code, _, _ = run_check(sources, capsys)

    assert code == 0
    assert len(seen) == 6  # every source, absent ones as empty tables, as in a run
    db_path = seen[0][0]
    assert {p for p, _ in seen} == {db_path}
    assert all(existed for _, existed in seen)
    assert db_path.parent.parent == scratch
    assert not db_path.exists()
