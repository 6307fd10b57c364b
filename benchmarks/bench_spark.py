"""The dbt project built on Spark (local mode on this machine) against the DuckDB build.

    python benchmarks/bench_spark.py --customers 1000000 [--workdir /tmp/bench] [--seed 42]
        [--as-of 2026-06-30] [--warehouse FILE] [--driver-memory 6g] [--keep]
    python benchmarks/bench_spark.py --customers 1000000 --whole-run [...]

With `--whole-run`: `tiers run --engine spark` from the generated sources into a new
warehouse (ingest, land, suites, the three dbt builds with the fits and the assignment between
them, the Parquet copy), timed the same way, with the run's own stage seconds.

Without it:

1. A warehouse of `tiers run` (the DuckDB engine): `--warehouse FILE`, or generated as
   bench_pipeline.py does (demo sources for N customers, then a timed `tiers run`).
2. `python -m orchestration.spark_engine` on it, in a child process: Spark session start,
   the sources landed as Parquet-backed Spark tables, the source suites in Spark, `dbt build`
   of every model and test on Spark, the marts exported as Parquet. Wall time, the engine's
   own per-stage seconds, and peak memory (largest process and the sampled process tree: the
   JVM is a child of the Python process).
3. The DuckDB side for comparison: the `dbt` stages of the `tiers run` (when it ran here).

Prints a Markdown table and writes `<workdir>/spark-<N>.json`. The machine should be quiet.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipeline import (  # a script next to this one
    generate_sources,
    machine_load,
    run_measured,
    time_tiers_run,
)

REPO = Path(__file__).resolve().parents[1]


def _fresh_spark_dir(run_dir: Path, driver_memory: str) -> tuple[Path, dict[str, str]]:
    """An empty TIERS_SPARK_DIR under run_dir, and the child process's environment for it."""
    spark_dir = run_dir / "spark"
    shutil.rmtree(spark_dir, ignore_errors=True)
    env = {
        **os.environ,
        "TIERS_SPARK_DIR": str(spark_dir),
        "TIERS_SPARK_DRIVER_MEMORY": driver_memory,
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    return spark_dir, env


def time_spark_build(
    warehouse: Path, run_dir: Path, as_of: date, driver_memory: str
) -> dict[str, Any]:
    spark_dir, env = _fresh_spark_dir(run_dir, driver_memory)
    command = [
        sys.executable, "-m", "customer_tiers.orchestration.spark_engine",
        "--warehouse", str(warehouse), "--spark-dir", str(spark_dir),
        "--marts-out", str(run_dir / "spark_marts"), "--as-of", as_of.isoformat(),
    ]  # fmt: skip
    measured = run_measured(command, run_dir / "spark_build", env=env)
    lines = Path(measured.stdout).read_text(errors="replace").strip().splitlines()
    outcome: dict[str, Any] = {}
    if lines and lines[-1].startswith("{"):
        outcome = json.loads(lines[-1])
    return {
        "measured": asdict(measured),
        "stages_s": outcome.get("seconds", {}),
        "success": outcome.get("success"),
        "dbt_failures": (outcome.get("dbt") or {}).get("failures", []),
        "failed_checks": outcome.get("failed_checks", []),
    }


_STAGES_PREFIX = "Stages (s): "


def time_spark_run(sources: Path, run_dir: Path, as_of: date, driver_memory: str) -> dict[str, Any]:
    """`tiers run --engine spark` from the sources, in a child process."""
    _, env = _fresh_spark_dir(run_dir, driver_memory)
    command = [
        str(Path(sys.executable).with_name("tiers")), "run", "--engine", "spark",
        "--sources", str(sources), "--warehouse", str(run_dir / "spark_sources.duckdb"),
        "--marts-out", str(run_dir / "spark_marts"), "--as-of", as_of.isoformat(),
    ]  # fmt: skip
    measured = run_measured(command, run_dir / "spark_run", env=env)
    stages: dict[str, float] = {}
    for line in Path(measured.stdout).read_text(errors="replace").splitlines():
        if line.startswith(_STAGES_PREFIX):
            listed = line[len(_STAGES_PREFIX) :].split(";")[0]
            for item in listed.split(", "):
                name, seconds = item.rsplit(" ", 1)
                stages[name] = float(seconds)
    return {
        "measured": asdict(measured),
        "stages_s": stages,
        "success": measured.returncode == 0,
        "dbt_failures": [],
        "failed_checks": [],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 6, 30))
    parser.add_argument("--warehouse", type=Path, help="a warehouse of tiers run to start from")
    parser.add_argument("--driver-memory", default="6g", help="spark.driver.memory (local mode)")
    parser.add_argument("--keep", action="store_true", help="keep the Spark tables and marts")
    parser.add_argument(
        "--whole-run", action="store_true", help="time tiers run --engine spark from the sources"
    )
    args = parser.parse_args(argv)

    run_dir = args.workdir / f"spark-run-{args.customers}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    result: dict[str, Any] = {"customers": args.customers, "load_before": machine_load()}
    if args.whole_run:
        generated = generate_sources(args.workdir, args.customers, args.seed)
        result["lines"] = generated.rows.get("orders", 0)
        result["spark"] = time_spark_run(
            Path(generated.directory), run_dir, args.as_of, args.driver_memory
        )
        engine = "Spark local[2] (`tiers run --engine spark`)"
    elif args.warehouse:
        warehouse = args.warehouse
    else:
        generated = generate_sources(args.workdir, args.customers, args.seed)
        result["lines"] = generated.rows.get("orders", 0)
        result["tiers_run"] = time_tiers_run(Path(generated.directory), run_dir, args.as_of)
        warehouse = Path(result["tiers_run"]["warehouse"])
    if not args.whole_run:
        result["spark"] = time_spark_build(warehouse, run_dir, args.as_of, args.driver_memory)
        engine = "Spark local[2] (build from the DuckDB run's sources)"
    result["load_after"] = machine_load()
    (args.workdir / f"spark-{args.customers}.json").write_text(json.dumps(result, indent=2))

    spark = result["spark"]
    measured = spark["measured"]
    stages = ", ".join(f"{k} {v:.1f}" for k, v in spark["stages_s"].items())
    print("| customers | engine | wall s | stages (s) | peak MB (largest / tree) | success |")
    print("|---|---|---|---|---|---|")
    if "tiers_run" in result:
        duck = result["tiers_run"]["measured"]
        duck_stages = ", ".join(f"{k} {v:.1f}" for k, v in result["tiers_run"]["stages_s"].items())
        print(
            f"| {args.customers:,} | DuckDB (`tiers run`) | {duck['seconds']:.1f} | "
            f"{duck_stages} | {duck['peak_rss_mb']:.0f} / {duck['tree_rss_mb']:.0f} | "
            f"{duck['returncode'] == 0} |"
        )
    print(
        f"| {args.customers:,} | {engine} | "
        f"{measured['seconds']:.1f} | {stages} | "
        f"{measured['peak_rss_mb']:.0f} / {measured['tree_rss_mb']:.0f} | {spark['success']} |"
    )
    if not args.keep:
        shutil.rmtree(run_dir / "spark", ignore_errors=True)
        shutil.rmtree(run_dir / "spark_marts", ignore_errors=True)
    return 0 if spark["success"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
