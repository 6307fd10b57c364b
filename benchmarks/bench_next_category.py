"""Hit rate of the next-best category against the most-popular baseline, on generated data.

    python benchmarks/bench_next_category.py --customers 2000 [20000 ...] [--workdir DIR]
        [--seed 42]

For each number of customers: `tiers demo-data` writes the sources (planted category tastes,
customer_tiers/ingest/demo_tastes.py), `tiers run` builds the warehouse, and the table
marts.next_category_evaluation is printed (hide each customer's latest category; hit rate at 1
and 3, docs/recommendations.md) with the run's wall time and the lift of the planted pairs.
Writes `<workdir>/next-category-<N>.json`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb

TIERS = Path(sys.executable).with_name("tiers")
PLANTED = (("skincare", "makeup"), ("haircare", "wellness"), ("skincare", "haircare"))


def measure(customers: int, seed: int, workdir: Path) -> dict[str, object]:
    """Generate, run, and read the evaluation of one data set."""
    sources = workdir / f"sources-{customers}-seed{seed}"
    warehouse = workdir / f"warehouse-{customers}.duckdb"
    warehouse.unlink(missing_ok=True)
    demo = [str(TIERS), "demo-data", "--out", str(sources), "--customers", str(customers)]
    subprocess.run([*demo, "--seed", str(seed)], check=True, capture_output=True)
    started = time.monotonic()
    run = [str(TIERS), "run", "--sources", str(sources), "--warehouse", str(warehouse)]
    subprocess.run(run, check=True, capture_output=True)
    seconds = time.monotonic() - started
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        evaluation = con.execute(
            "select recommender, k, customers_evaluated, hits, hit_rate "
            "from marts.next_category_evaluation order by k, recommender"
        ).fetchall()
        lifts = {
            f"{a}->{c}": con.execute(
                "select lift from marts.category_affinity where antecedent = ? and consequent = ?",
                [a, c],
            ).fetchone()
            for a, c in PLANTED
        }
    finally:
        con.close()
    return {
        "customers": customers,
        "run_seconds": round(seconds, 1),
        "evaluation": [
            dict(zip(("recommender", "k", "evaluated", "hits", "hit_rate"), r, strict=True))
            for r in evaluation
        ],
        "lift": {pair: (round(v[0], 3) if v else None) for pair, v in lifts.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, nargs="+", default=[2000])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/bench_next_category"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    print("| customers | recommender | k | evaluated | hits | hit rate | run s |")
    print("|---|---|---|---|---|---|---|")
    for customers in args.customers:
        result = measure(customers, args.seed, args.workdir)
        (args.workdir / f"next-category-{customers}.json").write_text(json.dumps(result, indent=2))
        for row in result["evaluation"]:  # type: ignore[union-attr]
            print(
                f"| {customers} | {row['recommender']} | {row['k']} | {row['evaluated']} | "
                f"{row['hits']} | {row['hit_rate']:.3f} | {result['run_seconds']} |"
            )
        print(f"lift of the planted pairs: {result['lift']}", file=sys.stderr)


if __name__ == "__main__":
    main()
