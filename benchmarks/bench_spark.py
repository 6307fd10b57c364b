"""`tiers run --engine spark` (local mode, or a given Spark master) from generated sources.

    python benchmarks/bench_spark.py --customers 1000000 [--workdir /tmp/bench] [--seed 42]
        [--as-of 2026-06-30] [--driver-memory 6g] [--spark-master URL]
        [--dbt-exclude SELECTOR] [--compare-duckdb] [--keep]

1. generate: the demo sources for N customers, as bench_pipeline.py writes them (reused when
   written before).
2. `tiers run --engine spark` from them into a new warehouse, in a child process, with a fresh
   TIERS_SPARK_DIR: the pipeline's one Dagster job on the Spark engine (ingest, then the raw
   tables landed in Spark; the source suites in Spark; the three dbt builds with the CLV fits,
   the assignment and the action effects between them; the marts written as Parquet and into
   the DuckDB file; publish). Wall time and peak memory (largest process, and the sampled
   process tree: the JVM is a child of the Python process). The stages come from the run's own
   Dagster step statistics (a throw-away DAGSTER_HOME), grouped as bench_pipeline.py groups the
   DuckDB run's, so the two compare line for line; the Spark start and landing inside the
   ingest step from the clock of its log lines; each dbt build's time and slowest nodes from
   the run_results.json it leaves in `$DBT_TARGET_PATH/spark/<build>/`.
3. With --compare-duckdb: `tiers run` on DuckDB from the same sources, measured the same way.

Prints a Markdown table and writes `<workdir>/spark-<N>.json`. The machine should be quiet.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_pipeline import (  # a script next to this one
    LOG_LINE,
    TIERS,
    code_state,
    dagster_stage_seconds,
    dbt_build_breakdown,
    generate_sources,
    log_stage_seconds,
    machine_load,
    run_measured,
    time_tiers_run,
)

# engine_spark.SparkEngine.sources_loaded logs these two lines in the ingest step
SPARK_START = re.compile(r"^starting Spark")
SPARK_LANDED = re.compile(r"^\d+ raw tables landed in Spark")
STEP_DONE = re.compile(r"^done in ([\d.]+) s$")


def _clock(line: str) -> tuple[int, str, str] | None:
    """Seconds of the day, step and message of a `HH:MM:SS <step>: <message>` stderr line."""
    match = LOG_LINE.match(line)
    if not match:
        return None
    h, m, s, step = match.groups()
    return int(h) * 3600 + int(m) * 60 + int(s), step, line[match.end() :]


def spark_ingest_seconds(stderr: Path) -> dict[str, float]:
    """Inside the ingest step (1 s resolution): the Spark session's start and the landing of the
    raw tables, from 'starting Spark' to the step's end."""
    started = landed = done = None
    for line in stderr.read_text(errors="replace").splitlines():
        parsed = _clock(line)
        if parsed is None or parsed[1] != "raw_sources":
            continue
        clock, _, message = parsed
        if SPARK_START.match(message):
            started = clock
        elif SPARK_LANDED.match(message):
            landed = clock
        elif STEP_DONE.match(message):
            done = clock
    if started is None or landed is None:
        return {}
    return {"spark_start_and_landing": float((done or landed) - started)}


def step_seconds(stderr: Path) -> dict[str, float]:
    """Each step's own `done in N s` line (steps of a second or more), as the run reports it."""
    steps: dict[str, float] = {}
    for line in stderr.read_text(errors="replace").splitlines():
        parsed = _clock(line)
        if parsed is not None and (done := STEP_DONE.match(parsed[2])):
            steps[parsed[1]] = float(done.group(1))
    return steps


def fold_source_checks(stages: dict[str, float]) -> dict[str, float]:
    """The source checks bench_pipeline's grouping leaves on their own (quarantine share, the
    as-of window: steps `raw__<source>_<check>`) added to `checks`."""
    folded: dict[str, float] = {}
    for stage, seconds in stages.items():
        key = "checks" if stage.startswith("raw__") else stage
        folded[key] = folded.get(key, 0.0) + seconds
    return folded


def seconds_by_schema(build_dir: Path) -> dict[str, float]:
    """A dbt build's summed node seconds per kind, models by schema. dbt-spark's relation names
    have two parts (`schema.table`), where bench_pipeline's per-kind sum expects DuckDB's three."""
    kinds: dict[str, float] = {}
    for node in json.loads((build_dir / "run_results.json").read_text())["results"]:
        kind = node["unique_id"].split(".", 1)[0]
        if kind == "model" and node.get("relation_name"):
            kind = "model:" + node["relation_name"].split(".")[-2].strip('`"')
        kinds[kind] = kinds.get(kind, 0.0) + node["execution_time"]
    return kinds


