"""The whole pipeline on small demo data, through the `tiers` command line."""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from customer_tiers.orchestration.cli import main
from customer_tiers.orchestration.errors import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE
from tests.conftest import query, write_csv

MARTS = ("customer_abc", "customer_rfm", "customers")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def demo(demo_run: tuple[Path, Path]) -> tuple[Path, Path]:
    return demo_run


def test_run_publishes_every_mart_and_nothing_else_is_left(demo: tuple[Path, Path]) -> None:
    """Every model of dbt_project/models/marts is a table of schema marts, and nothing else is
    but the marts Python assets write; each model has rows but the two a single analysis date
    on its latest order day leaves empty (no earlier snapshot to migrate from, no days after
    as_of to hold out)."""
    _, warehouse = demo
    folder = Path(__file__).parents[2] / "dbt_project" / "models" / "marts"
    models = {p.stem for p in folder.rglob("*.sql")}
    tables = query(warehouse, "select table_name from duckdb_tables() where schema_name = 'marts'")
    names = {name for (name,) in tables}
    assert models <= names
    assert names - models <= {"action_effects"}  # orchestration/defs/experiments.py
    counts = {m: query(warehouse, f"select count(*) from marts.{m}")[0][0] for m in models}
    assert {m for m, n in counts.items() if n == 0} == {"tier_migration", "clv_holdout_validation"}
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


def test_load_audit_counts_agree_with_the_files_and_tables(demo: tuple[Path, Path]) -> None:
    """Each source's audit row counted apart from the loader: rows read are the data rows of its
    CSV file (Python's csv module), rows loaded those raw.<source> holds from that file and run,
    rows quarantined those quarantine.<source> holds from that run, and the sha256 the file's.

    read = loaded + quarantined cannot fail on a real run (the loader raises before it writes
    an unbalanced row): the blocking reconciliation check failing on each of its branches is in
    tests/unit/test_quality_checks.py.
    """
    sources, warehouse = demo
    audit = query(
        warehouse,
        "select source, file, rows_read, rows_loaded, rows_quarantined, sha256, run_id "
        "from raw.load_audit order by source",
    )
    assert [row[0] for row in audit] == sorted(
        ["customers", "orders", "products", "staff", "feedback", "surveys"]
    )  # one row per source: one run, one file each
    for source, file, read, loaded, quarantined, sha, run_id in audit:
        path = Path(file)
        assert path == sources.resolve() / f"{source}.csv"
        with path.open(newline="", encoding="utf-8") as fh:
            data_rows = sum(1 for _ in csv.reader(fh)) - 1  # the header excluded
        [(in_raw,)] = query(
            warehouse,
            f"select count(*) from raw.{source} where _source_file = ? and _run_id = ?",
            [file, run_id],
        )
        [(in_quarantine,)] = query(
            warehouse, f"select count(*) from quarantine.{source} where _run_id = ?", [run_id]
        )
        assert (read, loaded, quarantined) == (data_rows, in_raw, in_quarantine), source
        assert read == loaded + quarantined, source
        assert sha == _sha256(path), source


def test_definitions_have_blocking_source_checks_and_dbt_checks(demo: tuple[Path, Path]) -> None:
    import dagster as dg

    from customer_tiers.orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    checks = {key.to_user_string() for key in graph.asset_check_keys}
    sources = ("customers", "feedback", "orders", "products", "staff", "surveys")
    source_checks = [k for k in graph.asset_check_keys if k.asset_key.path[0] == "raw"]
    # three per source (expectations, reconciliation, the quarantined share against
    # quality.max_quarantined_share) and the analysis date's window on orders: 19
    assert {k.to_user_string() for k in source_checks} == {
        f"raw/{source}:{name}"
        for source in sources
        for name in ("expectations", "reconciliation", "quarantine_share")
    } | {"raw/orders:as_of_window"}
    # blocking specs all: as_of_window passes with a warning unless time.block is true
    assert all(graph.get_check_spec(k).blocking for k in source_checks)
    assert any(c.startswith("marts/customer_rfm:unique_customer_rfm_customer_id") for c in checks)
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    # by domain: a domain's intermediate models, marts and Python steps in one group
    domains = {"segmentation", "clv", "voice", "tiers", "assignment", "reporting"}
    assert {"ingest", "staging", "core", "quality", "serve", *domains} == groups
    assert graph.get(dg.AssetKey(["predictions", "customer_clv"])).group_name == "clv"
    assert graph.get(dg.AssetKey(["marts", "customer_clv"])).group_name == "clv"
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
    # an out-of-range answer is quarantined (nps_score 0-10), not a failed expectation; a
    # surveys file half out of range is above quality.max_quarantined_share.surveys (5%): blocks
    write_csv(
        broken / "surveys.csv",
        ["response_id", "customer_id", "responded_at", "nps_score"],
        [["R1", "C0000001", "2025-01-01", "11"], ["R2", "C0000002", "2025-01-01", "9"]],
    )
    code = main(["run", "--sources", str(broken), "--warehouse", str(warehouse)])
    assert code == EXIT_CHECK_FAILED
    err = capsys.readouterr().err
    assert "blocking check failed: raw/surveys quarantine_share" in err
    assert "1 of 2 rows (50.00%) quarantined, above the threshold 5.00%" in err
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


