"""`tiers run --engine spark` from the demo run's sources, at the two analysis dates of
conftest.demo_history: the first in Spark local mode, the second on a standalone Spark cluster
(a master and one worker started here from the installed pyspark).

Each process (`tiers run --engine spark`: the pipeline's one Dagster job with the Spark engine
resource, a Derby metastore and the Spark warehouse under tmp_path) ingests the demo sources
into a DuckDB file of its own, lands them as Parquet-backed Spark tables, runs the source
suites in Spark, builds the models on Spark in three parts around the CLV fits and the account
assignment (computed from Spark tables), and publishes the marts as Parquet and in the DuckDB
file. Every mart must equal the DuckDB run's: the same columns and rows, numbers within float
tolerance. Skipped only where Java 17 (`make java`) or the spark extra is missing.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.conftest import java_17_missing, query

JAVA_17_MISSING = java_17_missing()

pytestmark = [
    pytest.mark.skipif(JAVA_17_MISSING is not None, reason=str(JAVA_17_MISSING)),
    pytest.mark.skipif(
        importlib.util.find_spec("pyspark") is None
        or importlib.util.find_spec("dbt.adapters.spark") is None,
        reason="the Spark engine needs the spark extra: "
        "pip install -c requirements.lock '.[spark]'",
    ),
]

REPO = Path(__file__).resolve().parents[2]
REL_TOL, ABS_TOL = 1e-9, 1e-9
# The standard errors of the fits come from a finite-difference Hessian, which magnifies the
# last bits of its input: moving every customer's repeat-purchase average by one unit in the
# last place moves them by up to 4e-8 relative, and the interval ends built on them by 1e-8
# (measured on this demo). Spark's average of a DECIMAL also keeps 8 decimals where DuckDB's is
# a double (int_customers_btyd_summarized.monetary, 4e-11 apart here). Everything else holds
# to 1e-9.
COLUMN_REL_TOL = {
    "std_error": 1e-6,
    "clv_param_low_365d": 1e-6,
    "clv_param_high_365d": 1e-6,
    # the predictive value bounds are Gamma-Gamma posterior quantiles of the same averages
    "predictive_value_low_80": 1e-6,
    "predictive_value_high_80": 1e-6,
}
# The pipeline's steps that take seconds, each with its "done in" line on stderr
LONG_STEPS = (
    "raw_sources", "dbt_models", "clv_predictions", "dbt_models_after_predictions",
    "dbt_models_after_assignments", "serve__published_warehouse",
)  # fmt: skip


def _tiers() -> str:
    """The `tiers` script of this interpreter's environment."""
    script = Path(sys.executable).with_name("tiers")
    return str(script) if script.exists() else shutil.which("tiers") or "tiers"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(log: Path, text: str, process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if log.exists() and text in log.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.5)
    raise AssertionError(f"{text!r} not in {log} after {seconds} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def spark_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A standalone Spark cluster of this machine: a master and one worker (2 cores, 2 GB),
    started with the installed pyspark's spark-class. Yields the master's URL."""
    import pyspark

    spark_class = Path(pyspark.__file__).parent / "bin" / "spark-class"
    root = tmp_path_factory.mktemp("cluster")
    port = _free_port()
    url = f"spark://127.0.0.1:{port}"
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOG_DIR": str(root)}
    started: list[subprocess.Popen[bytes]] = []
    try:
        for name, args, ready in (
            (
                "master",
                ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                 "--port", str(port), "--webui-port", str(_free_port())],
                "I have been elected leader",
            ),
            (
                "worker",
                ["org.apache.spark.deploy.worker.Worker", url, "--cores", "2", "--memory", "2g",
                 "--webui-port", str(_free_port()), "--work-dir", str(root / "work")],
                "Successfully registered with master",
            ),
        ):  # fmt: skip
            log = root / f"{name}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [str(spark_class), *args],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            started.append(process)
            _wait_for(log, ready, process, 120)
        yield url
    finally:
        for process in reversed(started):
            os.killpg(process.pid, 15)
            process.wait(timeout=60)


@pytest.fixture(scope="module")
def spark_build(
    demo_history: tuple[Path, Path],
    spark_cluster: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """`tiers run --engine spark` at demo_history's two analysis dates, in its order, on one
    Spark warehouse: the second run finds the first's tier snapshot, ledger and assignment
    history, so tier_migration, clv_holdout_validation and action_effects have rows on both
    engines when they are compared. The first runs in local mode, the second on the cluster."""
    sources, warehouse = demo_history
    root = tmp_path_factory.mktemp("spark")
    dates = [
        row[0]
        for row in query(warehouse, "select distinct as_of from marts.tier_history order by 1")
    ]
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DAGSTER_HOME", "TIERS_CONFIG", "TIERS_SOURCES", "TIERS_WAREHOUSE"}
    }
    env.update(
        {
            "TIERS_SPARK_DIR": str(root / "spark"),
            "SPARK_LOCAL_IP": "127.0.0.1",
            "DBT_TARGET_PATH": str(root / "dbt_target"),
        }
    )
    for as_of in dates:
        last = as_of == dates[-1]
        # The data tests (unique, not_null, ...) pass on DuckDB and every mart is compared with
        # DuckDB's below, so on Spark they would only repeat that, at a minute of the suite's
        # 10. The unit tests (hand-worked cases of the SQL) run on Spark in the last run.
        excluded = "test_type:data" if last else "test_type:data test_type:unit"
        command = [
            _tiers(), "run", "--engine", "spark",
            "--sources", str(sources),
            "--warehouse", str(root / "loaded.duckdb"),
            "--as-of", as_of.isoformat(),
            "--dbt-exclude", excluded,
            *(["--spark-master", spark_cluster] if last else []),
        ]  # fmt: skip
        done = subprocess.run(
            command, cwd=REPO, env=env, capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    return {
        "stdout": done.stdout,  # the last run's
        "stderr": done.stderr,
        "master": spark_cluster,
        "marts": root / "loaded_marts",  # the default: beside --warehouse
        "warehouse": warehouse,
        "loaded": root / "loaded.duckdb",
        "spark_dir": root / "spark",
        "dbt_target": root / "dbt_target",
        "as_of": dates[-1],
        "dates": dates,
        "root": root,
    }


def test_the_run_is_the_pipelines_job_with_its_summary(spark_build: dict[str, Any]) -> None:
    out, err = spark_build["stdout"], spark_build["stderr"]
    assert f"Analysis as of {spark_build['as_of']}" in out
    assert (
        f"Engine: Spark ({spark_build['master']}); the marts are also a Parquet copy in "
        f"{spark_build['marts']}/<mart>/"
    ) in out
    assert re.search(r"^CLV models: fitted on [\d,]+ customers$", out, re.MULTILINE)
    for step in LONG_STEPS:
        assert re.search(rf"^\d\d:\d\d:\d\d {step}: done in [\d.]+ s$", err, re.MULTILINE), step
    # quiet: no Spark progress bars, log banner or handled metastore errors
    for noise in ("[Stage ", "log4j profile", "AlreadyExistsException"):
        assert noise not in err, noise


def test_the_published_duckdb_file_holds_the_marts(spark_build: dict[str, Any]) -> None:
    """`tiers export` and `tiers report` read the DuckDB file a Spark run publishes, whose marts
    are the Parquet copy's."""
    loaded, marts = spark_build["loaded"], spark_build["marts"]
    for mart in _duckdb_marts(spark_build["warehouse"]):
        rows = query(loaded, f"select count(*) from marts.{mart}")[0][0]
        copy = sum(pq.read_metadata(part).num_rows for part in (marts / mart).glob("*.parquet"))
        assert rows == copy > 0, mart
    exported = spark_build["root"] / "export"
    for command in (
        ["export", "--warehouse", str(loaded), "--out", str(exported), "--format", "csv"],
        ["report", "--warehouse", str(loaded), "--out", str(spark_build["root"] / "r.html")],
    ):
        done = subprocess.run([_tiers(), *command], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
    rows = query(loaded, "select count(*) from marts.customer_tiers")[0][0]
    lines = (exported / "customer_tiers.csv").read_text(encoding="utf-8-sig").splitlines()
    assert len(lines) == rows + 1


def test_sources_are_loaded_into_the_duckdb_file(spark_build: dict[str, Any]) -> None:
    duck, loaded = spark_build["warehouse"], spark_build["loaded"]
    for source in ("orders", "customers", "products", "staff", "feedback", "surveys"):
        sql = f"select count(*) from raw.{source}"
        assert query(loaded, sql) == query(duck, sql), source
    files = "select source, rows_loaded from raw.loaded_files order by all"
    assert query(loaded, files) == query(duck, files)
    # the suites ran in Spark; their results are kept as the DuckDB engine keeps them
    results = query(
        loaded,
        "select source, bool_and(success) filter (where severity = 'error') "
        "from quality.validation_results group by source order by source",
    )
    assert results == [
        (s, True) for s in ("customers", "feedback", "orders", "products", "staff", "surveys")
    ]


def test_fits_and_assignment_are_computed_from_spark_tables(spark_build: dict[str, Any]) -> None:
    spark_dir, duck = spark_build["spark_dir"], spark_build["warehouse"]
    as_of = spark_build["as_of"]
    predictions = pq.read_table(spark_dir / "sources" / "predictions" / "customer_clv")
    expected = query(duck, "select count(*) from predictions.customer_clv")[0][0]
    assert predictions.num_rows == expected
    folder = spark_dir / "assignments" / "account_assignment_history"
    assert sorted(p.name for p in folder.iterdir()) == [
        f"{day.isoformat()}.parquet" for day in spark_build["dates"]
    ]
    columns = "customer_id, staff_id, previous_staff_id, source_manager_id, reason"
    spark_rows = duckdb.sql(
        f"select {columns} from read_parquet('{folder}/{as_of.isoformat()}.parquet') "
        "order by customer_id"
    ).fetchall()
    duck_rows = query(
        duck,
        f"select {columns} from assignments.account_assignment_history where as_of = ? "
        "order by customer_id",
        [as_of],
    )
    assert spark_rows == duck_rows and len(spark_rows) > 0


def _duckdb_marts(warehouse: Path) -> list[str]:
    rows = query(
        warehouse,
        "select table_name from information_schema.tables where table_schema = 'marts' order by 1",
    )
    return [r[0] for r in rows]


def test_every_mart_is_exported(spark_build: dict[str, Any]) -> None:
    exported = sorted(p.name for p in spark_build["marts"].iterdir())
    assert exported == _duckdb_marts(spark_build["warehouse"])
    assert [p.name for p in spark_build["marts"].parent.glob("loaded_marts*")] == ["loaded_marts"]


def _rows(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> list[tuple]:
    listed = ", ".join(f'"{c}"' for c in columns)
    return con.execute(f"select {listed} from {relation}").fetchall()


def _sort_key(row: tuple) -> tuple:
    # floats rounded for the order only, so last-bit differences cannot reorder rows
    return tuple(
        (v is None, round(v, 6) if isinstance(v, float) else str(v) if v is not None else "")
        for v in row
    )


def _same(a: Any, b: Any, rel_tol: float = REL_TOL) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (int, float, Decimal)) and isinstance(b, (int, float, Decimal)):
        if isinstance(a, float) or isinstance(b, float):
            return math.isclose(float(a), float(b), rel_tol=rel_tol, abs_tol=ABS_TOL)
        return Decimal(a) == Decimal(b)
    if isinstance(a, date) and isinstance(b, date):
        return a == b
    return a == b


def compare_mart(warehouse: Path, parquet_dir: Path, table: str) -> list[str]:
    """What differs between a DuckDB mart and its Spark Parquet export: columns, row count, or
    rows (ordered on every column; numbers compared within tolerance, decimals by value)."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{warehouse}' as duck (read_only)")
        spark_relation = f"read_parquet('{parquet_dir / table}/*.parquet')"
        duck_columns = [
            r[0]
            for r in con.execute(
                "select column_name from duckdb_columns() where database_name = 'duck' "
                "and schema_name = 'marts' and table_name = ? order by column_index",
                [table],
            ).fetchall()
        ]
        spark_columns = [
            r[0] for r in con.execute(f"describe select * from {spark_relation}").fetchall()
        ]
        if sorted(duck_columns) != sorted(spark_columns):
            return [f"columns differ: {sorted(set(duck_columns) ^ set(spark_columns))}"]
        duck = sorted(_rows(con, f"duck.marts.{table}", duck_columns), key=_sort_key)
        spark = sorted(_rows(con, spark_relation, duck_columns), key=_sort_key)
    finally:
        con.close()
    if len(duck) != len(spark):
        return [f"{len(duck)} rows in DuckDB, {len(spark)} on Spark"]
    problems = []
    for duck_row, spark_row in zip(duck, spark, strict=True):
        for column, a, b in zip(duck_columns, duck_row, spark_row, strict=True):
            if not _same(a, b, COLUMN_REL_TOL.get(column, REL_TOL)):
                problems.append(f"{column}: {a!r} (DuckDB) != {b!r} (Spark) in row {duck_row}")
                break
        if len(problems) >= 3:
            break
    return problems


def test_every_mart_equals_the_duckdb_run(spark_build: dict[str, Any]) -> None:
    differences = {
        table: problems
        for table in _duckdb_marts(spark_build["warehouse"])
        if (problems := compare_mart(spark_build["warehouse"], spark_build["marts"], table))
    }
    assert differences == {}


def test_no_mart_is_empty(spark_build: dict[str, Any]) -> None:
    # the equality above would hold trivially for a mart empty on both sides: two analysis
    # dates give every mart rows, the history marts included (conftest.demo_history)
    empty = [
        t
        for t in _duckdb_marts(spark_build["warehouse"])
        if query(spark_build["warehouse"], f"select count(*) from marts.{t}")[0][0] == 0
    ]
    assert empty == []


def test_scores_use_the_percentile_sketch_on_spark(spark_build: dict[str, Any]) -> None:
    # the model's compiled SQL (dbt also compiles each unit test's fixtures under the name)
    [compiled] = (spark_build["dbt_target"] / "spark").glob(
        "*/compiled/customer_tiers/models/intermediate/segmentation/int_customers_rfm_scored.sql"
    )
    sql = compiled.read_text()
    assert re.search(
        r"percentile_approx\(-recency_days, array\(0\.2, 0\.4, 0\.6, 0\.8\), 10000\)", sql
    )
    assert "quantile_disc" not in sql


@pytest.fixture(scope="module")
def scale_probe(spark_build: dict[str, Any]) -> dict[str, Any]:
    """tests/e2e/spark_scale_probe.py, after the build (one Spark process at a time)."""
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("spark_scale_probe.py"))],
        cwd=REPO,
        env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_spark_scores_are_within_half_a_point_of_the_exact_shares(
    scale_probe: dict[str, Any],
) -> None:
    # 100,000 customers: enough that the percentile sketch approximates (monetary's cut
    # points differ from the exact ones), and its shares stay within 0.01 point (the stated
    # rank error of 1/10000) - well inside the 0.5 point promised.
    scores = scale_probe["scores"]
    assert scores["m"]["spark_cut_points"] != scores["m"]["exact_cut_points"]
    for name in ("r", "f", "m"):
        assert scores[name]["max_share_difference_pp"] <= 0.01, (name, scores[name])


def test_spark_cumulative_totals_are_exact(scale_probe: dict[str, Any]) -> None:
    # ABC ranks and shares: range buckets instead of one window, same rows as DuckDB's window
    assert scale_probe["cumulative_rows"] == scale_probe["cumulative_rows_spark"] > 50_000
    assert scale_probe["cumulative_rows_differing"] == 0
