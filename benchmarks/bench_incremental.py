"""What a daily run costs once the history is loaded: one new day of orders vs the full run.

    python benchmarks/bench_incremental.py --customers 1000000 [--workdir /tmp/bench]
        [--seed 42] [--as-of 2026-06-30]

1. sources: the demo sources of bench_pipeline.py (`<workdir>/sources-<N>-seed<S>`, reused
   when there), linked into `<workdir>/incremental-<N>/sources`.
2. full run: `tiers run --as-of AS_OF` into a new warehouse: every file loaded, every model
   built (the first run of a new installation, or `--full-reload`).
3. new day: the order lines of AS_OF copied to AS_OF + 1 day (new order ids) are dropped into
   `sources/orders/<AS_OF+1>.csv`, the shape of a daily export, and `tiers run --as-of
   AS_OF+1` runs on the warehouse of step 2: that one file is loaded, the other files are
   skipped by checksum, the staging of the fact sources only adds the new file's rows.
4. nothing new: the same run again (every file unchanged): the fixed cost of a run.

Each run is a child process, timed with its peak memory and the per-stage breakdown from
Dagster's step statistics (bench_pipeline.py). Prints a Markdown table and writes
`<workdir>/incremental-<N>/results.json`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
from bench_pipeline import (
    GENERATED_MARKER,
    TIERS,
    dagster_stage_seconds,
    dbt_build_breakdown,
    generate_sources,
    machine_load,
    run_measured,
)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def linked_sources(generated: Path, target: Path) -> Path:
    """A sources folder of symlinks to the generated files, so a day file can be added."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for path in generated.iterdir():
        if path.is_file() and path.name != GENERATED_MARKER:
            (target / path.name).symlink_to(path)
    return target


def write_day_file(sources: Path, day: date) -> int:
    """Order lines of the day before, moved to `day` under new order ids; returns the lines."""
    out = sources / "orders" / f"{day}.csv"
    out.parent.mkdir(exist_ok=True)
    con = duckdb.connect()
    try:
        orders = str((sources / "orders.csv").resolve()).replace("'", "''")
        con.execute(
            f"""
            copy (
                select 'D' || strftime(?::date, '%Y%m%d') || '-' || order_id as order_id,
                    customer_id,
                    ordered_at + interval 1 day as ordered_at,
                    * exclude (order_id, customer_id, ordered_at)
                from read_csv('{orders}', header = true)
                where cast(ordered_at as date) = ?::date - interval 1 day
            ) to '{str(out).replace("'", "''")}' (header, delimiter ',')
            """,
            [day.isoformat(), day.isoformat()],
        )
        return int(con.execute(f"select count(*) from read_csv('{out}')").fetchone()[0])
    finally:
        con.close()


def timed_run(sources: Path, warehouse: Path, as_of: date, run_dir: Path) -> dict[str, Any]:
    dagster_home = run_dir / "dagster_home"
    shutil.rmtree(dagster_home, ignore_errors=True)
    dagster_home.mkdir(parents=True)
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home)}
    command = [
        str(TIERS), "run", "--sources", str(sources), "--warehouse", str(warehouse),
        "--as-of", as_of.isoformat(),
    ]  # fmt: skip
    measured = run_measured(command, run_dir / "tiers_run", env=env)
    if measured.returncode != 0:
        raise SystemExit(f"tiers run failed ({measured.returncode}); see {measured.stderr}")
    stages = dagster_stage_seconds(dagster_home)
    if "run" in stages:
        stages["outside_run"] = measured.seconds - stages.pop("run")
    return {
        "measured": asdict(measured),
        "stages_s": {k: round(v, 1) for k, v in stages.items()},
        "dbt_build_elapsed_s": [round(b["elapsed_s"], 1) for b in dbt_build_breakdown(
            Path(measured.stderr))],
    }  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 6, 30))
    args = parser.parse_args(argv)

    root = args.workdir / f"incremental-{args.customers}"
    _say(f"[{args.customers:,}] generating sources (reused when there)")
    generated = generate_sources(args.workdir, args.customers, args.seed)
    sources = linked_sources(Path(generated.directory), root / "sources")
    warehouse = root / "warehouse.duckdb"
    for leftover in root.glob("warehouse.duckdb*"):
        leftover.unlink()
    load = {"before": machine_load()}

    _say(f"[{args.customers:,}] full run as of {args.as_of} ({generated.rows['orders']:,} lines)")
    full = timed_run(sources, warehouse, args.as_of, root / "full")
    day = args.as_of + timedelta(days=1)
    day_lines = write_day_file(sources, day)
    _say(f"[{args.customers:,}] new day {day}: {day_lines:,} order lines in orders/{day}.csv")
    daily = timed_run(sources, warehouse, day, root / "day")
    _say(f"[{args.customers:,}] the same day again, nothing new")
    again = timed_run(sources, warehouse, day, root / "again")
    load["after"] = machine_load()

    results = {
        "customers": args.customers,
        "order_lines": generated.rows["orders"],
        "day_lines": day_lines,
        "full": full,
        "day": daily,
        "nothing_new": again,
        "machine_load": load,
    }
    (root / "results.json").write_text(json.dumps(results, indent=2, default=str))
    base = full["measured"]["seconds"]
    print(
        "| run | wall s | share of full run | peak MB (largest process / tree) | stages (s) |\n"
        "|---|---|---|---|---|"
    )
    for label, run in (
        (f"full: {generated.rows['orders']:,} lines", full),
        (f"one new day: {day_lines:,} lines", daily),
        ("nothing new", again),
    ):
        m = run["measured"]
        stages = ", ".join(f"{k} {v}" for k, v in run["stages_s"].items())
        print(
            f"| {label} | {m['seconds']:.1f} | {m['seconds'] / base * 100:.0f}% | "
            f"{m['peak_rss_mb']:.0f} / {m['tree_rss_mb']:.0f} | {stages} |"
        )
    print(f"\nJSON: {root / 'results.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
