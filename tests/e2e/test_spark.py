"""The Spark engine on Spark local mode: the DuckDB demo run's sources built again in Spark.

One Spark process (`python -m orchestration.spark_engine`, session method, local[2], a Derby
metastore and warehouse under tmp_path) lands the demo run's sources, fits and assignment as
Parquet-backed Spark tables, runs the source suites in Spark, builds every model and unit test
with dbt-spark, and exports the marts as Parquet. Every mart must equal the DuckDB run's: the same
columns and rows, numbers within float tolerance. Skipped only where Java or the spark extra
is missing.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.conftest import query

pytestmark = [
    pytest.mark.skipif(shutil.which("java") is None, reason="the Spark engine needs Java 17"),
    pytest.mark.skipif(
        importlib.util.find_spec("pyspark") is None
        or importlib.util.find_spec("dbt.adapters.spark") is None,
        reason="the Spark engine needs the spark extra: pip install '.[spark]'",
    ),
]

REPO = Path(__file__).resolve().parents[2]
REL_TOL, ABS_TOL = 1e-9, 1e-9


@pytest.fixture(scope="module")
def spark_build(
    demo_run: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    _, warehouse = demo_run
    root = tmp_path_factory.mktemp("spark")
    (as_of,) = query(warehouse, "select as_of from intermediate.int_as_of_resolved")[0]
    env = {**os.environ, "TIERS_SPARK_DIR": str(root / "spark"), "SPARK_LOCAL_IP": "127.0.0.1"}
    command = [
        sys.executable, "-m", "orchestration.spark_engine",
        "--warehouse", str(warehouse),
        "--spark-dir", str(root / "spark"),
        "--marts-out", str(root / "marts"),
        "--as-of", as_of.isoformat(),
        # The data tests (unique, not_null, ...) pass on DuckDB and every mart is compared
        # with DuckDB's below, so on Spark they would only repeat that, at a minute of the
        # suite's 10. The unit tests still run on Spark: hand-worked cases of its SQL.
        "--dbt-exclude", "test_type:data",
    ]  # fmt: skip
    done = subprocess.run(
        command,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    outcome = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "outcome": outcome,
        "marts": root / "marts",
        "warehouse": warehouse,
        "spark_dir": root / "spark",
    }


def test_sources_land_and_pass_their_suites_in_spark(spark_build: dict[str, Any]) -> None:
    outcome = spark_build["outcome"]
    landed = {(t["schema"], t["table"]): t["rows"] for t in outcome["landed"]}
    for (schema, table), rows in landed.items():
        expected = query(spark_build["warehouse"], f'select count(*) from "{schema}"."{table}"')
        assert rows == expected[0][0], (schema, table)
    assert {"orders", "customers", "products", "staff", "feedback", "surveys"} <= {
        t for s, t in landed if s == "raw"
    }
    assert ("predictions", "customer_clv") in landed
    assert outcome["source_checks"] == dict.fromkeys(outcome["source_checks"], True)
    assert set(outcome["source_checks"]) == {
        "customers", "orders", "products", "staff", "feedback", "surveys",
    }  # fmt: skip
    assert outcome["dbt"]["success"] and outcome["dbt"]["failures"] == []


def _duckdb_marts(warehouse: Path) -> list[str]:
    rows = query(
        warehouse,
        "select table_name from information_schema.tables where table_schema = 'marts' order by 1",
    )
    return [r[0] for r in rows]


def test_every_mart_is_exported(spark_build: dict[str, Any]) -> None:
    assert spark_build["outcome"]["marts"] == _duckdb_marts(spark_build["warehouse"])


def _rows(con: duckdb.DuckDBPyConnection, relation: str, columns: list[str]) -> list[tuple]:
    listed = ", ".join(f'"{c}"' for c in columns)
    return con.execute(f"select {listed} from {relation}").fetchall()


def _sort_key(row: tuple) -> tuple:
    # floats rounded for the order only, so last-bit differences cannot reorder rows
    return tuple(
        (v is None, round(v, 6) if isinstance(v, float) else str(v) if v is not None else "")
        for v in row
    )


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, (int, float, Decimal)) and isinstance(b, (int, float, Decimal)):
        if isinstance(a, float) or isinstance(b, float):
            return math.isclose(float(a), float(b), rel_tol=REL_TOL, abs_tol=ABS_TOL)
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
            if not _same(a, b):
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


def test_no_mart_is_empty_where_duckdb_has_rows(spark_build: dict[str, Any]) -> None:
    # the equality above holds trivially for a mart empty on both sides: say which are
    empty = [
        t
        for t in _duckdb_marts(spark_build["warehouse"])
        if query(spark_build["warehouse"], f"select count(*) from marts.{t}")[0][0] == 0
    ]
    assert set(empty) <= {"tier_migration", "clv_holdout_validation"}


def test_scores_use_the_percentile_sketch_on_spark(spark_build: dict[str, Any]) -> None:
    compiled = next((spark_build["spark_dir"] / "dbt_target").rglob("customer_rfm.sql"))
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
