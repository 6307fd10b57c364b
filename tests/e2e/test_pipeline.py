"""The whole pipeline on small demo data, through the `tiers` command line."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from customer_tiers.orchestration.cli import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE, main
from tests.conftest import query, write_csv

MARTS = ("customer_abc", "customer_rfm", "customers")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def demo(demo_run: tuple[Path, Path]) -> tuple[Path, Path]:
    return demo_run


def test_run_publishes_every_mart_and_nothing_else_is_left(demo: tuple[Path, Path]) -> None:
    _, warehouse = demo
    tables = {
        name
        for (name,) in query(
            warehouse,
            "select table_name from information_schema.tables where table_schema = 'marts'",
        )
    }
    assert set(MARTS) <= tables
    assert not warehouse.with_name(warehouse.name + ".building").exists()


def test_marts_agree_with_each_other_and_the_sources(demo: tuple[Path, Path]) -> None:
    _, warehouse = demo
    [(customers, profiles)] = query(
        warehouse, "select count(*), count(*) filter (where has_profile) from marts.customers"
    )
    assert customers == profiles == 300  # every demo customer signed up within the window
    [(buyers, rfm_rows, abc_rows)] = query(
        warehouse,
        "select (select count(*) from marts.customers where frequency > 0), "
        "(select count(*) from marts.customer_rfm), (select count(*) from marts.customer_abc)",
    )
    assert buyers == rfm_rows and abc_rows == 3 * rfm_rows
    # monetary in the mart is the net revenue of the raw order lines up to as_of
    [(mart_revenue, raw_revenue)] = query(
        warehouse,
        "select (select sum(monetary) from marts.customer_rfm), "
        "(select sum(amount) from raw.orders o join marts.customer_rfm r using (customer_id) "
        " where cast(o.ordered_at as date) <= r.as_of)",
    )
    assert mart_revenue == raw_revenue
    # share mode: class sizes follow 20/50/30 up to ties at the boundaries
    shares = dict(
        query(
            warehouse,
            "select abc_class, count(*) / sum(count(*)) over () from marts.customer_abc "
            "where basis = 'revenue' group by 1",
        )
    )
    assert 0.15 <= shares["A"] <= 0.2 and 0.45 <= shares["B"] <= 0.5


def test_load_audit_reconciles_every_source(demo: tuple[Path, Path]) -> None:
    _, warehouse = demo
    audit = query(
        warehouse,
        "select source, rows_read, rows_loaded, rows_quarantined, sha256 from raw.load_audit",
    )
    assert {row[0] for row in audit} == {
        "customers",
        "orders",
        "products",
        "staff",
        "feedback",
        "surveys",
    }
    for source, read, loaded, quarantined, sha in audit:
        assert read == loaded + quarantined, source
        assert len(sha) == 64


def test_definitions_have_blocking_source_checks_and_dbt_checks(demo: tuple[Path, Path]) -> None:
    from customer_tiers.orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    checks = {key.to_user_string() for key in graph.asset_check_keys}
    assert "raw/orders:expectations" in checks and "raw/customers:reconciliation" in checks
    source_checks = [k for k in graph.asset_check_keys if k.asset_key.path[0] == "raw"]
    assert len(source_checks) == 12  # two per source
    assert all(graph.get_check_spec(k).blocking for k in source_checks)
    assert any(c.startswith("marts/customer_rfm:unique_customer_rfm_customer_id") for c in checks)
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert {"ingest", "staging", "intermediate", "marts", "predictions", "assignments"} <= groups
    assert "serve" in groups
    schedule = defs.resolve_schedule_def("tiers_daily")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 6 * * *", "Asia/Shanghai")
    assert schedule.job_name == "tiers_pipeline"


def test_blocking_check_failure_leaves_published_marts_untouched(
    demo: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sources, published = demo
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(published, warehouse)
    before = _sha256(warehouse)
    broken = tmp_path / "sources"
    shutil.copytree(sources, broken)
    write_csv(
        broken / "surveys.csv",
        ["response_id", "customer_id", "responded_at", "nps_score"],
        [["R1", "C0000001", "2025-01-01", "11"]],  # parses as an integer, fails the 0-10 rule
    )
    code = main(["run", "--sources", str(broken), "--warehouse", str(warehouse)])
    assert code == EXIT_CHECK_FAILED
    err = capsys.readouterr().err
    assert "blocking check failed: raw/surveys expectations" in err
    assert "nps_score" in err
    assert _sha256(warehouse) == before


def test_missing_required_column_exits_2_naming_file_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sources = tmp_path / "sources"
    write_csv(sources / "orders.csv", ["order_id", "customer_id", "amount"], [["1", "c1", "9.90"]])
    code = main(["run", "--sources", str(sources), "--warehouse", str(tmp_path / "w.duckdb")])
    assert code == EXIT_USAGE
    err = capsys.readouterr().err
    assert "orders.csv" in err and "ordered_at" in err
    assert not (tmp_path / "w.duckdb").exists()


def test_bad_usage_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere"
    assert main(["run", "--sources", str(missing), "--warehouse", str(tmp_path / "w.duckdb")]) == 2
    assert "not a folder" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["run", "--sources", str(tmp_path), "--warehouse", "w", "--as-of", "2024-02-30"])
    assert exit_info.value.code == EXIT_USAGE


def test_summary_reports_every_stage(demo: tuple[Path, Path]) -> None:
    from customer_tiers.orchestration.summary import format_summary, read_summary

    _, warehouse = demo
    [(run_id,)] = query(warehouse, "select max(run_id) from raw.load_audit")
    summary = read_summary(warehouse, run_id)
    text = format_summary(summary)
    [(buyers,)] = query(warehouse, "select count(*) from marts.customer_rfm")
    assert summary.clv_fitted_customers == buyers
    assert f"CLV models: fitted on {buyers:,} customers" in text
    [(listed,)] = query(warehouse, "select count(*) from marts.churn_watchlist")
    assert sum(n for *_, n in summary.churn) == listed
    assert summary.nps is not None and "NPS " in text
    assert "Pareto: the top" in text
    assert "Tiers" in text and "Diamond" in text
    # the same figures as readable metadata of the published warehouse in the Dagster UI
    from customer_tiers.orchestration.defs.publish import summary_metadata

    metadata = summary_metadata(summary)
    tiers = metadata["tiers"].value.splitlines()
    assert tiers[:2] == ["| tier | 中文 | customers |", "|---|---|---|"]
    assert [line.split(" | ")[0] for line in tiers[2:]] == [
        f"| {tier}" for tier, _, _ in summary.tiers
    ]
    assert sum(int(line.split(" | ")[2].rstrip(" |")) for line in tiers[2:]) == summary.customers
    assert metadata["pareto"].startswith("the top 20% of customers")


def _mart_fingerprints(warehouse: Path) -> dict[str, tuple[int, int]]:
    """Row count and an order-independent hash of every row, per mart (and the history kept)."""
    tables = query(
        warehouse,
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_schema in ('marts', 'assignments') order by 1",
    )
    return {
        name: query(warehouse, f"select count(*), sum(hash(t::varchar)) from {name} as t")[0]
        for (name,) in tables
    }


_READER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
count = "select count(*), sum(monetary) from marts.customers"
print(con.execute(count).fetchone(), flush=True)
sys.stdin.readline()  # hold the file open, read-only, until the test has run the pipeline
print(con.execute(count).fetchone(), flush=True)
"""