def test_second_run_with_the_same_inputs_gives_identical_marts(
    demo: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also: the run is recorded in the Dagster instance beside the warehouse (the suite turns
    that off elsewhere), which Dagster's own storage reads as `dagster dev` does."""
    import dagster as dg

    monkeypatch.setenv("TIERS_RECORD_RUNS", "1")
    sources, published = demo
    warehouse = tmp_path / "warehouse.duckdb"  # a copy: other tests read the shared one
    shutil.copyfile(published, warehouse)
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
    instance = dg.DagsterInstance.from_config(str(tmp_path / "dagster_home"))
    [run] = instance.get_runs()
    assert run.status == dg.DagsterRunStatus.SUCCESS and run.job_name == "tiers_pipeline"
    assert run.tags["customer_tiers/engine"] == "duckdb"
    rfm = instance.get_latest_materialization_event(dg.AssetKey(["marts", "customer_rfm"]))
    assert rfm is not None and rfm.run_id == run.run_id
    check = dg.AssetCheckKey(dg.AssetKey(["raw", "orders"]), "reconciliation")
    [record] = instance.event_log_storage.get_latest_asset_check_execution_by_key([check]).values()
    assert record.run_id == run.run_id
    # every database closed at the end of the run: no write-ahead log left beside it
    assert list((tmp_path / "dagster_home").rglob("*.db-wal")) == []
    instance.dispose()


def test_run_killed_midway_leaves_published_marts_untouched(
    demo: tuple[Path, Path], tmp_path: Path
) -> None:
    """SIGKILL to the run's process group in its second dbt build: the published file stays
    byte-equal, the half-built work copy and the lock file are left behind, and the next run
    is neither blocked by the dead run's lock nor misled by its work copy: it publishes."""
    sources, published = demo
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(published, warehouse)
    before = _sha256(warehouse)
    before_marts = _mart_fingerprints(warehouse)["marts.customer_tiers"]
    tiers = Path(sys.executable).with_name("tiers")
    log = tmp_path / "run.log"
    with log.open("w") as err:
        # its own process group, as a scheduler would start it
        run = subprocess.Popen(
            [str(tiers), "run", "-v", "--sources", str(sources), "--warehouse", str(warehouse)],
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 240
        # kill in the second dbt build, after the models were fitted: the work copy is half
        # rebuilt then
        started = 'Started execution of step "dbt_models_after_predictions"'
        while started not in log.read_text():
            assert run.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "the run never reached the second dbt build"
            time.sleep(0.2)
        time.sleep(1.0)
        os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=30)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert run.returncode == -signal.SIGKILL  # it died from the kill, not by itself
    assert _sha256(warehouse) == before
    assert query(warehouse, "select count(*) from marts.customer_tiers")[0][0] > 0
    # what the dead run left: its half-built work copy and the lock file (the lock itself is
    # the kernel's, freed with the process)
    work = warehouse.with_name(warehouse.name + ".building")
    assert work.exists() and warehouse.with_name(warehouse.name + ".lock").exists()
    [(run_before,)] = query(warehouse, "select max(run_id) from raw.load_audit")

    # the next run starts over from the published file and publishes
    assert main(["run", "--sources", str(sources), "--warehouse", str(warehouse)]) == EXIT_OK
    assert not work.exists()
    assert _sha256(warehouse) != before
    runs = query(warehouse, "select distinct run_id from raw.load_audit order by run_id")
    assert len(runs) == 2 and (run_before,) in runs
    assert _mart_fingerprints(warehouse)["marts.customer_tiers"] == before_marts


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
        if table in models
        and not models[table]["columns"].get(column, {}).get("description", "").strip()
    ]
    assert undocumented == []
    # the marts Python writes: the module that defines the columns, and a page whose column
    # table names each of them (its first cell lists one or more names)
    from customer_tiers.experiments import EFFECT_COLUMNS

    python_marts = {"action_effects": (EFFECT_COLUMNS, "experiments.md")}
    assert {table for table, _ in built} - set(models) == set(python_marts)
    docs = Path(__file__).parents[2] / "docs"
    for table, (columns, page) in python_marts.items():
        assert [c for t, c in built if t == table] == sorted(columns)
        described = {
            name.strip()
            for line in (docs / page).read_text(encoding="utf-8").splitlines()
            if line.startswith("| ") and " | " in line
            for name in line[2:].split(" | ")[0].split(",")
        }
        assert set(columns) - described == set(), page