def time_spark_run(
    sources: Path,
    run_dir: Path,
    as_of: date,
    driver_memory: str,
    master: str | None,
    dbt_exclude: str | None,
) -> dict[str, Any]:
    """`tiers run --engine spark` from the sources, in a child process."""
    dagster_home = run_dir / "dagster_home"
    dagster_home.mkdir(parents=True)
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    target_root = run_dir / "dbt_run_target"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "DBT_TARGET_PATH": str(target_root),
        "TIERS_SPARK_DIR": str(run_dir / "spark"),
        "TIERS_SPARK_DRIVER_MEMORY": driver_memory,
        "SPARK_LOCAL_IP": "127.0.0.1",
    }
    command = [
        str(TIERS), "run", "--engine", "spark",
        "--sources", str(sources), "--warehouse", str(run_dir / "warehouse.duckdb"),
        "--marts-out", str(run_dir / "spark_marts"), "--as-of", as_of.isoformat(),
        *(["--spark-master", master] if master else []),
        *(["--dbt-exclude", dbt_exclude] if dbt_exclude else []),
    ]  # fmt: skip
    measured = run_measured(command, run_dir / "spark_run", env=env)
    stderr = Path(measured.stderr)
    try:
        stages, stage_source = dagster_stage_seconds(dagster_home), "dagster step stats"
    except Exception as err:  # any failure here only costs the breakdown
        print(f"  (no Dagster step stats: {err}; using log lines)", file=sys.stderr)
        stages, stage_source = log_stage_seconds(stderr), "log lines"
    if "run" in stages:
        stages["outside_run"] = measured.seconds - stages.pop("run")
    builds = dbt_build_breakdown(target_root / "spark")
    for build in builds:
        build["summed_node_s"] = seconds_by_schema(Path(build["target"]))
    return {
        "measured": asdict(measured),
        "stages_s": fold_source_checks(stages),
        "stages_from": stage_source,
        "steps_s": step_seconds(stderr),
        "ingest_s": spark_ingest_seconds(stderr),
        "dbt_build": builds,
        "success": measured.returncode == 0,
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 6, 30))
    parser.add_argument("--driver-memory", default="6g", help="spark.driver.memory")
    parser.add_argument(
        "--spark-master", metavar="URL", help="tiers run --spark-master (default: local[*])"
    )
    parser.add_argument(
        "--dbt-exclude", metavar="SELECTOR", help="tiers run --dbt-exclude (default: none)"
    )
    parser.add_argument(
        "--compare-duckdb", action="store_true", help="also time tiers run on DuckDB"
    )
    parser.add_argument("--keep", action="store_true", help="keep the Spark tables and marts")
    return parser.parse_args(argv)


def _row(customers: int, engine: str, run: dict[str, Any], stages: str) -> str:
    measured = run["measured"]
    return (
        f"| {customers:,} | {engine} | {measured['seconds']:.1f} | {stages} | "
        f"{measured['peak_rss_mb']:.0f} / {measured['tree_rss_mb']:.0f} | "
        f"{measured['returncode'] == 0} |"
    )


def _stages(run: dict[str, Any]) -> str:
    listed = [f"{k} {v:.1f}" for k, v in run["stages_s"].items()]
    listed += [f"(of ingest: {k} {v:.0f})" for k, v in run.get("ingest_s", {}).items()]
    return ", ".join(listed)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run_dir = args.workdir / f"spark-run-{args.customers}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    generated = generate_sources(args.workdir, args.customers, args.seed)
    sources = Path(generated.directory)
    result: dict[str, Any] = {
        "customers": args.customers,
        "lines": generated.rows.get("orders", 0),
        "load_before": machine_load(),
        "code_state": code_state(),
    }
    result["spark"] = spark = time_spark_run(
        sources, run_dir, args.as_of, args.driver_memory, args.spark_master, args.dbt_exclude
    )
    if args.compare_duckdb:
        duck_dir = run_dir / "duckdb"
        duck_dir.mkdir()
        result["tiers_run"] = time_tiers_run(sources, duck_dir, args.as_of)
    result["load_after"] = machine_load()
    (args.workdir / f"spark-{args.customers}.json").write_text(json.dumps(result, indent=2))

    master = args.spark_master or os.environ.get("TIERS_SPARK_MASTER") or "local[*]"
    print("| customers | engine | wall s | stages (s) | peak MB (largest / tree) | success |")
    print("|---|---|---|---|---|---|")
    print(
        _row(args.customers, f"Spark {master} (`tiers run --engine spark`)", spark, _stages(spark))
    )
    if "tiers_run" in result:
        print(
            _row(
                args.customers,
                "DuckDB (`tiers run`)",
                result["tiers_run"],
                _stages(result["tiers_run"]),
            )
        )
    for build in spark["dbt_build"]:
        slowest = ", ".join(f"{n['node']} {n['seconds']:.1f}" for n in build["slowest"])
        kinds = ", ".join(f"{k} {v:.1f}" for k, v in build["summed_node_s"].items())
        name = Path(build["target"]).name
        print(f"\n{name} on Spark: {build['elapsed_s']:.1f} s ({kinds}); slowest: {slowest}")
    if not spark["success"]:
        print(f"\nfailed: see {spark['measured']['stderr']}", file=sys.stderr)
    if not args.keep:
        for kept in ("spark", "spark_marts", "warehouse.duckdb", "duckdb"):
            path = run_dir / kept
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    return 0 if spark["success"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
