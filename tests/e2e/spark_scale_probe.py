"""Run by tests/e2e/test_spark.py in a process of its own (one Spark process at a time).

The two macros that replace whole-table windows on Spark, compiled by dbt for each target and
run on synthetic customers: enough of them (100,000) that Spark's percentile sketch no longer
keeps every value.

- quintile_cut_points: approximate on Spark, exact on DuckDB. Prints, per score, the share of
  customers in each score 1-5 under both sets of cut points.
- cumulative_from_top: range buckets on Spark, one window on DuckDB. Prints how many of its
  rows differ (it must be exact on both).

Prints one JSON object on its last line.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
DBT_PROJECT = REPO / "dbt_project"
CUSTOMERS = 100_000
SCORES = {"r": "-recency_days", "f": "frequency", "m": "monetary"}
SPLIT = "-- next statement --"


def synthetic_customers(seed: int = 11) -> pd.DataFrame:
    """Heavy ties in recency and frequency, nearly distinct monetary values (as real data)."""
    rng = np.random.default_rng(seed)
    frequency = 1 + rng.poisson(rng.gamma(0.6, 2.5, CUSTOMERS))
    return pd.DataFrame(
        {
            "customer_id": [f"C{i:07d}" for i in range(CUSTOMERS)],
            "recency_days": rng.integers(0, 900, CUSTOMERS) // (1 + rng.integers(0, 3, CUSTOMERS)),
            "frequency": frequency,
            "monetary": np.round(frequency * rng.lognormal(5, 1, CUSTOMERS), 2),
        }
    )


def compile_inline(sql: str, target: str, work: Path) -> str:
    from dbt.cli.main import dbtRunner

    from customer_tiers.orchestration.config import load_config

    command = [
        "compile", "--inline", sql, "--target", target, "--quiet",
        "--vars", load_config().dbt_vars_json(None),
        "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
        "--target-path", str(work / f"target-{target}"), "--log-path", str(work / "logs"),
    ]  # fmt: skip
    result = dbtRunner().invoke(command)
    if not result.success:
        raise RuntimeError(f"dbt compile --target {target} failed: {result.exception}")
    return str(result.result.results[0].node.compiled_code)


def score_shares(con: duckdb.DuckDBPyConnection, value: str, cut_points: list[Any]) -> list[float]:
    """Share of customers with each score 1-5: 1 + the cut points the value is above."""
    above = " + ".join(f"cast({value} > {float(c)!r} as integer)" for c in cut_points)
    rows = dict(
        con.execute(
            f"select 1 + {above} as score, count(*) / {CUSTOMERS} from customers group by score"
        ).fetchall()
    )
    return [float(rows.get(score, 0.0)) for score in range(1, 6)]


def main() -> None:
    from pyspark.sql import SparkSession

    work = Path(tempfile.mkdtemp(prefix="spark-scale-"))
    os.environ.setdefault("TIERS_SPARK_DIR", str(work / "spark"))
    os.environ["TIERS_WAREHOUSE"] = str(work / "unused.duckdb")
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    customers = synthetic_customers()
    spark.createDataFrame(customers).createOrReplaceTempView("customers")
    con = duckdb.connect()
    con.register("customers_frame", customers)
    con.execute("create table customers as select * from customers_frame")

    # one dbt compile per target (each parses the project): the cut points, then the totals
    cut_points = ", ".join(
        f"{{{{ quintile_cut_points('{value}') }}}} as {name}" for name, value in SCORES.items()
    )
    cumulative = (
        "{{ cumulative_from_top('value_counts', 'basis', 'value', "
        "['customers_with_value', 'value_total']) }}"
    )
    compiled = {
        target: compile_inline(
            f"select {cut_points} from customers\n{SPLIT}\n{cumulative}", target, work
        ).split(SPLIT)
        for target in ("spark", "duckdb")
    }
    cut_sql = {target: parts[0] for target, parts in compiled.items()}
    approximate = spark.sql(cut_sql["spark"]).collect()[0].asDict()
    exact_row = con.execute(cut_sql["duckdb"]).fetchone() or ()
    exact = dict(zip(SCORES, exact_row, strict=True))
    scores = {}
    for name, value in SCORES.items():
        spark_shares = score_shares(con, value, approximate[name])
        exact_shares = score_shares(con, value, exact[name])
        scores[name] = {
            "exact_cut_points": [float(c) for c in exact[name]],
            "spark_cut_points": [float(c) for c in approximate[name]],
            "max_share_difference_pp": max(
                abs(a - b) * 100 for a, b in zip(spark_shares, exact_shares, strict=True)
            ),
        }

    counts_sql = """
        select basis, value, count(*) as customers_with_value, sum(value) as value_total
        from (
            select 'revenue' as basis, cast(monetary as decimal(18, 2)) as value from customers
            union all
            select 'frequency' as basis, cast(frequency as decimal(18, 2)) as value from customers
        ) as by_basis
        group by basis, value
    """
    spark.sql(counts_sql).createOrReplaceTempView("value_counts")
    con.execute(f"create table value_counts as {counts_sql}")
    columns = (
        "basis, value, customers_with_value, customers_with_value_at_or_above, "
        "customers_with_value_in_group, value_total_at_or_above, value_total_in_group"
    )
    spark_rows = spark.sql(f"select {columns} from ({compiled['spark'][1]}) as c").toPandas()
    duck_rows = con.execute(f"select {columns} from ({compiled['duckdb'][1]}) as c").df()
    con.register("spark_rows", spark_rows)
    con.register("duck_rows", duck_rows)
    typed = (
        "select basis, cast(value as decimal(18, 2)) as v, "
        "cast(customers_with_value_at_or_above as bigint) as n_at_or_above, "
        "cast(customers_with_value_in_group as bigint) as n_in_group, "
        "cast(value_total_at_or_above as decimal(38, 2)) as v_at_or_above, "
        "cast(value_total_in_group as decimal(38, 2)) as v_in_group from {}"
    )
    differing = con.execute(
        f"select count(*) from (({typed.format('spark_rows')}) except all "
        f"({typed.format('duck_rows')}))"
    ).fetchone()
    spark.stop()
    print(
        json.dumps(
            {
                "customers": CUSTOMERS,
                "scores": scores,
                "cumulative_rows": len(duck_rows),
                "cumulative_rows_spark": len(spark_rows),
                "cumulative_rows_differing": int(differing[0]) if differing else -1,
            }
        )
    )


if __name__ == "__main__":
    main()