def test_second_run_with_the_same_inputs_gives_identical_marts(demo: tuple[Path, Path]) -> None:
    sources, warehouse = demo
    [(as_of,)] = query(warehouse, "select max(as_of) from marts.customer_rfm")
    before = _mart_fingerprints(warehouse)
    assert len(before) >= 20 and before["marts.tier_history"][0] > 0
    # a BI tool holds the published file open read-only all through the run
    reader = subprocess.Popen(
        [sys.executable, "-c", _READER, str(warehouse)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        seen_before = reader.stdout.readline()
        code = main(
            ["run", "--sources", str(sources), "--warehouse", str(warehouse), "--as-of", str(as_of)]
        )
        seen_during = reader.communicate("go\n", timeout=60)[0]
    finally:
        reader.kill()
    # the reader never blocked the run, and read the whole old version (the run replaced the
    # file by a rename, so the open file is still the complete earlier one)
    assert code == EXIT_OK
    assert seen_during.strip() == seen_before.strip() != ""
    # the same date again replaces its history and assignment instead of adding to them
    assert _mart_fingerprints(warehouse) == before


def test_run_killed_midway_leaves_published_marts_untouched(
    demo: tuple[Path, Path], tmp_path: Path
) -> None:
    sources, published = demo
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(published, warehouse)
    before = _sha256(warehouse)
    tiers = Path(sys.executable).with_name("tiers")
    log = tmp_path / "run.log"
    with log.open("w") as err:
        # its own process group, so the kill takes the dbt process it started too
        run = subprocess.Popen(
            [str(tiers), "run", "--sources", str(sources), "--warehouse", str(warehouse)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 240
        # kill in the second dbt build, after the models were fitted: the work copy is half
        # rebuilt then
        while "dbt_models_after_predictions: Running dbt command" not in log.read_text():
            assert run.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "the run never reached the second dbt build"
            time.sleep(0.2)
        time.sleep(1.0)
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert _sha256(warehouse) == before
    assert query(warehouse, "select count(*) from marts.customer_tiers")[0][0] > 0
    # the lock died with the run: the next run is not blocked
    with warehouse.with_name(warehouse.name + ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_every_mart_and_column_is_documented(demo: tuple[Path, Path]) -> None:
    """What `make docs` publishes: every model described, every column of every built mart too."""
    import json

    from customer_tiers.orchestration.project import dbt_project

    _, warehouse = demo

    manifest = json.loads(dbt_project.manifest_path.read_text())
    models = {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
    }
    assert [name for name, node in models.items() if not node["description"].strip()] == []
    built = query(
        warehouse,
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'marts' order by all",
    )
    undocumented = [
        (table, column)
        for table, column in built
        if not models[table]["columns"].get(column, {}).get("description", "").strip()
    ]
    assert undocumented == []
